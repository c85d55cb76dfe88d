"""RFC 5322 bytes from MAPI message properties, for the .msg and PST readers.

Both Outlook forms keep properties, not the message as it arrived; ``sources.msg`` and
``sources.pst`` read the properties their own way and hand them here as a ``string(pid)``
reader, so the header section and MIME parts are made one way for both.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailaudit.model import Finding, Severity

SOURCE_HEADER = "X-Mailaudit-Source"

# Property ids ([MS-OXPROPS]).
SUBJECT, TRANSPORT_HEADERS, BODY, HTML, MESSAGE_ID = 0x0037, 0x007D, 0x1000, 0x1013, 0x1035
SENDER_NAME, SENDER_EMAIL, SENDER_SMTP = 0x0C1A, 0x0C1F, 0x5D01
SENT_REP_NAME, SENT_REP_EMAIL, SENT_REP_SMTP = 0x0042, 0x0065, 0x5D02
DISPLAY_TO = 0x0E04
RECIP_NAME, RECIP_EMAIL, RECIP_SMTP = 0x3001, 0x3003, 0x39FE
ATTACH_LONG_NAME, ATTACH_NAME, ATTACH_MIME, ATTACH_CID = 0x3707, 0x3704, 0x370E, 0x3712
_RECIP_FIELDS = {1: "To", 2: "Cc", 3: "Bcc"}  # PR_RECIPIENT_TYPE

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
_MIME_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}")
_DROPPED_FIELDS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})

StringReader = Callable[[int], "str | None"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """One row of a message's recipient table."""

    kind: int | None  # PR_RECIPIENT_TYPE: 1 To, 2 Cc, 3 Bcc
    name: str | None
    email: str | None  # PR_SMTP_ADDRESS, else PR_EMAIL_ADDRESS (an X.500 DN for Exchange users)


def rebuilt_finding(code: str, stores: str) -> Finding:
    """What every rebuilt message's record says (``RawMessage.rebuilt`` is set with it)."""
    return Finding(code, Severity.INFO,
                   f"the body was rebuilt from the bodies {stores} stores, not the bytes that "
                   "were signed: a DKIM body-hash mismatch is expected and proves nothing, so "
                   "DKIM is neutral for it; the verdict rests on the rest of the evidence (the "
                   "recorded results: --trust-authserv-id names the receiver)")


def filetime(data: bytes) -> datetime | None:
    """A PT_SYSTIME value: 100 ns intervals since 1601-01-01 UTC ([MS-DTYP] 2.3.3)."""
    if len(data) < 8:
        return None
    try:
        return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=int.from_bytes(data[:8], "little") // 10)
    except OverflowError:
        return None


def reason(exc: Exception) -> str:
    text = _CONTROLS.sub(" ", str(exc)).strip()[:200]
    return text or type(exc).__name__


def transport_head(text: str, source: str) -> bytes:
    """The saved transport headers, up to their first blank line, in CRLF, without the fields
    that describe the original body (we attach a rebuilt one)."""
    kept: list[str] = []
    dropping = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if kept:
                break  # a blank line ends the header section (RFC 5322 2.1)
            continue
        if line[0] in " \t":
            if not dropping and kept:
                kept.append(line)
            continue
        name = line.split(":", 1)[0].strip().lower()
        dropping = name in _DROPPED_FIELDS
        if not dropping:
            kept.append(line)
    if not kept:
        return b""
    kept.append(f"{SOURCE_HEADER}: {source}")
    return ("\r\n".join(kept) + "\r\n").encode("utf-8", "surrogateescape")


