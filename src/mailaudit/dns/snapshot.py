"""Replay DNS answers from a snapshot file (format ``mailaudit-dns/1``, see README "DNS snapshots").

A name the snapshot does not mention is ``NotCaptured`` (checks report temperror / unverifiable),
unless the snapshot says ``"complete": true``, in which case it is ``NXDomain``. A captured name
without the asked type is ``NoData`` when the type is listed as an empty list or the snapshot is
complete, ``NotCaptured`` otherwise.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailaudit.dns.base import MX, NoData, NotCaptured, NXDomain, TempFail, normalise_name
from mailaudit.errors import SnapshotError, cut

FORMAT = "mailaudit-dns/1"
RDTYPES = ("TXT", "A", "AAAA", "MX", "PTR", "CNAME")
MAX_CNAME_CHAIN = 16
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

Entry = str | dict[str, list[Any]]


class SnapshotResolver:
    """A ``Resolver`` over snapshot data. Never opens a socket.

    The records are checked however they arrive (a file, a document, a mapping built in
    code): a check must never meet an answer no resolver returns, and one name must not have
    two entries (``Example.com`` and ``example.com.``), or a reader of the file could be shown
    one answer while the checks use the other. Every problem is a ``SnapshotError``."""

    def __init__(self, records: Mapping[str, Entry], *, complete: bool = False,
                 origin: str = "<memory>", captured_at: float | None = None) -> None:
        self.records: dict[str, Entry] = _checked_records(origin, records)
        self.complete = complete
        self.origin = origin
        # When the answers were captured (Unix seconds): the evaluation time of a replay.
        self.captured_at = captured_at

    @classmethod
    def from_file(cls, path: str | Path, *,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> SnapshotResolver:
        """Load a snapshot file. Every problem is a ``SnapshotError`` with a sentence."""
        from mailaudit.readonly import read_limited

        p = Path(path)
        try:
            data = read_limited(str(p), max_bytes)
        except OSError as exc:
            raise SnapshotError(f"{p}: cannot read the DNS snapshot ({exc.strerror or exc}).") from exc
        if data is None:
            # Loaded, a snapshot takes about 15 times its size in memory, in every process.
            raise SnapshotError(f"{p}: the DNS snapshot is larger than {max_bytes:,} bytes (limit "
                                "max_snapshot_bytes); raise it with --limit "
                                "max_snapshot_bytes=N if the file is trusted.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SnapshotError(f"{p}: the DNS snapshot is not UTF-8 text ({exc.reason}).") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SnapshotError(
                f"{p}: the DNS snapshot is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
            ) from exc
        except ValueError as exc:
            # Python reads at most 4,300 digits of an integer; no snapshot field needs more.
            raise SnapshotError(f"{p}: the DNS snapshot holds a number too long to read "
                                "(over 4,300 digits).") from exc
        except RecursionError as exc:
            # The json parser is recursive and bounded by the interpreter's recursion limit;
            # a real snapshot nests four levels.
            raise SnapshotError(f"{p}: the DNS snapshot nests arrays or objects too deeply "
                                "to be a snapshot.") from exc
        except MemoryError as exc:
            raise SnapshotError(f"{p}: the DNS snapshot needs more memory than is available "
                                "to load; lower --limit max_snapshot_bytes or split it.") from exc
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


def _checked_records(origin: str, records: Mapping[str, Entry]) -> dict[str, Entry]:
    """The records by normalised name, each entry validated."""
    checked: dict[str, Entry] = {}
    for name, entry in records.items():
        _validate_entry(origin, name, entry)
        key = normalise_name(name)
        if key in checked:
            first = next(n for n in records if normalise_name(n) == key)
            raise SnapshotError(f"{origin}: {cut(first, 80)} and {cut(name, 80)} are the "
                                "same name; a snapshot has one entry per name.")
        checked[key] = entry
    return checked


def _validate_entry(origin: str, name: object, entry: object) -> None:
    if not isinstance(name, str) or not name:
        raise SnapshotError(f"{origin}: record names must be non-empty strings, got {_shown(name)}.")
    if isinstance(entry, str):
        if entry not in ("NXDOMAIN", "TIMEOUT"):
            raise SnapshotError(f"{origin}: {cut(name, 80)}: a string entry must be \"NXDOMAIN\" or "
                                f"\"TIMEOUT\", got {_shown(entry)}.")
        return
    if not isinstance(entry, dict):
        raise SnapshotError(f"{origin}: {cut(name, 80)}: expected an object of record types, "
                            "\"NXDOMAIN\" or \"TIMEOUT\".")
    for rdtype, answers in entry.items():
        where = f"{origin}: {cut(name, 80)}"
        if rdtype not in RDTYPES:
            raise SnapshotError(f"{where}: unknown record type {_shown(rdtype)} "
                                f"(known: {', '.join(RDTYPES)}).")
        if not isinstance(answers, list):
            raise SnapshotError(f"{where}: {rdtype} must be a list of answers.")
        if rdtype == "MX":
            for mx in answers:
                if not (isinstance(mx, list) and len(mx) == 2 and _is_preference(mx[0])
                        and isinstance(mx[1], str)):
                    raise SnapshotError(f"{where}: each MX answer is [preference 0-65535, host], "
                                        f"got {_shown(mx)}.")
        elif rdtype == "TXT":
            for v in answers:
                if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))):
                    raise SnapshotError(f"{where}: each TXT answer is a string, got {_shown(v)}.")
        elif rdtype in _ADDRESS_FAMILY:
            for v in answers:
                if not _is_address(v, _ADDRESS_FAMILY[rdtype]):
                    raise SnapshotError(f"{where}: each {rdtype} answer is an IPv"
                                        f"{_ADDRESS_FAMILY[rdtype]} address, got {_shown(v)}.")
        else:
            for v in answers:
                if not isinstance(v, str):
                    raise SnapshotError(f"{where}: each {rdtype} answer is a string, got {_shown(v)}.")


_ADDRESS_FAMILY = {"A": 4, "AAAA": 6}


def _is_address(value: object, version: int) -> bool:
    """An address of that family, as a resolver hands it back (RFC 1035 §3.4.1, RFC 3596 §2.2):
    a check must never meet an A answer that is a name, or an IPv6 address under A."""
    if not isinstance(value, str) or "%" in value:  # a DNS answer has no zone ("fe80::1%eth0")
        return False
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def _is_preference(value: object) -> bool:
    """An MX preference is a 16-bit unsigned integer (RFC 1035 §3.3.9); JSON's true is not one."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF


def _shown(value: object) -> str:
    """A snapshot value for an error message: repr'd and cut, so a hostile snapshot cannot fill
    the terminal."""
    return cut(repr(value), 80)


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
