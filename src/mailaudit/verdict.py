"""Combine authentication and the template match into one verdict with its reasons.

Authentication says *who* sent a message; only the sender's known templates say whether the
sender *meant* to say it. So:

* a message that claims a catalogued sender by address and authenticates as that sender is
  ``abused`` only on positive evidence: a user-controlled slot holds hostile content, or text
  outside the template carries scam signals (the platform really sent someone else's words);
  on a template with nothing hostile it is ``authentic``; wording that fits no template and
  carries no scam signal is ``unrecognized`` (the catalog can never hold every language and
  wording change: "not on a known template" is not evidence of abuse);
* a message that claims a catalogued sender in any header (From address, display name,
  look-alike domain, Sender, Return-Path, DKIM d=, a notification address at the brand's own
  domain) and does not authenticate as it is ``spoofed``;
* anything else is ``unknown-sender`` when it authenticates (DMARC identifier alignment
  passes), ``unauthenticated`` when it does not or cannot be verified.

Evidence order (RFC 8601 §7.1 leaves the choice to the reader): a conclusive recomputation
first; a trusted receiver's record only where recomputation is inconclusive, and never a record
that a conclusive recomputation contradicts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
from mailaudit.records import record


class CatalogSender(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def dkim_domains(self) -> Sequence[str]: ...
    @property
    def brand(self) -> str: ...


class Claim(Protocol):
    @property
    def sender(self) -> CatalogSender: ...
    @property
    def kind(self) -> str: ...  # "address" | "display-name" | "lookalike-domain" | "brand-domain"
    # | "sender-header" | "envelope" | "dkim-domain"
    @property
    def evidence(self) -> str: ...
    @property
    def domains(self) -> tuple[str, ...]: ...  # the domains a header claim names


@record
class AuthStatus:
    """Does the message authenticate as its From domain, and on what evidence?"""

    state: str  # "pass", "fail", "unknown"
    basis: str  # "recomputed", "recorded", "recomputed+recorded"
    detail: str  # one line for the reason
    dkim_domains: tuple[str, ...]  # d= of passing DKIM signatures (recomputed, else trusted recorded)


# Claim kinds that rest on a header other than the From address; each names its header.
_HEADER_CLAIMS = ("sender-header", "envelope", "dkim-domain")


def _passing_dkim_domains(checks: Sequence[CheckResult]) -> tuple[str, ...]:
    return tuple(
        str(c.props.get("header.d") or "").lower() for c in checks
        if c.method == "dkim" and c.result == "pass" and c.props.get("header.d")
    )


def _recorded_dkim_where_inconclusive(auth: AuthReport) -> tuple[str, ...]:
    """d= of credible recorded DKIM passes whose signature is in the message and could not be
    verified now (key not captured, DNS down): the receiver's record stands for those only."""
    recorded = _passing_dkim_domains([r.check for r in auth.credible_of("dkim")])
    if not auth.recomputed_ran:
        return recorded
    out = []
    for d in recorded:
        mine = [c for c in auth.recomputed_of("dkim")
                if str(c.props.get("header.d") or "").lower() == d]
        if mine and all(not c.conclusive for c in mine):
            out.append(d)
    return tuple(out)


def auth_status(auth: AuthReport) -> AuthStatus:
    """DMARC as recomputed when it is conclusive, else the credible receiver's record.

    "pass" means DMARC identifier alignment passed (RFC 7489 §3.1) whether or not the domain
    publishes a policy: a domain without a DMARC record can still authenticate its own mail.
    """
    if auth.recomputed_ran:
        dmarc = auth.recomputed_of("dmarc")
        dkim_pass = _passing_dkim_domains(auth.recomputed)
        recorded_dkim = _recorded_dkim_where_inconclusive(auth)
        if dmarc:
            d = dmarc[0]
            aligned = bool(d.props.get("dmarc.aligned_dkim")) or bool(d.props.get("dmarc.aligned_spf"))
            if d.result == "pass":
                return AuthStatus("pass", "recomputed", _dmarc_detail(d, "passes"),
                                  dkim_pass + recorded_dkim)
            frm = d.props.get("header.from") or "the From domain"
            if d.result == "none" and aligned:
                return AuthStatus("pass", "recomputed",
                                  f"{frm} publishes no DMARC policy, but its identifiers align"
                                  f"{_how(d)}", dkim_pass + recorded_dkim)
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
                              dkim_pass + recorded_dkim)
        reason = dmarc[0].reason if dmarc else "no DMARC result"
        return AuthStatus("unknown", "recomputed",
                          f"authentication could not be verified: {reason}{_why_no_record(auth)}",
                          dkim_pass)
    recorded_dkim = _recorded_dkim_where_inconclusive(auth)
    rec = _recorded_status(auth, recorded_dkim)
    detail = rec.detail + " (recorded results only; not recomputed)"
    if rec.state == "unknown":
        detail = rec.detail + _why_no_record(auth) + " (not recomputed)"
    return AuthStatus(rec.state, "recorded", detail, recorded_dkim)


