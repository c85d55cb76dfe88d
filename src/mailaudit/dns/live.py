"""Live DNS through dnspython, mapped onto the typed outcomes of ``mailaudit.dns.base``.

dnspython does the protocol work we want: CNAME chains are followed inside one answer, and a
truncated UDP reply (TC bit) is retried over TCP by ``Resolver.resolve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from mailaudit.dns.base import MX, NoData, NXDomain, TempFail, normalise_name
from mailaudit.errors import DnsUnusableError, exception_text


class LiveResolver:
    """A ``Resolver`` that asks real DNS servers (the system's, or ``nameservers``)."""

    def __init__(self, *, nameservers: Sequence[str] | None = None, port: int = 53,
                 timeout: float = 3.0, lifetime: float = 5.0) -> None:
        if nameservers:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [_nameserver(ns, port) for ns in nameservers]
        else:
            try:
                self._resolver = dns.resolver.Resolver(configure=True)
            except dns.exception.DNSException as exc:
                raise DnsUnusableError(
                    f"no usable system DNS configuration ({exception_text(exc)}); give --nameserver IP "
                    "or replay a snapshot with --dns-snapshot FILE.") from None
            self._resolver.port = port
        self._resolver.timeout = timeout
        self._resolver.lifetime = lifetime
        # Bad answers from one server must not be retried forever against the same server.
        self._resolver.retry_servfail = False

    def _resolve(self, name: str, rdtype: str) -> list[Any]:
        key = normalise_name(name)
        try:
            qname = dns.name.from_text(key) if key else None
        except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
            # Attacker-chosen names can have empty or over-long labels; such a name cannot
            # exist in DNS, which is what NXDOMAIN says.
            raise NXDomain(key, rdtype, f"not a valid DNS name ({exc})") from None
        if qname is None:
            raise NXDomain(key, rdtype, "empty name")
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=True)
        except dns.resolver.NXDOMAIN:
            raise NXDomain(key, rdtype) from None
        except dns.resolver.NoAnswer:
            raise NoData(key, rdtype) from None
        except dns.resolver.YXDOMAIN:
            raise NXDomain(key, rdtype, "name too long after DNAME substitution") from None
        except dns.exception.Timeout:
            raise TempFail(key, rdtype, "timed out") from None
        except dns.resolver.NoNameservers as exc:
            raise TempFail(key, rdtype, f"no server answered ({exception_text(exc)})") from None
        except dns.exception.DNSException as exc:
            raise TempFail(key, rdtype, exception_text(exc)) from None
        except OSError as exc:
            raise TempFail(key, rdtype, f"network error ({exc.strerror or exc})") from None
        return list(answer)

    def txt(self, name: str) -> list[str]:
        # One TXT record may be split into several strings; RFC 7208 §3.3 and RFC 6376 §3.6.2.2
        # both join them with nothing in between.
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self._resolve(name, "TXT")]

    def a(self, name: str) -> list[str]:
        return [str(r.address) for r in self._resolve(name, "A")]

    def aaaa(self, name: str) -> list[str]:
        return [str(r.address) for r in self._resolve(name, "AAAA")]

    def mx(self, name: str) -> list[MX]:
        return [(int(r.preference), r.exchange.to_text(omit_final_dot=True))
                for r in self._resolve(name, "MX")]

    def ptr(self, name: str) -> list[str]:
        return [r.target.to_text(omit_final_dot=True) for r in self._resolve(name, "PTR")]


def probe_nameservers(nameservers: Sequence[str], *, timeout: float = 2.0) -> None:
    """Ask each server for the root's NS records once; any reply at all (even REFUSED) shows
    it is there. Raise ``DnsUnusableError`` when none replies within ``timeout`` seconds, so
    that a wrong ``--nameserver`` ends the run at once instead of turning every lookup into a
    timeout (and every result into "inconclusive")."""
    import dns.message
    import dns.query

    servers = [(spec, _nameserver(spec, 53)) for spec in nameservers]
    query = dns.message.make_query(".", "NS")
    for _spec, server in servers:
        try:
            dns.query.udp(query, server.address, timeout=timeout, port=server.port,
                          ignore_unexpected=True)
            return
        except (dns.exception.DNSException, OSError, ValueError):
            continue
    names = ", ".join(spec for spec, _ in servers)
    raise DnsUnusableError(f"no reply from DNS server {names} within {timeout:g} s; check "
                           "--nameserver, or replay a snapshot with --dns-snapshot FILE.")


def _nameserver(spec: str, default_port: int) -> dns.nameserver.Do53Nameserver:
    """``IP``, ``IPv4:PORT`` or ``[IPv6]:PORT``."""
    import ipaddress

    host, port = spec.strip(), default_port
    try:
        if host.startswith("["):
            host, _, rest = host[1:].partition("]")
            if rest:
                port = int(rest.removeprefix(":"))
        elif host.count(":") == 1:
            host, _, text = host.partition(":")
            port = int(text)
        ipaddress.ip_address(host)
        if not 0 < port < 65536:
            raise ValueError(port)
    except ValueError:
        raise DnsUnusableError(
            f"--nameserver {spec!r} is not IP, IP:PORT or [IPv6]:PORT; give the server's address."
        ) from None
    return dns.nameserver.Do53Nameserver(host, port)
