"""The whole pipeline for one message, in one place.

    raw bytes ─► parse ─► recorded results ─► recompute (DKIM, SPF, DMARC, ARC) ─►
    catalog claim + template match ─► verdict ─► AuditResult

Everything here is a pure function of (message bytes, DNS answers, catalog, options): that is
what makes it testable, replayable and parallel. The CLI and the batch driver are thin shells
over ``audit_message`` / ``audit_item``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from mailaudit.checks.authenticate import authenticate
from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.model import (
    AuditResult,
    AuthReport,
    ErrorInfo,
    Finding,
    MessageRef,
    RawMessage,
    Severity,
    SourceError,
    Verdict,
)
from mailaudit.options import AuditOptions
from mailaudit.parse import parse_message
from mailaudit.verdict import decide

if TYPE_CHECKING:
    from mailaudit.dns.base import Resolver
    from mailaudit.parse.message import ParsedMessage
    from mailaudit.templates.catalog import Catalog

_DEFAULT_OPTIONS = AuditOptions()
MAX_ATTACHMENT_DEPTH = 3  # forwards inside forwards audited as their own records
_MEMORY_REF = MessageRef("<memory>")


class AuditTimeout(BaseException):
    """Raised inside an audit when its time budget is spent (see run.Watchdog).

    A BaseException, like KeyboardInterrupt, because code on the audit path catches
    ``Exception`` broadly: dnspython's resolve loop takes any exception for a failed server and
    moves on, and the checks turn library errors into temperror. As an ``Exception`` the alarm
    was swallowed there, and a dead DNS server held one message for max_dns_lookups x the
    resolver lifetime (measured: 62 s for a 2 s budget, tests/dns/test_dns_abuse.py).
    """


def audit_message(raw: bytes, *, resolver: Resolver | None = None, catalog: Catalog | None = None,
                  options: AuditOptions = _DEFAULT_OPTIONS, ref: MessageRef = _MEMORY_REF,
                  parent: MessageRef | None = None, truncated: bool = False,
                  rebuilt: bool = False) -> AuditResult:
    """Audit one message. Never raises for anything the message contains. ``rebuilt``: the
    body was made again from stored properties (``RawMessage.rebuilt``)."""
    return _audit(raw, resolver=resolver, catalog=catalog, options=options, ref=ref,
                  parent=parent, truncated=truncated, rebuilt=rebuilt)[0]


def _audit(raw: bytes, *, resolver: Resolver | None, catalog: Catalog | None,
           options: AuditOptions, ref: MessageRef, parent: MessageRef | None,
           truncated: bool, rebuilt: bool = False) -> tuple[AuditResult, ParsedMessage | None]:
    """``audit_message``, also handing back the parsed message (None when parsing failed), so
    that attached messages are found without parsing the message a second time."""
    started = time.perf_counter()
    if len(raw) > options.limits.max_message_bytes:
        # Sources cut what they read; a library caller can hand over any size, and the limit
        # must hold (with its finding) on this path too.
        raw, truncated = raw[:options.limits.max_message_bytes], True
    try:
        msg = parse_message(raw, limits=options.limits)
        now, clock = evaluation_time(options, resolver)
        options = _at(options, now)
        recorded = read_recorded(msg, trust_authserv_ids=options.trust_authserv_ids,
                                 trust_nothing=not options.trust_recorded)
        auth, auth_findings = authenticate(msg, recorded, resolver, options,
                                           body_rebuilt=rebuilt)
        auth = replace(auth, evaluated_at=now, clock=clock)
        claim = match = None
        if catalog is not None:
            from mailaudit.templates.claims import claim_of

            claim = claim_of(msg, catalog)
            if claim is not None and claim.kind == "address":
                # The template engine is loaded once a sender is claimed: most mail claims none.
                from mailaudit.templates.matcher import match_message

                match = match_message(msg, claim.sender)
        verdict, reason, verdict_findings = decide(claim, auth, match)
        findings = [*msg.findings, *recorded.findings, *auth_findings]
        if msg._body is not None:  # only when something needed the body
            findings.extend(msg.body().findings)
        findings.extend(_disagreement_findings(auth))
        findings.extend(_trust_findings(auth, options))
        if truncated:
            findings.append(Finding("limit-message-size", Severity.WARNING,
                                    f"message truncated at {options.limits.max_message_bytes} bytes "
                                    "(limit max_message_bytes); signatures over the cut part "
                                    "cannot verify"))
        findings.extend(verdict_findings)
        if catalog is not None and msg.from_:
            from mailaudit.templates.claims import tenant_brand

            frm = msg.from_[0]
            brand = tenant_brand(frm.display_name, frm.domain, catalog.brands)
            if brand is not None:
                findings.append(Finding(
                    "brand-on-tenant-domain", Severity.WARNING,
                    f"the display name names {brand}, but the address is on a throw-away "
                    f"Microsoft 365 tenant domain ({frm.domain[:80]}) anyone can open",
                    frm.display_name[:200]))
        error = None
        cut = _limit_that_decides(findings, verdict in _WORDING_VERDICTS)
        if cut is not None:
            # Limits never decide: a verdict reached on a cut message could be the quieter
            # one the attacker padded for. ``error`` is flagged by default.
            error = ErrorInfo(cut.code, cut.message)
            reason = (f"{cut.message}; the verdict needs what the limit removed (raise the "
                      f"limit to judge it; on what was read: {verdict}: {reason})")
            verdict = Verdict.ERROR
        return AuditResult(
            ref=ref, parent=parent, verdict=verdict, reason=reason,
            message_id=msg.message_id, date=msg.date, from_=msg.from_, to=msg.to,
            subject=msg.subject, auth=auth, template=match, findings=tuple(findings),
            error=error, seconds=time.perf_counter() - started,
        ), msg
    except AuditTimeout:
        return _out_of_time(ref, options, parent), None
    except RecursionError:
        return error_result(ref, "too-deep", "message structure is nested too deeply to audit",
                            parent=parent), None
    except MemoryError:
        return error_result(ref, "too-large", "message needs more memory than allowed to audit",
                            parent=parent), None
    except Exception as exc:
        if _caused_by_timeout(exc):
            return _out_of_time(ref, options, parent), None
        return error_result(ref, "internal-error",
                            f"mailaudit could not audit this message ({type(exc).__name__}: {exc}); "
                            "please report it with the message attached", parent=parent), None


def _out_of_time(ref: MessageRef, options: AuditOptions, parent: MessageRef | None) -> AuditResult:
    return error_result(ref, "time-budget",
                        f"audit stopped after {options.limits.max_seconds:g} s "
                        "(limit max_seconds); the message is left unjudged", parent=parent)


def _caused_by_timeout(exc: BaseException) -> bool:
    """Is ``exc`` the time budget, re-raised as another exception? Python wraps an exception
    raised while a class is created (``__set_name__``) in RuntimeError, so an alarm that lands
    in a module imported on first use mid-audit arrived as "RuntimeError: Error calling
    __set_name__ ...", an internal error instead of the budget."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AuditTimeout):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


