"""The SPF memo changes nothing: every result, and every lookup charged to the budget, is what
an evaluation without the memo gives, over the OpenSPF RFC 7208 suite (records replayed from a
snapshot), again and again on one resolver, with other local parts and small budgets."""

from __future__ import annotations

from typing import Any

import pytest

from mailaudit.checks.spf import check as spf_check
from mailaudit.checks.spf.check import check_spf
from mailaudit.dns.budget import BudgetResolver
from mailaudit.dns.offline import OfflineResolver
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import CheckResult, Envelope
from support.paths import CORPORA
from support.spf_suite import LiveLike, load_cases

RFC7208 = load_cases("rfc7208-tests.yml")




def _envelopes(test: dict[str, Any]) -> list[Envelope]:
    mail_from = str(test.get("mailfrom") or "")
    local, at, domain = mail_from.partition("@")
    others = [mail_from]
    if at:
        # A different local part: the memo must not hand back a result that depended on it.
        others += [f"someone-else{at}{domain}", f"{local.upper()}{at}{domain}"]
    return [Envelope(ip=str(test["host"]), helo=str(test.get("helo") or ""), mail_from=m,
                     source="options") for m in others]


def _run(resolver: Any, envelope: Envelope, limit: int) -> tuple[CheckResult, int]:
    budget = BudgetResolver(resolver, limit)
    return check_spf(envelope, budget), budget.used


def _scenarios() -> dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]:
    grouped: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for _case_id, records, test in RFC7208:
        grouped.setdefault(id(records), (records, []))[1].append(test)
    return grouped


SCENARIOS = list(_scenarios().values())


@pytest.mark.parametrize("limit", [2, 5, 11, 100])
def test_memo_equals_fresh_evaluation(limit: int) -> None:
    if not (CORPORA / "spf").is_dir():
        pytest.skip("../shared/corpora/spf not present; the OpenSPF suites cannot run")
    hits_possible = remembered = 0
    for records, tests in SCENARIOS:
        replay = SnapshotResolver(records, complete=True)
        live = LiveLike(SnapshotResolver(records, complete=True))
        for _round in range(2):
            for test in tests:
                for envelope in _envelopes(test):
                    got = _run(replay, envelope, limit)
                    want = _run(live, envelope, limit)
                    assert got == want, (envelope, limit)
                    hits_possible += 1
        remembered += len(spf_check._memos.get(replay, {}))
    assert hits_possible > 500
    assert remembered > 20  # the memo was used, not bypassed


def test_memo_is_per_resolver_and_never_for_live_dns() -> None:
    records = {"memo.example": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]}}
    envelope = Envelope(ip="192.0.2.9", helo="h.example", mail_from="a@memo.example",
                        source="options")
    first = SnapshotResolver(records, complete=True)
    assert check_spf(envelope, first).result == "pass"
    assert first in spf_check._memos
    # Another snapshot with other answers for the same name: its own memo, its own answer.
    second = SnapshotResolver({"memo.example": {"TXT": ["v=spf1 -all"]}}, complete=True)
    assert check_spf(envelope, second).result == "fail"
    live = LiveLike(first)
    check_spf(envelope, live)
    assert live not in spf_check._memos


def test_cached_result_spends_the_same_lookups() -> None:
    records = {"chain.example": {"TXT": ["v=spf1 include:a.chain.example -all"]},
               "a.chain.example": {"TXT": ["v=spf1 include:b.chain.example -all"]},
               "b.chain.example": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]}}
    resolver = SnapshotResolver(records, complete=True)
    envelope = Envelope(ip="192.0.2.1", helo="", mail_from="x@chain.example", source="options")
    fresh = _run(resolver, envelope, 10)
    again = _run(resolver, envelope, 10)
    assert fresh == again and fresh[1] == 3
    # Too little budget left for the remembered evaluation: evaluated again, and it runs out
    # exactly as it would have.
    short = _run(resolver, envelope, 2)
    assert short == _run(LiveLike(resolver), envelope, 2)
    assert short[0].result == "temperror"


def test_macro_records_are_not_remembered() -> None:
    records = {"macro.example": {"TXT": ["v=spf1 exists:%{l}.allow.macro.example -all"]},
               "alice.allow.macro.example": {"A": ["127.0.0.2"]}}
    resolver = SnapshotResolver(records, complete=True)

    def result(local: str) -> str:
        return check_spf(Envelope(ip="192.0.2.1", helo="", mail_from=f"{local}@macro.example",
                                  source="options"), resolver).result

    assert [result("alice"), result("bob"), result("alice")] == ["pass", "fail", "pass"]


def test_offline_resolver_is_remembered_as_temperror() -> None:
    offline = OfflineResolver()
    envelope = Envelope(ip="192.0.2.1", helo="", mail_from="a@b.example", source="options")
    assert check_spf(envelope, offline).result == "temperror"
    assert check_spf(envelope, offline).result == "temperror"


def test_no_reuse_once_the_message_dns_time_is_over() -> None:
    """Past the message's DNS deadline a fresh evaluation is refused its lookups; a remembered
    one must not stand in for it (the same rule as DMARC's memo: ``BudgetResolver.reuse``)."""
    records = {"late.example": {"TXT": ["v=spf1 include:a.late.example -all"]},
               "a.late.example": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]}}
    resolver = SnapshotResolver(records, complete=True)
    envelope = Envelope(ip="192.0.2.1", helo="", mail_from="x@late.example", source="options")
    assert _run(resolver, envelope, 10)[0].result == "pass"  # remembered
    late = BudgetResolver(resolver, 10, seconds=-1.0)  # its DNS time is already over
    fresh = BudgetResolver(LiveLike(resolver), 10, seconds=-1.0)
    assert check_spf(envelope, late) == check_spf(envelope, fresh)
    assert check_spf(envelope, late).result == "temperror" and late.used == fresh.used == 0


def test_reuse_charges_only_what_would_have_been_allowed() -> None:
    budget = BudgetResolver(OfflineResolver(), 5)
    assert budget.reuse(3) and budget.used == 3
    assert not budget.reuse(3) and budget.used == 3  # two left: refused, nothing charged
    late = BudgetResolver(OfflineResolver(), 5, seconds=-1.0)
    assert late.reuse(0) and not late.reuse(1) and late.used == 0
