"""DMARC (RFC 7489, with the DMARCbis tree walk, psd=, np= and t=): policy discovery, record
parsing, identifier alignment, and the disposition the policy asks for."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from mailaudit.checks.dmarc.treewalk import treewalk
from mailaudit.dns.base import DnsOutcome, NoData, NotCaptured, NXDomain, Resolver
from mailaudit.dns.memo import remember, run_memo
from mailaudit.model import CheckResult, PropValue
from mailaudit.parse.domains import normalise_domain, org_domain_psl
from mailaudit.parse.message import ParsedMessage
from mailaudit.records import record

POLICIES = ("none", "quarantine", "reject")
_KNOWN_TAGS = {"v", "p", "sp", "np", "pct", "t", "adkim", "aspf", "psd", "rua", "ruf", "fo",
               "rf", "ri"}
_MAX_RECORD = 4096  # far above any real record; bounds work on a hostile TXT answer
_MAX_PROBLEMS = 10
# When several From domains fail differently, report the one that matters most.
_SEVERITY = {"fail": 5, "temperror": 4, "permerror": 3, "none": 2, "pass": 1}


@record
class DmarcRecord:
    """One parsed ``v=DMARC1`` record. Invalid values fall back to the defaults and are listed
    in ``problems``; ``error`` is set when the record cannot be used at all."""

    domain: str  # where it was published (without "_dmarc.")
    raw: str
    p: str | None  # None: missing or invalid (RFC 7489 §6.6.3 step 6)
    sp: str | None = None
    np: str | None = None
    pct: int = 100
    t: bool = False  # DMARCbis testing mode
    adkim: str = "r"
    aspf: str = "r"
    psd: str = "u"  # DMARCbis: y (public suffix domain), n (organisational domain), u
    rua: str = ""
    problems: tuple[str, ...] = ()
    error: str = ""  # syntax error: the record is unusable (permerror)


def parse_dmarc_record(text: str, domain: str = "") -> DmarcRecord | None:
    """None when ``text`` is not a DMARC record at all (does not start with ``v=DMARC1``)."""
    if len(text) <= _MEMO_RECORD:
        return _parse_remembered(text, domain)
    return _parse(text, domain)


# Policy discovery sees the same few hundred records again and again in a batch; parsing is a
# pure function of (text, domain) and DmarcRecord is frozen, so parsed records are shared. The
# lookups themselves still go through the resolver, so the lookup budget is spent as before.
_MEMO_RECORD = 512


@functools.lru_cache(maxsize=2048)
def _parse_remembered(text: str, domain: str) -> DmarcRecord | None:
    return _parse(text, domain)


def _parse(text: str, domain: str) -> DmarcRecord | None:
    raw = text[:_MAX_RECORD]
    parts = raw.split(";")
    first = parts[0].replace(" ", "").replace("\t", "")
    # RFC 9989 §4.7 (and RFC 7489 §6.4): the version tag is case-sensitive, "v=DMARC1"
    # exactly; "v=dmarc1" is not a DMARC record at all.
    if first != "v=DMARC1":
        return None
    tags: dict[str, str] = {}
    problems: list[str] = []
    error = ""
    for part in parts[1:]:
        part = part.strip(" \t\r\n")
        if not part:
            continue
        name, eq, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not eq or not name:
            error = error or f"missing tag or value: {part[:60]!r}"
            continue
        if name not in _KNOWN_TAGS:
            if len(problems) < _MAX_PROBLEMS:
                problems.append(f"unknown tag {name[:30]!r} ignored")
            continue
        if name in tags:
            problems.append(f"tag {name!r} repeated; the first is used")
            continue
        tags[name] = value
    p = _policy(tags.get("p"), "p", problems)
    sp = _policy(tags.get("sp"), "sp", problems)
    np = _policy(tags.get("np"), "np", problems)
    pct = 100
    if "pct" in tags:
        raw_pct = tags["pct"]
        # Only ASCII digits are digits in a tag ("²".isdigit() is True; int() refuses it).
        if raw_pct.isascii() and raw_pct.isdigit() and int(raw_pct[:4]) <= 100:
            pct = int(raw_pct)
        else:
            problems.append(f"pct={tags['pct'][:20]!r} is not 0-100; 100 used")
    return DmarcRecord(
        domain=domain, raw=raw, p=p, sp=sp, np=np, pct=pct,
        t=_choice(tags.get("t"), "t", ("y", "n"), "n", problems) == "y",
        adkim=_choice(tags.get("adkim"), "adkim", ("r", "s"), "r", problems),
        aspf=_choice(tags.get("aspf"), "aspf", ("r", "s"), "r", problems),
        psd=_choice(tags.get("psd"), "psd", ("y", "n", "u"), "u", problems),
        rua=tags.get("rua", ""), problems=tuple(problems), error=error)


def _policy(value: str | None, tag: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if value.lower() in POLICIES:
        return value.lower()
    problems.append(f"{tag}={value[:20]!r} is not none, quarantine or reject")
    return None


def _choice(value: str | None, tag: str, allowed: tuple[str, ...], default: str,
            problems: list[str]) -> str:
    if value is None:
        return default
    if value.lower() in allowed:
        return value.lower()
    problems.append(f"{tag}={value[:20]!r} is not one of {', '.join(allowed)}; {default} used")
    return default


def fetch_dmarc_record(domain: str, resolver: Resolver) -> tuple[DmarcRecord | None, str]:
    """The DMARC record at ``_dmarc.<domain>`` and a note. NXDOMAIN and no TXT are "no record";
    other outcomes are raised. Several DMARC records count as none (RFC 7489 §6.6.3 step 5)."""
    try:
        texts = resolver.txt(f"_dmarc.{domain}")
    except (NXDomain, NoData):
        return None, ""
    records = [r for r in (parse_dmarc_record(t, domain) for t in texts) if r is not None]
    if len(records) > 1:
        return None, f"_dmarc.{domain} publishes {len(records)} DMARC records; all are ignored"
    return (records[0] if records else None), ""


def check_dmarc(msg: ParsedMessage, dkim: Sequence[CheckResult], spf: CheckResult,
                resolver: Resolver) -> CheckResult:
    """DMARC for the message's From domain(s)."""
    from_headers = msg.get_all("from")
    if not from_headers or not msg.from_:
        return CheckResult("dmarc", "permerror", "no From header (RFC 7489 §6.6.1)",
                           {"header.from": None, "policy.dmarc": "none"})
    domains: list[str] = []
    for address in msg.from_:
        name = normalise_domain(address.domain or "")
        if name is None:
            return CheckResult("dmarc", "permerror",
                               f"unable to extract a From domain from {address.address[:80]!r}",
                               {"header.from": None, "policy.dmarc": "none"})
        if name not in domains:
            domains.append(name)
    fetch = _memo_fetch(resolver)
    # The first domain's discovery starts with nothing fetched, so it asks exactly what a
    # discovery on its own would: only that one may come from (and go to) the run's memo.
    results = [_check_domain(d, dkim, spf, resolver, fetch, shared=i == 0)
               for i, d in enumerate(domains[:8])]
    if len(results) == 1:
        return results[0]
    # RFC 7489 §6.6.1 lets a receiver apply DMARC to every author domain; the strictest
    # outcome stands, so a second From address cannot hide a failing one.
    worst = max(results, key=lambda r: _SEVERITY.get(r.result, 0))
    props = dict(worst.props)
    props["dmarc.from_domains"] = " ".join(
        f"{r.props.get('header.from')}={r.result}" for r in results)
    return CheckResult("dmarc", worst.result,
                       f"{len(domains)} From domains; strictest shown: {worst.reason}", props)