_last_at: tuple[AuditOptions, float, AuditOptions] | None = None


def _at(options: AuditOptions, now: float) -> AuditOptions:
    """``options`` with ``now`` set. A run audits every message with the same options at the
    same evaluation time (``--at``, a snapshot's capture time), so the copy is made once."""
    global _last_at
    last = _last_at
    if last is not None and last[0] is options and last[1] == now:
        return last[2]
    at = options if options.now == now else replace(options, now=now)
    _last_at = (options, now, at)
    return at


def evaluation_time(options: AuditOptions, resolver: Resolver | None) -> tuple[float, str]:
    """(Unix time, where it came from): --at, else the snapshot's capture time (replaying the
    same evidence gives the same verdict on any day), else the clock."""
    if options.now is not None:
        return options.now, "--at"
    captured = getattr(resolver, "captured_at", None)
    if isinstance(captured, (int, float)):
        return float(captured), "snapshot"
    return time.time(), "live"


# Limits whose cut can hide what the verdict needs. Body limits count only when the body was
# judged (template matching); a cut Received chain keeps the top hops trust is decided on.
_DECIDING_LIMITS = ("limit-message-size", "limit-headers-needed", "limit-dns-lookups",
                    "limit-signatures")
_WORDING_VERDICTS = (Verdict.AUTHENTIC, Verdict.UNRECOGNIZED, Verdict.ABUSED)
_BODY_LIMITS = ("limit-body-bytes", "limit-mime-parts", "limit-mime-depth", "limit-mime-lines",
                "limit-mime-field", "limit-html", "limit-links")
_NEEDED_HEADERS = frozenset({"from", "sender", "reply-to", "dkim-signature",
                             "authentication-results", "arc-seal", "arc-message-signature",
                             "arc-authentication-results", "received", "return-path",
                             "received-spf", "subject", "to", "content-type",
                             "content-transfer-encoding", "mime-version", "date", "message-id"})


def _limit_that_decides(findings: list[Finding], body_judged: bool) -> Finding | None:
    for f in findings:
        if f.code in _DECIDING_LIMITS or (body_judged and f.code in _BODY_LIMITS):
            return f
        if f.code == "limit-header-bytes" and f.evidence.lower() in _NEEDED_HEADERS:
            return f
    return None


