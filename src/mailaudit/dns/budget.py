"""A lookup budget for one message."""

from __future__ import annotations

import time

from mailaudit.dns.base import (
    MX,
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

    def reuse(self, lookups: int) -> bool:
        """Charge ``lookups`` answered earlier in the run (a run-wide memo's result), if a
        fresh evaluation would have been allowed them now: as many left in the budget and,
        when there are any, the DNS time not over. False, and nothing charged, otherwise."""
        if self.limit - self.used < lookups:
            return False
        if lookups and self.deadline is not None and time.monotonic() > self.deadline:
            return False
        self.used += lookups
        return True

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
