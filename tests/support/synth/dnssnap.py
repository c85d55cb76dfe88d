"""The DNS snapshot that makes the samples authenticate offline.

It publishes the test keys under the selectors the samples sign with, SPF records that cover the
sending IPs of the samples' Received chains, DMARC records, reverse and forward names of the
sending hosts, the recipients' MX, and NXDOMAIN for every other ``_dmarc`` name a DMARC check may
ask for on the way up the tree (RFC 9989 section 4.10 walks up to the top-level domain), so that
replaying the samples never meets a name the snapshot does not mention.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mailaudit.dns.base import DnsOutcome, Resolver, normalise_name
from mailaudit.dns.snapshot import Entry, write_snapshot
from support.synth import world
from support.synth.keys import SampleKey

CAPTURED_AT = "2026-06-01T00:00:00Z"  # fixed so rebuilds are identical
NOTE = ("Synthetic DNS for the mailaudit samples: the DKIM keys here are the project's test keys "
        "(samples/keys/), not any real domain's keys.")

MS_SPF_INCLUDE = "_spf1-meo.microsoft.com"

# The From/envelope domains that exist outside Microsoft, with their SPF and DMARC.
_THIRD_PARTY_SPF: dict[str, str] = {
    "contoso-mail.example": "v=spf1 ip4:192.0.2.0/27 -all",
    "lists.fabrikam.example": "v=spf1 ip4:198.51.100.40 -all",
    "northwind-traders.example": "v=spf1 ip4:198.51.100.64/27 -all",
    # Look-alike and free-mail domains authenticate for themselves: SPF/DKIM pass for their own
    # name is what makes them look clean to a check that ignores what the domain claims to be.
    "microsoftonIine-security.com": "v=spf1 ip4:203.0.113.45 -all",
    "mail-notify.example": "v=spf1 include:_spf.mail-notify.example ~all",
    "_spf.mail-notify.example": "v=spf1 ip4:203.0.113.64/26 ~all",
}
_DMARC: dict[str, str] = {
    # SENDERS.md 0.1: microsoft.com publishes p=reject sp=reject pct=100 (seen in a real AAR).
    "microsoft.com": "v=DMARC1; p=reject; sp=reject; pct=100",
    "contoso-mail.example": "v=DMARC1; p=quarantine; adkim=r; aspf=r",
    "fabrikam.example": "v=DMARC1; p=none",
    "northwind-traders.example": "v=DMARC1; p=reject",
    "microsoftonIine-security.com": "v=DMARC1; p=none",
    "mail-notify.example": "v=DMARC1; p=none",
    "tailspin-toys.example": "v=DMARC1; p=quarantine",
}
# INFERRED: Microsoft's other notification org domains are assumed to publish p=reject as well.
_MS_DMARC_DEFAULT = "v=DMARC1; p=reject; pct=100"

_MX: dict[str, tuple[str, str]] = {
    world.CONTOSO_MX.domain: (world.CONTOSO_MX.mx_host, world.CONTOSO_MX.mx_ip),
    # Exchange Online's MX naming: <domain with dots as dashes>.mail.protection.outlook.com.
    world.TAILSPIN_EXO.domain: ("tailspin-toys-example.mail.protection.outlook.com",
                                "52.101.42.5"),
}


class _Records:
    def __init__(self) -> None:
        self.names: dict[str, dict[str, list[Any]]] = {}
        self.nxdomain: set[str] = set()

    def add(self, name: str, rdtype: str, value: Any) -> None:
        answers = self.names.setdefault(normalise_name(name), {}).setdefault(rdtype, [])
        if value is not None and value not in answers:
            answers.append(value)

    def entries(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {n: "NXDOMAIN" for n in self.nxdomain if n not in self.names}
        out.update({n: dict(sorted(v.items())) for n, v in self.names.items()})
        return out


def org_domain(domain: str) -> str:
    """Organisational domain by the Public Suffix List (RFC 7489 section 3.2)."""
    from mailaudit.parse.domains import psl

    result = psl().privatesuffix(domain.lower())
    return str(result) if result else domain.lower()




def _reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def snapshot_records(keys: Mapping[str, SampleKey], *, platform_domains: Iterable[str] = (),
                     platform_signers: Iterable[world.Signer] = ()) -> dict[str, Entry]:
    """Every record the samples need. ``platform_domains``: further Microsoft notification
    domains (From, envelope or d= of catalogued senders) to publish with the platform's SPF and
    key; ``platform_signers``: selectors the catalog names for them."""
    rec = _Records()
    signers = list(world.FIXED_SIGNERS)
    ms_domains = {"microsoft.com", "microsoftonline.com"}
    ms_domains.update(d.lower() for d in platform_domains)
    signers += [world.platform_signer(d) for d in sorted(ms_domains) if d != "microsoft.com"]
    signers += list(platform_signers)
    ms_domains.update(s.domain for s in platform_signers)
    for signer in signers:
        rec.add(signer.dns_name, "TXT", keys[signer.key].dns_txt())

    ms_ranges = "ip4:20.118.139.0/24 ip4:20.88.157.0/24"
    rec.add(MS_SPF_INCLUDE, "TXT", f"v=spf1 {ms_ranges} -all")
    for domain in sorted(ms_domains):
        rec.add(domain, "TXT", f"v=spf1 include:{MS_SPF_INCLUDE} -all")
    for name, spf in _THIRD_PARTY_SPF.items():
        rec.add(name, "TXT", spf)

    dmarc_domains = set(ms_domains) | set(_DMARC) | set(_THIRD_PARTY_SPF) | set(_MX)
    dmarc_domains.update(s.domain for s in signers)
    for domain in sorted(dmarc_domains):
        _publish_dmarc_tree(rec, domain.lower(), ms=domain in ms_domains)

    origins = (world.MS_WESTUS3, world.MS_EASTUS, world.CONTOSO_OUT, world.LIST_OUT,
               world.NORTHWIND_OUT, world.LOOKALIKE_OUT, world.MAIL_NOTIFY_OUT)
    for origin in origins:
        # Forward-confirmed reverse DNS (iprev, RFC 8601 section 3) and an empty TXT so a HELO
        # identity check (RFC 7208 section 2.3) gets "none" rather than an unknown name.
        rec.add(_reverse_name(origin.ip), "PTR", origin.helo.lower())
        rec.add(origin.helo, "A", origin.ip)
        rec.add(origin.helo, "TXT", None)
    for domain, (host, ip) in _MX.items():
        rec.add(domain, "MX", [10, host.lower()])
        rec.add(host, "A", ip)
    return rec.entries()


def _publish_dmarc_tree(rec: _Records, domain: str, *, ms: bool) -> None:
    org = org_domain(domain)
    policy = _DMARC.get(org) or (_MS_DMARC_DEFAULT if ms else None)
    labels = domain.split(".")
    for i in range(len(labels)):
        name = "_dmarc." + ".".join(labels[i:])
        suffix = ".".join(labels[i:])
        if suffix == org and policy:
            rec.add(name, "TXT", policy)
        elif normalise_name(name) not in rec.names:
            rec.nxdomain.add(normalise_name(name))


def write_dns_snapshot(path: Path, records: Mapping[str, Entry]) -> None:
    write_snapshot(path, records, complete=False, captured_at=CAPTURED_AT,
                   extra={"note": NOTE})


def dkim_dnsfunc(resolver: Resolver) -> Callable[..., bytes | None]:
    """A TXT lookup in the shape dkimpy's ``dnsfunc`` expects, over any ``Resolver``."""

    def txt(name: bytes | str, timeout: float = 5) -> bytes | None:
        qname = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        try:
            answers = resolver.txt(qname)
        except DnsOutcome:
            return None
        return answers[0].encode("utf-8") if answers else None

    return txt


