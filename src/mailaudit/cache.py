"""A small on-disk cache of derived data (the compiled catalog, the expanded Public Suffix List,
the signal phrases).

Entries are JSON of plain data, named by a hash of everything they were derived from and of
the format they are written in, so a changed input or a new release never meets a stale entry
(nor two releases sharing one user's cache each other's), and reading one executes nothing
(no pickle). They live under the user's cache directory (``$XDG_CACHE_HOME/mailaudit``, else
``~/.cache/mailaudit``); ``MAILAUDIT_CACHE_DIR`` moves it, and set to an empty string turns the
cache off. The directory and each entry must belong to the user and be writable by no one
else, or they are not used: an entry decides verdicts, so another account must not be able to
plant one. Entries are written to a private temporary file and renamed into place; any failure
(read-only home, full disk) only means the input is derived again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def cache_dir() -> Path | None:
    """Where entries live, or None when caching is off."""
    configured = os.environ.get("MAILAUDIT_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None  # no usable home directory
    return Path(base) / "mailaudit"


def entry_path(kind: str, fmt: str, *parts: bytes) -> Path | None:
    """The entry for ``kind`` in format ``fmt`` derived from ``parts`` (None when caching is
    off). The format is part of the name: two releases that write an entry differently, run
    by one user, each keep their own instead of rebuilding it in turn on every start."""
    directory = cache_dir()
    if directory is None:
        return None
    h = hashlib.sha256(kind.encode())
    h.update(len(fmt).to_bytes(8, "big"))
    h.update(fmt.encode())
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return directory / f"{kind}-{h.hexdigest()[:40]}.json"


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    uid = os.getuid() if hasattr(os, "getuid") else st.st_uid
    return st.st_uid == uid and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def lookup(path: Path | None, fmt: str, decode: Callable[[Any], T], *,
           object_hook: Callable[[dict[str, Any]], Any] | None = None) -> T | None:
    """The entry at ``path`` decoded, or None (missing, not ours, or not readable as ours).
    ``object_hook`` goes to ``json.loads``: it sees the entry's own object last."""
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not (_private(st) and _private(os.stat(path.parent))):
                return None
            doc = json.loads(fh.read(), object_hook=object_hook)
        if not isinstance(doc, dict) or doc.get("format") != fmt:
            return None
        return decode(doc["data"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def store(path: Path | None, fmt: str, plain: Any) -> None:
    """Write an entry; any failure leaves the cache as it was."""
    if path is None:
        return
    import tempfile  # only when writing: it costs more to import than a cached read

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.stat(path.parent)):
            return
        fd, tmp = tempfile.mkstemp(prefix=".entry-", suffix=".tmp", dir=path.parent)
        try:
            # ASCII (non-ASCII text as \u escapes): an entry of UTF-8 text reads back
            # slower, decoded before it is parsed (the suffix list's IDN rules: 1.9 against
            # 0.6 ms).
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                json.dump({"format": fmt, "data": plain}, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, ValueError):
        pass
