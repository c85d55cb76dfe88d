"""One message per file (``.eml``, a Maildir member, anything whose first line is a header)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources.sniff import (
    SNIFF_BYTES,
    Form,
    classify,
    is_binary,
    open_readonly,
    os_error,
    read_head,
    source_error,
    starts_like_header,
)


def detect(path: str) -> bool:
    """The file's first line is an RFC 5322 header field."""
    try:
        with open_readonly(path) as stream:
            return starts_like_header(read_head(stream, 1000))
    except OSError:
        return False


def iter_eml(path: str, *, limits: Limits) -> Iterator[RawMessage | SourceError]:
    """The file at ``path`` as one message (binary or empty files become errors)."""
    try:
        with open_readonly(path) as stream:
            head = read_head(stream)
            form = classify(head, strict=False)
            if form is Form.EMPTY:
                yield empty_error(path)
            elif form is Form.NOT_MAIL:
                yield not_mail_error(path, binary=is_binary(head))
            else:
                yield read_message(MessageRef(path), head, stream, limits=limits)
    except OSError as exc:
        yield os_error(path, exc)


def read_message(ref: MessageRef, head: bytes, stream: BinaryIO, *,
                 limits: Limits) -> RawMessage:
    """The message whose first bytes are ``head`` and whose rest is in ``stream``; only the
    first ``limits.max_message_bytes`` are kept (the rest is not even read)."""
    cap = limits.max_message_bytes
    if len(head) > cap:
        return RawMessage(ref, head[:cap], truncated=True)
    rest = read_head(stream, cap - len(head) + 1)
    data = head + rest if rest else head
    if len(data) > cap:
        return RawMessage(ref, data[:cap], truncated=True)
    return RawMessage(ref, data)


def without_envelope(head: bytes) -> bytes:
    """Drop a leading mbox From_ line (kept by some delivery agents and "save as" tools)."""
    if not head.startswith(b"From "):
        return head
    end = head.find(b"\n")
    return head[end + 1:] if end >= 0 else b""


def empty_error(path: str, locator: str = "") -> SourceError:
    return source_error(path, "empty", "the file is empty; there is no message to audit", locator)


def not_mail_error(path: str, locator: str = "", *, binary: bool = True) -> SourceError:
    if not binary:
        return source_error(path, "not-mail",
                            "text that is not an email message (no header line such as "
                            "\"From: ...\" before the first blank line); pass .eml, mbox, "
                            "Maildir or Outlook .msg", locator)
    return source_error(path, "not-mail",
                        f"binary data (NUL bytes in the first {SNIFF_BYTES} bytes, no header "
                        "line), not an email message; pass .eml, mbox, Maildir or Outlook .msg",
                        locator)
