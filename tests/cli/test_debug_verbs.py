"""The debug verbs agree with ``check`` and with each other: one exit-code rule (0 pass,
1 did not pass, 2 usage, 3 input), the same readers and checks, the same DNS budget."""

from __future__ import annotations

import json
from pathlib import Path

from mailaudit.templates.patterns import parse_pattern, pattern_text
from support.ptyrun import REPO, run_piped

SAMPLE = REPO / "samples" / "01-entra-verification-code-genuine.eml"
SNAP = {"format": "mailaudit-dns/1", "complete": True, "records": {
    "example.com": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
    "_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject"]},
}}


def _snap(tmp_path: Path) -> str:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(SNAP))
    return str(path)


def test_spf_bad_ip_is_a_usage_error(tmp_path: Path) -> None:
    ran = run_piped(["spf", "--ip", "nope", "--mail-from", "a@example.com", "--offline"],
                    cwd=tmp_path)
    assert ran.rc == 2 and b"nope" in ran.err


def test_spf_exit_code_follows_the_result(tmp_path: Path) -> None:
    snap = _snap(tmp_path)
    fail = run_piped(["spf", "--ip", "198.51.100.1", "--mail-from", "a@example.com",
                      "--dns-snapshot", snap], cwd=tmp_path)
    assert fail.rc == 1 and b"spf=fail" in fail.out
    ok = run_piped(["spf", "--ip", "192.0.2.1", "--mail-from", "a@example.com",
                    "--dns-snapshot", snap, "--format", "json"], cwd=tmp_path)
    assert ok.rc == 0 and json.loads(ok.out)["result"] == "pass"


def test_dkim_reads_standard_input(tmp_path: Path) -> None:
    ran = run_piped(["dkim", "-", "--offline", "--format", "json"], cwd=tmp_path,
                    input=SAMPLE.read_bytes())
    doc = json.loads(ran.out)
    assert doc["dkim"] and doc["dkim"][0]["props"]["header.d"] == "microsoftonline.com"
    assert ran.rc == 1  # offline: the key is not known, so it did not pass


def test_dkim_on_a_binary_file_is_not_mail(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01\x02\x03\xff" * 100)
    ran = run_piped(["dkim", str(path), "--offline"], cwd=tmp_path)
    assert ran.rc == 3
    assert b"not" in ran.err and b"mail" in ran.err
    assert b"not signed" not in ran.out


def test_dkim_with_the_samples_snapshot_passes() -> None:
    ran = run_piped(["dkim", str(SAMPLE), "--dns-snapshot", str(REPO / "samples" / "dns.json")],
                    cwd=REPO)
    assert ran.rc == 0, ran.out + ran.err
    assert b"dkim=pass" in ran.out


def test_dkim_runs_under_the_dns_budget(tmp_path: Path) -> None:
    sigs = "".join(f"DKIM-Signature: v=1; a=rsa-sha256; d=d{i}.example; s=s; h=from; "
                   "bh=AAAA; b=AAAA\r\n" for i in range(5))
    path = tmp_path / "m.eml"
    path.write_bytes((sigs + "From: a@d0.example\r\n\r\nhi\r\n").encode())
    ran = run_piped(["dkim", str(path), "--offline", "--format", "json",
                     "--limit", "max_dns_lookups=2"], cwd=tmp_path)
    doc = json.loads(ran.out)
    assert any(f["code"] == "limit-dns-lookups" for f in doc["findings"]), doc["findings"]


def test_dmarc_says_when_there_is_no_record(tmp_path: Path) -> None:
    ran = run_piped(["dmarc", "nothing.example", "--dns-snapshot", _snap(tmp_path)],
                    cwd=tmp_path)
    assert ran.rc == 1
    assert b"no DMARC record for nothing.example" in ran.out


def test_dmarc_takes_the_domain_of_an_address_and_says_so(tmp_path: Path) -> None:
    ran = run_piped(["dmarc", "someone@example.com", "--dns-snapshot", _snap(tmp_path),
                     "--format", "json"], cwd=tmp_path)
    assert ran.rc == 0
    report = json.loads(ran.out)
    assert report["domain"] == "example.com" and report["policy"] == "reject"
    assert b"is an address" in ran.err


def test_dmarc_refuses_what_is_not_a_domain(tmp_path: Path) -> None:
    ran = run_piped(["dmarc", "not a domain", "--dns-snapshot", _snap(tmp_path)], cwd=tmp_path)
    assert ran.rc == 2


def test_dmarc_matches_check(tmp_path: Path) -> None:
    """The verb and `check` find the same record the same way (one discovery)."""
    snap = str(REPO / "samples" / "dns.json")
    verb = json.loads(run_piped(["dmarc", "microsoftonline.com", "--dns-snapshot", snap,
                                 "--format", "json"], cwd=REPO).out)
    record = json.loads(run_piped(["check", str(SAMPLE), "--dns-snapshot", snap, "--offline",
                                   "--format", "json"], cwd=REPO).out)[0]
    (dmarc,) = [r for r in record["auth"]["recomputed"] if r["method"] == "dmarc"]
    assert verb["record"] == dmarc["props"]["dmarc.record"]
    assert verb["policy"] == dmarc["props"]["policy.dmarc"]


def test_templates_show_keeps_the_patterns_spacing() -> None:
    assert pattern_text(parse_pattern("Hi {name}, welcome to {team}.")) == \
        "Hi {name}, welcome to {team}."
    ran = run_piped(["templates", "show", "brightvest.deposit-received", "--templates",
                     str(REPO / "examples" / "templates")], cwd=REPO)
    assert b"Hi {name}," in ran.out and b"Hi {name} ," not in ran.out


def test_templates_test_reads_every_message_of_an_mbox(tmp_path: Path) -> None:
    mbox = tmp_path / "box.mbox"
    one = SAMPLE.read_bytes().replace(b"\r\n", b"\n")
    mbox.write_bytes(b"From a@b Tue May 20 10:00:00 2025\n" + one + b"\n"
                     b"From a@b Tue May 20 10:00:01 2025\n" + one + b"\n")
    ran = run_piped(["templates", "test", str(mbox), "--format", "json"], cwd=tmp_path)
    records = [json.loads(line) for line in ran.out.decode().splitlines()]
    assert len(records) == 2
    assert all(r["template"]["template_id"] == "entra.email-verification-code" for r in records)
    assert records[0]["ref"]["locator"] != records[1]["ref"]["locator"]