def _trust_findings(auth: AuthReport, options: AuditOptions) -> list[Finding]:
    plain = [r for r in auth.recorded if r.header == "Authentication-Results"]
    if not plain or any(r.trusted for r in plain):
        return []
    if not options.trust_recorded:
        return [Finding("recorded-in-attachment", Severity.INFO,
                        "this message was attached to another: every Authentication-Results in "
                        "it is an upstream claim (written before it was forwarded)")]
    ids = sorted({r.authserv_id for r in plain if r.authserv_id})
    named = ", ".join(ids[:3]) if ids else "(none)"
    return [Finding("no-trusted-receiver", Severity.INFO,
                    "no trusted receiver record was found: no Authentication-Results was written "
                    "by the receiving host the Received chain shows, so every one is an upstream "
                    f"claim (authserv-ids seen: {named}); name your receiver with "
                    "--trust-authserv-id ID to trust its records")]


def _disagreement_findings(auth: AuthReport) -> list[Finding]:
    return [Finding(f"disagree-{d.method}", Severity.WARNING,
                    f"{d.method}: recorded {d.recorded}, recomputed {d.recomputed}: {d.explanation}")
            for d in auth.disagreements]


def error_result(ref: MessageRef, code: str, message: str, *,
                 parent: MessageRef | None = None) -> AuditResult:
    return AuditResult(ref=ref, parent=parent, verdict=Verdict.ERROR, reason=message,
                       error=ErrorInfo(code, message))


def _attached_messages(msg: ParsedMessage, options: AuditOptions) -> list[tuple[str, bytes]]:
    """message/rfc822 parts: a user's "report phishing" forward carries the suspect this way.
    The byte search keeps MIME parsing off the path of the many messages that have none."""
    if not options.expand_attachments or not _mentions_rfc822(msg.raw):
        return []
    return [(p.path, p.data) for p in msg.body().messages]


def _mentions_rfc822(raw: bytes) -> bool:
    """``b"message/rfc822" in raw.lower()`` without lower-casing a copy of every byte: digits
    have no case, so only the few places where "822" occurs are looked at."""
    at = raw.find(b"822")
    while at >= 0:
        if raw[max(0, at - 11):at].lower() == b"message/rfc":
            return True
        at = raw.find(b"822", at + 3)
    return False


def audit_item(item: RawMessage | SourceError, *, resolver: Resolver | None,
               catalog: Catalog | None, options: AuditOptions = _DEFAULT_OPTIONS,
               depth: int = 0) -> list[AuditResult]:
    """One input item, and every message attached inside it, each its own record."""
    if isinstance(item, SourceError):
        return [error_result(item.ref, item.code, item.message)]
    result, msg = _audit(item.data, resolver=resolver, catalog=catalog, options=options,
                         ref=item.ref, parent=item.parent, truncated=item.truncated,
                         rebuilt=item.rebuilt)
    if (item.findings or item.caveat) and result.verdict is not Verdict.ERROR:
        result = replace(result, findings=(*item.findings, *result.findings),
                         reason=f"{result.reason}; {item.caveat}" if item.caveat else result.reason)
    results = [result]
    if msg is None or result.verdict is Verdict.ERROR:
        return results
    try:
        attached = _attached_messages(msg, options)
    except Exception:  # the parent's own record already stands; a broken body adds nothing
        attached = []
    if msg._body is not None:
        # Looking for attached messages parsed the body after the record was made: what the
        # body parser found (a MIME depth cut that hides attachments, say) belongs in it.
        late = tuple(f for f in msg.body().findings if f not in result.findings)
        if late:
            result = replace(result, findings=(*result.findings, *late))
            results = [result]
    if attached and depth >= MAX_ATTACHMENT_DEPTH:
        # Forwards of forwards are real, but each level is a full audit; past the limit the
        # inner messages are not audited, and the record says so rather than dropping them.
        stop = Finding("limit-attachment-depth", Severity.WARNING,
                       f"{len(attached)} attached message(s) nested deeper than "
                       f"{MAX_ATTACHMENT_DEPTH} forwards were not audited on their own")
        return [replace(result, findings=(*result.findings, stop))]
    # The attached message trusts nothing of its own: its Authentication-Results were written
    # (or typed) before the forward, not by our receiver, whatever --trust-authserv-id says.
    inner = replace(options, trust_recorded=False)
    for path, data in attached:
        child = RawMessage(ref=item.ref.child(f"attachment={path}"), data=data, parent=item.ref)
        results.extend(audit_item(child, resolver=resolver, catalog=catalog, options=inner,
                                  depth=depth + 1))
    return results
