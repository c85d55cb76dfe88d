"""The ``mailaudit dkim`` debug verb, offline and from a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mailaudit.cli.dkim import dkim_command
from mailaudit.report.text import visible
from support.paths import CORPORA

ED_RECORD = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
MAILAUTH = CORPORA / "dkim" / "mailauth"


def _message(tmp_path: Path) -> Path:
    if (MAILAUTH / "signed.eml").is_file():
        raw = (MAILAUTH / "signed.eml").read_bytes()
    else:  # an unverifiable signature still exercises the verb
        raw = (b"DKIM-Signature: v=1; a=ed25519-sha256; d=football.example.com; s=brisbane; "
               b"h=from; bh=AAAA; b=AAAA\r\nFrom: [red]x\x1b[0m@football.example.com\r\n\r\nhi\r\n")
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    return path


def test_offline_json_reports_unverifiable(tmp_path: Path) -> None:
    out = CliRunner().invoke(dkim_command, [str(_message(tmp_path)), "--offline",
                                            "--format", "json"])
    doc = json.loads(out.output)
    assert doc["dkim"][0]["result"] == "temperror"
    assert doc["dkim"][0]["props"]["dkim.unverifiable"] is True


def test_snapshot_human(tmp_path: Path) -> None:
    snap = tmp_path / "dns.json"
    snap.write_text(json.dumps({"format": "mailaudit-dns/1", "complete": True, "records": {
        "brisbane._domainkey.football.example.com": {"TXT": [ED_RECORD]}}}))
    out = CliRunner().invoke(dkim_command, [str(_message(tmp_path)), "--dns-snapshot", str(snap)])
    assert "dkim=" in out.output
    assert "📅" not in out.output  # ":date:" in h= is text, not an emoji code


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    out = CliRunner().invoke(dkim_command, [str(tmp_path / "nope.eml"), "--offline"])
    assert out.exit_code == 3


def test_control_characters_are_visible() -> None:
    assert visible("a\x1b[31m\u202eb\u200f\u2028\U000e0041\u00ad") == \
        "a\\e[31m\\u202eb\\u200f\\u2028\\U000e0041\\u00ad"
