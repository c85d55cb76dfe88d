"""Which IP, HELO and MAIL FROM to evaluate SPF with, and where each came from.

Order (ARCHITECTURE, "Sender IP"): what the user said; what the trusted receiver recorded;
else the Received chain, walked from the top while hops are inside the receiving organisation,
taking the first hop whose sending IP is outside it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from mailaudit.model import Envelope
from mailaudit.options import AuditOptions
from mailaudit.parse.domains import org_domain_psl
from mailaudit.parse.message import ParsedMessage
from mailaudit.parse.received import ReceivedChain

_MAX_HOPS = 50  # a hostile message may carry thousands of Received fields
_Sender = tuple[str | None, str | None]  # a hop's (from_host, from_ip)

# Addresses that never belong to the sending side of an Internet SMTP hand-off. Written out
# rather than ``is_private``, which also covers the documentation ranges.
_INTERNAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "0.0.0.0/8", "::1/128", "fc00::/7", "fe80::/10", "::/128",
))

# Exchange Online's own datacentre hops (mailbox and transport servers) use these names with
# internal IPv6 (2603:10xx::) or private addresses; its outbound relays
# (*.outbound.protection.outlook.com, public IPv4) hand mail between tenants and are external.
_MICROSOFT_INTERNAL_SUFFIXES = (".prod.outlook.com", ".prod.exchangelabs.com",
                                ".prod.protection.outlook.com", ".outlook.office365.com")

# Organisational domains shared by every customer of a mail platform: sharing one with the
# receiver says nothing about being inside the receiver's organisation.
_SHARED_PLATFORMS = frozenset({"outlook.com", "office365.com", "google.com", "gmail.com",
                               "yahoo.com", "amazonses.com", "icloud.com", "me.com"})


def choose_envelope(msg: ParsedMessage, recorded_envelope: Envelope | None,
                    options: AuditOptions, *, internal_hosts: Sequence[str] = ()) -> Envelope:
    return_path = _return_path(msg)
    hop = _first_external_sender(msg.received, internal_hosts)
    if options.ip:
        return Envelope(ip=_as_sender_ip(options.ip),
                        helo=options.helo or _helo(recorded_envelope, hop),
                        mail_from=_first(options.mail_from, _mail_from(recorded_envelope),
                                         return_path),
                        source="options")
    if recorded_envelope is not None and recorded_envelope.ip:
        return Envelope(ip=_as_sender_ip(recorded_envelope.ip),
                        helo=options.helo or recorded_envelope.helo or _helo(None, hop),
                        mail_from=_first(options.mail_from, recorded_envelope.mail_from,
                                         return_path),
                        source=recorded_envelope.source)
    mail_from = _first(options.mail_from, _mail_from(recorded_envelope), return_path)
    if hop is not None:
        host, ip = hop
        return Envelope(ip=_as_sender_ip(ip), helo=options.helo or host, mail_from=mail_from,
                        source="received")
    return Envelope(ip=None, helo=options.helo, mail_from=mail_from, source="none")


def _as_sender_ip(text: str | None) -> str | None:
    """The sender's address as SPF evaluates it: an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``,
    RFC 4291 §2.5.5.2, as dual-stack receivers log IPv4 peers) is the IPv4 host it stands for,
    so the report shows the address ``ip4:`` mechanisms were matched against. Anything that
    does not parse is kept as written (SPF then says why)."""
    ip = _ip(text)
    return text if ip is None else str(ip)


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v is not None), None)


def _mail_from(recorded: Envelope | None) -> str | None:
    return recorded.mail_from if recorded is not None else None


def _helo(recorded: Envelope | None, hop: _Sender | None) -> str | None:
    if recorded is not None and recorded.helo:
        return recorded.helo
    return hop[0] if hop is not None else None


def _return_path(msg: ParsedMessage) -> str | None:
    """Return-Path is written by the final delivery agent from MAIL FROM (RFC 5321 §4.4);
    ``<>`` (the null sender) becomes ``""``."""
    if msg.return_path is not None:
        return msg.return_path.address
    value = msg.get("return-path")
    if value is not None and value.strip().replace(" ", "") == "<>":
        return ""
    return None


def _first_external_sender(hops: ReceivedChain,
                           internal_hosts: Sequence[str]) -> _Sender | None:
    """(from_host, from_ip) of the first hop whose sending IP is outside the receiver."""
    if not hops:
        return None
    receiver_org = _org(hops.by_host(0))
    if receiver_org in _SHARED_PLATFORMS:
        receiver_org = None
    internal = tuple(h.lower().strip(".") for h in internal_hosts if h)
    for index in range(min(len(hops), _MAX_HOPS)):  # hops are read as the walk reaches them
        sender = hops.sender(index)
        ip = _ip(sender[1])
        if ip is None:
            continue  # local submission, or a hop we cannot read: no sender IP here
        if not _is_internal(sender[0], ip, receiver_org, internal):
            return sender
    return None


def _is_internal(from_host: str | None, ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                 receiver_org: str | None, internal: tuple[str, ...]) -> bool:
    if _in_internal_nets(ip):
        return True
    host = (from_host or "").lower().rstrip(".")
    text_ip = str(ip)
    for name in internal:
        if host == name or host.endswith("." + name) or text_ip == name:
            return True
    if host.endswith(_MICROSOFT_INTERNAL_SUFFIXES) and (ip.version == 6 or ip.is_private):
        return True
    return receiver_org is not None and bool(host) and _org(host) == receiver_org


# A mailbox repeats the same relays and hosts in hop after hop; these pure functions of one
# string are remembered (bounded) instead of building addresses and walking the PSL each time.
@functools.lru_cache(maxsize=4096)
def _in_internal_nets(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip in net for net in _INTERNAL_NETS if net.version == ip.version)


@functools.lru_cache(maxsize=4096)
def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]").removeprefix("IPv6:"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@functools.lru_cache(maxsize=4096)
def _org(host: str | None) -> str | None:
    if not host or _ip(host) is not None:
        return None  # an address literal has no organisational domain
    return org_domain_psl(host)