def _why_no_record(auth: AuthReport) -> str:
    if any(r.trusted and r.contradicted for r in auth.recorded):
        return ("; the trusted receiver's record is contradicted by the recomputation, "
                "so none of it is used")
    if not any(r.trusted for r in auth.recorded) and auth.recorded:
        return "; no trusted receiver record (every Authentication-Results is an upstream claim)"
    return ""


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
        for r in auth.credible_of(method):
            c = r.check
            by = f"receiver {r.authserv_id}" if r.authserv_id else "the receiver (Microsoft's form)"
            if c.result == "pass":
                return AuthStatus("pass", "recorded", f"{by} recorded {method}=pass", recorded_dkim)
            if c.result in ("fail", "softfail"):
                return AuthStatus("fail", "recorded", f"{by} recorded {method}={c.result}", recorded_dkim)
    return AuthStatus("unknown", "recorded", "no trusted DMARC result recorded", recorded_dkim)


def _signed_by(status: AuthStatus, domains: Collection[str]) -> bool:
    wanted = {d.lower() for d in domains}
    return any(d in wanted or any(d.endswith("." + w) for w in wanted) for d in status.dkim_domains)


def _no_signature_can_pass(auth: AuthReport, domains: Collection[str]) -> bool:
    if not auth.recomputed_ran:
        return False
    wanted = {d.lower() for d in domains}
    for c in auth.recomputed_of("dkim"):
        d = str(c.props.get("header.d") or "").lower()
        if not d or not (d in wanted or any(d.endswith("." + w) for w in wanted)):
            continue
        if c.result == "pass" or c.failure not in ("body-hash", "signature", "tags"):
            return False
    return True


def _authenticates_as(claim: Claim, status: AuthStatus, auth: AuthReport) -> bool:
    """Does the message authenticate as the sender a non-From header names?"""
    domains = [*claim.sender.dkim_domains, *(claim.domains or ())]
    if domains and _signed_by(status, domains):
        return True
    if claim.kind == "envelope":
        spf = auth.recomputed_of("spf") if auth.recomputed_ran else ()
        spf_checks: list[CheckResult] = [c for c in spf if c.conclusive]
        if not spf_checks:
            spf_checks = [r.check for r in auth.credible_of("spf")]
        wanted = {d.lower() for d in (claim.domains or ())}
        for c in spf_checks:
            mail_from = str(c.props.get("smtp.mailfrom") or "").rpartition("@")[2].lower()
            if c.result == "pass" and mail_from in wanted:
                return True
    return False


