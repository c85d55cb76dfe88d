"""Show hostile text safely: invisible and control characters made visible, markup escaped.

``visible`` is ``report.text.visible``, the one rule for the whole tool; ``rendered_pieces``
splits ``TemplateMatch.rendered`` into fixed text and slot values so a report can highlight
what the customer wrote.
"""

from __future__ import annotations

from rich.markup import escape

from mailaudit.report.text import visible
from mailaudit.templates.patterns import SLOT_CLOSE, SLOT_OPEN, SLOT_SEP

__all__ = ["SLOT_CLOSE", "SLOT_OPEN", "SLOT_SEP", "markup_safe", "rendered_pieces", "visible"]

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
