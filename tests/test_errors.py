"""The two helpers every error sentence quotes through: one rule for how long a quote may be."""

from __future__ import annotations

from mailaudit.errors import cut, exception_text, exception_words


def test_cut_keeps_short_text_and_marks_a_cut() -> None:
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "abc…"
    assert cut("", 0) == ""


def test_exception_text_is_one_line_bounded_and_never_empty() -> None:
    text = exception_text(OSError("first line\nsecond\tline " + "x" * 500))
    assert "\n" not in text and "\t" not in text
    assert text.startswith("first line second line x")
    assert len(text) == 201 and text.endswith("…")
    assert exception_text(ValueError()) == "ValueError"
    assert exception_text(ValueError("  \n ")) == "ValueError"


def test_exception_words_may_be_empty() -> None:
    assert exception_words(ValueError()) == ""
    assert exception_words(KeyError("k"), 2) == "'k…"
