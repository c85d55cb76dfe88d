"""Hostile text from messages is shown, never interpreted: terminal escapes, rich markup, bidi
and zero-width characters in human output; formulas in CSV; invalid Unicode in JSON.

Everything runs through the real CLI in a subprocess, so what is checked is the bytes an
analyst's terminal, spreadsheet or JSON tool would receive.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from support.paths import REPO

REPO = REPO

ESC_TEXT = "\x1b[31mRED\x1b[0m"
OSC8 = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
OSC_TITLE = "\x1b]0;pwned\x07"
MARKUP = "[bold red]alert[/] [link=http://evil.example]x[/link]"
BIDI = "\u202egnp.exe\u202c"
ZERO_WIDTH = "zero\u200bwidth\ufeff"
C1_CSI = "\x9b31m"
HOSTILE = f"{ESC_TEXT} {OSC8} {OSC_TITLE} {MARKUP} {BIDI} {ZERO_WIDTH} {C1_CSI}"
# What must never reach the terminal from a message (rich's own SGR codes are allowed).
FORBIDDEN_CHARS = ("\x07", "\x9b", "\u202e", "\u202c", "\u200b", "\ufeff")
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def encoded_word(text: str) -> bytes:
    return b"=?utf-8?B?" + base64.b64encode(text.encode("utf-8")) + b"?="


def hostile_message() -> bytes:
    """Hostile text in the subject (encoded word and raw bytes), display name and Message-ID."""
    return (b"From: " + encoded_word(f"=cmd|' /C calc'!A0 {BIDI}\x1b[2J") + b" <a@b.example>\r\n"
            b"To: " + encoded_word(OSC_TITLE) + b" <v@e.example>\r\n"
            b"Subject: " + encoded_word(HOSTILE) + b" raw \x1b[5mblink\r\n"
            b"Message-ID: <\x1b[31m@x.example>\r\nDate: Tue, 20 May 2025 10:00:00 +0000\r\n"
            b"\r\nbody \x1b]0;title\x07\r\n")


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    return subprocess.run([sys.executable, "-m", "mailaudit", *args], capture_output=True,
                          env=env, cwd=cwd, timeout=120, check=False)


def assert_nothing_interpreted(out: bytes) -> str:
    """Only SGR escapes (rich's colours) may appear; everything else from the message is shown
    as visible escapes. Returns the text with the SGR codes removed."""
    plain = SGR.sub(b"", out)
    assert b"\x1b" not in plain, plain[plain.index(b"\x1b") - 40:plain.index(b"\x1b") + 40]
    text = plain.decode("utf-8")
    for ch in FORBIDDEN_CHARS:
        assert ch not in text, f"U+{ord(ch):04X} reached the output"
    return text


def assert_shown_literally(text: str) -> None:
    assert "\\e[31mRED\\e[0m" in text
    assert "\\e]8;;http://evil.example" in text
    assert "[bold red]alert[/]" in text and "[link=http://evil.example]x[/link]" in text
    assert "\\u202egnp.exe" in text and "zero\\u200bwidth" in text


@pytest.fixture
def hostile_file(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.eml"
    path.write_bytes(hostile_message())
    return path


@pytest.mark.parametrize("color", ["--color", "--no-color"])
def test_human_detail(hostile_file: Path, color: str) -> None:
    proc = run_cli(["check", str(hostile_file), "--offline", "--details", color],
                   hostile_file.parent)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    if color == "--no-color":
        assert b"\x1b" not in proc.stdout
    else:
        assert SGR.search(proc.stdout), "--color gave no colour at all"
    text = assert_nothing_interpreted(proc.stdout)
    assert_shown_literally(text)
    assert "\\e[2J" in text  # the display name's screen-clear, shown


@pytest.mark.parametrize("color", ["--color", "--no-color"])
def test_human_batch_lines(hostile_file: Path, color: str) -> None:
    second = hostile_file.parent / "second.eml"
    second.write_bytes(hostile_message().replace(b"hostile", b"second"))
    proc = run_cli(["check", str(hostile_file), str(second), "--offline", "--no-details", color],
                   hostile_file.parent)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    text = assert_nothing_interpreted(proc.stdout)
    assert "\\e[31mRED" in text


def test_slot_values_shown_literally(tmp_path: Path) -> None:
    """A genuine-looking, signed notification whose slot holds the hostile text: the abused
    verdict's slot table shows it escaped."""
    import random

    from mailaudit.dns.snapshot import write_snapshot
    from support.synth.build import Mailbox
    from support.synth.notify import Notification, open_workshop, send_notification

    shop = open_workshop(None)
    template = shop.catalog.template("entra.email-verification-code")
    values = {**(template.examples[0] if template.examples else {}), "tenant": HOSTILE}
    raw = send_notification(shop, Notification(template.id, values,
                                                Mailbox("Victim", "v@contoso-mail.example"),
                                                datetime(2025, 5, 20, 10, 0, tzinfo=UTC)),
                            random.Random(3))
    (tmp_path / "abused.eml").write_bytes(raw)
    write_snapshot(tmp_path / "dns.json", shop.records)
    proc = run_cli(["check", "abused.eml", "--dns-snapshot", "dns.json", "--offline",
                    "--details", "--color", "--trust-authserv-id", "mx.contoso-mail.example"],
                   tmp_path)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    text = assert_nothing_interpreted(proc.stdout)
    assert "ABUSED" in text and "tenant" in text  # the slot table is there
    assert "[bold red]alert[/]" in text
    assert "\\e]8;;http://evil.example" in text or "\\e[31mRED" in text


# -- CSV ----------------------------------------------------------------------------------------

FORMULAS = ["=1+2", "+1 800 555 0100", "-2+3", "@SUM(A1)", " =1", "\t=2", "=HYPERLINK(\"x\")"]


def test_csv_cells_are_neutralised(tmp_path: Path) -> None:
    paths = []
    for i, formula in enumerate(FORMULAS):
        p = tmp_path / f"f{i}.eml"
        p.write_bytes(b"From: " + encoded_word(formula) + b" <" + formula.strip().encode()
                      .replace(b" ", b"").replace(b'"', b"") + b"@b.example>\r\n"
                      b"Subject: " + encoded_word(formula) + b"\r\nMessage-ID: "
                      + encoded_word(formula) + b"\r\nDate: " + formula.encode() + b"\r\n\r\nx\r\n")
        paths.append(str(p))
    proc = run_cli(["check", *paths, "--offline", "--format", "csv"], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    rows = list(csv.reader(io.StringIO(proc.stdout.decode("utf-8"))))
    assert len(rows) == len(FORMULAS) + 1
    subjects = []
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
            assert not cell.lstrip().startswith(("=", "+", "@")), row
        subjects.append(row[rows[0].index("subject")])
    assert all(s.startswith("'") for s in subjects), subjects


# -- JSON ---------------------------------------------------------------------------------------

BROKEN_UNICODE = {
    "invalid-utf8": b"From: \xff\xfe <a@b.example>\r\nSubject: \xc3\x28 \xed\xa0\x80 \xf8\x88\r\n\r\nx\r\n",
    "encoded-invalid-utf8": b"Subject: =?utf-8?B?" + base64.b64encode(b"\xff\xed\xa0\x80") + b"?=\r\n\r\nx\r\n",
    "nul-and-controls": b"Subject: a\x00b\x01c\x7f\x1b\r\nFrom: <a\x00@b>\r\n\r\nx\r\n",
}
# A codec that decodes to lone surrogates: Python's UTF-7 decoder turns "+2AA-" into U+D800,
# and json.dumps(ensure_ascii=False) passes it on, so writing the line fails.
SURROGATES = {
    "utf7-lone-surrogate": b"From: =?utf-7?Q?+2AA-?= <a@b.example>\r\n"
                           b"Subject: =?utf-7?Q?+2AA-?=\r\n\r\nx\r\n",
    "unicode-escape-surrogate": b"Subject: =?unicode_escape?Q?\\ud800?=\r\n\r\nx\r\n",
}


def _check_json_output(tmp_path: Path, raw: bytes, fmt: str) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    proc = run_cli(["check", str(path), "--offline", "--format", fmt], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")[-800:]
    text = proc.stdout.decode("utf-8")  # strict: the output must be valid UTF-8
    records = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else json.loads(text)
    assert records and all(r["verdict"] != "error" for r in records)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("case", sorted(BROKEN_UNICODE))
def test_json_is_valid_utf8(tmp_path: Path, case: str, fmt: str) -> None:
    _check_json_output(tmp_path, BROKEN_UNICODE[case], fmt)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("case", sorted(SURROGATES))
def test_json_is_valid_utf8_with_lone_surrogates(tmp_path: Path, case: str, fmt: str) -> None:
    _check_json_output(tmp_path, SURROGATES[case], fmt)


def test_surrogates_shown_escaped_in_human_output(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(SURROGATES["utf7-lone-surrogate"])
    proc = run_cli(["check", str(path), "--offline", "--details", "--no-color"], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")[-800:]
    assert "\\ud800" in proc.stdout.decode("utf-8")
