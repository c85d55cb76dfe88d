"""The human report's layout: styled text, column grids, indents and groups, drawn as plain
lines when the report goes to a pipe or a file, and handed to rich only to be drawn in colour
on a terminal.

Importing rich and drawing through it is about a fifth of a one-message ``check``
(``benchmarks/bench_startup.py``), and piped output has no colour to draw; so the report is
built from these few plain objects. ``PlainOut`` wraps at spaces and folds a word longer than
its column onto the next line, as rich's ``overflow="fold"`` does (evidence is wrapped, never
cut), and writes no trailing spaces. ``RichOut`` turns the same objects into rich's.

Every string put into a ``Text`` must already have gone through ``report.text.visible``: this
module draws what it is given.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Protocol

from mailaudit.records import record

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text as RichText

Span = tuple[str, str]  # (text, rich style; "" for none)


class Text:
    """Text in styled spans over a base style (rich's ``Text``, reduced to what the report
    uses): as in rich, ``style`` applies to the whole text, appended pieces included, and each
    piece's own style goes on top."""

    __slots__ = ("spans", "style")

    def __init__(self, text: str = "", style: str = "") -> None:
        self.style = style
        self.spans: list[Span] = [(text, "")] if text else []

    def append(self, text: str, style: str = "") -> Text:
        if text:
            self.spans.append((text, style))
        return self

    def append_text(self, other: Text) -> Text:
        """``other`` appended with its own base style kept (rich's ``append_text``)."""
        for text, style in other.spans:
            self.spans.append((text, f"{other.style} {style}".strip()))
        return self

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.spans)

    def __add__(self, other: Text) -> Text:
        out = Text(style=self.style)
        out.spans = list(self.spans)
        return out.append_text(other)

    def rstrip(self) -> None:
        while self.spans:
            text, style = self.spans[-1]
            kept = text.rstrip()
            if kept:
                self.spans[-1] = (kept, style)
                return
            self.spans.pop()

    def split(self, sep: str = "\n") -> list[Text]:
        """One Text per line, each with this base style; a trailing separator makes no empty
        last line (as rich)."""
        lines = [Text(style=self.style)]
        for text, style in self.spans:
            first, *rest = text.split(sep)
            lines[-1].append(first, style)
            for part in rest:
                lines.append(Text(style=self.style).append(part, style))
        if len(lines) > 1 and not lines[-1].spans:
            lines.pop()
        return lines

    def join(self, parts: Iterable[Text]) -> Text:
        """``parts`` with this text between them (rich's ``join``)."""
        out = Text(style=self.style)
        for i, part in enumerate(parts):
            if i:
                out.spans.extend(self.spans)
            out.append_text(part)
        return out


@record
class Column:
    header: str = ""
    no_wrap: bool = False
    min_width: int | None = None
    style: str = ""
    justify: str = "left"
    ratio: int | None = None


class Table:
    """Columns without borders: rich's ``Table(box=None)`` and ``Table.grid``. Long cells
    always fold (``overflow="fold"``) unless the column is ``no_wrap``."""

    def __init__(self, *, show_header: bool = True, header_style: str = "",
                 title: str | None = None, pad_edge: bool = True,
                 padding: tuple[int, int] = (0, 1), grid: bool = False) -> None:
        self.show_header = show_header
        self.header_style = header_style
        self.title = title
        self.pad_edge = pad_edge
        self.padding = padding
        self.is_grid = grid
        self.columns: list[Column] = []
        self.rows: list[list[Text]] = []

    @classmethod
    def grid(cls, *, padding: tuple[int, int] = (0, 0), pad_edge: bool = False) -> Table:
        return cls(show_header=False, pad_edge=pad_edge, padding=padding, grid=True)

    def add_column(self, header: str = "", *, no_wrap: bool = False, min_width: int | None = None,
                   style: str = "", justify: str = "left", ratio: int | None = None) -> None:
        self.columns.append(Column(header, no_wrap=no_wrap, min_width=min_width, style=style,
                                   justify=justify, ratio=ratio))

    def add_row(self, *cells: Text | str) -> None:
        self.rows.append([c if isinstance(c, Text) else Text(c) for c in cells])


