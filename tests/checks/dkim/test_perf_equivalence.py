"""The speed-ups change no result: the whole authentication report with the replay memos
(SPF results, parsed DMARC records, organisational domains, the shared message split) equals
the report computed without them, message after message on one resolver and under small
lookup budgets; and check_arc's fast path equals dkimpy on sealed copies of the same mail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailaudit.checks.arc.check import check_arc
from mailaudit.checks.authenticate import authenticate
from mailaudit.checks.dkim.check import KeyFetcher
from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.options import AuditOptions
from mailaudit.parse import parse_message
from support.paths import REPO
from support.spf_suite import LiveLike
from support.synth.notify import open_workshop
from support.synth.templates import iter_template_cases

SAMPLES = REPO / "samples"
_SHOP = open_workshop(SAMPLES / "keys" if (SAMPLES / "keys").is_dir() else None)
_CASES = list(iter_template_cases(_SHOP))


def _report(raw: bytes, resolver: object, options: AuditOptions) -> object:
    msg = parse_message(raw, limits=options.limits)
    report, findings = authenticate(msg, read_recorded(msg), resolver, options)  # type: ignore[arg-type]
    return report, findings


@pytest.mark.parametrize("lookups", [1, 3, 6, 20])
def test_authenticate_with_memos_equals_without(lookups: int) -> None:
    assert isinstance(_SHOP.resolver, SnapshotResolver)
    base = AuditOptions()
    options = replace(base, limits=replace(base.limits, max_dns_lookups=lookups))
    replay = SnapshotResolver(_SHOP.resolver.records, complete=_SHOP.resolver.complete)
    live = LiveLike(_SHOP.resolver)
    for _round in range(2):  # the second round answers SPF from the memo
        for case in _CASES:
            assert _report(case.raw, replay, options) == _report(case.raw, live, options), \
                case.case_id


def test_sealed_template_mail_fast_arc_equals_dkimpy() -> None:
    """Genuine notification mail through a forwarder that seals it: the production check
    (fast path) against dkimpy alone, over the same answers."""
    pytest.importorskip("authres")
    from support.arcgen import _resolver, _seal, _world

    sealer = next(s for s in _world().sealers if s.selector == "r2048")
    records = {**_SHOP.resolver.records, **_resolver().records}
    resolver = SnapshotResolver(records, complete=True)
    from support.arc_suite import parsed

    checked = 0
    for case in _CASES[:60]:
        raw = case.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        sealed = _seal(_seal(raw, 1, sealer, "none"), 2, sealer, "pass")
        import dkim

        cv, _results, _reason = dkim.ARC(sealed, minkey=1024).verify(
            dnsfunc=KeyFetcher(resolver))
        report = check_arc(parsed(sealed), resolver)
        assert report.cv == (cv.decode() if isinstance(cv, bytes) else "fail"), case.case_id
        checked += report.cv == "pass"
    assert checked >= 50
