"""Snapshot replay semantics and snapshot file errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mailaudit.dns.base import NoData, NotCaptured, NXDomain, TempFail
from mailaudit.dns.snapshot import SnapshotResolver, write_snapshot
from mailaudit.errors import SnapshotError

RECORDS: dict[str, Any] = {
    "Example.org.": {"TXT": [["v=spf1 ", "-all"]], "MX": [[10, "mx.example.org."]], "AAAA": []},
    "gone.example": "NXDOMAIN",
    "slow.example": "TIMEOUT",
    "alias.example": {"CNAME": ["example.org"]},
    "loop1.example": {"CNAME": ["loop2.example"]},
    "loop2.example": {"CNAME": ["LOOP1.example."]},
}


def test_replay_outcomes() -> None:
    r = SnapshotResolver(RECORDS)
    assert r.txt("EXAMPLE.ORG") == ["v=spf1 -all"]
    assert r.mx("example.org") == [(10, "mx.example.org")]
    with pytest.raises(NoData):
        r.aaaa("example.org")
    with pytest.raises(NotCaptured):
        r.a("example.org")
    with pytest.raises(NotCaptured):
        r.txt("elsewhere.example")
    with pytest.raises(NXDomain):
        r.txt("gone.example")
    with pytest.raises(TempFail):
        r.txt("slow.example")
    assert r.txt("alias.example") == ["v=spf1 -all"]
    with pytest.raises(TempFail, match="CNAME"):
        r.a("loop1.example")


def test_complete_snapshot_turns_unknown_into_nxdomain_and_nodata() -> None:
    r = SnapshotResolver(RECORDS, complete=True)
    with pytest.raises(NXDomain):
        r.txt("elsewhere.example")
    with pytest.raises(NoData):
        r.a("example.org")


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    write_snapshot(path, {"b.example": {"TXT": ["x"]}, "a.example": "NXDOMAIN"}, complete=True,
                   captured_at="2026-01-01T00:00:00Z")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc["records"]) == ["a.example", "b.example"]
    r = SnapshotResolver.from_file(path)
    assert r.complete and r.txt("b.example") == ["x"]


def _doc(entry: Any) -> str:
    return json.dumps({"format": "mailaudit-dns/1", "records": {"a.example": entry}})


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "not valid JSON"),
    ('["x"]', "JSON object"),
    ('{"format": "other/1", "records": {}}', "unknown snapshot format"),
    ('{"format": "mailaudit-dns/1", "records": []}', "records"),
    ('{"format": "mailaudit-dns/1", "records": {"a.example": "GONE"}}', "NXDOMAIN"),
    ('{"format": "mailaudit-dns/1", "records": {"a.example": {"SRV": []}}}', "unknown record type"),
    ('{"format": "mailaudit-dns/1", "records": {"a.example": {"MX": [["10", "h"]]}}}', "MX"),
    ('{"format": "mailaudit-dns/1", "records": {"a.example": {"TXT": [1]}}}', "TXT"),
    ('{"format": "mailaudit-dns/1", "records": {"a.example": {"A": "192.0.2.1"}}}', "list"),
    # An answer must be what its type holds: before, an A answer that was a name reached
    # pyspf (permerror "does not appear to be an IPv4 or IPv6 network") and a 5,001-digit
    # number escaped as a bare ValueError.
    (_doc({"A": ["not an address"]}), "each A answer is an IPv4 address"),
    (_doc({"A": ["2001:db8::1"]}), "each A answer is an IPv4 address"),
    (_doc({"A": ["192.0.2.1.example"]}), "each A answer is an IPv4 address"),
    (_doc({"A": [7]}), "each A answer is an IPv4 address"),
    (_doc({"AAAA": ["192.0.2.1"]}), "each AAAA answer is an IPv6 address"),
    (_doc({"AAAA": ["fe80::1%eth0"]}), "each AAAA answer is an IPv6 address"),
    (_doc({"MX": [[True, "mx.example"]]}), "preference 0-65535"),
    (_doc({"MX": [[-1, "mx.example"]]}), "preference 0-65535"),
    (_doc({"MX": [[65536, "mx.example"]]}), "preference 0-65535"),
    ('{"format": "mailaudit-dns/1", "records": {"a.example": {"MX": [[1' + "0" * 5000
     + ', "mx.example"]]}}}', "number too long to read"),
    # One name spelled twice: before, the later entry won in silence, so a reader of the
    # file could be shown one SPF record while the checks used the other.
    ('{"format": "mailaudit-dns/1", "records": {"a.example": {"TXT": ["v=spf1 -all"]}, '
     '"A.Example.": {"TXT": ["v=spf1 +all"]}}}', "a.example and A.Example. are the same name"),
], ids=["not-json", "not-object", "format-tag", "records-type", "bad-string", "bad-type",
        "bad-mx", "bad-txt", "not-list", "a-text", "a-v6", "a-name", "a-int", "aaaa-v4",
        "aaaa-zone", "mx-bool", "mx-negative", "mx-17-bit", "mx-5001-digits", "same-name"])
def test_snapshot_errors_name_the_file(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SnapshotError) as info:
        SnapshotResolver.from_file(path)
    assert str(path) in info.value.message and fragment in info.value.message


def test_unreadable_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read"):
        SnapshotResolver.from_file(tmp_path / "missing.json")
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(SnapshotError, match="UTF-8"):
        SnapshotResolver.from_file(bad)


def test_good_answers_of_every_family_load(tmp_path: Path) -> None:
    path = tmp_path / "good.json"
    path.write_text(_doc({"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"],
                          "MX": [[0, "mx.example"], [65535, "mx2.example"]]}), encoding="utf-8")
    r = SnapshotResolver.from_file(path)
    assert r.a("a.example") == ["192.0.2.1"] and r.aaaa("a.example") == ["2001:db8::1"]
    assert r.mx("a.example") == [(0, "mx.example"), (65535, "mx2.example")]


def test_hostile_values_are_cut_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    long_name = "n" * 50_000 + ".example"
    path.write_text(json.dumps({"format": "mailaudit-dns/1",
                                "records": {long_name: {"A": ["x" * 50_000]}}}), encoding="utf-8")
    with pytest.raises(SnapshotError) as info:
        SnapshotResolver.from_file(path)
    assert len(info.value.message) < 400 + len(str(path))


@pytest.mark.parametrize("records", [
    {"a.example": {"A": ["not an address"]}},
    {"a.example": {"MX": [(10, "mx.example")]}},  # a tuple is not what a snapshot holds
    {"a.example": "GONE"},
    {"a.example": {}, "A.EXAMPLE": {}},
], ids=["a-text", "mx-tuple", "bad-string", "same-name"])
def test_records_built_in_code_are_checked_too(records: dict[str, Any]) -> None:
    # Before, only from_file and from_document checked; a library caller's mapping went
    # straight to the checks.
    with pytest.raises(SnapshotError, match="<memory>"):
        SnapshotResolver(records)
