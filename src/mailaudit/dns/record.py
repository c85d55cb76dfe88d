"""Record every answer a wrapped resolver gives, in snapshot form, for replay later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailaudit.dns.base import MX, NoData, NotCaptured, NXDomain, Resolver, TempFail, normalise_name
from mailaudit.dns.snapshot import Entry, write_snapshot


class RecordingResolver:
    """Pass lookups through to ``inner`` and remember each answer or outcome.

    NXDOMAIN is kept as ``"NXDOMAIN"``, NoData as an empty list for that type, a temporary
    failure as ``"TIMEOUT"`` (only when nothing else is known about the name: the format has no
    per-type failure, and a missing type replays as not-captured, which checks treat the same
    way). Answers that came through a CNAME are stored under the name that was asked, so replay
    needs no chain.
    """

    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        self._records: dict[str, Entry] = {}

    def records(self) -> dict[str, Entry]:
        return {k: (v if isinstance(v, str) else {t: list(a) for t, a in v.items()})
                for k, v in self._records.items()}

    def save(self, path: str | Path, complete: bool = False) -> None:
        from datetime import UTC, datetime

        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        write_snapshot(path, self._records, complete=complete, captured_at=stamp)

    def _note(self, name: str, rdtype: str, answers: list[Any] | None, outcome: str = "") -> None:
        key = normalise_name(name)
        entry = self._records.get(key)
        if outcome == "NXDOMAIN":
            self._records[key] = "NXDOMAIN"
        elif outcome == "TIMEOUT":
            if entry is None:
                self._records[key] = "TIMEOUT"
        else:
            if not isinstance(entry, dict):
                entry = {}
                self._records[key] = entry
            entry[rdtype] = answers or []

    def _call(self, name: str, rdtype: str, answers_of: Any) -> Any:
        try:
            answers = answers_of(name)
        except NXDomain:
            self._note(name, rdtype, None, "NXDOMAIN")
            raise
        except NoData:
            self._note(name, rdtype, [])
            raise
        except NotCaptured:
            raise
        except TempFail:
            self._note(name, rdtype, None, "TIMEOUT")
            raise
        self._note(name, rdtype, list(answers) if rdtype != "MX" else [list(mx) for mx in answers])
        return answers

    def txt(self, name: str) -> list[str]:
        result: list[str] = self._call(name, "TXT", self.inner.txt)
        return result

    def a(self, name: str) -> list[str]:
        result: list[str] = self._call(name, "A", self.inner.a)
        return result

    def aaaa(self, name: str) -> list[str]:
        result: list[str] = self._call(name, "AAAA", self.inner.aaaa)
        return result

    def mx(self, name: str) -> list[MX]:
        result: list[MX] = self._call(name, "MX", self.inner.mx)
        return result

    def ptr(self, name: str) -> list[str]:
        result: list[str] = self._call(name, "PTR", self.inner.ptr)
        return result
