"""The one header splitter (parse.headers) against the two readers it replaces.

DKIM and ARC build their header list from the parser's field spans, so the view must be exactly
what dkimpy's own ``rfc822_parse`` makes of the same bytes (names, CRLF-terminated values, body,
and "unparsable"), for every quirk: bare CR, LF-only lines, mbox "From " lines with and without
continuation lines, lines without a colon, names with spaces or 8-bit bytes, a ":" first.
"""

from __future__ import annotations

import random

import dkim
import pytest

from mailaudit.checks.dkim.fast import split_message
from mailaudit.options import Limits
from mailaudit.parse.headers import SPANS_PER_HEADER_LIMIT, split_header_block

PIECES = (
    b"From: a@b.example", b"Subject: x", b"DKIM-Signature: v=1; d=x", b" cont", b"\tcont",
    b"From x@y Tue May 20 10:00:00 2025", b"From ", b"no colon here", b"Name : spaced",
    b"X-\xff: eight bit", b"::x", b":lead", b"a:", b"", b" ", b"\r", b"x\ry: z", b"A:B:C",
    b"\x00: nul", b"To:\t", b"  ", b"=?utf-8?q?x?=: odd",
)
ENDS = (b"\r\n", b"\n", b"\r\r\n", b"")


def _message(rng: random.Random) -> bytes:
    lines = [rng.choice(PIECES) + rng.choice(ENDS) for _ in range(rng.randint(0, 12))]
    if rng.random() < 0.7:
        lines.append(rng.choice((b"\r\n", b"\n")))
        lines.append(rng.choice((b"body\r\n", b"body\n.\r\n", b"", b"\r\n\r\n", b"a\rb\n")))
    return b"".join(lines)


def _dkimpy(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
    try:
        headers, body = dkim.rfc822_parse(raw)
    except (dkim.MessageFormatError, IndexError):  # IndexError: a leading continuation line
        return None
    return [(bytes(n), bytes(v)) for n, v in headers], body


@pytest.mark.parametrize("seed", range(8))
def test_view_is_what_dkimpy_parses(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2_500):
        raw = _message(rng)
        expected = _dkimpy(raw)
        view = split_message(raw)
        if expected is None:
            assert view.error, raw
            continue
        assert not view.error, (raw, view.error)
        assert view.headers == expected[0], raw
        assert view.body == expected[1], raw
        sigs = [h for h in expected[0] if h[0].lower() == b"dkim-signature"]
        assert view.sig_headers() == sigs, raw


def test_long_folded_field_is_one_span() -> None:
    raw = b"From: a@b.example\r\nSubject: x" + b"\r\n y" * 100_000 + b"\r\n\r\nbody\r\n"
    split = split_header_block(raw)
    assert [h.lname for h in split.headers] == ["from", "subject"]
    assert len(split.spans) == 2
    assert "limit-header-bytes" in {f.code for f in split.findings}
    view = split_message(raw)
    assert view.headers[1][1] == b" x" + b"\r\n y" * 100_000 + b"\r\n"  # DKIM sees it whole


def test_fields_past_max_headers_are_counted_not_kept() -> None:
    raw = b"a: 1\r\n" * 50 + b"b: 2\r\n\tfolded\r\n" * 10 + b"\r\nbody"
    split = split_header_block(raw, limits=Limits(max_headers=20))
    assert len(split.headers) == 20
    limit = [f for f in split.findings if f.code == "limit-headers"]
    assert limit and "40 more" in limit[0].message
    assert len(split.spans) == 60 and split.spans_complete


def test_view_past_the_span_limit_verifies_nothing() -> None:
    limits = Limits(max_headers=5)
    count = 5 * SPANS_PER_HEADER_LIMIT + 7
    raw = b"x: y\r\n" * count + b"\r\nbody"
    split = split_header_block(raw, limits=limits)
    assert not split.spans_complete
    assert "52 more" in next(f.message for f in split.findings if f.code == "limit-headers")
    from mailaudit.checks.dkim.fast import MessageView

    view = MessageView(raw, split.spans, split.body_offset, complete=split.spans_complete)
    assert view.limited and view.error and view.headers == []
