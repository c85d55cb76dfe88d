"""Combine authentication and the template match into one verdict with its reasons.

Authentication says *who* sent a message; only the sender's known templates say whether the
sender *meant* to say it. So:

* a message that claims a catalogued sender by address and authenticates as that sender is
  ``authentic`` only when it sits on one of the sender's templates with no hostile slot;
  otherwise it is ``abused`` (the platform really sent someone else's words);
* a message that claims a catalogued sender and does not authenticate as it, or claims it by
  display name or a look-alike domain, is ``spoofed``;
* anything else is ``unknown-sender`` when it authenticates (DMARC identifier alignment
  passes), ``unauthenticated`` when it does not or cannot be verified.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from mailaudit.model import (
    AuthReport,
    CheckResult,
    Finding,
    Severity,
    SlotValue,
    TemplateMatch,
    Verdict,
)


class CatalogSender(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def dkim_domains(self) -> Sequence[str]: ...


class Claim(Protocol):
    @property
    def sender(self) -> CatalogSender: ...
    @property
    def kind(self) -> str: ...  # "address" | "display-name" | "lookalike-domain"
    @property
    def evidence(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """Does the message authenticate as its From domain, and on what evidence?"""

    state: str  # "pass", "fail", "unknown"
    basis: str  # "recomputed", "recorded", "recomputed+recorded"
    detail: str  # one line for the reason
    dkim_domains: tuple[str, ...]  # d= of passing DKIM signatures (recomputed, else trusted recorded)


def _passing_dkim_domains(checks: Sequence[CheckResult]) -> tuple[str, ...]:
    return tuple(
        str(c.props.get("header.d") or "").lower() for c in checks
        if c.method == "dkim" and c.result == "pass" and c.props.get("header.d")
    )


def auth_status(auth: AuthReport) -> AuthStatus:
    """DMARC as recomputed when it is conclusive, else the trusted receiver's record.

    "pass" means DMARC identifier alignment passed (RFC 7489 §3.1) whether or not the domain
    publishes a policy: a domain without a DMARC record can still authenticate its mail.
    """
    recorded_dkim = _passing_dkim_domains(auth.trusted_of("dkim"))
    if auth.recomputed_ran:
        dmarc = auth.recomputed_of("dmarc")
        dkim_pass = _passing_dkim_domains(auth.recomputed)
        if dmarc:
            d = dmarc[0]
            aligned = bool(d.props.get("dmarc.aligned_dkim")) or bool(d.props.get("dmarc.aligned_spf"))
            if d.result == "pass":
                return AuthStatus("pass", "recomputed", _dmarc_detail(d, "passes"), dkim_pass)
            frm = d.props.get("header.from") or "the From domain"
            if d.result == "none" and aligned:
                return AuthStatus("pass", "recomputed",
                                  f"{frm} publishes no DMARC policy, but its identifiers align"
                                  f"{_how(d)}", dkim_pass)
            if d.result == "none" and "dmarc.aligned_dkim" in d.props:
                return AuthStatus("fail", "recomputed",
                                  f"{frm} publishes no DMARC policy and no DKIM or SPF pass "
                                  "aligns with it", dkim_pass)
            if d.result == "permerror":
                return AuthStatus("fail", "recomputed", f"DMARC permerror: {d.reason}", dkim_pass)
            if d.result == "fail":
                return AuthStatus("fail", "recomputed", _dmarc_detail(d, "fails"), dkim_pass)
        # Recomputation could not conclude (DNS not captured, temporary failure): the trusted
        # receiver's record is the best evidence we have, and we say so.
        rec = _recorded_status(auth, recorded_dkim)
        if rec.state != "unknown":
            return AuthStatus(rec.state, "recorded", rec.detail + " (recomputation was inconclusive)",
                              dkim_pass or recorded_dkim)
        reason = dmarc[0].reason if dmarc else "no DMARC result"
        return AuthStatus("unknown", "recomputed", f"authentication could not be verified: {reason}",
                          dkim_pass)
    rec = _recorded_status(auth, recorded_dkim)
    return AuthStatus(rec.state, "recorded", rec.detail + " (recorded results only; not recomputed)",
                      recorded_dkim)


def _how(d: CheckResult) -> str:
    how = []
    if d.props.get("dmarc.aligned_dkim"):
        how.append(f"aligned DKIM d={d.props['dmarc.aligned_dkim']}")
    if d.props.get("dmarc.aligned_spf"):
        how.append("aligned SPF")
    return f" ({', '.join(how)})" if how else ""


def _dmarc_detail(d: CheckResult, verb: str) -> str:
    frm = d.props.get("header.from") or "the From domain"
    how = _how(d) or (f" ({d.reason})" if d.reason else "")
    return f"DMARC {verb} for {frm}{how}"


def _recorded_status(auth: AuthReport, recorded_dkim: tuple[str, ...]) -> AuthStatus:
    for method in ("dmarc", "compauth"):
        for c in auth.trusted_of(method):
            who = next((r.authserv_id for r in auth.recorded
                        if r.trusted and r.check is c), "")
            by = f"receiver {who}" if who else "the receiver (Microsoft's form)"
            if c.result == "pass":
                return AuthStatus("pass", "recorded", f"{by} recorded {method}=pass", recorded_dkim)
            if c.result in ("fail", "softfail"):
                return AuthStatus("fail", "recorded", f"{by} recorded {method}={c.result}", recorded_dkim)
    return AuthStatus("unknown", "recorded", "no trusted DMARC result recorded", recorded_dkim)


def _signed_by(status: AuthStatus, domains: Collection[str]) -> bool:
    wanted = {d.lower() for d in domains}
    return any(d in wanted or any(d.endswith("." + w) for w in wanted) for d in status.dkim_domains)


def decide(claim: Claim | None, auth: AuthReport, match: TemplateMatch | None
           ) -> tuple[Verdict, str, tuple[Finding, ...]]:
    """Return (verdict, one-line reason, findings that explain it)."""
    status = auth_status(auth)
    findings: list[Finding] = []
    if claim is None:
        if status.state == "pass":
            return Verdict.UNKNOWN_SENDER, f"not a catalogued sender; {status.detail}", ()
        return Verdict.UNAUTHENTICATED, f"not a catalogued sender; {status.detail}", ()

    sender = claim.sender
    if claim.kind != "address":
        findings.append(Finding("claims-catalogued-sender", Severity.HIGH,
                                f"claims to be {sender.id} by {claim.kind.replace('-', ' ')}",
                                claim.evidence))
        return (Verdict.SPOOFED,
                f"poses as {sender.id} ({claim.evidence}); not sent from its addresses",
                tuple(findings))

    if status.state == "fail":
        return (Verdict.SPOOFED, f"uses {sender.id}'s address but {status.detail}",
                (Finding("auth-fails-for-catalogued-sender", Severity.HIGH, status.detail),))
    if status.state == "unknown":
        return (Verdict.UNAUTHENTICATED,
                f"uses {sender.id}'s address; {status.detail}",
                (Finding("unverifiable", Severity.WARNING, status.detail),))
    if sender.dkim_domains and not _signed_by(status, sender.dkim_domains):
        want = ", ".join(sender.dkim_domains)
        changed = [d.explanation for d in auth.disagreements if d.method == "dkim"]
        why = f" ({changed[0]})" if changed else ""
        return (Verdict.SPOOFED,
                f"uses {sender.id}'s address, but no valid DKIM signature from {want}{why}; "
                f"{status.detail}", (Finding("missing-sender-signature", Severity.HIGH,
                                             f"expected a valid DKIM signature from {want}"
                                             f"{why}"),))

    if match is None or match.template_id is None:
        return (Verdict.ABUSED,
                f"authentic {sender.id} mail that matches none of its known templates",
                (Finding("off-template", Severity.HIGH, "no known template fits this message"),))
    hostile_slots = [s for s in match.slots if s.hostile]
    if not match.matched:
        findings.append(Finding("off-template", Severity.HIGH,
                                f"closest template {match.template_id} fits only "
                                f"{match.score:.0%} of its fixed text"))
    for s in hostile_slots:
        findings.append(Finding("hostile-slot", Severity.HIGH,
                                f"slot {s.name} ({s.type}) holds {_slot_summary(s)}", s.value))
    for text in match.off_template:
        findings.append(Finding("off-template-text", Severity.HIGH,
                                "text outside the template", text))
    outside = [g for g in match.signals if not g.where.startswith("slot:")]
    for g in outside:
        findings.append(Finding(f"signal-{g.kind}", Severity.HIGH,
                                f"{g.kind} found in {g.where}", g.value))
    if findings:
        if hostile_slots:
            what = "; ".join(f"slot {s.name}: {_kinds(s)}" for s in hostile_slots)
        elif match.off_template or outside:
            kinds = sorted({g.kind for g in outside})
            what = "text outside the template" + (f" ({', '.join(kinds)})" if kinds else "")
        else:
            what = findings[0].message
        return (Verdict.ABUSED,
                f"authentic {sender.id} mail carrying someone else's words: {what}",
                tuple(findings))
    return (Verdict.AUTHENTIC,
            f"{sender.id} template {match.template_id}, {status.detail}, no hostile content", ())


def _kinds(slot: SlotValue) -> str:
    """"phone, money, brand" or "too long" – the kinds of trouble, for the one-line reason."""
    kinds = list(dict.fromkeys(g.kind for g in slot.signals))
    if not slot.valid and not kinds:
        kinds = ["does not fit its type"]
    return ", ".join(kinds) if kinds else "hostile"


def _slot_summary(slot: SlotValue) -> str:
    by_kind: dict[str, list[str]] = {}
    for g in slot.signals:
        by_kind.setdefault(g.kind, []).append(g.value)
    parts = [f"{kind} {', '.join(dict.fromkeys(values))}" for kind, values in by_kind.items()]
    parts.extend(slot.problems)
    return "; ".join(parts) or "a value that does not fit its type"
