"""HTML to plain text for matching, without rendering anything.

A hand-written, single-pass tokenizer rather than ``html.parser``: on Python 3.11 the stdlib
parser goes quadratic on unterminated constructs (the CVE-2025-6069 family); measured here, 200 KB
of ``<a href=x `` repeated took 114 s and ``<a b="`` repeated 33 s. This scanner moves its cursor
forward on every step and gives up on a construct the moment it cannot be closed, so it is
linear.

Text hidden in ``alt`` and ``title`` attributes is kept (scammers put their words there so that
filters reading only visible text miss them); script and style are dropped. Invisible characters
(zero-width, bidi controls) are kept as they are: normalising belongs to the template matcher.
"""

from __future__ import annotations

from html import unescape

from mailaudit.model import Link
from mailaudit.parse.links import is_link_url, url_domain

_BLOCK = frozenset({
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "td", "th", "dd",
    "dt", "dl", "center", "address", "form", "fieldset", "nav", "main", "aside", "title",
})
_RAW_TEXT = ("script", "style", "template", "noscript", "xmp", "iframe", "noembed", "noframes")
_LINK_ATTRS = frozenset({"href", "src", "action", "background", "formaction"})
_TEXT_ATTRS = frozenset({"alt", "title"})
_MAX_LINKS = 5_000
# Attributes kept per tag; the rest are scanned past but not kept. 3 million attributes in one
# tag used to be 3 million tuples (559 MB).
_MAX_ATTRS = 256
_TIDY_SEGMENT = 1 << 20
_PARTS_BLOCK = 4096  # text pieces joined into one string every this many (~60 bytes saved each)
_NAME_END = frozenset(" \t\r\n\f/>")
_WS = " \t\r\n\f"


def _parse_attrs(html: str, i: int, n: int) -> tuple[list[tuple[str, str]], int, int]:
    """Attributes from ``i`` up to the closing ``>``; returns (attrs, index after ``>`` or -1
    when the tag never closes (HTML5: EOF in a tag drops it), attributes not kept)."""
    attrs: list[tuple[str, str]] = []
    skipped = 0
    while i < n:
        c = html[i]
        if c in _WS or c == "/":
            i += 1
            continue
        if c == ">":
            return attrs, i + 1, skipped
        start = i
        while i < n and html[i] not in _WS and html[i] not in "/>=":
            i += 1
        name = html[start:i].lower()
        while i < n and html[i] in _WS:
            i += 1
        if i < n and html[i] == "=":
            i += 1
            while i < n and html[i] in _WS:
                i += 1
            if i < n and html[i] in "\"'":
                quote = html[i]
                end = html.find(quote, i + 1)
                if end < 0:
                    return attrs, -1, skipped
                value = html[i + 1:end]
                i = end + 1
            else:
                start = i
                while i < n and html[i] not in _WS and html[i] != ">":
                    i += 1
                value = html[start:i]
            if len(attrs) < _MAX_ATTRS:
                attrs.append((name, unescape(value) if "&" in value else value))
            else:
                skipped += 1
        elif name:
            if len(attrs) < _MAX_ATTRS:
                attrs.append((name, ""))
            else:
                skipped += 1
        else:
            i += 1
    return attrs, -1, skipped


