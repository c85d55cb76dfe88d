"""The bounded decoders give what the unbounded ones gave, below the limits.

Each bounded path works a chunk at a time; run here with tiny chunks against the stdlib (or
the plain ``re.sub``) on random input, so a chunk edge that changes a byte fails the test.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import random

import pytest

from mailaudit.parse import body as body_mod
from mailaudit.parse import html_text
from mailaudit.templates import normalise as nz


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body_mod, "_CHUNK", 7)
    monkeypatch.setattr(html_text, "_TIDY_SEGMENT", 5)
    monkeypatch.setattr(nz, "_SUB_CHUNK", 3)


def test_quoted_printable_in_chunks(tiny_chunks: None) -> None:
    rng = random.Random(1)
    pieces = [b"=\r\n", b"=\n", b"=41", b"=4", b"=", b"a", b" ", b"\r\n", b"\n", b"=ZZ", b"\t\n"]
    for _ in range(3_000):
        enc = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        expected = quopri.decodestring(enc)
        for room in (0, 3, 10**6):
            got = body_mod.decode_transfer("quoted-printable", enc, room)
            assert got is not None
            assert got == (expected[:room], len(expected) > room or got[0] != expected), enc
        # the surrogate-escaped str the stdlib parser hands over gives the same bytes
        text = enc.decode("ascii", "surrogateescape")
        whole = body_mod.decode_transfer("quoted-printable", text, 10**6)
        assert whole is not None and whole[0] == expected


def test_base64_in_chunks(tiny_chunks: None) -> None:
    rng = random.Random(2)
    for _ in range(3_000):
        data = rng.randbytes(rng.randint(0, 60))
        enc = base64.encodebytes(data)
        if rng.random() < 0.3:
            enc = enc.replace(b"\n", b"\r\n")
        if rng.random() < 0.2:
            enc += b"!!*\x00"
        expected = binascii.a2b_base64(enc)
        assert expected == data
        for room in (0, 5, 10**6):
            decoded = body_mod.decode_transfer("base64", enc, room)
            assert decoded is not None
            got, cut = decoded
            assert got == data[:room]
            assert cut == (len(data) > room)


def test_identity_encodings_are_cut_not_copied_whole() -> None:
    raw = b"x" * 100
    assert body_mod.decode_transfer("8bit", raw, 10, 50) == (b"x" * 10, True)
    assert body_mod.decode_transfer("", raw, 1000, 50) == (b"x" * 50, False)


def test_html_tidy_in_segments(tiny_chunks: None) -> None:
    rng = random.Random(3)
    for _ in range(3_000):
        html = "".join(rng.choice(["<p>", "</p>", "<br>", "a", " ", "\n", "bc", "<div>"])
                       for _ in range(rng.randint(0, 30)))
        text, _links, _cuts = html_text.html_to_text_limited(html)
        html_text._TIDY_SEGMENT = 1 << 20
        whole, _l, _c = html_text.html_to_text_limited(html)
        html_text._TIDY_SEGMENT = 5
        assert text == whole, html


def test_html_attributes_past_the_limit_are_a_cut() -> None:
    text, links, cuts = html_text.html_to_text_limited(
        "<p " + "a=1 " * 1000 + 'title="seen">x</p><a href="https://e.example/">y</a>')
    assert "x" in text and links and cuts and "attributes" in cuts[0]


def test_normalise_in_chunks(tiny_chunks: None) -> None:
    rng = random.Random(4)
    alphabet = [" ", "\t", "\n", "a", "o", "i", "l", "|", "0", "1", "9", "x", "\u00a0", "Z"]
    for _ in range(5_000):
        t = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert nz._sub_chunked(nz._WHITESPACE, " ", t, nz._RUN_END) == nz._WHITESPACE.sub(" ", t)
        assert (nz._sub_chunked(nz._DIGIT_RUN, nz._fold_digit_run, t, nz._NOT_DIGIT_RUN)
                == nz._DIGIT_RUN.sub(nz._fold_digit_run, t))
