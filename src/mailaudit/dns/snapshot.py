"""Replay DNS answers from a snapshot file (format ``mailaudit-dns/1``, see README "DNS snapshots").

A name the snapshot does not mention is ``NotCaptured`` (checks report temperror / unverifiable),
unless the snapshot says ``"complete": true``, in which case it is ``NXDomain``. A captured name
without the asked type is ``NoData`` when the type is listed as an empty list or the snapshot is
complete, ``NotCaptured`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailaudit.dns.base import MX, NoData, NotCaptured, NXDomain, TempFail, normalise_name
from mailaudit.errors import SnapshotError

FORMAT = "mailaudit-dns/1"
RDTYPES = ("TXT", "A", "AAAA", "MX", "PTR", "CNAME")
MAX_CNAME_CHAIN = 16

Entry = str | dict[str, list[Any]]


class SnapshotResolver:
    """A ``Resolver`` over snapshot data. Never opens a socket."""

    def __init__(self, records: Mapping[str, Entry], *, complete: bool = False,
                 origin: str = "<memory>", captured_at: float | None = None) -> None:
        self.records: dict[str, Entry] = {normalise_name(k): v for k, v in records.items()}
        self.complete = complete
        self.origin = origin
        # When the answers were captured (Unix seconds): the evaluation time of a replay.
        self.captured_at = captured_at

    @classmethod
    def from_file(cls, path: str | Path) -> SnapshotResolver:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise SnapshotError(f"{p}: cannot read the DNS snapshot ({exc.strerror or exc}).") from exc
        except UnicodeDecodeError as exc:
            raise SnapshotError(f"{p}: the DNS snapshot is not UTF-8 text ({exc.reason}).") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SnapshotError(
                f"{p}: the DNS snapshot is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
            ) from exc
        return cls.from_document(doc, origin=str(p))

    @classmethod
    def from_document(cls, doc: Any, *, origin: str = "<memory>") -> SnapshotResolver:
        if not isinstance(doc, dict):
            raise SnapshotError(f"{origin}: a DNS snapshot is a JSON object with \"format\": \"{FORMAT}\".")
        fmt = doc.get("format")
        if fmt != FORMAT:
            raise SnapshotError(f"{origin}: unknown snapshot format {fmt!r}; expected \"{FORMAT}\".")
        records = doc.get("records", {})
        if not isinstance(records, dict):
            raise SnapshotError(f"{origin}: \"records\" must be an object mapping names to answers.")
        for name, entry in records.items():
            _validate_entry(origin, name, entry)
        return cls(records, complete=bool(doc.get("complete", False)), origin=origin,
                   captured_at=_captured_at(origin, doc.get("captured_at")))

    def _lookup(self, name: str, rdtype: str) -> list[Any]:
        key = normalise_name(name)
        # A recursive resolver follows CNAME chains for us (RFC 1034 §3.6.2); replay does the
        # same so a recorded alias answers like the live name did. A loop or an over-long chain
        # is what a resolver reports as SERVFAIL.
        seen: set[str] = set()
        while True:
            entry = self.records.get(key)
            if not isinstance(entry, dict) or rdtype in entry or "CNAME" not in entry:
                break
            targets = entry["CNAME"]
            if not targets:
                break
            seen.add(key)
            key = normalise_name(str(targets[0]))
            if key in seen or len(seen) > MAX_CNAME_CHAIN:
                raise TempFail(normalise_name(name), rdtype, "CNAME loop or chain too long")
        return self._answers(key, rdtype, entry)

    def _answers(self, key: str, rdtype: str, entry: Entry | None) -> list[Any]:
        if entry is None:
            if self.complete:
                raise NXDomain(key, rdtype)
            raise NotCaptured(key, rdtype, f"not in snapshot {self.origin}")
        if isinstance(entry, str):
            if entry == "NXDOMAIN":
                raise NXDomain(key, rdtype)
            raise TempFail(key, rdtype, "recorded as TIMEOUT")
        answers = entry.get(rdtype)
        if answers is None:
            if self.complete:
                raise NoData(key, rdtype)
            raise NotCaptured(key, rdtype, f"type not in snapshot {self.origin}")
        if not answers:
            raise NoData(key, rdtype)
        return list(answers)

    def txt(self, name: str) -> list[str]:
        return [v if isinstance(v, str) else "".join(v) for v in self._lookup(name, "TXT")]

    def a(self, name: str) -> list[str]:
        return [str(v) for v in self._lookup(name, "A")]

    def aaaa(self, name: str) -> list[str]:
        return [str(v) for v in self._lookup(name, "AAAA")]

    def mx(self, name: str) -> list[MX]:
        return [(int(p), str(h).rstrip(".")) for p, h in self._lookup(name, "MX")]

    def ptr(self, name: str) -> list[str]:
        return [str(v).rstrip(".") for v in self._lookup(name, "PTR")]


def _captured_at(origin: str, value: object) -> float | None:
    """``captured_at`` (ISO 8601, UTC) as Unix seconds; absent means unknown (the clock)."""
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SnapshotError(f"{origin}: \"captured_at\" is not an ISO 8601 time "
                            f"({str(value)[:40]!r}).") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _validate_entry(origin: str, name: object, entry: object) -> None:
    if not isinstance(name, str) or not name:
        raise SnapshotError(f"{origin}: record names must be non-empty strings, got {name!r}.")
    if isinstance(entry, str):
        if entry not in ("NXDOMAIN", "TIMEOUT"):
            raise SnapshotError(f"{origin}: {name}: a string entry must be \"NXDOMAIN\" or \"TIMEOUT\", got {entry!r}.")
        return
    if not isinstance(entry, dict):
        raise SnapshotError(f"{origin}: {name}: expected an object of record types, \"NXDOMAIN\" or \"TIMEOUT\".")
    for rdtype, answers in entry.items():
        if rdtype not in RDTYPES:
            raise SnapshotError(f"{origin}: {name}: unknown record type {rdtype!r} (known: {', '.join(RDTYPES)}).")
        if not isinstance(answers, list):
            raise SnapshotError(f"{origin}: {name}: {rdtype} must be a list of answers.")
        if rdtype == "MX":
            for mx in answers:
                if not (isinstance(mx, list) and len(mx) == 2 and isinstance(mx[0], int) and isinstance(mx[1], str)):
                    raise SnapshotError(f"{origin}: {name}: each MX answer is [preference, host], got {mx!r}.")
        elif rdtype == "TXT":
            for v in answers:
                if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))):
                    raise SnapshotError(f"{origin}: {name}: each TXT answer is a string, got {v!r}.")
        else:
            for v in answers:
                if not isinstance(v, str):
                    raise SnapshotError(f"{origin}: {name}: each {rdtype} answer is a string, got {v!r}.")


def write_snapshot(path: str | Path, records: Mapping[str, Entry], *, complete: bool = False,
                   captured_at: str | None = None, extra: Mapping[str, Any] | None = None) -> None:
    """Write records as a snapshot file, names sorted so the file diffs well."""
    doc: dict[str, Any] = {"format": FORMAT}
    if captured_at:
        doc["captured_at"] = captured_at
    doc["complete"] = complete
    if extra:
        doc.update(extra)
    doc["records"] = {k: records[k] for k in sorted(records)}
    Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
