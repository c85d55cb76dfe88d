"""DKIM against the published corpora (dkimpy, mailauth, authheaders), fast path and dkimpy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.check import KeyFetcher, check_dkim
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.parse.message import ParsedMessage
from support.paths import CORPORA

CORPORA = CORPORA
DKIM_DIR = CORPORA / "dkim"


def _need_corpora() -> None:
    if not DKIM_DIR.is_dir():
        pytest.skip("../shared/corpora not present; the DKIM corpus tests need it")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def message(raw: bytes) -> ParsedMessage:
    """A minimal ParsedMessage (only raw is read by the DKIM and ARC checks)."""
    return ParsedMessage(raw=raw, headers=())


def _resolver(table: dict[str, Any], *, complete: bool = True) -> SnapshotResolver:
    records: dict[str, Any] = {}
    for name, value in table.items():
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        if value is None:
            records[name.rstrip(".")] = "NXDOMAIN"
        elif isinstance(value, str):
            records[name.rstrip(".")] = {"TXT": [value]}
        else:
            records[name.rstrip(".")] = value
    return SnapshotResolver(records, complete=complete)


DKIMPY = _load(DKIM_DIR / "dkimpy" / "expected.json") or {"cases": []}


@pytest.mark.parametrize("case", DKIMPY["cases"], ids=[c["name"] for c in DKIMPY["cases"]])
def test_dkimpy_verify_cases(case: dict[str, Any]) -> None:
    _need_corpora()
    raw = (DKIM_DIR / "dkimpy" / "data" / case["message"]).read_bytes()
    results, _ = check_dkim(message(raw), _resolver(case["dns"]))
    assert (results[0].result == "pass") is case["expected_verify"], results[0]
    for r in results:
        assert r.result in ("pass", "fail", "permerror", "temperror", "none")


def test_mailauth_ed25519_and_rsa_both_pass() -> None:
    _need_corpora()
    folder = DKIM_DIR / "mailauth"
    spec = _load(folder / "expected.json")
    resolver = SnapshotResolver(_load(folder / "dns.json"), complete=True)
    results, _ = check_dkim(message((folder / spec["message"]).read_bytes()), resolver,
                            now=spec["verify_time_unix"])
    assert len(results) == len(spec["expected"])
    for want in spec["expected"]:
        got = results[want["signature_index"]]
        assert (got.result, got.props["header.a"], got.props["header.d"], got.props["header.s"]) \
            == (want["result"], want["a"], want["d"], want["s"])


AUTHHEADERS = _load(DKIM_DIR / "authheaders" / "expected.json") or {"cases": [], "dns_tables": {}}
_DKIM_CASES = [c for c in AUTHHEADERS["cases"]
               if c["options"].get("dkim", True) and c.get("message_file")]


@pytest.mark.parametrize("case", _DKIM_CASES, ids=[c["name"] for c in _DKIM_CASES])
def test_authheaders_dkim_results(case: dict[str, Any]) -> None:
    _need_corpora()
    raw = (DKIM_DIR / "authheaders" / case["message_file"]).read_bytes()
    table = AUTHHEADERS["dns_tables"][case["options"].get("dnsfunc", "dnsfunc")]
    results, _ = check_dkim(message(raw), _resolver(table))
    expected = case["expected_authentication_results"]
    prev = case["options"].get("prev", "")
    # Only the dkim= clauses this check produced (not those merged from an earlier header).
    want = [m.groups() for m in re.finditer(r"dkim=(\w+) header\.d=(\S+)", expected)
            if m.group(0) not in prev]
    got = [(r.result, r.props["header.d"]) for r in results]
    assert got == want


def _corpus_messages() -> list[tuple[str, bytes, SnapshotResolver]]:
    out: list[tuple[str, bytes, SnapshotResolver]] = []
    if not DKIM_DIR.is_dir():
        return out
    for case in DKIMPY["cases"]:
        out.append((f"dkimpy-{case['name']}",
                    (DKIM_DIR / "dkimpy" / "data" / case["message"]).read_bytes(),
                    _resolver(case["dns"])))
    ma = DKIM_DIR / "mailauth"
    out.append(("mailauth-signed", (ma / "signed.eml").read_bytes(),
                SnapshotResolver(_load(ma / "dns.json"), complete=True)))
    for case in AUTHHEADERS["cases"]:
        if case.get("message_file"):
            raw = (DKIM_DIR / "authheaders" / case["message_file"]).read_bytes()
        else:
            raw = case["message_inline"].encode()
        table = AUTHHEADERS["dns_tables"][case["options"].get("dnsfunc", "dnsfunc")]
        out.append((f"authheaders-{case['name']}", raw, _resolver(table)))
    return out


CORPUS = _corpus_messages()


@pytest.mark.parametrize("name,raw,resolver", CORPUS, ids=[c[0] for c in CORPUS])
def test_fast_path_matches_dkimpy_on_corpora(name: str, raw: bytes,
                                             resolver: SnapshotResolver) -> None:
    import dkim

    view = fast.split_message(raw)
    for idx in range(len(view.sig_headers())):
        try:
            want = bool(dkim.DKIM(raw).verify(idx=idx, dnsfunc=KeyFetcher(resolver)))
        except Exception:
            want = False
        got = fast.verify(view, idx, KeyFetcher(resolver), keys=fast.KeyCache()).status == "pass"
        assert got == want, (name, idx)
