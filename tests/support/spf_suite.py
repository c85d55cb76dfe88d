"""Load the OpenSPF YAML suites into snapshot zones (shared by the SPF tests)."""

from __future__ import annotations

import re
from typing import Any

from mailaudit.dns.base import MX
from mailaudit.dns.snapshot import SnapshotResolver
from support.paths import CORPORA


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def zone_records(zonedata: dict[str, list[Any]] | None) -> dict[str, Any]:
    """Snapshot records from a scenario's zonedata; SPF-type records are copied to TXT
    (as the suite header says) and a ``TIMEOUT`` item makes the name's TXT lookup time out."""
    records: dict[str, Any] = {}
    for owner, items in (zonedata or {}).items():
        name = owner.rstrip(".").lower()
        if any(item == "TIMEOUT" for item in items):
            # TIMEOUT stands for the lookups the name has no records for; only the TXT query
            # matters to these tests, so a name with real TXT records keeps them.
            # ("TXT: NONE" is the suite's way to say "no TXT record here".)
            txt_only = [i["TXT"] for i in items
                        if isinstance(i, dict) and "TXT" in i and i["TXT"] != "NONE"]
            records[name] = {"TXT": ["".join(t) if isinstance(t, list) else str(t)
                                     for t in txt_only]} if txt_only else "TIMEOUT"
            continue
        entry: dict[str, list[Any]] = {}
        txt: list[str] = []
        spf: list[str] = []
        for item in items:
            ((rdtype, value),) = item.items()
            if rdtype in ("TXT", "SPF"):
                text = "".join(value) if isinstance(value, list) else str(value)
                (txt if rdtype == "TXT" else spf).append(text)
            elif rdtype == "MX":
                entry.setdefault("MX", []).append([int(value[0]), str(value[1])])
            elif rdtype in ("A", "AAAA", "PTR", "CNAME"):
                entry.setdefault(rdtype, []).append(str(value))
        if txt or spf:
            entry["TXT"] = txt or spf
        records[name] = entry
    return records


def load_cases(filename: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    import yaml

    path = CORPORA / "spf" / filename
    if not path.exists():
        return []
    cases = []
    with path.open(encoding="utf-8") as fh:
        for scenario in yaml.safe_load_all(fh):
            if not scenario:
                continue
            records = zone_records(scenario.get("zonedata"))
            for name, test in scenario["tests"].items():
                cases.append((f"{slug(scenario['description'])}-{name}", records, test))
    return cases



class LiveLike:
    """The same answers through a resolver the memo does not recognise as replay (as live DNS
    is not): the reference evaluation."""

    def __init__(self, inner: SnapshotResolver) -> None:
        self.inner = inner

    def txt(self, name: str) -> list[str]:
        return self.inner.txt(name)

    def a(self, name: str) -> list[str]:
        return self.inner.a(name)

    def aaaa(self, name: str) -> list[str]:
        return self.inner.aaaa(name)

    def mx(self, name: str) -> list[MX]:
        return self.inner.mx(name)

    def ptr(self, name: str) -> list[str]:
        return self.inner.ptr(name)
