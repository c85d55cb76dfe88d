"""Live DNS against a real server on 127.0.0.1, and record → replay equality."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailaudit.dns import make_resolver
from mailaudit.dns.base import DnsOutcome, NoData, NotCaptured, NXDomain, TempFail
from mailaudit.dns.budget import BudgetResolver, CachingResolver, OfflineResolver
from mailaudit.dns.live import LiveResolver
from mailaudit.dns.record import RecordingResolver
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.errors import DnsUnusableError
from support.dnsserver import LoopbackDNSServer, loopback_dns, silent_udp_port

BIG_TXT = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(1, 120)) + " -all"

ZONE: dict[str, Any] = {
    "example.org": {"TXT": ["v=spf1 mx -all", "other"], "A": ["192.0.2.1"],
                    "AAAA": ["2001:db8::1"], "MX": [[10, "mx.example.org"], [20, "mx2.example.org"]]},
    "mx.example.org": {"A": ["192.0.2.10"]},
    "split.example.org": {"TXT": ["a" * 300]},
    "big.example.org": {"TXT": [BIG_TXT]},
    "alias.example.org": {"CNAME": ["example.org"]},
    "1.2.0.192.in-addr.arpa": {"PTR": ["host.example.org"]},
    "broken.example.org": "SERVFAIL",
}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDNSServer]:
    with loopback_dns(ZONE) as s:
        yield s


@pytest.fixture
def live(server: LoopbackDNSServer) -> LiveResolver:
    return LiveResolver(nameservers=["127.0.0.1"], port=server.port, timeout=2.0, lifetime=3.0)


def test_answers(live: LiveResolver) -> None:
    assert sorted(live.txt("example.org")) == ["other", "v=spf1 mx -all"]
    assert live.a("Example.ORG.") == ["192.0.2.1"]
    assert live.aaaa("example.org") == ["2001:db8::1"]
    assert sorted(live.mx("example.org")) == [(10, "mx.example.org"), (20, "mx2.example.org")]
    assert live.ptr("1.2.0.192.in-addr.arpa") == ["host.example.org"]


def test_txt_strings_of_one_record_are_joined(live: LiveResolver) -> None:
    assert live.txt("split.example.org") == ["a" * 300]


def test_cname_followed(live: LiveResolver) -> None:
    assert live.a("alias.example.org") == ["192.0.2.1"]


def test_nxdomain_and_nodata(live: LiveResolver) -> None:
    with pytest.raises(NXDomain):
        live.txt("nowhere.example.org")
    with pytest.raises(NoData):
        live.aaaa("mx.example.org")


def test_servfail_is_tempfail(live: LiveResolver) -> None:
    with pytest.raises(TempFail):
        live.txt("broken.example.org")


def test_invalid_names_are_nxdomain_without_a_query(live: LiveResolver) -> None:
    for name in ("a..b.example", "x" * 64 + ".example", ".".join(["abcdefghij"] * 30)):
        with pytest.raises(NXDomain):
            live.txt(name)


def test_truncated_udp_answer_is_retried_over_tcp(server: LoopbackDNSServer,
                                                   live: LiveResolver) -> None:
    server.resolver.queries.clear()
    assert live.txt("big.example.org") == [BIG_TXT]
    protocols = [p for n, t, p in server.resolver.queries if n == "big.example.org"]
    assert protocols == ["udp", "tcp"]


def test_server_that_never_answers_is_a_bounded_tempfail() -> None:
    with silent_udp_port() as port:
        live = LiveResolver(nameservers=["127.0.0.1"], port=port, timeout=0.3, lifetime=0.6)
        started = time.monotonic()
        with pytest.raises(TempFail):
            live.txt("example.org")
        assert time.monotonic() - started < 3.0


def test_nameserver_with_port_and_bad_nameserver(server: LoopbackDNSServer) -> None:
    live = LiveResolver(nameservers=[f"127.0.0.1:{server.port}"], timeout=2.0)
    assert live.a("example.org") == ["192.0.2.1"]
    with pytest.raises(DnsUnusableError):
        LiveResolver(nameservers=["not-an-ip"])


def _outcome(call: Callable[[str], list[Any]], name: str) -> object:
    try:
        return sorted(call(name))
    except DnsOutcome as exc:
        return type(exc).__name__


QUERIES = [(t, n) for n in [*ZONE, "nowhere.example.org", "a..b"]
           for t in ("txt", "a", "aaaa", "mx", "ptr")]


def test_record_then_replay_gives_the_same_answers(live: LiveResolver, tmp_path: Path) -> None:
    recorder = RecordingResolver(live)
    seen = {(t, n): _outcome(getattr(recorder, t), n) for t, n in QUERIES}
    path = tmp_path / "snap.json"
    recorder.save(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "mailaudit-dns/1" and doc["complete"] is False
    assert doc["records"]["nowhere.example.org"] == "NXDOMAIN"
    assert doc["records"]["mx.example.org"]["AAAA"] == []
    assert doc["records"]["broken.example.org"] == "TIMEOUT"
    replay = SnapshotResolver.from_file(path)
    replayed = {(t, n): _outcome(getattr(replay, t), n) for t, n in QUERIES}
    assert replayed == seen
    # A name never asked about is not-captured, not NXDOMAIN.
    with pytest.raises(NotCaptured):
        replay.txt("unasked.example.org")


def test_budget_resolver(live: LiveResolver) -> None:
    budget = BudgetResolver(live, 2)
    budget.a("example.org")
    with pytest.raises(NXDomain):
        budget.a("nowhere.example.org")
    with pytest.raises(TempFail, match="lookup budget of 2 spent"):
        budget.a("example.org")
    assert budget.used == 2


def test_caching_resolver(server: LoopbackDNSServer, live: LiveResolver) -> None:
    cache = CachingResolver(live, size=2)
    server.resolver.queries.clear()
    for _ in range(3):
        assert cache.a("example.org") == ["192.0.2.1"]
        with pytest.raises(NXDomain):
            cache.txt("nowhere.example.org")
    assert len(server.resolver.queries) == 2
    cache.a("mx.example.org")  # evicts the oldest entry
    cache.a("example.org")
    assert len(server.resolver.queries) == 4


def test_offline_never_opens_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a socket was opened in offline mode")

    monkeypatch.setattr(socket, "socket", refuse)
    for resolver in (OfflineResolver(), make_resolver(mode="offline"),
                     make_resolver(mode="live", offline=True)):
        with pytest.raises(NotCaptured):
            resolver.txt("example.org")
        with pytest.raises(NotCaptured):
            resolver.mx("example.org")


def test_make_resolver_replays_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": "mailaudit-dns/1", "records": {
        "example.org": {"TXT": ["v=spf1 -all"]}}}), encoding="utf-8")
    resolver = make_resolver(mode="live", snapshot=str(path), record=None, offline=False)
    assert resolver.txt("example.org") == ["v=spf1 -all"]
    recording = make_resolver(mode="live", snapshot=None, record=str(tmp_path / "r.json"),
                              offline=False, nameservers=["127.0.0.1"])
    assert isinstance(recording, RecordingResolver)
