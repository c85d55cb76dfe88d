"""Authentication results recorded in the message, and which of them to believe.

Which Authentication-Results to trust (RFC 8601 §5, §7.1). Anyone can write an
Authentication-Results header into the message they send; only the one the final receiver added
means anything. The rule:

1. With ``trust_authserv_ids``: trust exactly the Authentication-Results whose authserv-id
   matches one of them (case-insensitive; "" names Exchange Online's id-less form).
2. Otherwise the receiving organisation is named by the topmost Authentication-Results: its
   authserv-id's organisational domain (Public Suffix List), or Microsoft's domains for the
   id-less form. Receivers prepend, so the receiver's own records sit above its inbound
   Received hop. Walking Received headers from the top, a hop belongs to the receiver while its
   ``by`` host is in that organisation (or is not a domain name at all: internal hops written
   as IP literals or bare names). The trusted region is everything above the lowest hop of that
   first run, and there is none unless the run holds a hop whose ``by`` is a domain of that
   organisation: a record whose writer the Received chain does not show as the receiver is an
   upstream claim, however high it sits (the top line is whatever the file starts with; for
   the id-less form, the Exchange Online hops must be there). The topmost Authentication-Results is trusted when it lies in the region, and so is
   every other one in the region with the same authserv-id. An upstream header claiming the same
   authserv-id below the receiver's hop is thereby excluded; one inside the region could only get
   there if the receiver failed its RFC 8601 §5 duty to remove such headers.
3. Everything else, and every ARC-Authentication-Results, is an upstream claim: shown, with
   ``trusted=False``.

Received-SPF counts for the envelope only when it is the topmost one and lies in the region
(with no trusted Authentication-Results, the region is computed from the organisation of the
topmost Received ``by`` host). Exchange's own headers follow their own rule (see
``recorded_ms``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from mailaudit.checks.recorded.exchange import MICROSOFT_ORGS, decode_exchange, read_microsoft
from mailaudit.model import (
    CheckResult,
    Envelope,
    ExchangeVerdict,
    Finding,
    PropValue,
    RecordedResult,
    Severity,
)
from mailaudit.parse.authres import (
    parse_authentication_results,
    parse_received_spf,
    split_arc_instance,
)
from mailaudit.parse.message import ParsedMessage
from mailaudit.parse.received import ip_literal
from mailaudit.records import record

__all__ = ["RecordedAuth", "read_recorded"]

_AR = "authentication-results"
_AAR = "arc-authentication-results"
_RSPF = "received-spf"
_MAX_FINDINGS = 20


@record
class RecordedAuth:
    results: tuple[RecordedResult, ...]  # every parsed result, trusted or not, in header order
    trusted_ids: tuple[str, ...]  # authserv-ids trusted ("" = Microsoft's id-less form)
    envelope: Envelope | None  # ip/helo/mail_from from the trusted receiver's own records
    microsoft: dict[str, str]  # SCL, SFV, CIP, CAT, compauth, compauth_reason, AuthAs, ...
    findings: tuple[Finding, ...]  # malformed headers etc.
    exchange: ExchangeVerdict | None = None  # Exchange Online's own verdict, when it is trusted


@lru_cache(maxsize=4096)
def org_domain(name: str) -> str:
    """Organisational domain of a host name (RFC 7489 §3.2, PSL), lower-case; the name itself
    when the PSL gives none (a bare suffix, an internal name such as ``test.module``)."""
    from mailaudit.parse.domains import org_domain_psl

    try:
        org = org_domain_psl(name)
    except (ValueError, TypeError, UnicodeError):
        org = None
    return org or name.strip().rstrip(".").lower()


def _orgs_of(authserv_id: str) -> frozenset[str]:
    return MICROSOFT_ORGS if authserv_id == "" else frozenset({org_domain(authserv_id)})


def _is_domain(host: str) -> bool:
    return "." in host and ip_literal(host) is None


def _region_end(msg: ParsedMessage, orgs: frozenset[str]) -> int:
    """Header index of the lowest Received hop of the first run of hops internal to ``orgs``
    (see the module docstring); 0 when that run has no hop whose ``by`` is a domain of
    ``orgs``: the receiver is not shown (no Received header at all, or none by it), so no
    record can be shown to be its own."""
    received = [i for i, h in enumerate(msg.headers) if h.lname == "received"]
    if not received:
        return 0
    end = received[0]
    shown = False
    hops = msg.received
    for header_index, hop_index in zip(received, range(len(hops)), strict=False):
        host = hops.by_host(hop_index) or ""
        if _is_domain(host):
            if org_domain(host) not in orgs:
                break
            shown = True
        end = header_index
    return end if shown else 0


def _finding(header: str, index: int, problems: Sequence[str], value: str) -> Finding:
    return Finding("authres-malformed", Severity.INFO,
                   f"{header} (header {index}) read leniently: {'; '.join(problems)}"[:400],
                   evidence=value[:300])


def _receiver_orgs(msg: ParsedMessage) -> frozenset[str]:
    host = msg.received.by_host(0) if msg.received else None
    return frozenset({org_domain(host)}) if host and _is_domain(host) else frozenset()


def read_recorded(msg: ParsedMessage, *, trust_authserv_ids: Sequence[str] = (),
                  trust_nothing: bool = False) -> RecordedAuth:
    """Every recorded result in ``msg``, which of them are trusted, and the envelope the trusted
    receiver recorded. ``trust_nothing``: a message attached to another, whose records were all
    written before the forward. Never raises on message content."""
    findings: list[Finding] = []
    parsed: list[tuple[int, str, str | None, str, tuple[CheckResult, ...]]] = []
    spf_headers: list[tuple[int, CheckResult]] = []
    for index, h in enumerate(msg.headers):
        if h.lname == _AR:
            ar = parse_authentication_results(h.value)
            if ar.problems and len(findings) < _MAX_FINDINGS:
                findings.append(_finding(h.name, index, ar.problems, h.value))
            parsed.append((index, h.name, ar.authserv_id, "", ar.results))
        elif h.lname == _AAR:
            instance, rest = split_arc_instance(h.value)
            ar = parse_authentication_results(rest)
            if (ar.problems or not instance) and len(findings) < _MAX_FINDINGS:
                problems = [*ar.problems, *([] if instance else ["missing i= tag"])]
                findings.append(_finding(h.name, index, problems, h.value))
            parsed.append((index, "ARC-Authentication-Results", ar.authserv_id, instance,
                           ar.results))
        elif h.lname == _RSPF:
            spf, problems = parse_received_spf(h.value)
            if problems and len(findings) < _MAX_FINDINGS:
                findings.append(_finding(h.name, index, problems, h.value))
            spf_headers.append((index, spf))

    trusted_index: set[int]
    trusted_ids: tuple[str, ...]
    if trust_nothing:
        trusted_index, region, trusted_ids = set(), 0, ()
    else:
        trusted_index, region, trusted_ids = _choose_trusted(msg, parsed, trust_authserv_ids)

    # Only the topmost Received-SPF, and only inside the receiver's region (module docstring).
    top_spf = spf_headers[0] if spf_headers and spf_headers[0][0] < region else None
    results: list[RecordedResult] = []
    spf_by_index = dict(spf_headers)
    rows = sorted([(i, "ar") for i, *_ in parsed] + [(i, "spf") for i, _ in spf_headers])
    parsed_by_index = {p[0]: p for p in parsed}
    for index, kind in rows:
        if kind == "spf":
            spf = spf_by_index[index]
            results.append(RecordedResult(spf, str(spf.props.get("receiver", "")),
                                          trusted=top_spf is not None and index == top_spf[0],
                                          header="Received-SPF", header_index=index))
            continue
        _, header, authserv_id, instance, checks = parsed_by_index[index]
        trusted = index in trusted_index
        for check in checks:
            if instance:
                props: dict[str, PropValue] = dict(check.props)
                props["arc.i"] = (int(instance) if instance.isascii() and instance.isdigit()
                                  and len(instance) <= 5 else instance)
                check = CheckResult(check.method, check.result, check.reason, props)
            results.append(RecordedResult(check, authserv_id or "", trusted, header, index))

    trusted_results = [r for r in results if r.trusted and r.header != "Received-SPF"]
    microsoft_receiver = not trust_nothing and (
        "" in trusted_ids
        or any(org_domain(i) in MICROSOFT_ORGS for i in trusted_ids if i)
        or (not trusted_ids and bool(_receiver_orgs(msg) & MICROSOFT_ORGS)))
    microsoft = read_microsoft(msg) if microsoft_receiver else {}
    for r in trusted_results:
        if r.check.method == "compauth":
            microsoft.setdefault("compauth", r.check.result)
            microsoft.setdefault("compauth_reason", r.check.reason)
    if not microsoft_receiver and msg.get("x-forefront-antispam-report") is not None:
        findings.append(Finding("ms-headers-untrusted", Severity.INFO,
                                "X-Forefront-Antispam-Report present but the message was not "
                                "received by Exchange Online; ignored"))

    envelope = _envelope(top_spf[1] if top_spf else None, trusted_results, microsoft)
    exchange = decode_exchange(microsoft, msg) if microsoft_receiver else None
    return RecordedAuth(results=tuple(results), trusted_ids=trusted_ids, envelope=envelope,
                        microsoft=microsoft, findings=tuple(findings), exchange=exchange)


def _choose_trusted(msg: ParsedMessage,
                    parsed: list[tuple[int, str, str | None, str, tuple[CheckResult, ...]]],
                    trust_authserv_ids: Sequence[str]) -> tuple[set[int], int, tuple[str, ...]]:
    """(header indices of trusted Authentication-Results, region end, trusted ids)."""
    plain = [(i, aid or "") for i, _, aid, inst, _ in parsed if not inst
             and msg.headers[i].lname == _AR]
    if trust_authserv_ids:
        wanted = {a.lower() for a in trust_authserv_ids}
        chosen = {i for i, aid in plain if aid.lower() in wanted}
        ids = tuple(dict.fromkeys(aid for i, aid in plain if i in chosen))
        # Region: down to the first Received below the lowest trusted header.
        region = _region_end(msg, frozenset().union(*(_orgs_of(a) for a in ids))) if ids else 0
        if chosen:
            region = max(region, max(chosen) + 1)
        return chosen, region, ids
    if plain:
        top_index, top_id = plain[0]
        region = _region_end(msg, _orgs_of(top_id))
        if top_index < region:
            chosen = {i for i, aid in plain if i < region and aid.lower() == top_id.lower()}
            return chosen, region, (top_id,)
    return set(), _region_end(msg, _receiver_orgs(msg)), ()


def _sender_ip_comment(comment: str) -> str | None:
    # Exchange Online: "spf=pass (sender IP is 40.107.22.52) smtp.mailfrom=..."
    low = comment.lower()
    k = low.find("sender ip is ")
    if k < 0:
        return None
    words = comment[k + 13:].split()
    return ip_literal(words[0]) if words else None


def _ip(value: PropValue) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return None


def _envelope(spf: CheckResult | None, trusted: list[RecordedResult],
              microsoft: dict[str, str]) -> Envelope | None:
    ip = helo = mail_from = None
    source = ""
    if spf is not None:
        ip = _ip(spf.props.get("client-ip"))
        helo = _str(spf.props.get("helo"))
        mail_from = _str(spf.props.get("envelope-from"))
        source = "received-spf" if ip else ""
    for r in trusted:
        props = r.check.props
        found = (_ip(props.get("smtp.remote-ip")) or _ip(props.get("policy.iprev"))
                 or _sender_ip_comment(str(props.get("comment", ""))))
        if ip is None and found:
            ip, source = found, "authentication-results"
        helo = helo or _str(props.get("smtp.helo"))
        if r.check.method == "spf":
            mail_from = mail_from or _str(props.get("smtp.mailfrom"))
    if ip is None and microsoft.get("CIP"):
        found = _ip(microsoft["CIP"])
        if found:
            ip, source = found, "x-forefront"
            helo = helo or microsoft.get("H") or None
    if ip is None:
        return None
    return Envelope(ip=ip, helo=helo, mail_from=mail_from, source=source)


def _str(value: PropValue) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