def _memo_fetch(resolver: Resolver) -> Callable[[str], tuple[DmarcRecord | None, str]]:
    seen: dict[str, tuple[DmarcRecord | None, str] | DnsOutcome] = {}

    def fetch(domain: str) -> tuple[DmarcRecord | None, str]:
        hit = seen.get(domain)
        if hit is None:
            try:
                hit = fetch_dmarc_record(domain, resolver)
            except DnsOutcome as exc:
                hit = exc
            seen[domain] = hit
        if isinstance(hit, DnsOutcome):
            raise hit
        return hit

    return fetch


@record
class PolicyDiscovery:
    """Which DMARC record governs a domain and how it was found (RFC 7489 §6.6.3 with the
    DMARCbis tree walk). ``record`` None: no policy. ``unknown`` is the temperror result when
    DNS could not tell."""

    domain: str
    record: DmarcRecord | None
    source: str  # "From domain record", "organisational domain record", "tree walk record", ...
    org_domain_psl: str
    org_domain_treewalk: str | None  # None when the tree walk could not finish
    policy: str  # the p=, sp= or np= value that applies to ``domain`` ("" without a record)
    policy_from: str  # "p", "sp" or "np"
    notes: tuple[str, ...]
    unknown: CheckResult | None = None
    no_policy: str = ""  # why the author domain has no policy although it publishes records


