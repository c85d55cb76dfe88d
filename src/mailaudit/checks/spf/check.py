"""SPF (RFC 7208) through pyspf, answered from our ``Resolver``.

pyspf does the record evaluation (macros, mechanisms, the §4.6.4 limits of 10 DNS-querying
terms and 2 void lookups). Only its DNS access is replaced: ``spf.query.dns`` is overridden so
answers come from the injected resolver, and so "not captured" / timeouts become temperror,
never fail or none.

Memo. With replayed DNS (a snapshot, or offline) the answers cannot change during a run, so an
evaluation is a pure function of (client IP, identity, domain, HELO): the local part of MAIL FROM
only matters through macros (RFC 7208 §7), and an evaluation that expands a macro is not
remembered. Results are kept per resolver (an LRU of ``_MEMO_SIZE``), never for live DNS, where
answers may change mid-run. A remembered result spends the lookups its evaluation spent from
the message's budget, and is used only when that many are left and, when it spent any, the
message's DNS time is not over (``BudgetResolver.reuse``): the budget then runs out
exactly where it would have without the memo, so DMARC and ARC after SPF see the same budget
and no verdict changes. An evaluation that ran into the budget is not remembered.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import types
from collections import OrderedDict
from typing import Any, SupportsIndex
from weakref import WeakKeyDictionary

from mailaudit.dns.base import NoData, NotCaptured, NXDomain, Resolver, TempFail
from mailaudit.dns.budget import BudgetResolver
from mailaudit.dns.memo import remember, run_memo
from mailaudit.errors import cut
from mailaudit.model import CheckResult, Envelope, PropValue
from mailaudit.records import record
from mailaudit.standins import LazyRe, OnFirstUse, standing_in

_MAX_IDENTITY = 1024  # RFC 5321 §4.5.3.1: paths are at most 256 octets; leave room, stay bounded
_MEMO_SIZE = 4096


@record
class _Evaluation:
    result: str
    text: str
    mechanism: str
    lookups: int  # resolver calls the evaluation made
    memorable: bool  # no macro expanded and pyspf did not raise


MemoKey = tuple[str, str, str, str]
_memos: WeakKeyDictionary[Any, OrderedDict[MemoKey, _Evaluation]] = WeakKeyDictionary()


def check_spf(envelope: Envelope, resolver: Resolver) -> CheckResult:
    """SPF for the envelope's MAIL FROM, or its HELO when MAIL FROM is empty (RFC 7208 §2.3)."""
    mail_from = _bare_path(envelope.mail_from)
    helo = (envelope.helo or "").strip().rstrip(".")[:_MAX_IDENTITY]
    props: dict[str, PropValue] = {"envelope.source": envelope.source}
    if envelope.ip:
        props["client-ip"] = envelope.ip
    if helo:
        props["helo"] = helo
    if mail_from:
        props["smtp.mailfrom"] = mail_from
    elif helo:
        props["smtp.helo"] = helo
    if not envelope.ip:
        return CheckResult("spf", "none", "no sender IP known", props)
    try:
        ip = ipaddress.ip_address(envelope.ip.strip().strip("[]").removeprefix("IPv6:"))
    except ValueError:
        return CheckResult("spf", "none", f"sender IP {envelope.ip[:80]!r} is not an IP address",
                           props)
    if not mail_from and not helo:
        return CheckResult("spf", "none", "no MAIL FROM or HELO known", props)
    domain = (mail_from.rpartition("@")[2] if mail_from else helo).lower()
    props["spf.domain"] = domain

    ev = _memoised(resolver, str(ip), mail_from, helo)
    if ev.result == "fail" and ev.text:
        props["spf.explanation"] = ev.text[:512]
    if ev.mechanism:
        props["spf.mechanism"] = ev.mechanism[:256]
    return CheckResult("spf", ev.result, _reason(ev.result, ev.text, domain), props)


def _memoised(resolver: Resolver, ip: str, mail_from: str, helo: str) -> _Evaluation:
    budget, memo = run_memo(_memos, resolver)
    if memo is None:
        return _evaluate(resolver, ip, mail_from, helo, budget)
    key = _memo_key(ip, mail_from, helo)
    hit = memo.get(key)
    if hit is not None and (budget is None or budget.reuse(hit.lookups)):
        memo.move_to_end(key)
        return hit
    ev = _evaluate(resolver, ip, mail_from, helo, budget)
    if ev.memorable and (budget is None or budget.used < budget.limit):
        remember(memo, key, ev, _MEMO_SIZE)
    return ev