def decide(claim: Claim | None, auth: AuthReport, match: TemplateMatch | None
           ) -> tuple[Verdict, str, tuple[Finding, ...]]:
    """Return (verdict, one-line reason, findings that explain it)."""
    status = auth_status(auth)
    findings: list[Finding] = []
    if claim is not None and claim.kind in _HEADER_CLAIMS:
        if not _authenticates_as(claim, status, auth):
            detail = status.detail if status.state != "pass" else (
                f"the From domain authenticates, but not as {claim.sender.id}")
            return (Verdict.SPOOFED,
                    f"{claim.evidence} claims {claim.sender.id}, but the message does not "
                    f"authenticate as it; {detail}",
                    (Finding("claims-catalogued-sender", Severity.HIGH,
                             f"{claim.evidence} claims {claim.sender.id}; no valid signature "
                             "or envelope authenticates that claim", claim.evidence),))
        findings.append(Finding("header-claim-authenticated", Severity.INFO,
                                f"{claim.evidence} names {claim.sender.id} and authenticates"))
        claim = None
    if claim is not None and claim.kind == "brand-domain":
        if status.state == "fail":
            return (Verdict.SPOOFED,
                    f"{claim.evidence} is a {claim.sender.brand} notification address, but "
                    f"{status.detail}",
                    (Finding("auth-fails-for-brand-domain", Severity.HIGH, status.detail,
                             claim.evidence),))
        claim = None  # authenticates (or cannot be judged): ordinary mail from the brand
    if claim is None:
        if status.state == "pass":
            return (Verdict.UNKNOWN_SENDER, f"not a catalogued sender; {status.detail}",
                    tuple(findings))
        return (Verdict.UNAUTHENTICATED, f"not a catalogued sender; {status.detail}",
                tuple(findings))

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
    if status.state == "unknown" and sender.dkim_domains and _no_signature_can_pass(
            auth, sender.dkim_domains):
        # All of this sender's mail is signed by these domains, and the message itself shows
        # that no such signature can pass (none present, or each fails on the message's own
        # bytes): no DNS answer could change that.
        want = ", ".join(sender.dkim_domains)
        why = f"it carries no valid DKIM signature from {want}, and needs no DNS to say so"
        return (Verdict.SPOOFED, f"uses {sender.id}'s address, but {why}; {status.detail}",
                (Finding("missing-sender-signature", Severity.HIGH,
                         f"expected a valid DKIM signature from {want}; {why}"),))
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
    return _judge_wording(sender.id, status, match)


def _judge_wording(sender_id: str, status: AuthStatus, match: TemplateMatch | None
                   ) -> tuple[Verdict, str, tuple[Finding, ...]]:
    """An authenticated catalogued sender: abused only on positive evidence."""
    findings: list[Finding] = []
    hostile_slots = [s for s in match.slots if s.hostile and (s.user_controlled or s.signals)
                     ] if match else []
    outside = [g for g in match.signals if not g.where.startswith("slot:")] if match else []
    for s in hostile_slots:
        findings.append(Finding("hostile-slot", Severity.HIGH,
                                f"slot {s.name} ({s.type}) holds {_slot_summary(s)}", s.value))
    for g in outside:
        findings.append(Finding(f"signal-{g.kind}", Severity.HIGH,
                                f"{g.kind} found in {g.where}", g.value))
    if findings:
        assert match is not None
        for text in match.off_template:
            findings.append(Finding("off-template-text", Severity.WARNING,
                                    "text outside the template", text))
        if hostile_slots:
            what = "; ".join(f"slot {s.name}: {_kinds(s)}" for s in hostile_slots)
        else:
            kinds = sorted({g.kind for g in outside})
            what = "scam signals outside the template's slots (" + ", ".join(kinds) + ")"
        return (Verdict.ABUSED,
                f"authentic {sender_id} mail carrying someone else's words: {what}",
                tuple(findings))
    if match is None or match.template_id is None:
        return (Verdict.UNRECOGNIZED,
                f"genuine {sender_id} mail ({status.detail}); the catalog holds no template "
                "for this sender's wording, and it carries no scam signal",
                (Finding("unrecognized-wording", Severity.INFO,
                         "no catalogued template for this sender"),))
    odd_slots = [s for s in match.slots if s.hostile]
    if not match.matched or odd_slots:
        differed = _differences(match, odd_slots)
        return (Verdict.UNRECOGNIZED,
                f"genuine {sender_id} mail ({status.detail}) whose wording fits no catalogued "
                f"template and carries no scam signal; closest {match.template_id} "
                f"({match.score:.0%} of its fixed text): {differed}",
                (Finding("unrecognized-wording", Severity.INFO,
                         f"closest template {match.template_id} fits {match.score:.0%} of its "
                         f"fixed text; {differed}"),
                 *(Finding("off-template-text", Severity.INFO, "text outside the template", t)
                   for t in match.off_template)))
    return (Verdict.AUTHENTIC,
            f"{sender_id} template {match.template_id}, {status.detail}, no hostile content", ())


def _differences(match: TemplateMatch, odd_slots: Sequence[SlotValue]) -> str:
    parts = []
    if match.missing:
        shown = "; ".join(repr(m[:60]) for m in match.missing[:3])
        more = f" and {len(match.missing) - 3} more" if len(match.missing) > 3 else ""
        parts.append(f"missing {shown}{more}")
    if match.off_template:
        parts.append(f"{len(match.off_template)} passage(s) of text the template does not list")
    for s in odd_slots[:3]:
        parts.append(f"slot {s.name} does not fit its type")
    return "; ".join(parts) or "the wording differs"


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
