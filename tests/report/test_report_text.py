"""Hostile text from messages must be shown literally, never interpreted."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from mailaudit.report.console import make_console
from mailaudit.report.text import csv_safe, json_escape_invisible, needs_escape, visible


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain subject", "plain subject"),
        ("\x1b[31mred\x1b[0m", "\\e[31mred\\e[0m"),
        ("\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "\\e]8;;https://evil.example\\x07click\\e]8;;\\x07"),
        ("\x9b31m", "\\u009b31m"),  # C1 CSI
        ("invoice\u202egpj.exe", "invoice\\u202egpj.exe"),
        ("Pay\u200bPal", "Pay\\u200bPal"),
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),
        ("tab\there", "tab\\there"),
        ("line\nbreak", "line\\nbreak"),
        ("nul\x00byte", "nul\\0byte"),
        ("Ünïcödé ok", "Ünïcödé ok"),
        ("tag\U000e0041", "tag\\U000e0041"),
    ],
)
def test_visible_escapes_every_invisible_or_control_character(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_visible_limits_long_values_and_says_so() -> None:
    out = visible("x" * 1000, limit=10)
    assert out.startswith("xxxxxxxxxx…") and "990 more characters" in out


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1 555", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_safe_neutralises_formula_starts(cell: str) -> None:
    assert csv_safe(cell).startswith("'")


def test_csv_safe_leaves_ordinary_text() -> None:
    assert csv_safe("Contoso account email verification code") == "Contoso account email verification code"


def test_rich_markup_in_message_text_is_printed_literally() -> None:
    buf = io.StringIO()
    console = make_console(buf, color=True, width=200)
    console.print(Text(visible("[bold red]PAID[/bold red] [link=https://evil.example]x[/link]")))
    out = buf.getvalue()
    assert "[bold red]PAID[/bold red]" in out
    assert "[link=https://evil.example]" in out
    assert "\x1b]8;" not in out  # no hyperlink escape was produced


def _escape_every_character(text: str) -> str:
    """The plain rule, character by character: what json_escape_invisible must give."""
    out = []
    for ch in text:
        if ord(ch) > 0x7F and needs_escape(ch):
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append(f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}")
            else:
                out.append(f"\\u{cp:04x}")
        else:
            out.append(ch)
    return "".join(out)


_JSON_TEXT = st.text(alphabet=st.one_of(
    st.characters(max_codepoint=0x7F),
    st.sampled_from("\u0085\u009b\u00e9\u200b\u200e\u2028\u2029\u202e\u3042\ufe0f\ufeff"
                    "\U000e0041\U0001f600\ue000"),
    st.characters()), max_size=80)


@settings(max_examples=500, deadline=None)
@given(text=_JSON_TEXT)
def test_json_escape_invisible_is_the_plain_rule(text: str) -> None:
    assert json_escape_invisible(text) == _escape_every_character(text)
    assert json_escape_invisible(text) == _escape_every_character(text)  # from the cache


def test_json_escape_invisible_keeps_records_on_one_line() -> None:
    import json

    line = json_escape_invisible(json.dumps({"s": "a\u2028b\u0085c\u202ed é ✓"},
                                            ensure_ascii=False))
    assert line.splitlines() == [line] and "é ✓" in line
    assert json.loads(line) == {"s": "a\u2028b\u0085c\u202ed é ✓"}
