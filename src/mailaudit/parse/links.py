"""URLs in text and the host each one points at."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mailaudit.model import Link

# One literal prefix and one character class: no nested quantifier, so the scan is linear.
_URL_RE = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"*"
_MAX_URL = 4096


def url_domain(url: str) -> str:
    """Lower-case host of an http(s) URL or the domain of a mailto: address; "" when none."""
    if url[:7].lower() == "mailto:":
        addr = url[7:].split("?", 1)[0]
        at = addr.rfind("@")
        return addr[at + 1:].strip().lower() if at >= 0 else ""
    try:
        host = urlsplit(url[:_MAX_URL]).hostname
    except ValueError:  # malformed IPv6 literal and similar
        return ""
    return (host or "").rstrip(".").lower()


def is_link_url(url: str) -> bool:
    low = url[:8].lower()
    return low.startswith(("http://", "https://", "mailto:"))


def text_links(text: str) -> list[Link]:
    """Every http(s) and mailto URL written out in plain text."""
    out: list[Link] = []
    for m in _URL_RE.finditer(text):
        url = m.group(0)[:_MAX_URL].rstrip(_TRAILING)
        if url.lower() in ("http://", "https://", "mailto:") or url.endswith(":/"):
            continue
        out.append(Link(url=url, domain=url_domain(url)))
    return out
