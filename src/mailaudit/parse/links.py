"""URLs in text and the host each one points at."""

from __future__ import annotations

import re

from mailaudit.model import Link

# One literal prefix and one character class: no nested quantifier, so the scan is linear.
_URL_RE = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"*"
_MAX_URL = 4096
MAX_LINKS = 5_000  # per text; a 20 MB text of "http://a " is 2 million URLs (~400 MB as Links)


def url_domain(url: str) -> str:
    """Lower-case host of an http(s) URL or the domain of a mailto: address; "" when none."""
    if url[:7].lower() == "mailto:":
        addr = url[7:].split("?", 1)[0]
        at = addr.rfind("@")
        return addr[at + 1:].strip().lower() if at >= 0 else ""
    # Hand-split rather than urlsplit(): this runs for every link of every HTML body, and the
    # authority is all we need (RFC 3986 §3.2: userinfo@host:port).
    scheme_end = url.find("://")
    if scheme_end < 0:
        return ""
    rest = url[scheme_end + 3:scheme_end + 3 + _MAX_URL]
    for sep in "/?#\\":
        cut = rest.find(sep)
        if cut >= 0:
            rest = rest[:cut]
    host = rest[rest.rfind("@") + 1:]
    if host.startswith("["):
        end = host.find("]")
        return host[1:end].lower() if end > 0 else ""
    return host.split(":", 1)[0].strip().rstrip(".").lower()


def is_link_url(url: str) -> bool:
    low = url[:8].lower()
    return low.startswith(("http://", "https://", "mailto:"))


def text_links(text: str) -> list[Link]:
    """Every http(s) and mailto URL written out in plain text (the first MAX_LINKS)."""
    return text_links_limited(text)[0]


def text_links_limited(text: str, limit: int = MAX_LINKS) -> tuple[list[Link], int]:
    """(the first ``limit`` URLs of ``text``, how many more there were: counted, not kept)."""
    out: list[Link] = []
    more = 0
    for m in _URL_RE.finditer(text):
        url = m.group(0)[:_MAX_URL].rstrip(_TRAILING)
        if url.lower() in ("http://", "https://", "mailto:") or url.endswith(":/"):
            continue
        if len(out) >= limit:
            more += 1
            continue
        out.append(Link(url=url, domain=url_domain(url)))
    return out, more
