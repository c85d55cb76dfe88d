"""A real DNS server on 127.0.0.1 for tests (dnslib), serving a zone written in snapshot form.

``{"name": {"TXT": [...], "A": [...], "MX": [[10, "mx.example"]], "CNAME": ["target"]},
"gone.example": "NXDOMAIN", "broken.example": "SERVFAIL"}``. UDP replies larger than 512 bytes
are truncated (TC bit), so clients must retry over TCP, where the full answer is served.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

Zone = Mapping[str, Any]


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: Zone) -> None:
        self.zone = {k.rstrip(".").lower(): v for k, v in zone.items()}
        self.queries: list[tuple[str, str, str]] = []  # name, type, "udp" or "tcp"

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype, handler.protocol))
        name = qname
        for _ in range(8):
            entry = self.zone.get(name)
            if entry is None or entry == "NXDOMAIN":
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            if entry == "SERVFAIL":
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            if qtype not in entry and "CNAME" in entry:
                target = entry["CNAME"][0].rstrip(".").lower()
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(target + "."), ttl=60))
                name = target
                continue
            for value in entry.get(qtype, []):
                reply.add_answer(RR(name, getattr(QTYPE, qtype), rdata=_rdata(qtype, value),
                                    ttl=60))
            return reply
        reply.header.rcode = RCODE.SERVFAIL
        return reply


def _rdata(qtype: str, value: Any) -> Any:
    if qtype == "TXT":
        text = value.encode() if isinstance(value, str) else value
        # Character-strings are at most 255 octets (RFC 1035 §3.3.14): split long values.
        return TXT([text[i:i + 255] for i in range(0, len(text), 255)] or [b""])
    if qtype == "A":
        return A(value)
    if qtype == "AAAA":
        return AAAA(value)
    if qtype == "MX":
        return MX(value[1] + ".", value[0])
    if qtype == "PTR":
        return PTR(value + ".")
    raise ValueError(qtype)


class _UdpLimitedHandler(DNSHandler):  # type: ignore[misc]
    """Classic 512-octet UDP limit: a bigger answer goes out empty with the TC bit set.

    dnslib's own ``truncate()`` drops the question section, which clients rightly reject
    (RFC 1035 §4.1.1 keeps the question), so the truncated reply is built here.
    """

    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        packed: bytes = reply.pack()
        if self.protocol == "udp" and len(packed) > 512:
            short = request.reply()
            short.header.tc = 1
            packed = short.pack()
        return packed


class LoopbackDNSServer:
    """UDP and TCP on the same free port of 127.0.0.1."""

    def __init__(self, zone: Zone) -> None:
        self.resolver = ZoneResolver(zone)
        self.port = 0
        self._servers: list[DNSServer] = []

    def start(self) -> LoopbackDNSServer:
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        for _ in range(20):
            udp = DNSServer(self.resolver, address="127.0.0.1", port=0,
                            handler=_UdpLimitedHandler, logger=quiet)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.resolver, address="127.0.0.1", port=port, tcp=True,
                                handler=_UdpLimitedHandler, logger=quiet)
            except OSError:
                udp.server.server_close()
                continue
            self.port = port
            self._servers = [udp, tcp]
            for s in self._servers:
                s.start_thread()
            return self
        raise RuntimeError("no free port on 127.0.0.1 for the test DNS server")

    def stop(self) -> None:
        for s in self._servers:
            s.server.shutdown()
            s.server.server_close()
        self._servers = []


@contextmanager
def loopback_dns(zone: Zone) -> Iterator[LoopbackDNSServer]:
    server = LoopbackDNSServer(zone).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def silent_udp_port() -> Iterator[int]:
    """A bound UDP port on 127.0.0.1 that never answers (and a closed-for-TCP port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
