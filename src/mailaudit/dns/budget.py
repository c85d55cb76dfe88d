"""Resolver wrappers for one message (a lookup budget) and for a batch (a small cache)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from mailaudit.dns.base import (
    MX,
    DnsOutcome,
    NoData,
    NotCaptured,
    NXDomain,
    Resolver,
    TempFail,
    normalise_name,
)


class BudgetResolver:
    """Allow at most ``limit`` lookups through ``inner``; later ones raise ``TempFail``.

    One per message: a hostile message can carry any number of DKIM signatures and ARC sets,
    each asking for keys, so the total is capped beside RFC 7208 §4.6.4's SPF-only limits.
    """

    def __init__(self, inner: Resolver, limit: int, *, seconds: float | None = None) -> None:
        self.inner = inner
        self.limit = limit
        self.used = 0
        self.refused = 0  # lookups asked for after the budget was spent
        # A dead or slow server makes every lookup cost the resolver's whole lifetime; the
        # count alone would let one message wait lookups x lifetime. The deadline stops that.
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.timed_out = False

    def _spend(self, name: str, rdtype: str) -> None:
        if self.used >= self.limit:
            self.refused += 1
            raise TempFail(normalise_name(name), rdtype, f"lookup budget of {self.limit} spent")
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.refused += 1
            self.timed_out = True
            raise TempFail(normalise_name(name), rdtype,
                           f"DNS time budget of {self.seconds:g} s for this message spent")
        self.used += 1

    def txt(self, name: str) -> list[str]:
        self._spend(name, "TXT")
        return self.inner.txt(name)

    def a(self, name: str) -> list[str]:
        self._spend(name, "A")
        return self.inner.a(name)

    def aaaa(self, name: str) -> list[str]:
        self._spend(name, "AAAA")
        return self.inner.aaaa(name)

    def mx(self, name: str) -> list[MX]:
        self._spend(name, "MX")
        return self.inner.mx(name)

    def ptr(self, name: str) -> list[str]:
        self._spend(name, "PTR")
        return self.inner.ptr(name)


class CachingResolver:
    """A least-recently-used cache over ``inner`` for batch runs against live DNS.

    Answers and the definite outcomes (NXDOMAIN, NoData) are cached; temporary failures and
    not-captured are not, so a later message may still get an answer. TTLs are ignored: a batch
    is short next to the lifetime of mail-authentication records.
    """

    def __init__(self, inner: Resolver, size: int = 4096) -> None:
        self.inner = inner
        self.size = size
        self._cache: OrderedDict[tuple[str, str], list[Any] | DnsOutcome] = OrderedDict()

    def _get(self, name: str, rdtype: str, fetch: Callable[[str], list[Any]]) -> list[Any]:
        key = (normalise_name(name), rdtype)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            if isinstance(hit, DnsOutcome):
                raise type(hit)(hit.name, hit.rdtype, hit.detail)
            return list(hit)
        try:
            value: list[Any] | DnsOutcome = list(fetch(name))
        except (NXDomain, NoData) as exc:
            value = exc
        except (TempFail, NotCaptured):
            raise
        self._cache[key] = value
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        if isinstance(value, DnsOutcome):
            raise type(value)(value.name, value.rdtype, value.detail)
        return list(value)

    def txt(self, name: str) -> list[str]:
        return self._get(name, "TXT", self.inner.txt)

    def a(self, name: str) -> list[str]:
        return self._get(name, "A", self.inner.a)

    def aaaa(self, name: str) -> list[str]:
        return self._get(name, "AAAA", self.inner.aaaa)

    def mx(self, name: str) -> list[MX]:
        return self._get(name, "MX", self.inner.mx)

    def ptr(self, name: str) -> list[str]:
        return self._get(name, "PTR", self.inner.ptr)


class OfflineResolver:
    """Every lookup is ``NotCaptured``: ``--offline`` with no snapshot never opens a socket."""

    def _none(self, name: str, rdtype: str) -> list[Any]:
        raise NotCaptured(normalise_name(name), rdtype, "offline and no DNS snapshot given")

    def txt(self, name: str) -> list[str]:
        return self._none(name, "TXT")

    def a(self, name: str) -> list[str]:
        return self._none(name, "A")

    def aaaa(self, name: str) -> list[str]:
        return self._none(name, "AAAA")

    def mx(self, name: str) -> list[MX]:
        return self._none(name, "MX")

    def ptr(self, name: str) -> list[str]:
        return self._none(name, "PTR")
