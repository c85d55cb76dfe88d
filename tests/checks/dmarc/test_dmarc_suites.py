"""DMARC against the published cases: ValiMail authentication-headers and fastmail
authentication_milter. SPF comes from check_spf, DKIM from dkimpy called directly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailaudit.checks.dmarc.check import check_dmarc
from mailaudit.checks.spf.check import check_spf
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import CheckResult, Envelope
from support.dmarc_support import (
    CORPORA,
    dkim_results,
    parse,
    prev_dkim_results,
    read_zonefile,
    txt_from_records,
)

AUTHHEADERS = CORPORA / "dkim" / "authheaders"
MILTER = CORPORA / "dmarc" / "authentication_milter"


def _load(path: Any, key: str = "cases") -> list[dict[str, Any]]:
    if not path.exists():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))[key]
    return cases


def _missing(name: str) -> list[Any]:
    return [pytest.param({}, marks=pytest.mark.skip(
        reason=f"../shared/corpora/{name} not present; DMARC suite not run"), id="corpora-missing")]


# ---- ValiMail authentication-headers -------------------------------------------------------

AH_CASES = [c for c in _load(AUTHHEADERS / "expected.json")
            if c["options"].get("dmarc", True) and "dmarc=" in c["expected_authentication_results"]]


def _ah_records(table: dict[str, Any]) -> dict[str, Any]:
    """The case's DNS table as snapshot records: ``null`` is NXDOMAIN, an empty string a name
    with no records, any other value under a non-TXT name makes the name exist."""
    records: dict[str, Any] = {}
    for name, value in table.items():
        key = name.rstrip(".").lower()
        if isinstance(value, dict):
            value = value["value"]
        if value is None:
            records[key] = "NXDOMAIN"
        elif key.startswith("_") or "._domainkey." in key:
            records[key] = {"TXT": [value] if value else []}
        else:
            records[key] = {"MX": [[10, value]]} if value else {}
    return records


def _expected_clause(header: str) -> dict[str, str]:
    clause = next(c for c in header.split(";") if c.strip().startswith("dmarc="))
    words = clause.split()
    out = {"result": words[0].split("=", 1)[1]}
    for w in words[1:]:
        if w.startswith(("header.from=", "policy.dmarc=")):
            k, v = w.split("=", 1)
            out[k] = v
    return out


@pytest.mark.parametrize("case", AH_CASES or _missing("dkim/authheaders"),
                         ids=[c["name"] for c in AH_CASES] or None)
def test_authheaders_dmarc(case: dict[str, Any]) -> None:
    table = json.loads((AUTHHEADERS / "expected.json").read_text())["dns_tables"][
        case["options"].get("dnsfunc", "dnsfunc")]
    records = _ah_records(table)
    raw = (AUTHHEADERS / case["message_file"]).read_bytes()
    if case["options"].get("dkim", True):
        dkim = dkim_results(raw, txt_from_records(records))
    else:
        dkim = prev_dkim_results(case["options"].get("prev", ""))
    spf = CheckResult("spf", "none", props={})
    result = check_dmarc(parse(raw), dkim, spf, SnapshotResolver(records, complete=True))
    expected = _expected_clause(case["expected_authentication_results"])
    assert result.result == expected["result"], result.reason
    if "header.from" in expected:
        assert (result.props.get("header.from") or "none") == expected["header.from"]
    if "policy.dmarc" in expected:
        assert result.props.get("policy.dmarc") == expected["policy.dmarc"]


# ---- fastmail authentication_milter ------------------------------------------------------

def _milter_expectations(case: dict[str, Any]) -> list[dict[str, Any]]:
    # Bare "dmarc=fail" clauses are the source message's own forged headers, which the
    # milter leaves in place below its own; they are not its verdict.
    return [e for e in case.get("expected_dmarc", []) if e["clause"] != "dmarc=fail"]


MILTER_CASES = [c for c in _load(MILTER / "cases.json")
                if isinstance(c.get("source_file"), str) and _milter_expectations(c)]
_ZONE: dict[str, Any] | None = None


def _zone() -> dict[str, Any]:
    global _ZONE
    if _ZONE is None:
        _ZONE = read_zonefile(MILTER / "zonefile")
    return _ZONE


def _milter_dmarc(raw: bytes, ip: str, helo: str, mail_from: str) -> CheckResult:
    records = _zone()
    resolver = SnapshotResolver(records, complete=True)
    spf = check_spf(Envelope(ip=ip, helo=helo, mail_from=mail_from, source="options"), resolver)
    dkim = dkim_results(raw, txt_from_records(records))
    return check_dmarc(parse(raw), dkim, spf, resolver)


def _per_domain(result: CheckResult) -> list[tuple[str, str | None]]:
    text = result.props.get("dmarc.from_domains")
    if not text:
        return [(result.result, str(result.props.get("header.from") or "") or None)]
    pairs = [item.rsplit("=", 1) for item in str(text).split()]
    return [(r, d) for d, r in pairs]


@pytest.mark.parametrize("case", MILTER_CASES or _missing("dmarc/authentication_milter"),
                         ids=[f"{c['config_dir'].split('/')[-1]}-{c['dest']}" for c in MILTER_CASES]
                         or None)
def test_milter_dmarc(case: dict[str, Any]) -> None:
    raw = (MILTER / case["source_file"]).read_bytes()
    result = _milter_dmarc(raw, case["ip"], case["name"], case["from"])
    expected = [(e["result"], e["header.from"]) for e in _milter_expectations(case)]
    assert _per_domain(result) == expected, result.reason


UNIT_CASES = _load(MILTER / "unit_dmarc_cases.json")


@pytest.mark.parametrize("case", UNIT_CASES or _missing("dmarc/authentication_milter"),
                         ids=[c["name"] for c in UNIT_CASES] or None)
def test_milter_unit_dmarc(case: dict[str, Any]) -> None:
    raw = case["body"].replace("\n", "\r\n").encode()
    result = _milter_dmarc(raw, case["connect_ip"], case["helo"], case["mailfrom"])
    assert result.result == case["expected_dmarc"]["defaults"], result.reason


def test_suite_sizes() -> None:
    if not MILTER.is_dir() or not AUTHHEADERS.is_dir():
        pytest.skip("../shared/corpora not present; DMARC suites not run")
    assert len(AH_CASES) == 11
    assert len(MILTER_CASES) >= 25 and len(UNIT_CASES) == 4