def discover_policy(domain: str, resolver: Resolver,
                    fetch: Callable[[str], tuple[DmarcRecord | None, str]] | None = None
                    ) -> PolicyDiscovery:
    """The record ``check_dmarc`` would apply to ``domain``: the one at the domain, else at its
    PSL organisational domain, else the one the tree walk finds. Never raises on DNS."""
    fetch = fetch or _memo_fetch(resolver)
    props: dict[str, PropValue] = {"header.from": domain}
    psl_org = org_domain_psl(domain)
    props["dmarc.org_domain.psl"] = psl_org or ""
    notes: list[str] = []
    try:
        record, note = fetch(domain)
        source = "From domain record"
        if record is None and note:
            # RFC 9989 §4.10 step 2: several records at the author domain mean no DMARC
            # policy at all; neither the organisational domain nor the tree walk may stand
            # in for the author domain's own (broken) choice.
            return PolicyDiscovery(domain, None, "", psl_org or "", None, "", "", (note,),
                                   no_policy=note)
        if record is None and psl_org and psl_org != domain:
            record, note2 = fetch(psl_org)
            note = note or note2
            source = "organisational domain record"
        if note:
            notes.append(note)
    except DnsOutcome as exc:
        return PolicyDiscovery(domain, None, "", psl_org or "", None, "", "", (),
                               unknown=_unknown(exc, props))
    walked: str | None
    try:
        tw_org, tw_record = treewalk(domain, lambda name: fetch(name)[0])
        walked = tw_org or ""
    except DnsOutcome as exc:
        tw_org, tw_record, walked = None, None, None
        notes.append(f"tree walk incomplete ({_outcome_text(exc)})")
    if record is None and tw_record is not None:
        record, source = tw_record, "tree walk record"
        if tw_record.psd == "y":
            source = "tree walk, organisational domain one level below the public suffix domain"
    policy = policy_from = ""
    if record is not None and not record.error and (record.p is not None or record.rua):
        org = tw_org if record.psd == "y" and tw_org else (psl_org or domain)
        policy, policy_from = _policy_for(domain, record, org, resolver, notes)
    return PolicyDiscovery(domain, record, source if record is not None else "", psl_org or "",
                           walked, policy, policy_from, tuple(notes))


# Policy discovery is a function of the domain and the DNS answers alone. With answers that
# cannot change during a run (a snapshot, offline), a mailbox's many messages from one domain
# share one discovery per resolver, as SPF evaluations do (checks.spf), instead of a PSL walk,
# a tree walk and record parsing per message. Each reuse still charges the message's lookup
# budget what the discovery asked, and one that did not fit in a budget is not kept.
_DISCOVERIES: WeakKeyDictionary[Any, OrderedDict[str, tuple[PolicyDiscovery, int]]] = (
    WeakKeyDictionary())
