"""The address reader's fast path (one anchored match for the common shapes) against the
tokenizer it stands in for: wherever the fast path answers, the answer is the tokenizer's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.parse.addresses import _parse_tokens, _simple, parse_address_list

# What address fields are made of, with the characters the fast path must refuse or treat
# exactly as the tokenizer does: specials, quotes, backslashes, blanks, encoded words.
_PIECES = st.sampled_from([
    "a", "bob", "x.y", "@", "example.com", " ", "\t", "\r\n ", '"', "\\", "<", ">", "(", ")",
    ",", ":", ";", "=?utf-8?q?J=C3=B6rg?=", "é", "\u00a0", "Name", "@a,@b:", "[1.2.3.4]",
])
_VALUES = st.lists(_PIECES, max_size=12).map("".join)

_COMMON = [
    "user@example.com",
    "<user@example.com>",
    '"J.Smith at silverbank" <j.smith@mail.silverbank.example>',
    "Microsoft account team <account-security-noreply@accountprotection.microsoft.com>",
    '"" <a@b.example>',
    "=?utf-8?q?J=C3=B6rg?= <j@example.de>",
    "<@relay.example:user@example.com>",
    "  Plain   Words\t<a@b.example>",
]


def _general(value: str) -> tuple[object, list[str]]:
    problems: list[str] = []
    return _parse_tokens(value, problems), problems


def test_common_shapes_take_the_fast_path_and_agree() -> None:
    for value in _COMMON:
        assert _simple(value) is not None, value
        assert parse_address_list(value) == _general(value), value


@settings(max_examples=2000)
@given(_VALUES)
def test_fast_path_gives_what_the_tokenizer_gives(value: str) -> None:
    simple = _simple(value)
    if simple is None:
        return
    addrs, problems = _general(value)
    assert problems == []
    assert addrs == (simple,)
