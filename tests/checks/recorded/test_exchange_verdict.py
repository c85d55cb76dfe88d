"""Exchange Online's own verdict (SCL, SFV, CAT, SFTY, BCL, compauth, AuthAs, the sending
tenant) in plain words, in the report and in JSON, only when Exchange Online was the trusted
receiver; ``ms-headers-untrusted`` said once per batch."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.parse import parse_message
from support.ptyrun import run_piped, run_pty
from support.recorded_samples import EXCHANGE_ONLINE, GMAIL_WITH_UPSTREAM

PHISH = (EXCHANGE_ONLINE
         .replace(b"X-MS-Exchange-Organization-SCL: 1", b"X-MS-Exchange-Organization-SCL: 5")
         .replace(b"SCL:1;", b"SCL:5;").replace(b"SFV:NSPM", b"SFV:SPM")
         .replace(b"CAT:NONE", b"CAT:PHSH;SFTY:9.22").replace(b"CTRY:;", b"CTRY:NG;")
         .replace(b"X-Microsoft-Antispam: BCL:0;", b"X-Microsoft-Antispam: BCL:3;")
         .replace(b"compauth=pass reason=100", b"compauth=fail reason=000")
         .replace(b"Message-ID:", b"X-OriginatorOrg: ledgerwallet7.onmicrosoft.com\r\n"
                  b"X-MS-Exchange-CrossTenant-Id: 0b1c2d3e-aaaa-bbbb-cccc-0123456789ab\r\n"
                  b"Message-ID:"))

UNTRUSTED = GMAIL_WITH_UPSTREAM.replace(
    b"Subject: hi\n",
    b"Subject: hi\nX-Forefront-Antispam-Report: SCL:-1;SFV:SKN;CAT:NONE\n"
    b"X-OriginatorOrg: microsoft.com\n")

PLAIN = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def test_decoded_in_plain_words() -> None:
    ex = read_recorded(parse_message(PHISH)).exchange
    assert ex is not None and ex.spam is True
    text = "\n".join(ex.statements)
    assert "Exchange Online marked this spam (SCL 5, SFV:SPM)" in text
    assert "classified it as phishing (CAT:PHSH)" in text
    assert "SFTY:9.22: cross-domain spoofing" in text
    assert "compauth=fail, reason 000: failed explicit authentication" in text
    assert "BCL 3" in text and "country NG" in text
    assert "sent from tenant ledgerwallet7.onmicrosoft.com" in text
    assert ex.sending_tenant == "ledgerwallet7.onmicrosoft.com"
    assert ("CrossTenant-Id", "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab") in ex.fields


def test_clean_message_says_so() -> None:
    ex = read_recorded(parse_message(EXCHANGE_ONLINE)).exchange
    assert ex is not None and ex.spam is False
    assert ex.statements[0] == "Exchange Online did not mark this spam (SCL 1, SFV:NSPM)"
    assert any("reason 100: passed composite authentication" in s for s in ex.statements)


def test_not_trusted_when_exchange_was_not_the_receiver() -> None:
    rec = read_recorded(parse_message(UNTRUSTED))
    assert rec.exchange is None
    assert any(f.code == "ms-headers-untrusted" for f in rec.findings)


def test_report_and_json_through_the_command(tmp_path: Path) -> None:
    path = tmp_path / "phish.eml"
    path.write_bytes(PHISH)
    ran = run_pty(["check", str(path), "--no-recompute"], cwd=tmp_path, cols=80)
    text = PLAIN.sub("", ran.text)
    assert "Exchange Online (the receiver's own verdict)" in text
    assert "Exchange Online marked this spam (SCL 5, SFV:SPM)" in text
    assert "sent from tenant ledgerwallet7.onmicrosoft.com" in text
    ran = run_piped(["check", str(path), "--no-recompute", "--format", "json"], cwd=tmp_path)
    record = json.loads(ran.out)[0]
    ex = record["auth"]["exchange"]
    assert ex["spam"] is True and ex["sending_tenant"] == "ledgerwallet7.onmicrosoft.com"
    assert ex["fields"]["SCL"] == "5" and ex["fields"]["SFV"] == "SPM"
    assert ex["statements"][0] == "Exchange Online marked this spam (SCL 5, SFV:SPM)"


def test_untrusted_headers_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "list.eml"
    path.write_bytes(UNTRUSTED)
    ran = run_piped(["check", str(path), "--no-recompute", "--format", "json"], cwd=tmp_path)
    assert json.loads(ran.out)[0]["auth"]["exchange"] is None
    ran = run_pty(["check", str(path), "--no-recompute"], cwd=tmp_path)
    assert "Exchange Online (the receiver" not in ran.text


def test_ms_headers_untrusted_once_per_batch(tmp_path: Path) -> None:
    d = tmp_path / "list"
    d.mkdir()
    for i in range(5):
        (d / f"{i}.eml").write_bytes(UNTRUSTED.replace(b"Subject: hi", f"Subject: hi {i}".encode()))
    ran = run_pty(["check", str(d), "--no-recompute", "--details", "--no-progress"], cwd=tmp_path,
                  cols=100)
    text = PLAIN.sub("", ran.text)
    assert text.count("ms-headers-untrusted: ") == 1, text
    assert "5 messages carry X-Forefront-Antispam-Report" in text
