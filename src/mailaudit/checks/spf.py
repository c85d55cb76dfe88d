"""SPF (RFC 7208) through pyspf, answered from our ``Resolver``.

pyspf does the record evaluation (macros, mechanisms, the §4.6.4 limits of 10 DNS-querying
terms and 2 void lookups). Only its DNS access is replaced: ``spf.query.dns`` is overridden so
answers come from the injected resolver, and so "not captured" / timeouts become temperror,
never fail or none.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from mailaudit.dns.base import NoData, NotCaptured, NXDomain, Resolver, TempFail
from mailaudit.model import CheckResult, Envelope, PropValue

_MAX_IDENTITY = 1024  # RFC 5321 §4.5.3.1: paths are at most 256 octets; leave room, stay bounded


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

    query = _make_query(resolver, str(ip), mail_from, helo)
    try:
        result, _code, text = query.check()
    except Exception as exc:  # pyspf must never take the audit down
        return CheckResult("spf", "temperror", f"SPF evaluation failed ({type(exc).__name__})",
                           props)
    if result == "fail" and text:
        props["spf.explanation"] = str(text)[:512]
    if getattr(query, "mechanism", None):
        props["spf.mechanism"] = str(query.mechanism)[:256]
    return CheckResult("spf", str(result), _reason(str(result), str(text or ""), domain), props)


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
    return text


_query_class: Any = None


def _make_query(resolver: Resolver, ip: str, mail_from: str, helo: str) -> Any:
    global _query_class
    if _query_class is None:
        _query_class = _build_query_class()
    return _query_class(resolver, ip, mail_from, helo)


def _build_query_class() -> Any:
    # pyspf is imported on first use: most batch runs replay recorded results only.
    import spf

    class ResolverQuery(spf.query):  # type: ignore[misc]
        def __init__(self, resolver: Resolver, ip: str, mail_from: str, helo: str) -> None:
            super().__init__(i=ip, s=mail_from, h=helo, strict=True)
            self.resolver = resolver
            self.in_ptr = False

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