def spf_result(resolver: Resolver, domain: str, ip: str, *, depth: int = 0) -> str:
    """RFC 7208 check_host for the generator's own records, so the Authentication-Results the
    samples carry are what a receiver would have written. Only the mechanisms the snapshot uses
    (ip4, ip6, include, all, redirect=) are understood; pyspf cannot be pointed at an in-memory
    snapshot without replacing its module-level DNS function."""
    if depth > 10:  # RFC 7208 section 4.6.4 lookup limit
        return "permerror"
    try:
        spf = [t for t in resolver.txt(domain) if t.lower().startswith("v=spf1")]
    except DnsOutcome:
        return "none"
    if len(spf) != 1:
        return "none" if not spf else "permerror"
    addr = ipaddress.ip_address(ip)
    qualifiers = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
    redirect = None
    for term in spf[0].split()[1:]:
        if term.lower().startswith("redirect="):
            redirect = term.split("=", 1)[1]
            continue
        qual = qualifiers.get(term[0], "pass")
        mech = term[1:] if term[0] in qualifiers else term
        name, _, arg = mech.partition(":")
        name = name.lower()
        if name == "all":
            return qual
        if name in ("ip4", "ip6"):
            if addr in ipaddress.ip_network(arg, strict=False):
                return qual
        elif name == "include" and spf_result(resolver, arg, ip, depth=depth + 1) == "pass":
            return qual
    if redirect:
        return spf_result(resolver, redirect, ip, depth=depth + 1)
    return "neutral"
