"""The parsed form of one message that every check reads.

Headers are parsed eagerly (every check needs them, and it is cheap); MIME bodies are parsed
only when something asks for ``body()`` (the template matcher does, for catalogued senders),
because parsing MIME is most of the cost of reading mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from mailaudit.model import Address, Finding, Link
from mailaudit.parse.received import NO_HOPS, ReceivedChain
from mailaudit.records import record


class Header(NamedTuple):
    name: str  # as written
    lname: str  # lower-case name
    value: str  # unfolded value, bytes decoded as UTF-8 (invalid bytes replaced), not RFC 2047 decoded
    raw: bytes  # the whole field as in the message: "Name: value\r\n\tcontinued" without the final line end


class FieldSpan(NamedTuple):
    """Where one header field (its first line and its continuation lines) lies in the raw
    message: what DKIM and ARC hash, whatever the parser's limits kept of it."""

    start: int  # first byte of the field
    colon: int  # index of the first ":" on its first line, or -1
    end: int  # index of the LF that ends its last line (end of the block when it has none)


@record
class Part:
    """A leaf or message part found while walking MIME."""

    path: str  # MIME part path, "1", "1.2", ...
    content_type: str  # lower-case "type/subtype"
    filename: str
    data: bytes  # decoded payload (transfer encoding undone); for message/rfc822 the message bytes


@record
class Body:
    text: str  # all text/plain parts, decoded to str
    html_text: str  # all text/html parts turned into text (never rendered); alt/title text kept
    links: tuple[Link, ...]
    attachments: tuple[Part, ...]  # non-text leaves
    messages: tuple[Part, ...]  # message/rfc822 parts (a user's "report phishing" forward)
    findings: tuple[Finding, ...] = ()  # broken MIME, limits hit, undecodable charset, ...

    @property
    def all_text(self) -> str:
        """Text for matching: the plain part and the HTML part's text (both, in that order)."""
        if self.text and self.html_text:
            return self.text + "\n" + self.html_text
        return self.text or self.html_text


@dataclass(slots=True)
class ParsedMessage:
    """Built by ``mailaudit.parse.parse_message``. Treat as read-only."""

    raw: bytes
    headers: tuple[Header, ...]
    from_: tuple[Address, ...] = ()
    sender: Address | None = None
    reply_to: tuple[Address, ...] = ()
    return_path: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    subject: str | None = None  # RFC 2047 decoded
    date: str | None = None  # ISO 8601 when parsable, else the raw value
    message_id: str | None = None
    # Top first, each hop read when first reached (see ReceivedChain).
    received: ReceivedChain = NO_HOPS
    findings: tuple[Finding, ...] = ()  # header-level problems and limits hit
    body_offset: int = 0  # index in raw where the body starts (after the blank line)
    # Every field of the header block as spans over raw (not cut by max_headers or
    # max_header_bytes; see parse.headers.SPANS_PER_HEADER_LIMIT), for DKIM and ARC. None when
    # the message was built by hand: the checks then split raw themselves.
    spans: tuple[FieldSpan, ...] | None = None
    spans_complete: bool = True
    _body: Body | None = field(default=None, repr=False)
    _body_loader: object = field(default=None, repr=False)  # callable () -> Body, set by the parser

    def get(self, lname: str) -> str | None:
        """First (topmost) value of a header, by lower-case name."""
        for h in self.headers:
            if h.lname == lname:
                return h.value
        return None

    def get_all(self, lname: str) -> list[str]:
        return [h.value for h in self.headers if h.lname == lname]

    def body(self) -> Body:
        """Parse MIME on first use and keep the result."""
        if self._body is None:
            loader = self._body_loader
            assert callable(loader), "ParsedMessage built without a body loader"
            self._body = loader()
        return self._body