_DISCOVERIES_SIZE = 4096


def _discover(domain: str, resolver: Resolver,
              fetch: Callable[[str], tuple[DmarcRecord | None, str]]) -> PolicyDiscovery:
    budget, memo = run_memo(_DISCOVERIES, resolver)
    if memo is None:
        return discover_policy(domain, resolver, fetch)
    hit = memo.get(domain)
    if hit is not None and (budget is None or budget.reuse(hit[1])):
        memo.move_to_end(domain)
        return hit[0]
    used, refused = (budget.used, budget.refused) if budget is not None else (0, 0)
    found = discover_policy(domain, resolver, fetch)
    if found.unknown is None and (budget is None or budget.refused == refused):
        remember(memo, domain, (found, budget.used - used if budget is not None else 0),
                 _DISCOVERIES_SIZE)
    return found


def _check_domain(domain: str, dkim: Sequence[CheckResult], spf: CheckResult,
                  resolver: Resolver, fetch: Callable[[str], tuple[DmarcRecord | None, str]],
                  *, shared: bool = False) -> CheckResult:
    found = (_discover(domain, resolver, fetch) if shared
             else discover_policy(domain, resolver, fetch))
    if found.unknown is not None:
        return found.unknown
    props: dict[str, PropValue] = {"header.from": domain,
                                   "dmarc.org_domain.psl": found.org_domain_psl}
    if found.org_domain_treewalk is not None:
        props["dmarc.org_domain.treewalk"] = found.org_domain_treewalk
    notes = list(found.notes)
    record, source = found.record, found.source
    if found.no_policy:
        _alignment(domain, _RELAXED, dkim, spf, props)
        return CheckResult("dmarc", "none", found.no_policy, props)
    if record is None:
        # No policy, but identifier alignment (RFC 7489 §3.1, relaxed) is still a fact the
        # verdict needs: a domain without a DMARC record can authenticate its own mail.
        _alignment(domain, _RELAXED, dkim, spf, props)
        reason = "; ".join([f"no DMARC record for {domain}", *notes])
        return CheckResult("dmarc", "none", reason, props)
    _record_props(record, props)
    if record.error:
        props["policy.dmarc"] = record.p or "none"
        return CheckResult("dmarc", "permerror", f"{record.error} in {record.raw[:200]!r}", props)
    if record.p is None and not record.rua:
        # RFC 7489 §6.6.3 step 6: no valid p= and no rua= means DMARC is not applied.
        return CheckResult("dmarc", "none",
                           f"the DMARC record at _dmarc.{record.domain} has no valid p= tag",
                           props)
    props["policy.dmarc"] = found.policy
    props["dmarc.policy_from"] = found.policy_from
    outcome = _alignment(domain, record, dkim, spf, props)
    result, detail = outcome
    disposition = "none" if result != "fail" else _disposition(found.policy, record)
    props["policy.applied-disposition"] = disposition
    reason = "; ".join([f"{detail} (used {source} _dmarc.{record.domain})", *notes,
                        *record.problems])
    return CheckResult("dmarc", result, reason, props)


_RELAXED = DmarcRecord(domain="", raw="", p=None, sp=None, np=None, pct=100, t=False, adkim="r",
                       aspf="r", psd="u", rua="", problems=(), error="")


def _record_props(record: DmarcRecord, props: dict[str, PropValue]) -> None:
    props.update({"policy": record.p or "", "sp": record.sp or "", "np": record.np or "",
                  "pct": record.pct, "t": "y" if record.t else "n", "adkim": record.adkim,
                  "aspf": record.aspf, "psd": record.psd, "dmarc.record": record.raw,
                  "dmarc.record_domain": record.domain})


