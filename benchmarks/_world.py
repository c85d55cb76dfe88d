"""The sending world behind the synthetic corpus: domains, keys, IPs, and their DNS records.

Everything a verifier needs is published in one record map, written twice: as a mailaudit
snapshot (``mailaudit-dns/1``, ``complete: true`` so every unlisted name is NXDOMAIN) and as a
mailauth ``--dns-cache`` file (TXT as lists of 255-byte strings, MX as objects), so both tools
see the same DNS.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from _content import MS_SENDERS
from _keys import Key, make_key

RECEIVER = "recv.example"
RECEIVER_MX = "mx1.recv.example"
RECEIVER_MBX = "mbx3.recv.example"
FORWARDER = "forward.example"
FORWARDER_HOST = "lists.forward.example"
FORWARDER_IP = "203.0.113.201"
ESP = "esp-mailer.example"
MS_IPS = ("20.118.139.208", "20.88.157.186")
MS_HELO = "mail-nam-cu06-usw3.westus3.cloudapp.azure.com"

_STEMS = ("north", "blue", "river", "stone", "bright", "cedar", "harbor", "summit", "maple", "iron",
          "silver", "oak", "pine", "delta", "prime", "vista", "coral", "falcon", "golden", "nova")
_TAILS = ("works", "traders", "labs", "bank", "media", "shop", "travel", "health", "systems", "news")


@dataclass
class Domain:
    name: str
    spf: str  # "ip4" | "esp" | "a-mx"
    ips: list[str]
    selectors: dict[str, tuple[str, Key]] = field(default_factory=dict)  # kind -> (selector, key)
    helo: str = ""

    def __post_init__(self) -> None:
        self.helo = self.helo or f"mail-out.{self.name}"


@dataclass
class World:
    domains: list[Domain]
    ms_domains: dict[str, Domain]
    forwarder_key: Key
    records: dict[str, dict[str, list[Any]]]


def _add(records: dict[str, dict[str, list[Any]]], name: str, rdtype: str, value: Any) -> None:
    records.setdefault(name, {}).setdefault(rdtype, []).append(value)


def build_world(seed: int, n_domains: int, kinds: tuple[str, ...]) -> World:
    rng = random.Random(f"world:{seed}")
    # A small key pool shared between domains: key generation is the slow part, not DNS names.
    pool = {k: [make_key(k) for _ in range(3 if k == "rsa2048" else 2)] for k in kinds}
    records: dict[str, dict[str, list[Any]]] = {}
    domains: list[Domain] = []
    names = sorted({f"{a}{b}.example" for a in _STEMS for b in _TAILS})
    rng.shuffle(names)
    for idx, name in enumerate(names[:n_domains]):
        net = f"198.51.100.{(idx % 16) * 16}"
        spf = rng.choice(("ip4", "ip4", "esp", "a-mx"))
        if spf == "ip4":
            ips = [f"198.51.100.{(idx % 16) * 16 + j}" for j in range(1, 6)]
            _add(records, name, "TXT", f"v=spf1 ip4:{net}/28 -all")
        elif spf == "esp":
            ips = [f"203.0.113.{j}" for j in range(10, 60, 7)]
            _add(records, name, "TXT", f"v=spf1 include:_spf.{ESP} ~all")
        else:
            ips = [f"192.0.2.{idx % 200 + 20}"]
            _add(records, name, "TXT", "v=spf1 a:mail-out." + name + " mx -all")
            _add(records, f"mail-out.{name}", "A", ips[0])
            _add(records, name, "MX", [10, f"mx.{name}"])
            _add(records, f"mx.{name}", "A", "192.0.2.250")
        roll = rng.random()
        if roll < 0.40:
            _add(records, f"_dmarc.{name}", "TXT", f"v=DMARC1; p=reject; rua=mailto:dmarc@{name}")
        elif roll < 0.60:
            _add(records, f"_dmarc.{name}", "TXT", "v=DMARC1; p=quarantine; pct=100; adkim=s")
        elif roll < 0.85:
            _add(records, f"_dmarc.{name}", "TXT", "v=DMARC1; p=none")
        dom = Domain(name, spf, ips)
        for kind in kinds:
            key = pool[kind][idx % len(pool[kind])]
            selector = {"rsa2048": "s2048", "rsa1024": "s1024", "ed25519": "ed"}[kind]
            dom.selectors[kind] = (selector, key)
            _add(records, f"{selector}._domainkey.{name}", "TXT", key.dns_txt)
        domains.append(dom)
    _add(records, f"_spf.{ESP}", "TXT", "v=spf1 ip4:203.0.113.0/26 ip6:2001:db8:5::/48 -all")
    _add(records, FORWARDER, "TXT", "v=spf1 ip4:203.0.113.192/26 -all")
    _add(records, f"_dmarc.{FORWARDER}", "TXT", "v=DMARC1; p=none")
    forwarder_key = pool["rsa2048"][0]
    _add(records, f"arc1._domainkey.{FORWARDER}", "TXT", forwarder_key.dns_txt)
    _add(records, f"_dmarc.{RECEIVER}", "TXT", "v=DMARC1; p=reject")
    # The notification platform's outbound host and its 1024-bit s1024-meo selector, as seen in
    # real Microsoft notification mail (SENDERS.md); RSA-2048 when the mix excludes RSA-1024.
    ms_key = make_key("rsa1024" if "rsa1024" in kinds else "rsa2048")
    ms_domains: dict[str, Domain] = {}
    for _name, _addr, ms in MS_SENDERS:
        dom = Domain(ms, "ip4", list(MS_IPS), helo=MS_HELO)
        dom.selectors["rsa2048"] = ("s1024-meo", ms_key)
        _add(records, f"s1024-meo._domainkey.{ms}", "TXT", ms_key.dns_txt)
        _add(records, ms, "TXT", "v=spf1 " + " ".join(f"ip4:{ip}" for ip in MS_IPS) + " -all")
        ms_domains[ms] = dom
    for org in ("microsoft.com", "microsoftonline.com", "mail.microsoft"):
        _add(records, f"_dmarc.{org}", "TXT", "v=DMARC1; p=reject; pct=100")
    return World(domains, ms_domains, forwarder_key, records)


def snapshot_records(records: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
    return {name: dict(types) for name, types in records.items()}


def mailauth_cache(records: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
    """Node ``dns.promises.resolve`` shapes: TXT is a list of chunk lists, MX is objects."""
    out: dict[str, Any] = {}
    for name, types in records.items():
        entry: dict[str, Any] = {}
        for rdtype, values in types.items():
            if rdtype == "TXT":
                entry["TXT"] = [[v[i:i + 255] for i in range(0, len(v), 255)] for v in values]
            elif rdtype == "MX":
                entry["MX"] = [{"priority": p, "exchange": h} for p, h in values]
            else:
                entry[rdtype] = list(values)
        out[name] = entry
    return out
