"""The rich console every colour view draws on: markup, emoji and highlighting off, so no
text from outside is ever interpreted, and ``emit``, which writes no trailing spaces."""

from __future__ import annotations

from typing import IO

from rich.console import Console, RenderableType
from rich.text import Text


def make_console(file: IO[str] | None = None, *, color: bool | None = None,
                 width: int | None = None) -> Console:
    return Console(file=file, markup=False, emoji=False, highlight=False,
                   force_terminal=color, no_color=(color is False), width=width,
                   soft_wrap=False)


def emit(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable`` wrapped to the console width, each line without trailing spaces
    (rich pads table cells and padded blocks to their full width)."""
    lines = console.render_lines(renderable, console.options, pad=False)
    for line in lines:
        text = Text(end="")
        for seg in line:
            if not seg.control:
                text.append(seg.text, seg.style)
        text.rstrip()
        console.print(text, soft_wrap=True)