class Padding:
    """``child`` indented by ``left`` columns."""

    __slots__ = ("child", "left")

    def __init__(self, child: Node, left: int) -> None:
        self.child = child
        self.left = left


class Group:
    __slots__ = ("children",)

    def __init__(self, *children: Node) -> None:
        self.children = children


Node = Text | Table | Padding | Group


# -- plain drawing ------------------------------------------------------------------------------

def cell_len(text: str) -> int:
    """Terminal columns ``text`` takes (wide East Asian characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    return sum(_cells(ch) for ch in text)


def _cells(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _fold(word: str, width: int) -> list[str]:
    """``word`` in pieces of at most ``width`` columns."""
    if word.isascii():
        return [word[i:i + width] for i in range(0, len(word), width)] or [""]
    pieces: list[str] = []
    piece, used = "", 0
    for ch in word:
        n = _cells(ch)
        if used + n > width and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece += ch
        used += n
    pieces.append(piece)
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at spaces; a word wider than ``width`` is folded, never cut."""
    width = max(1, width)
    out: list[str] = []
    for para in text.split("\n"):
        if cell_len(para) <= width:
            out.append(para)
            continue
        line, used = "", 0
        for i, word in enumerate(para.split(" ")):
            n = cell_len(word)
            if i and used + 1 + n <= width:
                line, used = f"{line} {word}", used + 1 + n
                continue
            if i:
                out.append(line)
            if n <= width:
                line, used = word, n
                continue
            *whole, line = _fold(word, width)
            out.extend(whole)
            used = cell_len(line)
        out.append(line)
    return out


def _widths(table: Table, width: int, gap: int, edge: int) -> list[int]:
    """Each column's width: its widest line when everything fits, else the widest wrapping
    columns are capped at one level (water-filling) so the narrow ones keep their width."""
    cols = table.columns
    natural = []
    for i, col in enumerate(cols):
        cells = [row[i].plain for row in table.rows if i < len(row)]
        if table.show_header:
            cells.append(col.header)
        w = max((cell_len(line) for c in cells for line in c.split("\n")), default=0)
        natural.append(max(w, col.min_width or 0))
    room = width - gap * (len(cols) - 1) - 2 * edge
    if sum(natural) <= room:
        return natural
    flex = [i for i, c in enumerate(cols) if not c.no_wrap]
    budget = room - sum(w for i, w in enumerate(natural) if i not in flex)
    floor = {i: max(cols[i].min_width or 0, 4) for i in flex}
    if budget <= sum(floor.values()):
        return [floor.get(i, w) for i, w in enumerate(natural)]
    # The cap: the largest level such that the flexible columns, each at min(natural, cap)
    # (never under its floor), fit in the budget.
    lo, hi = 1, max(natural[i] for i in flex)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(max(floor[i], min(natural[i], mid)) for i in flex) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return [max(floor[i], min(natural[i], lo)) if i in floor else w
            for i, w in enumerate(natural)]


