"""Recorded-versus-recomputed disagreements, one test per explanation."""

from __future__ import annotations

from mailaudit.checks.recorded.compare import (
    BODY_CHANGED,
    FORWARDED,
    HEADERS_CHANGED,
    KEY_GONE,
    KEY_NOT_CAPTURED,
    disagreements,
    recorded_ip,
)
from mailaudit.model import ArcReport, CheckResult, Envelope, RecordedResult


def rec(method: str, result: str, reason: str = "", trusted: bool = True,
        **props: str) -> RecordedResult:
    return RecordedResult(CheckResult(method, result, reason, dict(props)), "mx.example",
                          trusted, "Authentication-Results", 0)


def dkim(result: str, reason: str = "", d: str = "example.com", **props: object) -> CheckResult:
    p: dict[str, object] = {"header.d": d, "header.s": "sel"}
    failure = str(props.pop("dkim.failure", ""))
    p.update(props)
    return CheckResult("dkim", result, reason, p, failure=failure)  # type: ignore[arg-type]


ENV = Envelope("192.0.2.1", "mx.example", "a@example.com", "received-spf")


def test_body_changed() -> None:
    (d,) = disagreements([rec("dkim", "pass", **{"header.d": "example.com"})],
                         [dkim("fail", "body hash did not verify", **{"dkim.failure": "body-hash"})],
                         None, None)
    assert (d.method, d.recorded, d.recomputed, d.explanation) == ("dkim", "pass", "fail",
                                                                   BODY_CHANGED)


def test_key_not_captured_or_gone() -> None:
    for failure, result, said in (("key-not-captured", "temperror", KEY_NOT_CAPTURED),
                                  ("key-missing", "permerror", KEY_GONE)):
        (d,) = disagreements([rec("dkim", "pass", **{"header.d": "example.com"})],
                             [dkim(result, "x", **{"dkim.failure": failure})], None, None)
        assert d.explanation == said


def test_header_changed() -> None:
    (d,) = disagreements([rec("dkim", "pass", **{"header.i": "@example.com"})],
                         [dkim("fail", "signature did not verify", **{"dkim.failure": "signature"})],
                         None, None)
    assert d.explanation == HEADERS_CHANGED


def test_dkim_matched_by_domain_and_selector() -> None:
    recomputed = [dkim("fail", d="other.example"), dkim("pass")]
    assert disagreements([rec("dkim", "pass", **{"header.d": "example.com", "header.s": "sel"})],
                         recomputed, None, None) == ()


def test_untrusted_results_are_not_compared() -> None:
    assert disagreements([rec("dkim", "pass", trusted=False)], [dkim("fail")], None, None) == ()


def test_forwarded_spf_with_arc() -> None:
    arc = ArcReport("pass", "", 1, (CheckResult("spf", "pass"),), "first.example")
    (d,) = disagreements([rec("spf", "pass")], [CheckResult("spf", "fail")], arc, None)
    assert d.explanation == FORWARDED


def test_different_sender_ip_from_microsoft_comment() -> None:
    r = rec("spf", "pass", "sender IP is 203.0.113.9")
    assert recorded_ip(r.check) == "203.0.113.9"
    (d,) = disagreements([r], [CheckResult("spf", "softfail")], None, ENV)
    assert d.explanation.startswith("different sender IP assumed")
    assert "203.0.113.9" in d.explanation and "192.0.2.1" in d.explanation


def test_different_sender_ip_from_remote_ip_prop() -> None:
    r = rec("spf", "pass", **{"smtp.remote-ip": "198.51.100.7"})
    (d,) = disagreements([r], [CheckResult("spf", "fail")], None, ENV)
    assert d.explanation.startswith("different sender IP assumed")


def test_same_ip_is_not_blamed() -> None:
    r = rec("spf", "pass", **{"client-ip": "192.0.2.1"})
    (d,) = disagreements([r], [CheckResult("spf", "fail", "not permitted")], None, ENV)
    assert "different sender IP" not in d.explanation


def test_dmarc_inputs_differ() -> None:
    recorded = [rec("dkim", "pass", **{"header.d": "example.com"}), rec("dmarc", "pass")]
    recomputed = [dkim("fail", **{"dkim.failure": "body-hash"}), CheckResult("dmarc", "fail")]
    found = disagreements(recorded, recomputed, None, None)
    dm = next(d for d in found if d.method == "dmarc")
    assert dm.explanation.startswith("DMARC differs because its inputs differ")
    assert "DKIM was pass, now fail" in dm.explanation


def test_dmarc_same_inputs() -> None:
    (d,) = disagreements([rec("dmarc", "pass")], [CheckResult("dmarc", "fail")], None, None)
    assert "DMARC record or alignment changed" in d.explanation


def test_agreement_gives_nothing() -> None:
    assert disagreements([rec("dkim", "pass"), rec("spf", "pass")],
                         [dkim("pass"), CheckResult("spf", "pass")], None, ENV) == ()
