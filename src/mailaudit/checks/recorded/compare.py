"""Recorded results (written by the receiver at delivery) against what we recompute now.

A difference is not an accusation: keys get rotated, forwarders rewrite envelopes, snapshots
miss names. Each disagreement says in plain words which of those it most likely is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from mailaudit.model import ArcReport, CheckResult, Disagreement, Envelope, RecordedResult

BODY_CHANGED = "body changed after delivery"
KEY_GONE = "key no longer published (DNS says there is no such key)"
KEY_NOT_CAPTURED = "key not captured (no DNS answer for it: offline, or not in the snapshot)"
FORWARDED = "forwarded: SPF cannot pass after forwarding; ARC carries the original result"
# What a signature that fails with the key in hand, on a body as signed, shows: not which of
# the two (a selector's key can be replaced in place, as Microsoft 365 rotates selector1 and
# selector2), only that these bytes do not verify with the key published now.
HEADERS_CHANGED = ("signed headers changed after delivery, or the key under its selector was "
                   "replaced since (the signature does not verify with the key published now)")
KEY_REVOKED = "key revoked since delivery"
UNSIGNED = ("the message carries no DKIM signature: the recorded pass cannot be about this "
            "message (a forged record, or the signature was removed)")
NOT_IN_MESSAGE = ("the message carries no signature from {d}: the recorded pass is not about "
                  "this message (a forged record, or the signature was removed)")

_SPF_NOT_PASS = {"fail", "softfail", "neutral", "none"}


def disagreements(recorded: Sequence[RecordedResult], recomputed: Sequence[CheckResult],
                  arc: ArcReport | None, envelope: Envelope | None) -> tuple[Disagreement, ...]:
    out: list[Disagreement] = []
    trusted = [r.check for r in recorded if r.trusted]
    for rec in trusted:
        found: Disagreement | None = None
        if rec.method == "dkim":
            found = _dkim(rec, [c for c in recomputed if c.method == "dkim"])
        elif rec.method == "spf":
            found = _spf(rec, _first(recomputed, "spf"), arc, envelope)
        elif rec.method == "dmarc":
            found = _dmarc(rec, _first(recomputed, "dmarc"), trusted, recomputed)
        elif rec.method == "arc" and arc is not None and rec.result != arc.cv:
            found = Disagreement("arc", rec.result, arc.cv,
                                 f"ARC chain now validates as {arc.cv}"
                                 + (f" ({arc.reason})" if arc.reason else ""))
        if found is not None and found not in out:
            out.append(found)
    return tuple(out)


# DKIM failures that no key rotation, DNS change or clock explains: the message itself shows
# that the signature cannot pass (RFC 6376 §6.1.3 body hash; §6.1.1 From not signed; a
# signature that fails with its key in hand; a malformed signature).
_STRUCTURAL = {"body-hash", "signature", "tags"}
OFFLINE_NO_SNAPSHOT = "offline and no DNS snapshot given"  # dns.budget.OfflineResolver


def contradicted(recorded: Sequence[RecordedResult],
                 recomputed: Sequence[CheckResult]) -> frozenset[int]:
    """Header indices of trusted records that a conclusive recomputation contradicts.

    Only what cannot change with time counts: a recorded DKIM pass for a message that carries
    no such signature, or whose signature fails on the message's own bytes; a recorded DMARC
    result for a different From domain. Such a header is not a description of this message
    (a forged record, or a message changed since), so nothing in it is evidence.
    """
    mine = [c for c in recomputed if c.method == "dkim"]
    out: set[int] = set()
    for r in recorded:
        if not r.trusted or r.header == "Received-SPF":
            continue
        rec = r.check
        if rec.method == "dkim" and rec.result == "pass" and mine:
            match = _signatures_named(rec, mine)
            if not match or all(c.failure in _STRUCTURAL for c in match):
                out.add(r.header_index)
        elif rec.method == "dmarc":
            then_from = _prop(rec, "header.from").lower().rstrip(".")
            now = _first(recomputed, "dmarc")
            now_from = _prop(now, "header.from").lower() if now is not None else ""
            if then_from and now_from and then_from != now_from:
                out.add(r.header_index)
    return frozenset(out)


def _signatures_named(rec: CheckResult, mine: list[CheckResult]) -> list[CheckResult]:
    """The recomputed signatures a recorded DKIM result is about (by d= and s=)."""
    d = _prop(rec, "header.d").lower()
    s = _prop(rec, "header.s").lower()
    if not d:
        i = _prop(rec, "header.i").lower()
        d = i.rpartition("@")[2] if i else ""
    signed = [c for c in mine if c.result != "none"]
    if not d:
        return signed
    return [c for c in signed if _prop(c, "header.d").lower() == d
            and (not s or _prop(c, "header.s").lower() == s)]


def _first(results: Sequence[CheckResult], method: str) -> CheckResult | None:
    return next((c for c in results if c.method == method), None)


def _prop(check: CheckResult, *names: str) -> str:
    for name in names:
        value = check.props.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def _dkim(rec: CheckResult, mine: list[CheckResult]) -> Disagreement | None:
    if not mine:
        return None
    if rec.result == "pass" and all(c.result == "none" for c in mine):
        return Disagreement("dkim", rec.result, "none", UNSIGNED)
    d = _prop(rec, "header.d").lower()
    s = _prop(rec, "header.s").lower()
    if not d:
        i = _prop(rec, "header.i").lower()
        d = i.rpartition("@")[2] if i else ""
    if d:
        match = [c for c in mine if _prop(c, "header.d").lower() == d
                 and (not s or _prop(c, "header.s").lower() == s)]
        if not match:
            if rec.result != "pass":
                return None
            return Disagreement("dkim", rec.result, "none", NOT_IN_MESSAGE.format(d=f"d={d}"))
    else:
        match = mine
    if any(c.result == rec.result for c in match) or all(
            c.failure == "body-rebuilt" for c in match):
        return None  # a body the source rebuilt cannot be compared with the record
    now = match[0]
    return Disagreement("dkim", rec.result, now.result, _dkim_reason(rec, now))


def _dkim_reason(rec: CheckResult, now: CheckResult) -> str:
    failure = now.failure
    if rec.result == "pass" and (failure == "body-hash" or now.body_hash == "fail"):
        return BODY_CHANGED
    if failure == "key-not-captured":
        return KEY_NOT_CAPTURED
    if failure == "key-tempfail":
        return "the key lookup failed temporarily; the signature could not be verified now"
    if failure == "key-missing":
        return KEY_GONE
    if failure == "key-revoked":
        return KEY_REVOKED
    if failure == "expired":
        return (f"{now.reason}; the body is unchanged" if now.body_hash == "pass"
                else now.reason or "signature expired")
    if rec.result == "pass" and failure == "signature":
        return HEADERS_CHANGED
    # The disagreement already shows "recomputed <result>": say why, not the result again.
    return now.reason or "the recomputation gives a different result"


def recorded_ip(rec: CheckResult) -> str:
    """The sender IP a recorded result names: smtp.remote-ip, client-ip, or Microsoft's
    "sender IP is 192.0.2.1" comment."""
    for key, value in rec.props.items():
        k = key.lower()
        if (k.endswith("remote-ip") or k.endswith("client-ip")) and value:
            return _ip(str(value))
    text = rec.reason
    at = text.lower().find("sender ip is ")
    if at >= 0:
        return _ip(text[at + 13:].split()[0] if text[at + 13:].split() else "")
    return ""


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]();,")))
    except ValueError:
        return ""


def _spf(rec: CheckResult, now: CheckResult | None, arc: ArcReport | None,
         envelope: Envelope | None) -> Disagreement | None:
    if now is None or now.result == rec.result:
        return None
    then_ip = recorded_ip(rec)
    if now.result == "none" and (envelope is None or not envelope.ip):
        return Disagreement("spf", rec.result, now.result,
                            "no sender IP was found in the message (give one with --ip), so "
                            "SPF was not recomputed")
    if envelope is not None and envelope.ip and then_ip and _ip(envelope.ip) != then_ip:
        given = " given by --ip" if envelope.source == "options" else (
            f" taken from {envelope.source}" if envelope.source else "")
        return Disagreement("spf", rec.result, now.result,
                            f"different sender IP assumed (recorded {then_ip}, "
                            f"recomputed with {envelope.ip}{given})")
    if rec.result == "pass" and now.result in _SPF_NOT_PASS and arc is not None \
            and arc.cv == "pass" and any(c.method == "spf" and c.result == "pass"
                                         for c in arc.oldest_aar):
        return Disagreement("spf", rec.result, now.result, FORWARDED)
    if now.result == "temperror":
        return Disagreement("spf", rec.result, now.result, _unavailable("SPF", now))
    return Disagreement("spf", rec.result, now.result,
                        "SPF record or DNS changed since delivery"
                        + (f" (recomputed: {now.reason})" if now.reason else ""))


def _unavailable(method: str, now: CheckResult) -> str:
    if OFFLINE_NO_SNAPSHOT in now.reason:
        return (f"{method} could not be recomputed: offline, and no DNS snapshot was given "
                "(--dns-snapshot)")
    if "not in snapshot" in now.reason or "not captured" in now.reason:
        return f"{method} could not be recomputed: the DNS snapshot does not hold the answers it needs"
    return (f"DNS answers needed for {method} are not available now"
            + (f" ({now.reason})" if now.reason else ""))


def _dmarc(rec: CheckResult, now: CheckResult | None, trusted: list[CheckResult],
           recomputed: Sequence[CheckResult]) -> Disagreement | None:
    if now is None or now.result == rec.result:
        return None
    if now.result == "temperror":
        return Disagreement("dmarc", rec.result, now.result, _unavailable("DMARC", now))
    changed: list[str] = []
    for method in ("dkim", "spf"):
        then = _summary(c for c in trusted if c.method == method)
        mine = _summary(c for c in recomputed if c.method == method)
        if then and mine and then != mine:
            changed.append(f"{method.upper()} was {then}, now {mine}")
    then_from = _prop(rec, "header.from").lower()
    now_from = _prop(now, "header.from").lower()
    if then_from and now_from and then_from != now_from:
        changed.append(f"From domain was {then_from}, now {now_from}")
    if changed:
        return Disagreement("dmarc", rec.result, now.result,
                            "DMARC differs because its inputs differ: " + "; ".join(changed))
    return Disagreement("dmarc", rec.result, now.result,
                        "same inputs, different outcome: the DMARC record or alignment changed"
                        + (f" ({now.reason})" if now.reason else ""))


def _summary(checks: Iterable[CheckResult]) -> str:
    """"pass" when any result passes (DMARC needs only one), else the results seen."""
    results = [c.result for c in checks]
    if not results:
        return ""
    if "pass" in results:
        return "pass"
    return "/".join(sorted(set(results)))
