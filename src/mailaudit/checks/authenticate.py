"""Authentication checks, run in the order the RFCs need: DKIM and SPF, then DMARC; ARC beside.

``authenticate`` is the one entry the pipeline calls (it is loaded with the first message that is
audited, so the checks are imported here, not per call). Every check is a pure function of the
parsed message, the resolver and the options.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mailaudit.checks.dkim.check import check_dkim
from mailaudit.checks.dmarc.check import check_dmarc
from mailaudit.checks.recorded.compare import contradicted, disagreements
from mailaudit.checks.recorded.envelope import choose_envelope
from mailaudit.checks.spf.check import check_spf
from mailaudit.dns.base import Resolver
from mailaudit.dns.budget import BudgetResolver
from mailaudit.model import AuthReport, CheckResult, Finding, Severity
from mailaudit.options import AuditOptions
from mailaudit.parse.message import ParsedMessage

if TYPE_CHECKING:
    from mailaudit.checks.recorded.trust import RecordedAuth


def authenticate(msg: ParsedMessage, recorded: RecordedAuth, resolver: Resolver | None,
                 options: AuditOptions, *, body_rebuilt: bool = False,
                 ) -> tuple[AuthReport, tuple[Finding, ...]]:
    """Recorded results beside recomputed ones, with their disagreements explained.

    ``recorded`` is what the receivers wrote (``read_recorded``). Without a resolver (or with
    ``options.recompute`` off) only the recorded side is filled and the report says so.
    ``body_rebuilt``: the source rebuilt the body (PST, .msg; see ``check_dkim``).
    """
    envelope = choose_envelope(msg, recorded.envelope, options)
    if resolver is None or not options.recompute:
        return AuthReport(recorded=recorded.results, envelope=envelope, recomputed_ran=False,
                          exchange=recorded.exchange), ()

    # One budget for the whole message: a hostile message must not make us send thousands of
    # queries (RFC 7208 §4.6.4 bounds SPF alone; DKIM signatures and ARC sets are unbounded).
    # DNS gets half the message's time budget, so a dead server leaves time for the rest.
    budgeted = BudgetResolver(resolver, options.limits.max_dns_lookups,
                              seconds=options.limits.max_seconds / 2)
    dkim, dkim_findings = check_dkim(msg, budgeted, now=options.now,
                                     max_signatures=options.limits.max_signatures,
                                     body_rebuilt=body_rebuilt)
    findings = list(dkim_findings)
    spf = check_spf(envelope, budgeted)
    dmarc = check_dmarc(msg, dkim, spf, budgeted)
    arc = None
    if any(h.lname == "arc-seal" for h in msg.headers):
        from mailaudit.checks.arc.check import check_arc

        arc = check_arc(msg, budgeted, now=options.now)
    if budgeted.refused:
        if budgeted.timed_out:
            what = (f"DNS stopped after {budgeted.seconds:g} s (half of limit max_seconds); "
                    f"{budgeted.refused} lookups not made")
        else:
            what = (f"DNS lookups stopped at {budgeted.limit} (limit max_dns_lookups); "
                    f"{budgeted.refused} more were needed")
        findings.append(Finding("limit-dns-lookups", Severity.WARNING,
                                what + "; results that needed them are temperror"))
    recomputed: tuple[CheckResult, ...] = (*dkim, spf, dmarc)
    # Conclusive beats recorded: a trusted header that the message itself refutes is kept
    # for the report, but marked, and the verdict takes nothing from it.
    refuted = contradicted(recorded.results, recomputed)
    results = tuple(replace(r, contradicted=True) if r.header_index in refuted and r.trusted
                    else r for r in recorded.results)
    report = AuthReport(
        recomputed=recomputed,
        recorded=results,
        arc=arc,
        disagreements=disagreements(results, recomputed, arc, envelope),
        envelope=envelope,
        recomputed_ran=True,
        exchange=recorded.exchange,
    )
    return report, tuple(findings)
