"""Hostile protocol text in the verdict's parsers: recorded result tokens, tag digits, encoded
words with codecs that are not charsets, and explanations that are true for their inputs."""

from __future__ import annotations

import pytest

from mailaudit.checks.recorded.compare import disagreements
from mailaudit.model import CheckResult, Envelope, RecordedResult
from mailaudit.parse.authres import parse_authentication_results
from mailaudit.parse.rfc2047 import decode_words


@pytest.mark.parametrize("token", ["pa$s", "p\u0430ss", "1pass", "pass-", "pass/x", "pass\x1b[0m"])
def test_result_that_is_not_a_keyword_is_kept_raw(token: str) -> None:
    ar = parse_authentication_results(f"mx.example; dkim={token} header.d=x.example")
    (r,) = ar.results
    assert r.result == "permerror" and r.raw_result == token.lower()
    assert r.props["header.d"] == "x.example"
    assert any("keyword" in p for p in ar.problems)


def test_keyword_results_are_unchanged() -> None:
    ar = parse_authentication_results("mx.example; dkim=pass; spf=softfail; dmarc=bestguesspass")
    assert [(r.result, r.raw_result) for r in ar.results] == [
        ("pass", ""), ("softfail", ""), ("bestguesspass", "")]


@pytest.mark.parametrize("word", ["=?idna?q?xn--80ak6aa92e?=", "=?punycode?q?abc?=",
                                  "=?undefined?q?abc?=", "=?unicode_escape?q?=5Cu0041?=",
                                  "=?raw-unicode-escape?b?XHUwMDQx?="])
def test_codec_that_is_not_a_charset_is_shown_raw(word: str) -> None:
    text, problems = decode_words(f"Hello {word} there")
    assert word in text
    assert any("not a text charset" in p for p in problems)


def test_ordinary_charsets_still_decode() -> None:
    assert decode_words("=?utf-8?q?caf=C3=A9?=")[0] == "café"
    assert decode_words("=?iso-8859-1?b?Y2Fm6Q==?=")[0] == "café"


def rec(method: str, result: str, reason: str = "", **props: str) -> RecordedResult:
    return RecordedResult(CheckResult(method, result, reason, dict(props)), "mx.example", True,
                          "Authentication-Results", 0)


def test_spf_explanation_names_the_ip_override() -> None:
    env = Envelope("198.51.100.9", None, "a@example.com", "options")
    (d,) = disagreements([rec("spf", "pass", **{"smtp.remote-ip": "192.0.2.1"})],
                         [CheckResult("spf", "fail")], None, env)
    assert "--ip" in d.explanation and "192.0.2.1" in d.explanation


def test_spf_explanation_without_a_sender_ip() -> None:
    (d,) = disagreements([rec("spf", "pass")],
                         [CheckResult("spf", "none", "no sender IP known")], None, None)
    assert "no sender IP" in d.explanation and "changed" not in d.explanation


def test_explanations_offline_without_snapshot() -> None:
    env = Envelope("192.0.2.1", None, "a@example.com", "received")
    why = "SPF Temporary Error: DNS TXT example.com: offline and no DNS snapshot given"
    (d,) = disagreements([rec("spf", "pass")], [CheckResult("spf", "temperror", why)], None, env)
    assert "no DNS snapshot" in d.explanation
    (d,) = disagreements([rec("dmarc", "pass")], [CheckResult(
        "dmarc", "temperror", "DMARC record not captured (_dmarc.example.com; offline and no "
        "DNS snapshot given)")], None, env)
    assert "no DNS snapshot" in d.explanation and "inputs differ" not in d.explanation


def test_dkim_explanation_is_not_doubled() -> None:
    (d,) = disagreements([rec("dkim", "pass", **{"header.d": "example.com"})],
                         [CheckResult("dkim", "permerror", "RSA key too small",
                                      {"header.d": "example.com"}, failure="key")], None, None)
    assert "recomputed" not in d.explanation and d.explanation == "RSA key too small"
