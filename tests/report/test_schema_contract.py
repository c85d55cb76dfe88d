"""What docs/schema.md promises a script: result and method keywords, canonical header names,
the raw text kept beside them, ``envelope`` always an object, the From display name in CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from mailaudit.report.schema import RESULT_KEYWORDS, UNKNOWN
from support.ptyrun import REPO, run_piped

DOC = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
METHOD = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:/[0-9]+)?")

MESSAGE = (
    "authentication-results: mx.example; spf=bestguesspass smtp.mailfrom=a@x.example;"
    " dkim=\"\" header.d=x.example; dmarc=timeout header.from=x.example\r\n"
    "Authentication-RESULTS: mx.example; custom_header1=mickey@dkim.org;"
    " =?utf-8?b?c3bm?==PASS; arc=Pass; spf=HardFail\r\n"
    "Received: from a.example (a.example [192.0.2.1]) by mx.example; "
    "Tue, 20 May 2025 10:00:00 +0000\r\n"
    "From: \"Ledger Support\" <help@ledger7.onmicrosoft.com>\r\n"
    "Subject: s\r\nDate: Tue, 20 May 2025 10:00:00 +0000\r\n\r\nbody\r\n"
)


def _record(tmp_path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    path = tmp_path / "m.eml"
    path.write_bytes(MESSAGE.encode())
    ran = run_piped(["check", str(path), "--dns", "offline", "--format", "jsonl",
                     "--trust-authserv-id", "mx.example", *extra], cwd=tmp_path)
    return json.loads(ran.out)  # type: ignore[no-any-return]


def test_recorded_results_are_keywords_with_the_raw_text_kept(tmp_path: Path) -> None:
    record = _record(tmp_path)
    recorded = record["auth"]["recorded"]
    assert recorded
    for r in recorded:
        assert r["result"] in RESULT_KEYWORDS, r
        assert METHOD.fullmatch(r["method"]) or r["method"] == UNKNOWN, r
        assert r["header"] in ("Authentication-Results", "ARC-Authentication-Results",
                               "Received-SPF"), r
        if r["method"] == UNKNOWN:
            assert "method.raw" in r["props"]
    by_raw = {r["props"].get("result.raw"): r for r in recorded if "result.raw" in r["props"]}
    assert "bestguesspass" in by_raw and by_raw["bestguesspass"]["result"] == "permerror"
    assert any(r["method"] == "arc" and r["result"] == "pass" for r in recorded)
    assert any(r["method"] == "spf" and r["result"] == "fail" for r in recorded)  # hardfail
    assert all("?" not in r["method"] and "=" not in r["method"] for r in recorded)


def test_envelope_is_always_an_object(tmp_path: Path) -> None:
    env = _record(tmp_path, "--no-recompute")["auth"]["envelope"]
    assert set(env) == {"ip", "helo", "mail_from", "source"}
    no_env = tmp_path / "n.eml"
    no_env.write_bytes(b"From: a@x.example\r\nSubject: s\r\n\r\nb\r\n")
    ran = run_piped(["check", str(no_env), "--dns", "offline", "--format", "jsonl"],
                    cwd=tmp_path)
    env = json.loads(ran.out)["auth"]["envelope"]
    assert env == {"ip": None, "helo": None, "mail_from": None, "source": "none"}


def test_csv_has_the_from_display_name(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(MESSAGE.encode())
    ran = run_piped(["check", str(path), "--dns", "offline", "--format", "csv"], cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(ran.out.decode())))
    assert rows[0]["from_name"] == "Ledger Support"
    assert rows[0]["from"] == "help@ledger7.onmicrosoft.com"


def test_every_key_and_value_is_documented(tmp_path: Path) -> None:
    from mailaudit.report.schema import AUTH_KEYS, CSV_COLUMNS, RECORD_KEYS

    for key in (*RECORD_KEYS, *AUTH_KEYS):
        assert f"`{key}`" in DOC, key
    for column in CSV_COLUMNS:
        assert column in DOC, column
    for word in (*RESULT_KEYWORDS, UNKNOWN, "result.raw", "method.raw", "unrecognized",
                 "sending_tenant", "statements"):
        assert f"`{word}`" in DOC, word