def properties_head(string: StringReader, recipients: Iterable[Recipient], *, subject: str,
                    when: datetime | None, source: str) -> bytes:
    """A header section made up from the message properties, for an item saved without its
    transport headers."""
    sender = _sender(string)
    fields = [f"From: {sender}"] if sender else []
    by_kind: dict[str, list[str]] = {}
    for recip in recipients:
        email = recip.email
        if email and "@" not in email:
            email = ""  # an X.500 DN, not a mail address
        kind = _RECIP_FIELDS.get(recip.kind or 1, "To")
        by_kind.setdefault(kind, []).append(_address(recip.name, email))
    if not by_kind and (display_to := string(DISPLAY_TO)):
        by_kind["To"] = [_encoded(display_to)]
    for kind in ("To", "Cc", "Bcc"):
        if by_kind.get(kind):
            fields.append(f"{kind}: " + ",\r\n ".join(by_kind[kind]))
    fields.append(f"Subject: {_encoded(subject)}")
    if when is not None:
        from email.utils import format_datetime

        fields.append(f"Date: {format_datetime(when)}")
    message_id = clean(string(MESSAGE_ID) or "")
    if message_id:
        fields.append(f"Message-ID: {message_id}")
    fields.append(f"{SOURCE_HEADER}: {source}")
    return ("\r\n".join(fields) + "\r\n").encode("utf-8")


def _sender(string: StringReader) -> str:
    smtp = string(SENDER_SMTP) or string(SENT_REP_SMTP)
    email = string(SENDER_EMAIL) or string(SENT_REP_EMAIL) or ""
    if not smtp and "@" in email:
        smtp = email  # an Exchange sender's PR_SENDER_EMAIL_ADDRESS is an X.500 DN, not mail
    return _address(string(SENDER_NAME) or string(SENT_REP_NAME), smtp or "")


def clean(value: str) -> str:
    # Property values are attacker text: a CR or LF in a subject must not start a new header.
    return _CONTROLS.sub(" ", value).strip()


def _encoded(value: str) -> str:
    value = clean(value)
    if value.isascii():
        return value
    from email.header import Header  # lazily: Outlook input is rare, the email package is not light

    return Header(value, "utf-8").encode(linesep="\r\n")


def _address(name: str | None, email: str | None) -> str:
    name = clean(name or "")
    email = clean(email or "").replace(" ", "").replace("<", "").replace(">", "")
    if not email:
        return _encoded(name)
    from email.utils import formataddr

    return formataddr((name, email), charset="utf-8") if name and name != email else email


def leaf(content_type: str, data: bytes, extra: tuple[str, ...] = ()) -> bytes:
    head = [f"Content-Type: {content_type}", "Content-Transfer-Encoding: base64", *extra]
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + encoded


def multipart(subtype: str, parts: list[bytes]) -> bytes:
    # Every leaf is base64, whose alphabet has no "_": the fixed boundary cannot occur inside,
    # and the same file gives the same bytes on every run.
    boundary = f"=_mailaudit_{subtype}"
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")]
    for part in parts:
        out.append(f"--{boundary}\r\n".encode("ascii"))
        out.append(part)
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def alternatives(parts: list[bytes]) -> bytes:
    """The stored bodies (plain, HTML, RTF) as one part: the one, or multipart/alternative."""
    return parts[0] if len(parts) == 1 else multipart("alternative", parts)


def mime_message(body: bytes, attachments: list[bytes]) -> bytes:
    """The rebuilt MIME body section: the body part, in multipart/mixed with the attachments."""
    if attachments:
        body = multipart("mixed", [body, *attachments])
    return b"MIME-Version: 1.0\r\n" + body


def attachment_part(string: StringReader, data: bytes) -> bytes:
    """One file attachment as a MIME leaf; ``string`` reads the attachment's properties."""
    from urllib.parse import quote

    mime = clean(string(ATTACH_MIME) or "")
    content_type = mime if _MIME_TYPE.fullmatch(mime) else "application/octet-stream"
    name = clean(string(ATTACH_LONG_NAME) or string(ATTACH_NAME) or string(RECIP_NAME) or "")
    extra = ["Content-Disposition: attachment" + (
        f"; filename*=utf-8''{quote(name, safe='')}" if name else "")]
    cid = clean(string(ATTACH_CID) or "").strip("<>").replace(" ", "")
    if cid:
        extra.append(f"Content-ID: <{cid}>")
    return leaf(content_type, data, tuple(extra))
