"""Hostile DNS: loops, lookup floods, huge answers, slow and dead servers.

Every test talks to a real DNS server on 127.0.0.1 (tests/dnsserver.py, dnslib) through the
real live resolver; nothing leaves the loopback interface.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from mailaudit.audit import audit_message
from mailaudit.dns import make_resolver
from mailaudit.dns.budget import CachingResolver
from mailaudit.dns.live import LiveResolver
from mailaudit.model import AuditResult, MessageRef, RawMessage, Verdict
from mailaudit.options import AuditOptions, Limits
from mailaudit.run import AuditConfig, Auditor
from support.dnsserver import LoopbackDNSServer, ZoneResolver, silent_udp_port

BIG_SPF = "v=spf1 " + " ".join(f"ip4:198.51.{i // 250}.{i % 250}" for i in range(400)) + " -all"

ZONE: dict[str, Any] = {
    "loop.example": {"TXT": ["v=spf1 include:loop.example -all"]},
    "pingpong-a.example": {"TXT": ["v=spf1 include:pingpong-b.example -all"]},
    "pingpong-b.example": {"TXT": ["v=spf1 include:pingpong-a.example -all"]},
    "redirect-loop.example": {"TXT": ["v=spf1 redirect=redirect-loop.example"]},
    "void.example": {"TXT": ["v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example "
                             "a:n4.void.example -all"]},
    "mxflood.example": {"TXT": ["v=spf1 mx -all"],
                        "MX": [[i, f"mx{i}.mxflood.example"] for i in range(30)]},
    "big.example": {"TXT": [BIG_SPF, *["x" * 255 for _ in range(30)]]},
    "two-spf.example": {"TXT": ["v=spf1 -all", "v=spf1 +all"]},
    "_dmarc.big.example": {"TXT": ["v=DMARC1; p=reject; rua=" + ",".join(
        f"mailto:r{i}@big.example" for i in range(300))]},
    "_dmarc.two-dmarc.example": {"TXT": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]},
    "huge._domainkey.big.example": {"TXT": ["v=DKIM1; k=rsa; p=" + "A" * 8000]},
    "junk._domainkey.big.example": {"TXT": ["\x00\xff" * 1000, "v=DKIM1; p=" + "!" * 3000]},
}
for _i in range(20):
    ZONE[f"c{_i}.chain.example"] = {"TXT": [f"v=spf1 include:c{_i + 1}.chain.example -all"]}


class SlowZone(ZoneResolver):
    delay = 0.3

    def resolve(self, request: Any, handler: Any) -> Any:
        time.sleep(self.delay)
        return super().resolve(request, handler)


def _server(zone: dict[str, Any], *, slow: bool = False) -> Iterator[LoopbackDNSServer]:
    server = LoopbackDNSServer(zone)
    if slow:
        server.resolver = SlowZone(zone)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDNSServer]:
    yield from _server(ZONE)


@pytest.fixture
def slow_server() -> Iterator[LoopbackDNSServer]:
    yield from _server(ZONE, slow=True)


def message(domain: str, *, selectors: tuple[str, ...] = ("s1",)) -> bytes:
    sigs = b"".join(
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + domain.encode()
        + b"; s=" + s.encode() + b"; h=from; bh=Ck5SoRNWUpSR4X0COv7R5ub2pUTtl6xz4dTFz++ji4M=; "
        b"b=AAAA\r\n" for s in selectors)
    return sigs + b"From: a@" + domain.encode() + b"\r\nSubject: x\r\n\r\nbody\r\n"


def audit(raw: bytes, domain: str, port: int, *, limits: Limits | None = None) -> AuditResult:
    resolver = make_resolver(nameservers=[f"127.0.0.1:{port}"])
    options = AuditOptions(ip="192.0.2.1", mail_from=f"x@{domain}", helo="helo.example",
                           limits=limits or Limits())
    started = time.perf_counter()
    result = audit_message(raw, resolver=resolver, options=options)
    assert time.perf_counter() - started < 15
    # A limit that cut lookups the verdict needed makes it ``error``, naming the limit.
    assert result.error is None or result.error.code == "limit-dns-lookups", result.error
    return result


def method(result: AuditResult, name: str) -> list[str]:
    return [c.result for c in result.auth.recomputed_of(name)]


@pytest.mark.parametrize("domain", ["loop.example", "pingpong-a.example",
                                    "redirect-loop.example", "c0.chain.example",
                                    "void.example", "mxflood.example", "two-spf.example"])
def test_spf_abuse_is_permerror(server: LoopbackDNSServer, domain: str) -> None:
    """RFC 7208 §4.6.4: more than 10 DNS-querying terms, more than 2 void lookups, or more than
    10 MX names is permerror; §4.5: two SPF records is permerror; loops hit the limit."""
    result = audit(message(domain), domain, server.port)
    assert method(result, "spf") == ["permerror"]


def test_huge_txt_answers(server: LoopbackDNSServer) -> None:
    """A 6 KB SPF record among 30 other TXT records (only over TCP), a 300-address DMARC rua,
    and DKIM key records of 8 KB garbage: results, never a crash."""
    result = audit(message("big.example", selectors=("huge", "junk")), "big.example",
                   server.port)
    assert method(result, "spf") == ["fail"]  # 192.0.2.1 is not in the 400 ranges
    assert method(result, "dkim") and set(method(result, "dkim")) <= {"permerror", "fail", "neutral"}
    assert method(result, "dmarc") == ["fail"]
    assert any(proto == "tcp" for _n, _t, proto in server.resolver.queries)


def test_two_dmarc_records(server: LoopbackDNSServer) -> None:
    # RFC 7489 §6.6.3: more than one DMARC record means no policy.
    result = audit(message("two-dmarc.example"), "two-dmarc.example", server.port)
    assert method(result, "dmarc") and method(result, "dmarc") != ["pass"]


def test_signature_flood_respects_lookup_budget(server: LoopbackDNSServer) -> None:
    """500 signatures with 500 selectors: no more than max_dns_lookups queries reach DNS."""
    before = len(server.resolver.queries)
    selectors = tuple(f"sel{i}" for i in range(500))
    result = audit(message("flood.example", selectors=selectors), "flood.example", server.port,
                   limits=Limits(max_dns_lookups=25, max_signatures=1000))
    asked = {(n, t) for n, t, _p in server.resolver.queries[before:]}
    assert len(asked) <= 25
    assert "temperror" in method(result, "dkim")  # the budget ran out: unknown, not fail


def test_slow_server_still_answers(slow_server: LoopbackDNSServer) -> None:
    started = time.perf_counter()
    result = audit(message("loop.example"), "loop.example", slow_server.port)
    assert method(result, "spf") == ["permerror"]
    assert time.perf_counter() - started < 10


# -- dead servers: how long the DNS side can hold one message -----------------------------------
# Measured (2 cores, loopback, LiveResolver defaults timeout=3 s, lifetime=5 s): one lookup to a
# silent server costs 5.0 s; a message with one DKIM signature and SPF needs 3 lookups, 15.6 s;
# the worst case is max_dns_lookups x lifetime = 60 x 5 s = 300 s, ten times max_seconds (30 s).
# In a batch the alarm then ends such a message as "time-budget" (verdict error) instead of the
# temperror results it should get. See test_dead_server_within_max_seconds below.

def test_dead_server_one_lookup_is_bounded_by_lifetime() -> None:
    with silent_udp_port() as port:
        resolver = make_resolver(nameservers=[f"127.0.0.1:{port}"])
        started = time.perf_counter()
        from mailaudit.dns.base import TempFail

        with pytest.raises(TempFail):
            resolver.txt("anything.example")
        assert time.perf_counter() - started < 6.5


def test_dead_server_batch_message_is_cut_by_time_budget() -> None:
    """The batch driver's alarm bounds a message whatever DNS does."""
    with silent_udp_port() as port:
        config = AuditConfig(options=AuditOptions(ip="192.0.2.1", mail_from="x@dead.example",
                                                  limits=Limits(max_seconds=2.0)),
                             nameservers=(f"127.0.0.1:{port}",), use_catalog=False)
        auditor = Auditor(config)
        item = RawMessage(MessageRef("<dead>"), message("dead.example",
                                                        selectors=tuple(f"s{i}" for i in range(10))))
        started = time.perf_counter()
        results = auditor.audit(item)
        assert time.perf_counter() - started < 4.0
        assert results[0].verdict is Verdict.ERROR and results[0].error is not None
        assert results[0].error.code == "time-budget"


def test_dead_server_within_max_seconds() -> None:
    """Scaled down so it fails fast: lifetime 0.1 s, max_seconds 2 s, 60 lookups (6 s)."""
    with silent_udp_port() as port:
        resolver = CachingResolver(LiveResolver(nameservers=[f"127.0.0.1:{port}"],
                                                timeout=0.1, lifetime=0.1))
        options = AuditOptions(ip="192.0.2.1", mail_from="x@dead.example",
                               limits=Limits(max_seconds=2.0))
        raw = message("dead.example", selectors=tuple(f"s{i}" for i in range(100)))
        started = time.perf_counter()
        result = audit_message(raw, resolver=resolver, options=options)
        elapsed = time.perf_counter() - started
        assert result.error is None or result.error.code.startswith("limit-"), result.error
        assert elapsed < options.limits.max_seconds, f"{elapsed:.1f} s"
