"""Reading primitives every input form shares: opening read-only, telling forms apart by their
first bytes, and turning OS errors into ``SourceError`` sentences.

Forms are told apart by content, never by name alone, because mail files carry every extension
there is (dkimpy names raw RFC 5322 messages ``.msg``; Maildir files have no extension at all).
"""

from __future__ import annotations

import errno
import os
import re
from enum import Enum
from typing import BinaryIO

from mailaudit.model import MessageRef, SourceError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # [MS-CFB] 2.2 compound file header signature
PST_MAGIC = b"!BDN"  # [MS-PST] 2.2.2.6: dwMagic of a PST or OST file header
HEAD_BYTES = 64 * 1024  # first read of every file: most messages fit, so one read() is enough
SNIFF_BYTES = 4096  # how far "binary" is judged (NUL bytes)

# RFC 5322 3.6.8 field-name: printable US-ASCII except ":"; RFC 5322 4.5.1 (obsolete syntax)
# allows white space before the colon. One quantifier per run: linear on any input.
_FIELD_START = re.compile(rb"[!-9;-~]+[ \t]*:")
_BOM = b"\xef\xbb\xbf"
# O_NOATIME keeps reads from updating access times (we promise not to touch inputs); the kernel
# only allows it on files the caller owns, so a refusal falls back to a plain read-only open.
_NOATIME = getattr(os, "O_NOATIME", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class Form(Enum):
    """What the first bytes of a file say it is."""

    EML = "eml"
    MBOX = "mbox"
    MSG = "msg"
    PST = "pst"
    EMPTY = "empty"
    NOT_MAIL = "not-mail"  # binary, or (in a directory walk) text that does not start like mail


def first_line(head: bytes) -> bytes:
    end = head.find(b"\n", 0, 1000)
    return head[: end if end >= 0 else 1000]


def starts_like_header(head: bytes) -> bool:
    """The first line is an RFC 5322 header field (``Name: value``)."""
    if head.startswith(_BOM):
        head = head[len(_BOM):]
    return _FIELD_START.match(first_line(head)) is not None


def classify(head: bytes, *, strict: bool) -> Form:
    """Decide a file's form from its first bytes.

    ``strict`` (directory members): only what starts like mail counts; a file named on the
    command line is read as a message unless it is clearly binary, so that a message with a
    mangled first line still gets audited (and its parse problems reported).
    """
    if not head:
        return Form.EMPTY
    if head.startswith(OLE_MAGIC):
        return Form.MSG
    if head.startswith(PST_MAGIC):
        return Form.PST
    if head.startswith(b"From "):
        return Form.MBOX
    if starts_like_header(head):
        return Form.EML
    if strict or b"\x00" in head[:SNIFF_BYTES]:
        return Form.NOT_MAIL
    return Form.EML


def open_readonly(path: str) -> BinaryIO:
    """Open for reading only, without updating the access time where the OS allows it."""
    flags = os.O_RDONLY | _CLOEXEC
    try:
        fd = os.open(path, flags | _NOATIME)
    except PermissionError:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.EINVAL or not _NOATIME:
            raise
        fd = os.open(path, flags)  # some file systems reject O_NOATIME outright
    return os.fdopen(fd, "rb", buffering=0)


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


def source_error(path: str, code: str, message: str, locator: str = "") -> SourceError:
    return SourceError(MessageRef(path, locator), code, f"{path}: {message}")


def os_error(path: str, exc: OSError, *, listed: bool = False) -> SourceError:
    """Say what went wrong with a file in one sentence. ``listed``: we saw the file a moment
    ago (in a directory listing, or by stat), so "not found" means it vanished meanwhile."""
    if isinstance(exc, FileNotFoundError):
        if listed:
            return source_error(path, "vanished",
                                "the file disappeared while it was being read; run again "
                                "when nothing else is moving files")
        return source_error(path, "not-found", "no such file or directory; check the path")
    if isinstance(exc, PermissionError):
        return source_error(path, "unreadable",
                            "permission denied; run as a user who may read it")
    if isinstance(exc, IsADirectoryError):
        return source_error(path, "unreadable", "is a directory where a file was expected")
    reason = exc.strerror or type(exc).__name__
    return source_error(path, "unreadable", f"could not be read ({reason})")
