"""The plain drawing of the human report (pipes and files) against rich's (terminals): the same
words, wrapped to the width, folded and never cut, no trailing spaces."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.audit import audit_message
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.report.console import make_console
from mailaudit.report.human import render_detail, render_line
from mailaudit.report.layout import PlainOut, RichOut, Table, Text, cell_len, plain_lines, wrap
from mailaudit.templates.catalog import Catalog
from support.paths import SAMPLES

SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.eml"))


def _drawn(path: Path, resolver: SnapshotResolver, catalog: Catalog, width: int,
           ) -> tuple[str, str]:
    result = audit_message(path.read_bytes(), resolver=resolver, catalog=catalog)
    plain, rich = io.StringIO(), io.StringIO()
    for out in (PlainOut(plain, width=width),
                RichOut(make_console(rich, color=False, width=width))):
        render_detail(out, result)
        render_line(out, result)
    return plain.getvalue(), rich.getvalue()


@pytest.mark.parametrize("width", [80, 140])
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_plain_and_rich_show_the_same_characters(name: str, width: int,
                                                 samples_resolver: SnapshotResolver,
                                                 catalog: Catalog) -> None:
    plain, rich = _drawn(SAMPLES / name, samples_resolver, catalog, width)

    def chars(text: str) -> Counter[str]:
        return Counter(ch for ch in text if not ch.isspace())

    assert chars(plain) == chars(rich)
    lines = plain.splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert all(cell_len(line) <= width for line in lines), max(lines, key=len)


def test_a_long_word_is_folded_not_cut() -> None:
    word = "x" * 50
    assert wrap(f"see {word} here", 20) == ["see", "x" * 20, "x" * 20, "x" * 10 + " here"]
    assert "".join(wrap(word, 7)) == word


def test_wide_characters_take_two_columns() -> None:
    assert cell_len("日本") == 4
    lines = wrap("日本語のテキスト" * 3, 10)
    assert all(cell_len(line) <= 10 for line in lines)
    assert "".join(lines) == "日本語のテキスト" * 3


def test_grid_wraps_the_value_under_itself() -> None:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(Text("  label:"), Text("one two three four five six seven eight nine ten"))
    lines = plain_lines(grid, 30)
    assert lines[0].startswith("  label: one")
    assert all(line.startswith(" " * 9) for line in lines[1:]) and len(lines) > 1


def test_cut_line_ends_in_an_ellipsis() -> None:
    buf = io.StringIO()
    PlainOut(buf, width=20).cut(Text("a" * 50))
    assert buf.getvalue() == "a" * 19 + "…\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                        max_size=60), min_size=1, max_size=4),
       st.integers(min_value=8, max_value=120))
def test_tables_keep_every_character_within_the_width(cells: list[str], width: int) -> None:
    table = Table(show_header=True, pad_edge=False)
    for i in range(len(cells)):
        table.add_column(f"c{i}")
    table.add_row(*(Text(c) for c in cells))
    lines = plain_lines(table, width)
    drawn = Counter(ch for line in lines for ch in line if not ch.isspace())
    want = Counter(ch for c in [*cells, *(f"c{i}" for i in range(len(cells)))] for ch in c
                   if not ch.isspace())
    assert drawn == want
    if 4 * len(cells) + 2 * (len(cells) - 1) <= width:  # room for every column's floor
        assert all(cell_len(line) <= width for line in lines)


def test_the_base_style_covers_appended_text_as_in_rich() -> None:
    from rich.text import Text as RichText

    from mailaudit.report.layout import to_rich

    ours = Text(" ABUSED ", style="bold white on red").append("path", "bold")
    drawn = to_rich(ours)
    assert isinstance(drawn, RichText)
    theirs = RichText(" ABUSED ", style="bold white on red")
    theirs.append("path", "bold")
    console = make_console(io.StringIO(), color=True, width=80)
    assert list(console.render(drawn)) == list(console.render(theirs))
    joined = Text("\n").join([Text("a", "red"), Text("b").append("c", "bold")])
    assert [line.plain for line in joined.split("\n")] == ["a", "bc"]
    assert joined.spans[0] == ("a", "red")
