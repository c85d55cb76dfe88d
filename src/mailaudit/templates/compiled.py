"""The catalog's compiled form: validated template files kept as plain JSON, by content hash.

Composing and validating the YAML costs tens of milliseconds on every start, more than the rest
of a one-message audit. A file that validated once is stored as JSON of plain data (strings,
numbers, lists, and tagged tuples, mappings and catalog dataclasses) under the user's cache
directory, named by a hash of the file's label and bytes and of this package's template code,
so an edited file, another label or another release never reuses a stale entry. Decoding only
ever builds the dataclasses defined in ``templates.catalog`` and ``templates.patterns``: there
is nothing to execute in an entry (no pickle), and a broken or foreign entry is ignored and
rebuilt from the YAML.

Where entries live and who may have written them: ``mailaudit.cache``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mailaudit import cache

FORMAT = "mailaudit-catalog-compiled/2"

_code_digest: str | None = None


def _code_fingerprint() -> str:
    """Hash of the template package's own source: validation or normalisation code that
    changes must not meet entries it did not write."""
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256(FORMAT.encode())
        here = Path(__file__).resolve().parent
        for path in sorted(here.glob("*.py")):
            h.update(path.name.encode() + b"\0")
            try:
                h.update(path.read_bytes())
            except OSError:
                h.update(b"?")
        _code_digest = h.hexdigest()
    return _code_digest


def entry_path(label: str, data: bytes) -> Path | None:
    return cache.entry_path("catalog", FORMAT, _code_fingerprint().encode(),
                            label.encode("utf-8", "surrogateescape"), data)


def lookup(path: Path | None, classes: Mapping[str, type]) -> Any:
    """The entry's data, decoded while it is parsed, or None."""
    return cache.lookup(path, FORMAT, _data, object_hook=object_hook(classes))


def store(path: Path | None, plain: Any) -> None:
    cache.store(path, FORMAT, plain)


def loads(text: str | bytes, classes: Mapping[str, type]) -> Any:
    """What ``json.dumps`` of an encoded value decodes to."""
    return json.loads(text, object_hook=object_hook(classes))


def _data(value: Any) -> Any:
    return value


# ---------------------------------------------------------------------------------------------
# Plain data <-> catalog values. JSON has lists and string-keyed objects only, so tuples,
# mappings (plain and read-only) and dataclasses are written as one-key objects with a tag.


class NotPlain(TypeError):
    """A value the compiled form cannot hold: the file is simply not cached."""


def encode(value: Any, classes: Mapping[str, type]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(v, classes) for v in value]
    if isinstance(value, tuple):
        return {"t": [encode(v, classes) for v in value]}
    if isinstance(value, (dict, MappingProxyType)):
        tag = "d" if isinstance(value, dict) else "m"
        return {tag: [[encode(k, classes), encode(v, classes)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__qualname__
        if classes.get(name) is not type(value):
            raise NotPlain(f"{type(value).__module__}.{name} is not a catalog type")
        fields = [[f.name, encode(getattr(value, f.name), classes)]
                  for f in dataclasses.fields(value) if f.init]
        return {"c": name, "f": fields}
    raise NotPlain(f"{type(value).__name__} is not plain data")


def object_hook(classes: Mapping[str, type]) -> Callable[[dict[str, Any]], Any]:
    """``json.loads``'s object hook for an entry: every object in one is a tag object (field
    lists are pairs, not objects), decoded as the parser meets it, its contents first. About
    half the time of walking the parsed document afterwards."""

    def decoded(obj: dict[str, Any]) -> Any:
        if len(obj) == 1:
            tag, value = next(iter(obj.items()))
            if type(value) is list:
                if tag == "t":
                    return tuple(value)
                if tag == "d":
                    return dict(value)
                if tag == "m":
                    return MappingProxyType(dict(value))
        elif len(obj) == 2 and type(obj.get("f")) is list:
            # KeyError for a class that is not ours: the entry is ignored
            return classes[obj["c"]](**dict(obj["f"]))
        if obj.keys() == {"format", "data"}:
            return obj  # the entry around the data
        raise TypeError("unexpected object in a compiled catalog entry")

    return decoded
