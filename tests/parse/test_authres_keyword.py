"""``is_keyword``'s shortcut for all-letter words against the RFC 8601 §2.2 pattern it
stands in for, on ASCII and on the non-ASCII letters str.isalpha() also accepts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.parse.authres import is_keyword

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
