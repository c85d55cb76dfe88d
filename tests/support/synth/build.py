"""Compose synthetic messages: header fields, RFC 2047 encoded words, MIME bodies.

Everything random (boundaries, Message-IDs) comes from the caller's seeded ``random.Random`` and
every time from the caller, so the same seed gives the same bytes. Output uses CRLF line ends
(RFC 5322 section 2.1) and stays 7-bit: non-ASCII text goes into encoded words and
quoted-printable, which lets a message travel unchanged inside a message/rfc822 attachment.
"""

from __future__ import annotations

import quopri
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

CRLF = b"\r\n"
_MAX_LINE = 78  # RFC 5322 section 2.1.1 SHOULD


@dataclass(frozen=True, slots=True)
class Mailbox:
    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


@dataclass(frozen=True, slots=True)
class Draft:
    """A message before it is signed and sent. ``text``/``html`` None leaves that part out;
    ``attached`` messages become message/rfc822 parts (a "report phishing" forward)."""

    sender: Mailbox
    to: tuple[Mailbox, ...]
    subject: str
    date: datetime
    message_id: str
    text: str | None = None
    html: str | None = None
    reply_to: Mailbox | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    attached: tuple[bytes, ...] = field(default=())


def header_field(name: str, value: str) -> bytes:
    """One header field, folded; non-ASCII text as RFC 2047 encoded words (UTF-8)."""
    if not value.isascii():
        encoded = Header(value, "utf-8", header_name=name, maxlinelen=_MAX_LINE).encode(
            linesep="\r\n")
        return f"{name}: {encoded}".encode("ascii") + CRLF
    return _fold(f"{name}: {value}").encode("ascii") + CRLF


def address_field(name: str, mailboxes: Sequence[Mailbox]) -> bytes:
    line = f"{name}: " + ", ".join(_mailbox(m, name) for m in mailboxes)
    return (line if "\r\n" in line else _fold(line)).encode("ascii") + CRLF


def _mailbox(m: Mailbox, field_name: str) -> str:
    if not m.name:
        return m.address
    if m.name.isascii():
        return formataddr((m.name, m.address))
    # Header splits a long name into several encoded words (each at most 75 characters,
    # RFC 2047 section 2); formataddr would make one over-long word.
    encoded = Header(m.name, "utf-8", header_name=field_name, maxlinelen=_MAX_LINE).encode(
        linesep="\r\n")
    return f"{encoded} <{m.address}>"


def _fold(line: str) -> str:
    """Fold at spaces (RFC 5322 section 2.2.3). A run without spaces stays whole: a long line
    is allowed, breaking a token is not."""
    if len(line) <= _MAX_LINE:
        return line
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > _MAX_LINE:
            out.append(current)
            current = " " + word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\r\n".join(out)


def message_id(rng: random.Random, host: str) -> str:
    return f"<{uuid.UUID(int=rng.getrandbits(128), version=4)}@{host}>"


def boundary(rng: random.Random) -> str:
    return f"_000_{rng.getrandbits(64):016x}_"


def rfc5322_date(when: datetime) -> str:
    return format_datetime(when)


def _qp(text: str) -> bytes:
    lines = text.replace("\r\n", "\n").encode("utf-8")
    return quopri.encodestring(lines).replace(b"\n", CRLF)


def _leaf(content_type: str, text: str) -> tuple[list[bytes], bytes]:
    headers = [f"Content-Type: {content_type}; charset=\"utf-8\"".encode("ascii") + CRLF,
               b"Content-Transfer-Encoding: quoted-printable" + CRLF]
    body = _qp(text)
    if not body.endswith(CRLF):
        body += CRLF
    return headers, body


def _multipart(subtype: str, parts: Sequence[tuple[list[bytes], bytes]],
               rng: random.Random) -> tuple[list[bytes], bytes]:
    b = boundary(rng)
    body = b""
    for headers, payload in parts:
        body += f"--{b}".encode("ascii") + CRLF + b"".join(headers) + CRLF + payload
    body += f"--{b}--".encode("ascii") + CRLF
    return [f"Content-Type: multipart/{subtype};\r\n\tboundary=\"{b}\"".encode("ascii") + CRLF], body


def _attached_message(raw: bytes) -> tuple[list[bytes], bytes]:
    headers = [b"Content-Type: message/rfc822" + CRLF,
               b"Content-Disposition: attachment; filename=\"suspicious.eml\"" + CRLF]
    return headers, raw if raw.endswith(CRLF) else raw + CRLF


def mime_body(draft: Draft, rng: random.Random) -> tuple[list[bytes], bytes]:
    """Content header fields and body for the draft's parts."""
    leaves: list[tuple[list[bytes], bytes]] = []
    if draft.text is not None:
        leaves.append(_leaf("text/plain", draft.text))
    if draft.html is not None:
        leaves.append(_leaf("text/html", draft.html))
    if not leaves:
        leaves.append(_leaf("text/plain", ""))
    content = leaves[0] if len(leaves) == 1 else _multipart("alternative", leaves, rng)
    if draft.attached:
        content = _multipart("mixed", [content, *(_attached_message(m) for m in draft.attached)],
                             rng)
    return content


def compose(draft: Draft, rng: random.Random) -> bytes:
    """The message as its author's system hands it to signing: origin headers and body."""
    content_headers, body = mime_body(draft, rng)
    out = [address_field("From", [draft.sender]), address_field("To", draft.to)]
    if draft.reply_to is not None:
        out.append(address_field("Reply-To", [draft.reply_to]))
    out += [header_field("Subject", draft.subject),
            header_field("Date", rfc5322_date(draft.date)),
            header_field("Message-ID", draft.message_id)]
    out += [header_field(n, v) for n, v in draft.extra_headers]
    out.append(b"MIME-Version: 1.0" + CRLF)
    out += content_headers
    return b"".join(out) + CRLF + body
