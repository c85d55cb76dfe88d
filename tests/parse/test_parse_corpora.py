"""Real-world mail from ../shared/corpora/mail must parse without exceptions and give headers;
hypothesis checks that nothing in the parser raises on arbitrary input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.parse import parse_message
from mailaudit.parse.addresses import parse_address_list
from mailaudit.parse.html_text import html_to_text
from mailaudit.parse.received import parse_received
from mailaudit.parse.rfc2047 import decode_words
from support.paths import CORPORA

MAIL = CORPORA / "mail"
MALFORMED = ("mail_malformed_", "/broken/", "/mangling/")


def _files() -> list[Any]:
    if not MAIL.exists():
        return [pytest.param(None, id="absent")]
    out = []
    for sub in ("mail-parser", "notmuch"):
        for p in sorted((MAIL / sub).rglob("*")):
            if p.is_file() and not p.name.startswith(("COPYING", "LICENSE")) \
                    and p.name != "mail_outlook_1":  # an Outlook .msg, not RFC 5322
                out.append(pytest.param(p, id=str(p.relative_to(MAIL))))
    return out


def _mbox_messages() -> list[Any]:
    if not MAIL.exists():
        return [pytest.param(None, id="absent")]
    out = []
    for name in ("nice.mbox", "spam.mbox"):
        data = (MAIL / "spamassassin" / name).read_bytes()
        for k, chunk in enumerate(data.split(b"\nFrom ")):
            out.append(pytest.param(chunk if k == 0 else b"From " + chunk, id=f"{name}-{k}"))
    return out


# Entries that are not RFC 5322 messages upstream: t/data/spam/bsmtp is a batch-SMTP
# transcript (HELO/MAIL FROM/DATA) and bsmtpnull a 1-byte file. They must parse without an
# exception; an empty header set is the right answer for them.
NOT_MESSAGES = {"spam.mbox-24", "spam.mbox-25"}


def _check(raw: bytes, *, expect_headers: bool = True) -> None:
    msg = parse_message(raw)
    assert bool(msg.headers) == expect_headers, "header set"
    body = msg.body()
    assert isinstance(body.all_text, str)
    read_recorded(msg)


@pytest.mark.parametrize("path", _files())
def test_corpus_file_parses(path: Path | None) -> None:
    if path is None:
        pytest.skip("../shared/corpora not present; mail corpus not read")
    _check(path.read_bytes())
    if any(m in str(path) for m in MALFORMED):
        msg = parse_message(path.read_bytes())
        # Malformed samples: readable, and whatever was odd is a finding, never an exception.
        assert isinstance(msg.findings, tuple)


@pytest.mark.parametrize("raw", _mbox_messages())
def test_spamassassin_mbox_message_parses(raw: bytes | None,
                                          request: pytest.FixtureRequest) -> None:
    if raw is None:
        pytest.skip("../shared/corpora not present; spamassassin mboxes not read")
    case = request.node.callspec.id
    _check(raw, expect_headers=case not in NOT_MESSAGES)


_MAILISH = st.lists(st.sampled_from([
    b"From: ", b"Subject: ", b"Received: ", b"Content-Type: multipart/mixed; boundary=b\n",
    b"--b\n", b"--b--\n", b"\n", b"\r\n", b"\r", b"\t", b" ", b"=?utf-8?q?", b"?=", b"<", b">",
    b"(", b")", b'"', b"@", b",", b":", b";", b"[1.2.3.4]", b"text/html", b"<a href=x>",
    b"Content-Transfer-Encoding: base64\n", b"\xff\xfe", b"\x00", b"From x\n", b"a",
]), max_size=60).map(b"".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), _MAILISH))
def test_parse_message_never_raises(raw: bytes) -> None:
    msg = parse_message(raw)
    msg.body()
    read_recorded(msg)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_field_parsers_never_raise(value: str) -> None:
    parse_received(value, 0)
    parse_address_list(value)
    decode_words(value)
    html_to_text(value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('()[]<>"\\,:;@=? \tabc.1fromby')), max_size=300))
def test_field_parsers_never_raise_structured(value: str) -> None:
    parse_received(value, 0)
    parse_address_list(value)
    decode_words(value)
    html_to_text(value)
