"""The resolver protocol every check takes, and its typed outcomes.

A check never reaches the network by itself: it is handed a ``Resolver`` (live, recording, or
replaying a snapshot). Lookups either return answers or raise one of the outcomes below, so a
check can tell "this name does not exist" (a fact about the world) from "we do not know"
(``TempFail``, ``NotCaptured``), which must never become a fail.
"""

from __future__ import annotations

from typing import Protocol


class DnsOutcome(Exception):
    """Base of the non-answer outcomes. ``name`` and ``rdtype`` say what was asked."""

    def __init__(self, name: str, rdtype: str, detail: str = "") -> None:
        super().__init__(f"{rdtype} {name}: {detail or type(self).__name__}")
        self.name = name
        self.rdtype = rdtype
        self.detail = detail


class NXDomain(DnsOutcome):
    """The name does not exist (authoritative)."""


class NoData(DnsOutcome):
    """The name exists but has no record of that type."""


class TempFail(DnsOutcome):
    """Timeout, SERVFAIL, refused, or the per-message lookup budget is spent."""


class NotCaptured(DnsOutcome):
    """Replay only: the snapshot does not say. Checks turn this into temperror / unverifiable."""


MX = tuple[int, str]


class Resolver(Protocol):
    """Names are given without the trailing dot; any case. Answers are lists, never empty
    (an empty answer is ``NoData``). TXT strings of one record come already joined."""

    def txt(self, name: str) -> list[str]: ...

    def a(self, name: str) -> list[str]: ...

    def aaaa(self, name: str) -> list[str]: ...

    def mx(self, name: str) -> list[MX]: ...

    def ptr(self, name: str) -> list[str]:
        """``name`` is the reverse name (``4.3.2.1.in-addr.arpa``)."""
        ...


def normalise_name(name: str) -> str:
    """Snapshot keys are lower-case with no trailing dot."""
    return name.rstrip(".").lower()
