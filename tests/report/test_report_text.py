"""Hostile text from messages must be shown literally, never interpreted."""

from __future__ import annotations

import io

import pytest
from rich.text import Text

from mailaudit.report.console import make_console
from mailaudit.report.text import csv_safe, visible


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
