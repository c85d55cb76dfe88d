"""check_dmarc: record parsing, discovery, alignment, and never failing on unknown DNS."""

from __future__ import annotations

from typing import Any

import pytest

from mailaudit.checks.dmarc.check import check_dmarc, parse_dmarc_record
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import CheckResult
from support.dmarc_support import parse


def _msg(from_: str = "User <user@mail.example.com>") -> Any:
    return parse(f"From: {from_}\r\nTo: a@example.org\r\nSubject: x\r\n\r\nbody\r\n".encode())


def _dkim(d: str, result: str = "pass") -> CheckResult:
    return CheckResult("dkim", result, props={"header.d": d})


def _spf(mail_from: str = "bounce@other.example", result: str = "fail") -> CheckResult:
    return CheckResult("spf", result, props={"smtp.mailfrom": mail_from})


ZONE: dict[str, Any] = {
    "_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=s"]},
    "mail.example.com": {"A": ["192.0.2.1"]},
}


def _run(dkim: list[CheckResult], spf: CheckResult, *, zone: dict[str, Any] | None = None,
         from_: str = "User <user@mail.example.com>", complete: bool = True) -> CheckResult:
    return check_dmarc(_msg(from_), dkim, spf, SnapshotResolver(zone or ZONE, complete=complete))


def test_relaxed_dkim_alignment_passes_with_org_record() -> None:
    r = _run([_dkim("bounces.example.com", "fail"), _dkim("example.com")], _spf())
    assert r.result == "pass"
    assert r.props["dmarc.aligned_dkim"] == "example.com"
    assert r.props["dmarc.aligned_spf"] is False
    assert r.props["policy.dmarc"] == "quarantine" and r.props["dmarc.policy_from"] == "sp"
    assert r.props["policy.applied-disposition"] == "none"
    assert r.props["dmarc.org_domain.psl"] == "example.com"
    assert r.props["dmarc.org_domain.treewalk"] == "example.com"


def test_strict_spf_alignment() -> None:
    assert _run([], _spf("b@example.com", "pass")).result == "fail"  # aspf=s
    r = _run([], _spf("b@mail.example.com", "pass"))
    assert r.result == "pass" and r.props["dmarc.aligned_spf"] is True


def test_fail_gives_the_policy_disposition() -> None:
    r = _run([_dkim("evil.example")], _spf(), from_="user@example.com")
    assert (r.result, r.props["policy.applied-disposition"]) == ("fail", "reject")


def test_testing_mode_lowers_the_disposition() -> None:
    zone = {"_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject; t=y"]}}
    r = _run([], _spf(), zone=zone, from_="user@example.com")
    assert r.props["policy.applied-disposition"] == "quarantine"


def test_np_for_nonexistent_subdomain() -> None:
    zone = {"_dmarc.example.com": {"TXT": ["v=DMARC1; p=none; sp=quarantine; np=reject"]},
            "real.example.com": {"A": ["192.0.2.1"]}}
    assert _run([], _spf(), zone=zone, from_="a@ghost.example.com").props["policy.dmarc"] == "reject"
    assert _run([], _spf(), zone=zone, from_="a@real.example.com").props["policy.dmarc"] == (
        "quarantine")


def test_no_record_is_none() -> None:
    r = _run([], _spf(), zone={}, from_="a@example.org")
    assert r.result == "none" and "no DMARC record" in r.reason


@pytest.mark.parametrize("zone", [{}, {"_dmarc.mail.example.com": "TIMEOUT"}],
                         ids=["not-captured", "timeout"])
def test_unknown_policy_is_temperror_never_fail(zone: dict[str, Any]) -> None:
    r = _run([], _spf(), zone=zone, complete=False)
    assert r.result == "temperror"
    assert ("not captured" in r.reason) == (not zone)


def test_unverifiable_aligned_dkim_is_temperror() -> None:
    r = _run([_dkim("example.com", "temperror")], _spf(), from_="a@example.com")
    assert r.result == "temperror"


def test_multiple_records_are_ignored() -> None:
    zone = {"_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]}}
    r = _run([], _spf(), zone=zone, from_="a@example.com")
    assert r.result == "none" and "2 DMARC records" in r.reason


def test_no_from_and_multiple_from_domains() -> None:
    no_from = check_dmarc(parse(b"To: a@example.org\r\n\r\nx\r\n"), [], _spf(),
                          SnapshotResolver(ZONE, complete=True))
    assert no_from.result == "permerror" and no_from.props["header.from"] is None
    r = _run([_dkim("example.org")], _spf(), from_="a@example.org, b@example.com",
             zone={**ZONE, "_dmarc.example.org": {"TXT": ["v=DMARC1; p=none"]}})
    assert r.result == "fail" and r.props["header.from"] == "example.com"
    assert r.props["dmarc.from_domains"] == "example.org=pass example.com=fail"


def test_record_parsing() -> None:
    rec = parse_dmarc_record("v=DMARC1 ;p=Reject; pct=50; adkim=x; foo=bar; sp=nope; psd=y",
                             "example.com")
    assert rec is not None
    assert (rec.p, rec.pct, rec.adkim, rec.sp, rec.psd) == ("reject", 50, "r", None, "y")
    assert any("foo" in p for p in rec.problems) and any("adkim" in p for p in rec.problems)
    assert parse_dmarc_record("v=spf1 -all") is None
    assert parse_dmarc_record("p=reject; v=DMARC1") is None  # v= must come first (§6.4)
    bad = parse_dmarc_record("v=DMARC1; p=none; reject")
    assert bad is not None and bad.error


def test_hostile_record_is_bounded() -> None:
    zone = {"_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject;" + "x=" * 500_000 + ";;" * 10]}}
    r = _run([], _spf(), zone=zone, from_="a@example.com")
    assert r.result == "fail" and len(str(r.props["dmarc.record"])) <= 4096
