"""The Authentication-Results reader's shortcuts against what they stand in for:
``is_keyword``'s all-letter words against the RFC 8601 §2.2 pattern (on ASCII and on the
non-ASCII letters str.isalpha() also accepts), and ``_value``'s one-word values against the
loop that joins a value split by "="."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.parse.authres import (
    COMMENT,
    EQ,
    QUOTED,
    SEMI,
    WORD,
    Token,
    _joined_value,
    _value,
    is_keyword,
    tokenize,
)

_LDH = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_WORDS = st.text(alphabet=st.sampled_from("aZq09-_.é\u212aßΩ "), max_size=70)


def _reference(text: str) -> bool:
    return len(text) <= 64 and _LDH.fullmatch(text) is not None


@settings(max_examples=3000)
@given(_WORDS)
def test_is_keyword_is_the_ldh_pattern(text: str) -> None:
    assert is_keyword(text) == _reference(text)


def test_letters_at_the_edges() -> None:
    for text in ("pass", "PASS", "a" * 64, "a" * 65, "", "\u212a", "straße", "pass-", "x-tls"):
        assert is_keyword(text) == _reference(text), text


# --- _value's one-word shortcut against the joining loop it skips ------------------------------

def _value_reference(seg: list[Token], i: int) -> tuple[str, bool, int]:
    """What ``_value`` answers without its one-word shortcut: the joining loop, or for a quoted
    value the quoted branch (which the shortcut never reaches)."""
    if i < len(seg) and seg[i][0] == QUOTED:
        return _value(seg, i)
    return _joined_value(seg, i)


_TOKENS = st.lists(st.tuples(st.sampled_from([WORD, QUOTED, COMMENT, SEMI, EQ]),
                             st.sampled_from(["a", "b.example", "=", "x y", ""]),
                             st.booleans()), max_size=8)


@settings(max_examples=3000)
@given(_TOKENS, st.integers(min_value=0, max_value=9))
def test_value_is_the_joining_loop(seg: list[Token], start: int) -> None:
    assert _value(seg, start) == _value_reference(seg, start)


def test_value_on_written_results() -> None:
    # Real values, tokenized: one word, a word split by "=", a quoted local-part, a comment.
    for text in ("header.d=example.com", "smtp.mailfrom=a=b@example.com",
                 'smtp.mailfrom="first last"@example.com', "header.b=abc= (sig)",
                 "policy.dmarc = none", "header.i=@example.com;"):
        seg = tokenize(text)
        at = next(k for k, t in enumerate(seg) if t[0] == EQ) + 1
        assert _value(seg, at) == _value_reference(seg, at), text
