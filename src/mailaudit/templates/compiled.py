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
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from mailaudit import cache

FORMAT = "mailaudit-catalog-compiled/1"

T = TypeVar("T")

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
    return cache.entry_path("catalog", _code_fingerprint().encode(),
                            label.encode("utf-8", "surrogateescape"), data)


def lookup(path: Path | None, decode: Callable[[Any], T]) -> T | None:
    return cache.lookup(path, FORMAT, decode)


def store(path: Path | None, plain: Any) -> None:
    cache.store(path, FORMAT, plain)


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
        fields = {f.name: encode(getattr(value, f.name), classes)
                  for f in dataclasses.fields(value) if f.init}
        return {"c": name, "f": fields}
    raise NotPlain(f"{type(value).__name__} is not plain data")


def decode(plain: Any, classes: Mapping[str, type]) -> Any:
    if plain is None or isinstance(plain, (bool, int, float, str)):
        return plain
    if isinstance(plain, list):
        return [decode(v, classes) for v in plain]
    if isinstance(plain, dict):
        if "t" in plain:
            return tuple(decode(v, classes) for v in plain["t"])
        if "d" in plain or "m" in plain:
            items = plain["d"] if "d" in plain else plain["m"]
            pairs = {decode(k, classes): decode(v, classes) for k, v in items}
            return pairs if "d" in plain else MappingProxyType(pairs)
        cls = classes[plain["c"]]  # KeyError for anything not ours: the entry is ignored
        return cls(**{k: decode(v, classes) for k, v in plain["f"].items()})
    raise TypeError(f"unexpected {type(plain).__name__} in a compiled catalog entry")
