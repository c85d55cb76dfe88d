"""Recorded results (written by the receiver at delivery) against what we recompute now.

A difference is not an accusation: keys get rotated, forwarders rewrite envelopes, snapshots
miss names. Each disagreement says in plain words which of those it most likely is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from mailaudit.model import ArcReport, CheckResult, Disagreement, Envelope, RecordedResult

BODY_CHANGED = "body changed after delivery"
KEY_GONE = "key no longer published (or not captured in the snapshot)"
FORWARDED = "forwarded: SPF cannot pass after forwarding; ARC carries the original result"
HEADERS_CHANGED = "signed headers changed after delivery (the signature no longer verifies)"
KEY_REVOKED = "key revoked since delivery"

_KEY_UNAVAILABLE = {"key-missing", "key-not-captured", "key-tempfail"}
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
    d = _prop(rec, "header.d").lower()
    s = _prop(rec, "header.s").lower()
    if not d:
        i = _prop(rec, "header.i").lower()
        d = i.rpartition("@")[2] if i else ""
    if d:
        match = [c for c in mine if _prop(c, "header.d").lower() == d
                 and (not s or _prop(c, "header.s").lower() == s)]
        if not match:
            return None  # the signature the receiver saw is not in the message any more
    else:
        match = mine
    if any(c.result == rec.result for c in match):
        return None
    now = match[0]
    return Disagreement("dkim", rec.result, now.result, _dkim_reason(rec, now))


def _dkim_reason(rec: CheckResult, now: CheckResult) -> str:
    failure = str(now.props.get("dkim.failure", ""))
    if rec.result == "pass" and (failure == "body-hash"
                                 or now.reason == "body hash did not verify"):
        return BODY_CHANGED
    if failure in _KEY_UNAVAILABLE or now.props.get("dkim.unverifiable"):
        return KEY_GONE
    if failure == "key-revoked":
        return KEY_REVOKED
    if rec.result == "pass" and failure == "signature":
        return HEADERS_CHANGED
    return f"recomputed {now.result}" + (f": {now.reason}" if now.reason else "")


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
    if envelope is not None and envelope.ip and then_ip and _ip(envelope.ip) != then_ip:
        return Disagreement("spf", rec.result, now.result,
                            f"different sender IP assumed (recorded {then_ip}, "
                            f"recomputed with {envelope.ip})")
    if rec.result == "pass" and now.result in _SPF_NOT_PASS and arc is not None \
            and arc.cv == "pass" and any(c.method == "spf" and c.result == "pass"
                                         for c in arc.oldest_aar):
        return Disagreement("spf", rec.result, now.result, FORWARDED)
    if now.result == "temperror":
        return Disagreement("spf", rec.result, now.result,
                            "DNS answers needed for SPF are not available now"
                            + (f" ({now.reason})" if now.reason else ""))
    return Disagreement("spf", rec.result, now.result,
                        "SPF record or DNS changed since delivery"
                        + (f" (recomputed: {now.reason})" if now.reason else ""))


def _dmarc(rec: CheckResult, now: CheckResult | None, trusted: list[CheckResult],
           recomputed: Sequence[CheckResult]) -> Disagreement | None:
    if now is None or now.result == rec.result:
        return None
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
