"""The attachment pre-check answers exactly what a search of the lower-cased message would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.audit import _mentions_rfc822

pieces = st.lists(st.sampled_from([b"822", b"8", b"22", b"message/rfc", b"MESSAGE/RFC",
                                   b"Message/Rfc", b"messag", b"e/rfc", b"x", b"\r\n", b"/"]),
                  max_size=12).map(b"".join)


@settings(max_examples=2000, deadline=None)
@given(pieces)
def test_same_answer_as_lowering(raw: bytes) -> None:
    assert _mentions_rfc822(raw) == (b"message/rfc822" in raw.lower())


def test_examples() -> None:
    assert _mentions_rfc822(b"Content-Type: Message/RFC822\r\n")
    assert _mentions_rfc822(b"message/rfc822")
    assert not _mentions_rfc822(b"822 message/rfc 822")
    assert not _mentions_rfc822(b"")