def _memo_key(ip: str, mail_from: str, helo: str) -> MemoKey:
    """What pyspf's evaluation depends on when no macro is expanded: its identity and domain
    (split as pyspf's ``split_email`` splits, at the first "@") and the HELO name."""
    if not mail_from:
        return ip, "helo", helo, helo
    _local, at, domain = mail_from.partition("@")
    return ip, "mailfrom", domain if at else mail_from, helo


def _evaluate(resolver: Resolver, ip: str, mail_from: str, helo: str,
              budget: BudgetResolver | None) -> _Evaluation:
    used = budget.used if budget is not None else 0
    query = _make_query(resolver, ip, mail_from, helo)
    try:
        result, _code, text = query.check()
    except Exception as exc:  # pyspf must never take the audit down
        return _Evaluation("temperror", f"SPF evaluation failed ({type(exc).__name__})", "",
                           0, False)
    lookups = budget.used - used if budget is not None else 0
    mechanism = str(query.mechanism) if getattr(query, "mechanism", None) else ""
    return _Evaluation(str(result), str(text or ""), mechanism, lookups, not query.uses_macros)


def _bare_path(mail_from: str | None) -> str:
    """``<user@example.com>`` → ``user@example.com``; the null path ``<>`` → ``""``."""
    if not mail_from:
        return ""
    path = mail_from.strip()[:_MAX_IDENTITY]
    if path.startswith("<"):
        path = path[1:].partition(">")[0]
    # A source route (RFC 5321 §4.1.2, "@a,@b:user@c") is obsolete; the mailbox follows ":".
    if path.startswith("@") and ":" in path:
        path = path.partition(":")[2]
    # Whitespace around "@" is invalid (RFC 5321 §4.1.2) but seen from broken clients; the
    # domain is still unambiguous, and SPF is about the domain.
    local, at, domain = path.rpartition("@")
    return f"{local.strip()}{at}{domain.strip()}" if at else path.strip()


def _reason(result: str, text: str, domain: str) -> str:
    if result == "none" and not text:
        return f"no SPF record for {domain}"
    return cut(text, 512)  # pyspf's messages quote the record's term, of any length


_query_class: Any = None


def preload() -> None:
    """Import pyspf and build the query class now (a process pool's parent does, before its
    workers are forked)."""
    global _query_class
    if _query_class is None:
        _query_class = _build_query_class()


def _make_query(resolver: Resolver, ip: str, mail_from: str, helo: str) -> Any:
    global _query_class
    if _query_class is None:
        _query_class = _build_query_class()
    return _query_class(resolver, ip, mail_from, helo)


def _import_pyspf() -> Any:
    """pyspf, imported without dnspython unless something already loaded it, and without the
    parts of the standard library it names but an audit never uses.

    pyspf imports dnspython at import time only to define its own DNS driver (``DNSLookup``),
    which ``ResolverQuery.dns`` replaces: every lookup goes to our resolver. dnspython's
    resolver costs more to import than the rest of a one-message audit, so pyspf is imported
    over stand-ins for the dnspython modules it touches, and they leave ``sys.modules`` at once
    (a later ``import dns.resolver``, for live DNS, gets the real package).

    Likewise ``email.message`` (for ``query.parse_header`` only, about 10 ms of the email
    package) and ``socket`` (for ``socket.error`` on a malformed ip4/ip6 mechanism, and
    its command-line helpers): pyspf gets stand-ins that import the real module the first
    time they are used, so it behaves exactly as before. And its eleven patterns are compiled
    when first used (``LazyRe``), not at import: that took 10 of the 12 ms of importing it,
    half of it for the IPv6 pattern, which only an ip6 mechanism needs, and 2 ms for the
    top-label one, which ``expand_domain`` replaces.
    """
    import sys

    if "spf" in sys.modules:
        import spf

        return spf
    stand_ins: dict[str, types.ModuleType] = {}
    if "dns.resolver" not in sys.modules:
        package = types.ModuleType("dns")
        stand_ins["dns"] = package
        for name in ("dns.resolver", "dns.exception", "dns.rdatatype"):
            module = types.ModuleType(name)
            setattr(package, name.partition(".")[2], module)
            stand_ins[name] = module
        package.rdatatype.SPF = 99  # pyspf patches it in otherwise
    if "email.message" not in sys.modules:
        stand_ins["email.message"] = OnFirstUse("email.message", Message=_email_message)
    if "socket" not in sys.modules:
        stand_ins["socket"] = OnFirstUse("socket")
    # What pyspf imports besides: loaded first, so that none of it imports over the stand-ins.
    import struct  # noqa: F401
    import urllib.parse  # noqa: F401

    stand_ins["re"] = LazyRe("spf")
    with standing_in(stand_ins):
        import spf
    spf.re = re  # the stand-in was for its import only
    return spf