def _table_lines(table: Table, width: int) -> list[str]:
    pad = table.padding[1]
    gap = pad if table.is_grid else 2 * pad
    edge = pad if table.pad_edge else 0
    widths = _widths(table, width, gap, edge)
    rows = list(table.rows)
    if table.show_header:
        rows.insert(0, [Text(c.header) for c in table.columns])
    out: list[str] = []
    if table.title:
        total = sum(widths) + gap * (len(widths) - 1) + 2 * edge
        out.append(" " * max(0, (total - cell_len(table.title)) // 2) + table.title)
    for row in rows:
        cells = []
        for i, w in enumerate(widths):
            text = row[i].plain if i < len(row) else ""
            cells.append(wrap(text, w) if not table.columns[i].no_wrap else text.split("\n"))
        for k in range(max(len(c) for c in cells)):
            parts = []
            for i, w in enumerate(widths):
                piece = cells[i][k] if k < len(cells[i]) else ""
                fill = " " * max(0, w - cell_len(piece))
                parts.append(fill + piece if table.columns[i].justify == "right" else piece + fill)
            out.append(" " * edge + (" " * gap).join(parts))
    return out


def plain_lines(node: Node, width: int) -> list[str]:
    """``node`` as lines of at most ``width`` columns (a no-wrap cell may be wider)."""
    if isinstance(node, Text):
        return wrap(node.plain, width)
    if isinstance(node, Padding):
        return [" " * node.left + line for line in plain_lines(node.child, width - node.left)]
    if isinstance(node, Group):
        return [line for child in node.children for line in plain_lines(child, width)]
    return _table_lines(node, width)


def stream_width() -> int:
    """The width rich gives a console that is not a terminal: ``COLUMNS``, else the size of
    whichever standard stream is a terminal, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except OSError:
            continue
    return 80


class Out(Protocol):
    """Where the report is drawn."""

    @property
    def width(self) -> int: ...

    def emit(self, node: Node) -> None:
        """``node`` wrapped to the width, each line without trailing spaces."""

    def blank(self) -> None: ...

    def cut(self, text: Text) -> None:
        """``text`` on one line, ended with "…" where it is wider than the width."""

    def indented(self, text: Text, indent: int) -> None:
        """``text`` wrapped with every line indented by ``indent`` columns."""


class PlainOut:
    """Plain lines to ``stream`` (standard output as it is at write time when None)."""

    def __init__(self, stream: IO[str] | None = None, *, width: int | None = None) -> None:
        self.stream = stream
        self._width = width if width is not None else stream_width()

    @property
    def width(self) -> int:
        return self._width

    def _write(self, lines: Iterable[str]) -> None:
        (self.stream or sys.stdout).write("".join(line.rstrip() + "\n" for line in lines))

    def emit(self, node: Node) -> None:
        self._write(plain_lines(node, self._width))

    def blank(self) -> None:
        self._write([""])

    def cut(self, text: Text) -> None:
        line = text.plain.replace("\n", " ")
        if cell_len(line) > self._width:
            line = _fold(line, max(1, self._width - 1))[0] + "…"
        self._write([line])

    def indented(self, text: Text, indent: int) -> None:
        self._write(" " * indent + line for line in wrap(text.plain, max(20, self._width - indent)))


# -- rich, for colour on a terminal -------------------------------------------------------------

def to_rich(node: Node) -> RenderableType:
    """The same layout as rich renderables."""
    from rich.padding import Padding as RichPadding

    if isinstance(node, Text):
        return _rich_text(node)
    if isinstance(node, Padding):
        return RichPadding(to_rich(node.child), (0, 0, 0, node.left))
    if isinstance(node, Group):
        from rich.console import Group as RichGroup

        return RichGroup(*(to_rich(c) for c in node.children))
    from rich.table import Table as RichTable

    table = (RichTable.grid(padding=node.padding, pad_edge=node.pad_edge) if node.is_grid else
             RichTable(show_header=node.show_header, header_style=node.header_style or None,
                       title=node.title, box=None, pad_edge=node.pad_edge, padding=node.padding))
    for col in node.columns:
        table.add_column(col.header, no_wrap=col.no_wrap, overflow="fold",
                         min_width=col.min_width, style=col.style or None,
                         justify="right" if col.justify == "right" else "left", ratio=col.ratio)
    for row in node.rows:
        table.add_row(*(_rich_text(c) for c in row))
    return table


def _rich_text(text: Text) -> RichText:
    from rich.text import Text as RichText

    out = RichText(style=text.style)
    for piece, style in text.spans:
        out.append(piece, style or None)
    return out


class RichOut:
    """Through a rich console (colour on a terminal)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @property
    def width(self) -> int:
        return self.console.width

    def emit(self, node: Node) -> None:
        from mailaudit.report.console import emit

        emit(self.console, to_rich(node))

    def blank(self) -> None:
        self.console.print()

    def cut(self, text: Text) -> None:
        self.console.print(_rich_text(text), overflow="ellipsis", no_wrap=True, crop=True)

    def indented(self, text: Text, indent: int) -> None:
        from rich.text import Text as RichText

        for piece in _rich_text(text).wrap(self.console, max(20, self.console.width - indent)):
            piece.rstrip()
            self.console.print(RichText(" " * indent) + piece, soft_wrap=True)
