"""The debug verbs ``spf`` and ``dmarc`` over a snapshot, and hostile DNS text on output."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mailaudit.cli.debug import dmarc_command, spf_command

SNAPSHOT = {"format": "mailaudit-dns/1", "complete": True, "records": {
    "example.com": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all exp=exp.example.com"]},
    "exp.example.com": {"TXT": ["[bold red]go away\x1b]0;pwned\x07"]},
    "_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject; x=[link=http://evil]y\u202e"]},
    "_dmarc.gov": {"TXT": ["v=DMARC1; p=reject; psd=y"]},
}}


def _snapshot(tmp_path: Path) -> str:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    return str(path)


def test_spf_verb_human_and_json(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    runner = CliRunner()
    out = runner.invoke(spf_command, ["--ip", "198.51.100.1", "--mail-from", "a@example.com",
                                      "--dns-snapshot", snap, "--offline"])
    assert out.exit_code == 1, out.output  # did not pass
    assert "spf=fail" in out.output
    assert "\x1b" not in out.output and "\\e]0;pwned\\x07" in out.output
    assert "[bold red]go away" in out.output  # shown as text, not interpreted
    out = runner.invoke(spf_command, ["--ip", "192.0.2.1", "--mail-from", "a@example.com",
                                      "--dns-snapshot", snap, "--format", "json"])
    assert json.loads(out.output)["result"] == "pass"


def test_dmarc_verb_shows_both_org_domains(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    runner = CliRunner()
    out = runner.invoke(dmarc_command, ["a.agency.gov", "--dns-snapshot", snap,
                                        "--format", "json"])
    report = json.loads(out.output)
    assert report["org_domain_psl"] == "agency.gov"
    assert report["org_domain_treewalk"] == "agency.gov"
    assert report["record_domain"] == "gov" and report["psd"] == "y"
    out = runner.invoke(dmarc_command, ["mail.example.com", "--dns-snapshot", snap])
    assert out.exit_code == 0
    assert "\u202e" not in out.output and "\\u202e" in out.output
    assert "[link=http://evil]" in out.output


def test_offline_without_snapshot_is_temperror() -> None:
    out = CliRunner().invoke(spf_command, ["--ip", "192.0.2.1", "--mail-from", "a@example.com",
                                           "--offline", "--format", "json"])
    assert json.loads(out.output)["result"] == "temperror"
