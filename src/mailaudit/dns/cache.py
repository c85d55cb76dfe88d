"""A small least-recently-used cache over a resolver, for batch runs against live DNS."""

from __future__ import annotations

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