def _policy_for(domain: str, record: DmarcRecord, org: str, resolver: Resolver,
                notes: list[str]) -> tuple[str, str]:
    """Which of p=, sp=, np= governs ``domain`` (RFC 7489 §6.6.3, RFC 9091 §4, DMARCbis)."""
    p = record.p or "none"  # no valid p= but rua= present: treat as p=none (§6.6.3 step 6)
    if domain == record.domain or domain == org:
        return p, "p"
    if record.np is not None and _nonexistent(domain, resolver, notes):
        return record.np, "np"
    if record.sp is not None:
        return record.sp, "sp"
    return p, "p"


def _nonexistent(domain: str, resolver: Resolver, notes: list[str]) -> bool:
    """RFC 9091 §2.7: NXDOMAIN for A, AAAA and MX. Anything else (an answer, no data, a
    failure) means the domain may exist."""
    for lookup in (resolver.a, resolver.aaaa, resolver.mx):
        try:
            lookup(domain)
        except NXDomain:
            continue
        except NoData:
            return False
        except DnsOutcome as exc:
            notes.append(f"existence of {domain} unknown ({_outcome_text(exc)}); sp= used")
            return False
        return False
    return True


def _alignment(domain: str, record: DmarcRecord, dkim: Sequence[CheckResult], spf: CheckResult,
               props: dict[str, PropValue]) -> tuple[str, str]:
    aligned_dkim = ""
    unknown: list[str] = []
    for sig in dkim:
        d = str(sig.props.get("header.d") or "").lower().rstrip(".")
        if not d or not _aligned(d, domain, record.adkim):
            continue
        if sig.result == "pass":
            aligned_dkim = d
            break
        if not sig.conclusive:  # temperror, key not captured, body rebuilt by the source
            unknown.append(f"DKIM d={d} could not be verified")
    spf_domain = _spf_domain(spf)
    aligned_spf = bool(spf_domain) and spf.result == "pass" and _aligned(
        spf_domain, domain, record.aspf)
    if spf_domain and spf.result == "temperror" and _aligned(spf_domain, domain, record.aspf):
        unknown.append(f"SPF for {spf_domain} could not be evaluated")
    props["dmarc.aligned_dkim"] = aligned_dkim
    props["dmarc.aligned_spf"] = aligned_spf
    if aligned_dkim:
        return "pass", f"DKIM d={aligned_dkim} aligned with {domain}"
    if aligned_spf:
        return "pass", f"SPF {spf_domain} aligned with {domain}"
    if unknown:
        return "temperror", "; ".join(unknown)
    return "fail", f"no aligned DKIM or SPF pass for {domain}"


def _spf_domain(spf: CheckResult) -> str:
    """RFC 7489 §3.1.2: the MAIL FROM domain, or the HELO identity when MAIL FROM is null."""
    mail_from = str(spf.props.get("smtp.mailfrom") or "")
    if mail_from:
        return mail_from.rpartition("@")[2].lower().rstrip(".")
    return str(spf.props.get("smtp.helo") or "").lower().rstrip(".")


def _aligned(identifier: str, domain: str, mode: str) -> bool:
    if identifier == domain:
        return True
    if mode == "s":
        return False
    org = org_domain_psl(identifier)
    return org is not None and org == org_domain_psl(domain)


def _disposition(policy: str, record: DmarcRecord) -> str:
    # t=y (DMARCbis) and pct=0 (RFC 7489 §6.6.4) both ask for one step less than the policy.
    if record.t or record.pct == 0:
        return {"reject": "quarantine", "quarantine": "none"}.get(policy, "none")
    return policy


def _unknown(exc: DnsOutcome, props: dict[str, PropValue]) -> CheckResult:
    if isinstance(exc, NotCaptured):
        detail = f"; {exc.detail}" if exc.detail else ""
        return CheckResult("dmarc", "temperror",
                           f"DMARC record not captured ({exc.name}{detail})", props)
    return CheckResult("dmarc", "temperror", f"DNS temporary failure ({_outcome_text(exc)})",
                       props)


def _outcome_text(exc: DnsOutcome) -> str:
    return f"{exc.rdtype} {exc.name}: {exc.detail or type(exc).__name__}"
