"""Reading primitives every input form shares: opening read-only, telling forms apart by their
first bytes, and turning OS errors into ``SourceError`` sentences.

Forms are told apart by content, never by name alone, because mail files carry every extension
there is (dkimpy names raw RFC 5322 messages ``.msg``; Maildir files have no extension at all).
"""

from __future__ import annotations

import re
from enum import Enum

from mailaudit.model import MessageRef, SourceError
from mailaudit.readonly import HEAD_BYTES, list_dir, open_readonly, read_head, read_limited

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # [MS-CFB] 2.2 compound file header signature
PST_MAGIC = b"!BDN"  # [MS-PST] 2.2.2.6: dwMagic of a PST or OST file header
__all__ = ["HEAD_BYTES", "OLE_MAGIC", "PST_MAGIC", "SNIFF_BYTES", "Form", "classify", "has_magic", "is_binary", "list_dir",
           "open_readonly", "os_error", "read_head", "read_limited", "source_error",
           "starts_like_header"]
SNIFF_BYTES = 4096  # how far "binary" is judged (NUL bytes)

# RFC 5322 3.6.8 field-name: printable US-ASCII except ":"; RFC 5322 4.5.1 (obsolete syntax)
# allows white space before the colon. One quantifier per run: linear on any input.
_FIELD_START = re.compile(rb"[!-9;-~]+[ \t]*:")
_NAMED_FIELD = re.compile(rb"[A-Za-z][A-Za-z0-9_-]*[ \t]*:")
_BOM = b"\xef\xbb\xbf"


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


def has_header_line(head: bytes) -> bool:
    """Some line of the would-be header block (up to the first blank line, within the first
    ``SNIFF_BYTES``) is a header field with an ordinary name (``Subject:``). Looser than
    ``starts_like_header`` (a mangled first line is allowed), stricter about the name, so that
    a README, a JSON file or a PEM key is not taken for a message."""
    block = head[:SNIFF_BYTES]
    if block.startswith(_BOM):
        block = block[len(_BOM):]
    for line in block.splitlines()[:100]:
        if not line.strip():
            break
        if _NAMED_FIELD.match(line):
            return True
    return False


def classify(head: bytes, *, strict: bool) -> Form:
    """Decide a file's form from its first bytes.

    ``strict`` (directory members): only what starts like mail counts; a file named on the
    command line is read as a message when some line of its header block is a header field,
    so that a message with a mangled first line still gets audited (and its parse problems
    reported), while a text file that is not mail (a README, a snapshot) is ``NOT_MAIL`` like
    a binary file.
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
    if strict or b"\x00" in head[:SNIFF_BYTES] or not has_header_line(head):
        return Form.NOT_MAIL
    return Form.EML


def has_magic(path: str, magic: bytes) -> bool:
    """The file at ``path`` starts with ``magic`` (by content, never by name)."""
    try:
        with open_readonly(path) as stream:
            return read_head(stream, len(magic)) == magic
    except OSError:
        return False


def is_binary(head: bytes) -> bool:
    return b"\x00" in head[:SNIFF_BYTES]


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