def _email_message(*args: Any, **kwargs: Any) -> Any:
    """``email.message.Message(...)``, the email package imported on first use."""
    from email.message import Message

    return Message(*args, **kwargs)


def _build_query_class() -> Any:
    # pyspf is imported on first use: most batch runs replay recorded results only.
    spf: Any = _import_pyspf()

    class ResolverQuery(spf.query):  # type: ignore[misc]
        def __init__(self, resolver: Resolver, ip: str, mail_from: str, helo: str) -> None:
            super().__init__(i=ip, s=mail_from, h=helo, strict=True)
            self.resolver = resolver
            self.in_ptr = False
            self.uses_macros = False

        def validate_mechanism(self, mech: Any) -> Any:
            # pyspf reads a CIDR length with int(): past 4,300 digits Python refuses it
            # (ValueError, which would surface as temperror). Any length of four digits or
            # more is beyond /128 and so a malformed record: permerror, like /33 is.
            if _LONG_CIDR.search(str(mech)):
                raise spf.PermError("Invalid CIDR length", cut(str(mech), 80))
            return super().validate_mechanism(mech)

        def expand_domain(self, arg: Any) -> Any:
            # pyspf's own, with its top-label pattern made linear (``_top_label_pattern``).
            if _top_label_pattern(spf.PAT_CHAR).split(arg)[-1]:
                raise spf.PermError("Invalid domain found (use FQDN)", arg)  # cut in the reason
            return self.expand(arg)

        def expand(self, s: Any, stripdot: bool = True) -> Any:
            # Every macro (RFC 7208 §7) goes through here; the local part, %{t} and friends
            # make the result depend on more than the memo key.
            if "%" in str(s):
                self.uses_macros = True
                s = _OneLabelSplit(_short_transformers(str(s), spf.PermError))
            return super().expand(s, stripdot)

        def validated_ptrs(self) -> Any:
            # RFC 7208 §5.5: "If a DNS error occurs while doing an A RR lookup, then that
            # domain name is skipped and the search continues."
            self.in_ptr = True
            try:
                return super().validated_ptrs()
            finally:
                self.in_ptr = False

        def dns(self, name: Any, qtype: str, cnames: Any = None,
                ignore_void: bool = False) -> list[Any]:
            if not name:
                raise spf.PermError("empty domain name")
            text = str(name).rstrip(".").lower()
            if not all(0 < len(label) < 64 for label in text.split(".")):
                return []  # not a DNS name (RFC 7208 §4.3): no query, like pyspf itself
            key = (text, qtype)
            cached = self.cache.get(key)
            if cached is not None:
                return list(cached)
            try:
                result = _answers(self.resolver, text, qtype)
            except (NXDomain, NoData):
                result = []
            except (TempFail, NotCaptured) as exc:
                if self.in_ptr and qtype in ("A", "AAAA"):
                    return []
                raise spf.TempError(f"DNS {exc}") from None
            self.cache[key] = result
            if not result and not ignore_void:
                # RFC 7208 §4.6.4: NXDOMAIN and empty answers both count as void lookups.
                self.void_lookups += 1
                if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                    raise spf.PermError(
                        f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
            return list(result)

    return ResolverQuery


class _OneLabelSplit(str):
    """The text of a macro expansion, for pyspf's ``expand``, whose validity check reads

        for label in s.split('.'):
            if regex.search(s):
                raise PermError('invalid-macro-char ', label)

    It searches the whole text once per label: the square of the text's length when the
    text has many dots (20,000 dots before "%{d}" took 12 s). The search gives the same
    answer every time, so one label is enough: the loop then raises with the same first label
    or passes, as before. ``split`` is all this changes; slicing and searching a ``str``
    subclass give plain ``str`` results, so nothing of it leaves ``expand``."""

    __slots__ = ()

    def split(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        return str.split(self, sep, 1)[:1]


@functools.cache  # compiled once, on the first domain-spec (pyspf is imported on first use)
def _top_label_pattern(pat_char: str) -> re.Pattern[str]:
    r"""pyspf's ``RE_TOPLAB`` (does a domain-spec end in a top label or a macro?), matching the
    same spans, so ``split`` gives the same list, in linear time.

    Why: pyspf's ``\.(?:[0-9a-z]*[a-z][0-9a-z]*|[0-9a-z]+-[0-9a-z-]*[0-9a-z])\.?$`` backtracks
    over every way to split a run of letters and digits when the run is not followed by the
    end, so its cost is the square of the longest label: a record term with a 16,000-character
    label took 5.7 s, one of 60,000 (a TXT answer holds 65,535) about 80 s by the square, on every
    message that names the domain. Here the lookaheads test the same conditions (a letter in
    the run; a hyphen after the first character) and the runs are taken possessively: a label
    that ends where the pattern needs can only be the whole run, so nothing that could match
    is lost. ``tests/checks/spf/test_spf.py`` holds the two patterns to the same splits."""
    return re.compile(
        r"\.(?:(?=[0-9a-z]*[a-z])[0-9a-z]*+"
        r"|[0-9a-z](?=[0-9a-z]*+-)[0-9a-z-]*+(?<=[0-9a-z]))\.?$|" + pat_char, re.IGNORECASE)


# A CIDR length (RFC 7208 §5.6) of four digits or more, single or dual ("/24//1000").
_LONG_CIDR = re.compile(r"/[1-9][0-9]{3,}(?://[0-9]+)?$|//[1-9][0-9]{3,}$")
# One macro item as pyspf tokenises it ("%%", "%_", "%-" or "%{...}"), and a macro-expand's
# letter and digit transformer (RFC 7208 §7.1: "%{" macro-letter transformers ...).
_MACRO_ITEM = re.compile(r"%(?:%|_|-|\{([^}]*)\})")
_TRANSFORMER = re.compile(r"([a-zA-Z])([0-9]+)")
# A digit transformer keeps that many right-hand parts; no name has a billion, so a longer
# one means "all of them" (and pyspf's int() fails past 4,300 digits).
_MAX_TRANSFORMER = 9


def _short_transformers(text: str, perm_error: type[Exception]) -> str:
    """``text`` with every digit transformer short enough for pyspf to read, same meaning.

    RFC 7208 §7.1: "If a DIGIT is specified, the value MUST be nonzero"; pyspf would take
    %{d0} as every part but the first, so a zero is a malformed macro (permerror), as
    pyspf's other malformed macros are."""

    def shortened(item: re.Match[str]) -> str:
        body = item.group(1)
        parts = _TRANSFORMER.match(body) if body else None
        if parts is None:
            return item.group(0)
        digits = parts.group(2).lstrip("0")
        if not digits:
            raise perm_error("macro digit transformer must be nonzero", cut(item.group(0), 80))
        if len(digits) > _MAX_TRANSFORMER:
            digits = "9" * _MAX_TRANSFORMER
        return "%{" + parts.group(1) + digits + body[parts.end():] + "}"

    return _MACRO_ITEM.sub(shortened, text)


def _answers(resolver: Resolver, name: str, qtype: str) -> list[Any]:
    """Answers in the shapes pyspf's own DNS drivers produce."""
    if qtype == "TXT":
        return [(t.encode("utf-8", "replace"),) for t in resolver.txt(name)]
    if qtype == "A":
        return resolver.a(name)
    if qtype == "AAAA":
        return resolver.aaaa(name)
    if qtype == "MX":
        return [(pref, host) for pref, host in resolver.mx(name)]
    if qtype == "PTR":
        return resolver.ptr(name)
    return []  # type SPF (99) is obsolete (RFC 7208 §3.1); our resolvers do not carry it
