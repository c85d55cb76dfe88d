"""The installed `mailaudit` command, run as a user runs it: exit codes, formats, schema."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mailaudit.model import SCHEMA_VERSION, ExitCode, Verdict
from mailaudit.report.schema import AUTH_KEYS, CSV_COLUMNS, RECORD_KEYS
from support.cli import ABUSED, GENUINE, SAMPLES, offline, run
from support.synth.samples import expected_verdicts


def test_version_and_help() -> None:
    out = run("--version")
    assert out.returncode == 0 and b"mailaudit" in out.stdout
    for cmd in (["--help"], ["check", "--help"], ["dns", "record", "--help"], ["templates", "--help"],
                ["spf", "--help"], ["dmarc", "--help"], ["dkim", "--help"]):
        res = run(*cmd)
        assert res.returncode == 0, (cmd, res.stderr)
        assert b"Usage:" in res.stdout


def test_python_dash_m_works() -> None:
    res = subprocess.run([sys.executable, "-m", "mailaudit", "--version"], capture_output=True, check=False)
    assert res.returncode == 0 and b"0." in res.stdout


def test_genuine_message_exits_0_and_abused_exits_1() -> None:
    ok = run(*offline("check", GENUINE))
    assert ok.returncode == ExitCode.OK, ok.stderr
    assert b"AUTHENTIC" in ok.stdout
    bad = run(*offline("check", ABUSED))
    assert bad.returncode == ExitCode.FLAGGED
    assert b"ABUSED" in bad.stdout


def test_fail_on_chooses_what_counts_as_flagged() -> None:
    assert run(*offline("check", ABUSED, "--fail-on", "spoofed")).returncode == ExitCode.OK
    assert run(*offline("check", GENUINE, "--fail-on", "authentic")).returncode == ExitCode.FLAGGED


@pytest.mark.parametrize("args", [
    ["check"],
    ["check", "x.eml", "--format", "xml"],
    ["check", "x.eml", "--fail-on", "bogus"],
    ["check", "x.eml", "--limit", "max_nothing=3"],
    ["check", "x.eml", "--resume", "out.jsonl"],  # resume needs --format jsonl
    ["nosuchcommand"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    res = run(*args)
    assert res.returncode == ExitCode.USAGE, res.stderr


def test_missing_input_exits_3_and_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.eml"
    res = run(*offline("check", missing))
    assert res.returncode == ExitCode.INPUT
    assert str(missing).encode() in res.stdout + res.stderr


def test_bad_snapshot_exits_3_with_a_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "dns.json"
    bad.write_text("{not json")
    res = run("check", GENUINE, "--dns-snapshot", bad)
    assert res.returncode == ExitCode.INPUT
    assert b"not valid JSON" in res.stderr and str(bad).encode() in res.stderr


def test_bad_template_pack_exits_3(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "bad.yaml").write_text("senders:\n  - id: x\n    colour: blue\n")
    res = run(*offline("check", GENUINE, "--templates", pack))
    assert res.returncode == ExitCode.INPUT
    assert b"bad.yaml" in res.stderr


def test_unusable_nameserver_exits_4() -> None:
    res = run("check", GENUINE, "--nameserver", "not-an-address")
    assert res.returncode == ExitCode.DNS
    assert b"--nameserver" in res.stderr


def test_batch_with_one_bad_item_goes_on(tmp_path: Path) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    shutil.copy(GENUINE, tmp_path / "good.eml")
    res = run(*offline("check", tmp_path / "empty.eml", tmp_path / "good.eml", "--format", "jsonl"))
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["verdict"] for r in records] == ["error", "authentic"]
    assert records[0]["error"]["code"] == "empty"
    assert res.returncode == ExitCode.FLAGGED  # an error record counts (default --fail-on)


def _check_record(record: dict[str, Any]) -> None:
    assert tuple(record) == RECORD_KEYS
    assert record["schema"] == SCHEMA_VERSION
    ref = record["ref"]
    assert isinstance(ref, dict) and set(ref) == {"path", "locator"}
    assert record["verdict"] in {v.value for v in Verdict}
    auth = record["auth"]
    assert isinstance(auth, dict) and tuple(auth) == AUTH_KEYS
    for r in auth["recomputed"]:
        assert set(r) == {"method", "result", "reason", "props"}
    for r in auth["recorded"]:
        assert {"method", "result", "reason", "props", "authserv_id", "trusted"} <= set(r)
    for f in record["findings"]:
        assert set(f) == {"code", "severity", "message", "evidence"}
    tmpl = record["template"]
    if tmpl is not None:
        assert {"sender", "template_id", "slots", "off_template", "signals", "score"} <= set(tmpl)


def test_every_format_follows_the_schema() -> None:
    files = sorted(SAMPLES.glob("*.eml"))
    jsonl = run(*offline("check", *files, "--format", "jsonl"))
    records = [json.loads(line) for line in jsonl.stdout.decode("utf-8").splitlines()]
    assert len(records) == len(files) + 1  # the reported phish inside sample 12
    for rec in records:
        _check_record(rec)

    as_json = run(*offline("check", *files, "--format", "json"))
    array = json.loads(as_json.stdout.decode("utf-8"))
    assert array == records

    as_csv = run(*offline("check", *files, "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.decode("utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["verdict"] for r in rows] == [r["verdict"] for r in records]


def test_samples_get_their_documented_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "report.jsonl"
    res = run(*offline("check", *sorted(SAMPLES.glob("*.eml")), "--format", "jsonl", "-o", out))
    assert res.returncode == ExitCode.FLAGGED
    got = {Path(r["ref"]["path"]).name: r["verdict"]
           for r in map(json.loads, out.read_text().splitlines()) if r["parent"] is None}
    assert got == expected_verdicts()
    # replay is offline and complete: nothing in the samples is "not captured"
    text = out.read_text()
    assert "not captured" not in text


def test_attached_message_is_its_own_record_with_parent() -> None:
    forward = next(SAMPLES.glob("12-*.eml"))
    res = run(*offline("check", forward, "--format", "jsonl"))
    parent, child = (json.loads(line) for line in res.stdout.splitlines())
    assert child["parent"] == parent["ref"]
    assert child["ref"]["locator"].startswith("attachment=")
    assert child["verdict"] == "abused"


def test_stdin_is_read_with_dash() -> None:
    res = run(*offline("check", "-", "--format", "jsonl"), stdin=ABUSED.read_bytes())
    rec = json.loads(res.stdout)
    assert rec["ref"]["path"] == "-" and rec["verdict"] == "abused"


def test_offline_without_snapshot_is_unverifiable_not_fail() -> None:
    res = run("check", GENUINE, "--offline", "--format", "jsonl")
    rec = json.loads(res.stdout)
    results = {r["method"]: r["result"] for r in rec["auth"]["recomputed"]}
    assert results["dkim"] == "temperror" and results["dmarc"] == "temperror"
    # the trusted receiver's record stands in, and the verdict says so
    assert rec["verdict"] == "authentic"
    assert "recomputation was inconclusive" in rec["reason"]


def test_no_recompute_judges_on_recorded_results_and_says_so() -> None:
    res = run("check", GENUINE, "--no-recompute", "--format", "jsonl")
    rec = json.loads(res.stdout)
    assert rec["auth"]["recomputed"] == [] and rec["auth"]["recomputed_ran"] is False
    assert "recorded results only" in rec["reason"]


def test_output_file_and_human_summary(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    res = run(*offline("check", *sorted(SAMPLES.glob("*.eml")), "-o", out))
    assert res.stdout == b""
    text = out.read_text()
    assert "Summary" in text and "\x1b" not in text


# --- one place turns a MailauditError into a sentence and an exit code (cli.main) ---------------

@pytest.mark.parametrize("verb", [
    ["check", GENUINE],
    ["spf", "--ip", "192.0.2.1", "--mail-from", "a@example.com"],
    ["dmarc", "example.com"],
    ["dkim", GENUINE],
    ["templates", "learn", GENUINE, "-o", "{out}"],
], ids=["check", "spf", "dmarc", "dkim", "templates-learn"])
def test_every_verb_says_a_bad_snapshot_the_same_way(tmp_path: Path, verb: list[str | Path]) -> None:
    bad = tmp_path / "dns.json"
    bad.write_text("{not json")
    args = [str(a).replace("{out}", str(tmp_path / "out")) for a in verb]
    res = run(*args, "--dns-snapshot", bad)
    assert res.returncode == ExitCode.INPUT, res.stderr
    lines = res.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mailaudit: {bad}: ") and "not valid JSON" in lines[0]
    assert b"not valid JSON" not in res.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("verb", [["templates", "list"], ["templates", "show", "x"],
                                  ["templates", "test", GENUINE], ["check", GENUINE, "--offline"]],
                         ids=["list", "show", "test", "check"])
def test_every_verb_says_a_bad_template_pack_the_same_way(tmp_path: Path,
                                                          verb: list[str | Path]) -> None:
    (tmp_path / "x.yaml").write_text("format: nope\n\x1b[31m", "utf-8")
    res = run(*verb, "--templates", tmp_path)
    assert res.returncode == ExitCode.INPUT, res.stderr
    lines = res.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mailaudit: {tmp_path / 'x.yaml'}:1:")
    assert b"\x1b" not in res.stderr + res.stdout
