"""Show hostile text safely: invisible and control characters made visible, markup escaped.

``visible`` mirrors ``report.text.visible`` (the lead will unify them); ``rendered_pieces``
splits ``TemplateMatch.rendered`` into fixed text and slot values so a report can highlight
what the customer wrote.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

from mailaudit.templates.patterns import SLOT_CLOSE, SLOT_OPEN, SLOT_SEP

__all__ = ["SLOT_CLOSE", "SLOT_OPEN", "SLOT_SEP", "markup_safe", "rendered_pieces", "visible"]

# Invisible or reordering characters (bidi controls: CVE-2021-42574 "Trojan Source").
_SHOW = frozenset([
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0,
    *range(0x200B, 0x2010), *range(0x2028, 0x202F), *range(0x2060, 0x2070),
    *range(0xFE00, 0xFE10), *range(0xFFF9, 0xFFFC), *range(0xE0000, 0xE0080),
])


def _needs(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp <= 0x9F or cp in _SHOW:
        return True
    return cp >= 0x300 and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")


def visible(text: str, *, limit: int | None = None) -> str:
    """Every control, format and invisible character as a ``\\uXXXX`` escape."""
    cut = ""
    if limit is not None and len(text) > limit:
        cut = f"… [{len(text) - limit} more characters]"
        text = text[:limit]
    if text.isascii() and text.isprintable():
        return text + cut
    out = []
    for ch in text:
        if _needs(ch):
            cp = ord(ch)
            out.append(f"\\x{cp:02x}" if cp < 0x100 else
                       f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}")
        else:
            out.append(ch)
    return "".join(out) + cut


def markup_safe(text: str, *, limit: int | None = None) -> str:
    """For rich markup strings: visible, then markup-escaped."""
    return escape(visible(text, limit=limit))


def rendered_pieces(rendered: str) -> list[tuple[str | None, str]]:
    """``[(None, fixed text), (slot name, value), ...]`` from ``TemplateMatch.rendered``."""
    pieces: list[tuple[str | None, str]] = []
    pos = 0
    while pos < len(rendered):
        start = rendered.find(SLOT_OPEN, pos)
        if start < 0:
            pieces.append((None, rendered[pos:]))
            break
        end = rendered.find(SLOT_CLOSE, start)
        sep = rendered.find(SLOT_SEP, start, end if end >= 0 else len(rendered))
        if end < 0 or sep < 0:
            pieces.append((None, rendered[pos:]))
            break
        if start > pos:
            pieces.append((None, rendered[pos:start]))
        pieces.append((rendered[start + 1:sep], rendered[sep + 1:end]))
        pos = end + 1
    return pieces
