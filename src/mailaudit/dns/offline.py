"""The resolver of ``--offline`` without a snapshot: it knows nothing and never opens a socket."""

from __future__ import annotations

from typing import Any

from mailaudit.dns.base import MX, NotCaptured, normalise_name


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