class _Collector:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[str] = []  # ``parts`` joined, _PARTS_BLOCK at a time
        self.links: list[Link] = []
        self.links_dropped = 0
        self.attrs_dropped = 0
        self.anchor: list[str] | None = None
        self.anchor_url = ""

    def add(self, piece: str) -> None:
        parts = self.parts
        parts.append(piece)
        if len(parts) >= _PARTS_BLOCK:
            self.blocks.append("".join(parts))
            parts.clear()

    def joined(self) -> str:
        return "".join(self.blocks) + "".join(self.parts)

    def text(self, data: str) -> None:
        if "&" in data:
            data = unescape(data)
        self.add(data)
        if self.anchor is not None and len(self.anchor) < 100:
            self.anchor.append(data)

    def link(self, url: str) -> None:
        if len(self.links) < _MAX_LINKS:
            self.links.append(Link(url=url, domain=url_domain(url)))
        else:
            self.links_dropped += 1

    def open_tag(self, tag: str, attrs: list[tuple[str, str]]) -> None:
        if tag in _BLOCK:
            self.add("\n")
        href = ""
        for name, value in attrs:
            if not value:
                continue
            if name in _TEXT_ATTRS:
                self.add(f" {value} ")
            elif name in _LINK_ATTRS:
                url = value.strip()
                if is_link_url(url):
                    if tag == "a" and name == "href":
                        href = url
                    else:
                        self.link(url)
        if tag == "a":
            self.close_anchor()
            if href:
                self.anchor, self.anchor_url = [], href

    def close_tag(self, tag: str) -> None:
        if tag == "a":
            self.close_anchor()
        if tag in _BLOCK:
            self.add("\n")

    def close_anchor(self) -> None:
        if self.anchor is not None:
            if len(self.links) < _MAX_LINKS:
                text = " ".join("".join(self.anchor).split())
                self.links.append(Link(url=self.anchor_url, domain=url_domain(self.anchor_url),
                                       text=text[:500]))
            else:
                self.links_dropped += 1
        self.anchor = None


def _tidy(text: str) -> str:
    # Collapse blank-line runs and edge spaces that block tags leave; keep every other
    # character (zero-width ones included) exactly as the HTML had it. A segment of about
    # _TIDY_SEGMENT characters at a time: a list of every line of a 20 MB text of short lines
    # was hundreds of MB.
    out: list[str] = []
    blank = True
    pos, n = 0, len(text)
    while pos < n:
        cut = text.find("\n", pos + _TIDY_SEGMENT)
        end = n if cut < 0 else cut
        kept: list[str] = []
        for line in text[pos:end].split("\n"):
            line = line.strip(" \t\r\f\v")
            if line:
                kept.append(line)
                blank = False
            elif not blank:
                kept.append("")
                blank = True
        if kept:
            out.append("\n".join(kept))
        pos = end + 1
    return "\n".join(out).strip("\n")


def html_to_text(html: str) -> tuple[str, list[Link]]:
    """(text, links) of an HTML document: every http(s)/mailto href and src, with anchor text
    for ``<a>``. Never raises; linear in the input."""
    text, links, _cuts = html_to_text_limited(html)
    return text, links


def html_to_text_limited(html: str) -> tuple[str, list[Link], list[str]]:
    """``html_to_text``, plus a sentence for each limit it hit (links past _MAX_LINKS,
    attributes past _MAX_ATTRS in a tag). Memory is a small multiple of the input."""
    out = _Collector()
    lower = html.lower()  # once, for case-insensitive searches of end tags
    i, n = 0, len(html)
    while i < n:
        lt = html.find("<", i)
        if lt < 0:
            out.text(html[i:])
            break
        if lt > i:
            out.text(html[i:lt])
        nxt = html[lt + 1:lt + 2]
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            i = n if end < 0 else end + 3
        elif nxt in ("!", "?"):
            end = html.find(">", lt + 2)
            i = n if end < 0 else end + 1
        elif nxt == "/":
            end = html.find(">", lt + 2)
            if end < 0:
                break
            name = lower[lt + 2:end].split(None, 1)
            out.close_tag(name[0] if name else "")
            i = end + 1
        elif nxt.isalpha():
            j = lt + 1
            while j < n and html[j] not in _NAME_END:
                j += 1
            tag = lower[lt + 1:j]
            attrs, i, skipped = _parse_attrs(html, j, n)
            out.attrs_dropped += skipped
            if i < 0:
                break  # EOF inside a tag: HTML5 drops it
            out.open_tag(tag, attrs)
            if tag in _RAW_TEXT:
                # Raw text elements run to their end tag; their content is never text.
                end = lower.find("</" + tag, i)
                i = n if end < 0 else end
        else:
            out.text("<")
            i = lt + 1
    out.close_anchor()
    cuts = []
    if out.links_dropped:
        cuts.append(f"{out.links_dropped} links past the first {_MAX_LINKS} not kept")
    if out.attrs_dropped:
        cuts.append(f"{out.attrs_dropped} attributes past {_MAX_ATTRS} in a tag not read")
    return _tidy(out.joined()), out.links, cuts
