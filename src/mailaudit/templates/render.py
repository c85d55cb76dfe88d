"""Render a template into a notification body, for the sample generator and the tests.

The HTML is the shape these notifications have: a fixed-width table, a brand bar, one row per
line of the template, and a footer row. The text alternative has the same lines. Slot values
are HTML-escaped; nothing in the output is script or remote content.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from mailaudit.records import record
from mailaudit.templates.catalog import Template
from mailaudit.templates.patterns import Segment


@record
class Rendered:
    subject: str
    text: str
    html: str


def example_values(template: Template) -> dict[str, str]:
    """The first genuine example's slot values."""
    return dict(template.examples[0])


def _fill(segments: tuple[Segment, ...], values: Mapping[str, str], *, escape: bool) -> str:
    parts: list[str] = []
    for s in segments:
        if s.is_slot:
            value = values.get(s.slot, "")
            parts.append(html.escape(value) if escape else value)
        else:
            parts.append(html.escape(s.text) if escape else s.text)
    return " ".join(p for p in parts if p)


def render(template: Template, values: Mapping[str, str]) -> Rendered:
    """Subject, text and HTML of a genuine-looking message with ``values`` in the slots.

    Slots missing from ``values`` are filled from the template's first example.
    """
    filled = {**example_values(template), **values}
    subject = _fill(template.subject, filled, escape=False)
    lines = [_fill(line.segments, filled, escape=False) for line in template.body]
    text = "\n\n".join(lines) + "\n"
    rows = []
    for i, line in enumerate(template.body):
        cell = _fill(line.segments, filled, escape=True)
        style = ("font-size:24px;font-weight:600;padding:16px 24px 8px"
                 if i == 0 else "font-size:14px;padding:4px 24px")
        rows.append(f'<tr><td style="{style}">{cell}</td></tr>')
    body_html = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="margin:0;background:#f3f3f3;font-family:Segoe UI,Arial,sans-serif">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td '
        'align="center">\n<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        'style="background:#ffffff;color:#1b1b1b">\n'
        '<tr><td style="height:6px;background:#0078d4"></td></tr>\n'
        + "\n".join(rows)
        + '\n<tr><td style="height:24px"></td></tr>\n</table>\n</td></tr></table>\n'
        "</body></html>\n"
    )
    return Rendered(subject=subject, text=text, html=body_html)
