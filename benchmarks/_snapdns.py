"""A dkimpy ``dnsfunc`` that answers from a mailaudit DNS snapshot (never touches the network)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mailaudit.dns.base import DnsOutcome
from mailaudit.dns.snapshot import SnapshotResolver


def dkim_dnsfunc(snapshot: Path) -> Callable[..., bytes | None]:
    resolver = SnapshotResolver.from_file(snapshot)

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes | None:
        qname = name.decode() if isinstance(name, bytes) else name
        try:
            return "".join(resolver.txt(qname)).encode()
        except DnsOutcome:
            return None

    return dnsfunc
