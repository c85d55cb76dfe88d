"""The MIME parser of ``parse.body`` is the stdlib FeedParser with a faster multipart boundary
test: what it builds must be what ``email.message_from_bytes`` builds, for hostile boundaries
and structures and for real-world mail."""

from __future__ import annotations

import email
import email.feedparser
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.parse.body import _bounded_policy_class, _feed_parser_class, _parse_mime
from support.paths import CORPORA


def _shape(msg: Message) -> list[Any]:
    """Everything the parse decided, part by part, in walk order."""
    out: list[Any] = []
    for part in msg.walk():
        payload = None if part.is_multipart() else part.get_payload()
        out.append((part.get_content_type(), part.get_boundary(), part.preamble, part.epilogue,
                    payload, [type(d).__name__ for d in part.defects], list(part.items())))
    return out


def _stdlib(src: bytes) -> Message:
    policy = _bounded_policy_class()()
    object.__setattr__(policy, "cuts", [])
    return email.message_from_bytes(src, policy=policy)


def _same_as_stdlib(src: bytes) -> None:
    assert _shape(_parse_mime(src, [])) == _shape(_stdlib(src))


def test_the_fast_boundary_test_is_in_use() -> None:
    # If the stdlib ever changes what the pattern looks like, this fails (and parsing falls
    # back to the stdlib's own test, slower but the same).
    assert _feed_parser_class() is not email.feedparser.FeedParser
    src = b"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\nx\n--b--\n"
    assert _shape(_parse_mime(src, [])) == _shape(_stdlib(src))


_BOUNDARY_CHARS = st.sampled_from([*"abcXYZ019'()+_,-./:=? ", "*", "[", "]", "\\", "$", "^",
                                   "|", "{", "}"])
_BOUNDARY = st.text(alphabet=_BOUNDARY_CHARS, min_size=1, max_size=12)


@st.composite
def _multipart(draw: st.DrawFn, depth: int = 0) -> str:
    boundary = draw(_BOUNDARY)
    nl = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoted = boundary.replace("\\", "\\\\").replace('"', '\\"')
    lines = [f'Content-Type: multipart/{draw(st.sampled_from(["mixed", "alternative"]))}; '
             f'boundary="{quoted}"', ""]
    if draw(st.booleans()):
        lines.append("preamble --" + boundary + "x")
    for _ in range(draw(st.integers(0, 3))):
        tail = draw(st.sampled_from(["", " ", "\t ", "--x", "x", " --"]))
        lines.append("--" + boundary + tail)
        if depth < 2 and draw(st.booleans()):
            lines.append(draw(_multipart(depth + 1)))
        else:
            lines += ["Content-Type: text/plain", "", draw(st.sampled_from(
                ["hello", "--" + boundary[:-1], "-- " + boundary, "line\n--" + boundary + "-x"]))]
        if draw(st.booleans()):
            lines.append("--" + boundary)  # a doubled boundary line
    if draw(st.booleans()):
        lines.append("--" + boundary + "--" + draw(st.sampled_from(["", "  ", "\t"])))
        if draw(st.booleans()):
            lines.append("epilogue")
    return nl.join(lines) + draw(st.sampled_from(["", nl]))


@settings(max_examples=400, deadline=None)
@given(text=_multipart())
def test_hostile_boundaries_parse_as_the_stdlib_parses_them(text: str) -> None:
    _same_as_stdlib(text.encode("utf-8", "surrogateescape"))


def _mail_files() -> list[Any]:
    mail = CORPORA / "mail"
    if not mail.exists():
        return [pytest.param(None, id="absent")]
    files = [p for sub in ("mail-parser", "notmuch", "spamassassin")
             for p in sorted((mail / sub).rglob("*"))
             if p.is_file() and p.stat().st_size < 2_000_000]
    return [pytest.param(p, id=str(p.relative_to(mail))) for p in files]


@pytest.mark.parametrize("path", _mail_files())
def test_real_world_mail_parses_as_the_stdlib_parses_it(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"{CORPORA / 'mail'} not present; this test needs the shared corpora")
    _same_as_stdlib(path.read_bytes())
