"""Build ParsedMessage values for the template tests from real MIME bytes.

The project's own parser (``mailaudit.parse.parse_message``) is written in parallel; these tests
must not depend on its progress, so a tiny adapter over the standard library's email package
builds the same ``ParsedMessage`` shape: decoded From/Subject, the text part, the HTML part as
text (alt and title attributes kept, as the parser documents), and the links.
"""

from __future__ import annotations

import email.policy
from email.headerregistry import Address as StdAddress
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser
from urllib.parse import urlsplit

from mailaudit.model import Address, Link
from mailaudit.parse.message import Body, Header, ParsedMessage
from mailaudit.templates.matcher import Rendered

_BLOCK = {"p", "div", "br", "tr", "td", "th", "li", "table", "h1", "h2", "h3", "title"}


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[Link] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("style", "script"):
            self._skip += 1
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "img" and a.get("alt"):
            self.parts.append(" " + a["alt"] + " ")
        if a.get("title"):
            self.parts.append(" " + a["title"] + " ")
        if tag == "a" and a.get("href"):
            href = a["href"]
            self.links.append(Link(href, (urlsplit(href).hostname or "").lower()))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, tuple[Link, ...]]:
    p = _HtmlText()
    p.feed(html)
    p.close()
    return "".join(p.parts), tuple(p.links)


def build_mime(*, from_: str, subject: str, text: str | None, html: str | None,
               to: str = "victim@example.net") -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = from_
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<test@example.invalid>"
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content("")
    return msg.as_bytes()


def parse(raw: bytes) -> ParsedMessage:
    std = email.message_from_bytes(raw, policy=email.policy.default)
    headers = tuple(Header(k, k.lower(), str(v), b"") for k, v in std.items())
    froms = []
    for name, addr in getaddresses([str(v) for v in std.get_all("From", [])]):
        froms.append(Address(name, addr, addr.rpartition("@")[2].lower() if "@" in addr else ""))
    text_parts: list[str] = []
    html_parts: list[str] = []
    links: list[Link] = []
    for part in std.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            text_parts.append(part.get_content())
        elif ctype == "text/html":
            t, ls = html_to_text(part.get_content())
            html_parts.append(t)
            links.extend(ls)
    body = Body(text="\n".join(text_parts), html_text="\n".join(html_parts), links=tuple(links),
                attachments=(), messages=())
    return ParsedMessage(raw=raw, headers=headers, from_=tuple(froms),
                         subject=str(std["Subject"]) if std["Subject"] is not None else None,
                         _body=body)


def message(*, from_: str, subject: str, text: str | None = None,
            html: str | None = None) -> ParsedMessage:
    return parse(build_mime(from_=from_, subject=subject, text=text, html=html))


def from_rendered(r: Rendered, *, address: str, display: str = "Microsoft",
                  text: bool = True, html: bool = True) -> ParsedMessage:
    frm = str(StdAddress(display_name=display, addr_spec=address))
    return message(from_=frm, subject=r.subject, text=r.text if text else None,
                   html=r.html if html else None)
