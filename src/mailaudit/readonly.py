"""Opening inputs strictly read-only, without updating their access times.

Inputs are only ever read, and reading a file or listing a directory updates its atime (backup
and "last read" tools rely on it). O_NOATIME prevents that; the kernel allows it only to the
owner of the file, so a refusal falls back to a plain read-only open.
"""

from __future__ import annotations

import errno
import os
from typing import BinaryIO

HEAD_BYTES = 64 * 1024  # first read of every file: most messages fit, so one read() is enough
_NOATIME = getattr(os, "O_NOATIME", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def open_readonly(path: str) -> BinaryIO:
    """Open for reading only, without updating the access time where the OS allows it."""
    # O_NONBLOCK: a named pipe or device that slipped past the caller's checks must not block
    # the open; it is cleared again below for regular reads.
    fd = _open_flags(path, os.O_RDONLY | _CLOEXEC | _NONBLOCK)
    if _NONBLOCK:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=0)


def _open_flags(path: str, flags: int) -> int:
    # Some file systems reject O_NOATIME outright (EINVAL); a file we do not own refuses it
    # (EPERM): both fall back to a plain open.
    try:
        return os.open(path, flags | _NOATIME)
    except PermissionError:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.EINVAL or not _NOATIME:
            raise
        return os.open(path, flags)


def list_dir(path: str) -> list[str]:
    """The names in a directory, sorted, read without updating its access time where the OS
    allows it (``os.listdir`` on a path would)."""
    fd = _open_flags(path, os.O_RDONLY | _CLOEXEC | _DIRECTORY)
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def read_limited(path: str, limit: int) -> bytes | None:
    """The whole file, read-only without touching its access time; None when it is larger
    than ``limit`` bytes (nothing beyond ``limit + 1`` bytes is read)."""
    with open_readonly(path) as stream:
        data = read_head(stream, limit + 1)
    return None if len(data) > limit else data


def read_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    """Read up to ``size`` bytes, looping over short reads (pipes return what they have)."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        piece = stream.read(size - got)
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)
