"""One rule for terminal output: nothing from a message, a snapshot, a template pack or the file
system reaches the analyst's terminal as a control sequence.

Every field of every kind of result (recorded, ARC first hop, disagreements, findings, errors,
summary, progress) is filled with the same payload (ESC, CSI, OSC title/clipboard/hyperlink,
DCS, C1 controls, RIS, bidi overrides, variation selectors, tag characters, rich markup) and the
installed command is run in a pseudo-terminal. The test fails on any byte rich did not write.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.ptyrun import REPO, foreign_bytes, run_piped, run_pty

OSC_TITLE = "\x1b]0;PWNED\x1b\\"
OSC_CLIP = "\x1b]52;c;d293c29z\x07"
OSC_LINK = "\x1b]8;;http://evil.example/\x1b\\CLICK\x1b]8;;\x1b\\"
BLINK = "\x1b[5;41mBLINK\x1b[0m"
DCS = "\x1bP1$qm\x1b\\"
RIS = "\x1bc"
C1 = "\x9b2J\x9d0;c1\x9c\x85"
BIDI = "\u202egnp.exe\u2066"
VARIATION = "M\U000e0139i\ufe0fc\U000e0041"
MARKUP = "[bold green] authentic [/][link=http://evil.example]x[/link]"
PAYLOAD = "".join([OSC_TITLE, OSC_CLIP, OSC_LINK, BLINK, DCS, RIS, C1, BIDI, VARIATION, MARKUP])
# A result token cannot hold spaces or ";" (RFC 8601 grammar), but a hostile one is read
# leniently up to them: keep one without.
TOKEN = PAYLOAD.replace(" ", "").replace(";", "")

RAW_SEQUENCES = [s.encode() for s in (OSC_TITLE[:4], "\x1b]52", "\x1b]8;", "\x1b[5;41", "\x1bP",
                                       "\x1bc", "\u202e", "\U000e0139")]


def assert_clean(out: bytes) -> None:
    for seq in RAW_SEQUENCES:
        assert seq not in out, f"{seq!r} reached the terminal"
    problems = foreign_bytes(out)
    assert not problems, "\n".join(problems[:10])


def hostile_message() -> bytes:
    h = TOKEN
    lines = [
        f"Authentication-Results: mx.example; spf={h} smtp.mailfrom={h}@x.example;"
        f" dkim={h} header.d=x.example header.s={h}; dmarc={h} header.from=x.example;"
        f" arc={h}",
        f"ARC-Authentication-Results: i=1; mx.example; spf={h}; dkim={h} header.d=x.example",
        f"ARC-Seal: i=1; a=rsa-sha256; cv=none; d={h}; s={h}; b=AAAA",
        f"ARC-Message-Signature: i=1; a=rsa-sha256; d=x.example; s={h}; h=from; bh=AAAA; b=AAAA",
        f"DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s={h}; h=from; bh=AAAA; b=AAAA",
        f"Received-SPF: {h} (x) client-ip=192.0.2.1; helo={h}",
        "Received: from a.example (a.example [192.0.2.1]) by mx.example; "
        "Tue, 20 May 2025 10:00:00 +0000",
        f"From: \"{PAYLOAD}\" <a@x.example>",
        f"To: \"{PAYLOAD}\" <v@y.example>",
        f"Subject: {PAYLOAD}",
        f"Message-ID: <{TOKEN}@x.example>",
        "Date: Tue, 20 May 2025 10:00:00 +0000",
        "",
        f"body {PAYLOAD}",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    # The file system is hostile too: a file name may hold ESC and bidi characters.
    (d / f"m{OSC_TITLE}{BIDI}.eml").write_bytes(hostile_message())
    (d / "plain.eml").write_bytes(hostile_message())
    (d / f"bin{OSC_TITLE}.eml").write_bytes(b"\x00\x01\x02\xff" * 64)
    return d


def test_single_message_every_field(hostile_dir: Path) -> None:
    path = hostile_dir / "plain.eml"
    ran = run_pty(["check", str(path), "--dns", "offline", "--trust-authserv-id", "mx.example"],
                  cwd=hostile_dir)
    assert_clean(ran.out)
    text = ran.text
    # Shown, not interpreted: the analyst sees that the sequences are there.
    assert "\\e]0;PWNED" in text or "\\e]0;pwned" in text
    assert "\\u202e" in text
    assert "\\U000e0139" in text
    assert "≠" in text, "a disagreement line is part of what this test must cover"


def test_single_message_recorded_only(hostile_dir: Path) -> None:
    ran = run_pty(["check", str(hostile_dir / "plain.eml"), "--no-recompute"], cwd=hostile_dir)
    assert_clean(ran.out)


def test_batch_lines_errors_summary_and_progress(hostile_dir: Path) -> None:
    ran = run_pty(["check", str(hostile_dir), "--dns", "offline", "--progress",
                   "--trust-authserv-id", "mx.example"], cwd=hostile_dir)
    assert_clean(ran.out)
    assert "Summary" in ran.text
    assert "error" in ran.text.lower()


def test_batch_details(hostile_dir: Path) -> None:
    ran = run_pty(["check", str(hostile_dir), "--dns", "offline", "--details", "--no-progress"],
                  cwd=hostile_dir)
    assert_clean(ran.out)


@pytest.mark.parametrize("args", [["plain.eml"], [".", "--details"], ["."]])
def test_piped_human_output_holds_no_escape_at_all(hostile_dir: Path, args: list[str]) -> None:
    """Piped, the report is drawn as plain lines (no rich): not one ESC or C1 byte, and the
    hostile sequences still shown."""
    ran = run_piped(["check", *args, "--dns", "offline", "--trust-authserv-id", "mx.example",
                     "--no-progress"], cwd=hostile_dir)
    assert_clean(ran.out)
    assert b"\x1b" not in ran.out and "\x9b".encode() not in ran.out
    assert b"\\u202e" in ran.out


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_machine_formats_on_a_terminal(hostile_dir: Path, fmt: str) -> None:
    ran = run_pty(["check", str(hostile_dir), "--dns", "offline", "--format", fmt,
                   "--no-progress"], cwd=hostile_dir)
    assert_clean(ran.out)


def test_json_escapes_invisible_characters_and_keeps_the_data(hostile_dir: Path) -> None:
    ran = run_piped(["check", str(hostile_dir / "plain.eml"), "--dns", "offline",
                     "--format", "json"], cwd=hostile_dir)
    out = ran.out.decode("utf-8")
    for ch in ("\u202e", "\U000e0139", "\ufe0f", "\U000e0041", "\x9b", "\x85", "\u2066"):
        assert ch not in out, f"U+{ord(ch):04X} written raw in JSON"
    record = json.loads(out)[0]
    assert record["subject"] == PAYLOAD


def test_jsonl_one_record_per_line(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        (d / f"{i}.eml").write_bytes(
            f"From: a@x.example\r\nSubject: a\u2028b\u2029c\u0085d {i}\r\n\r\nx\r\n".encode())
    ran = run_piped(["check", str(d), "--dns", "offline", "--format", "jsonl"], cwd=tmp_path)
    text = ran.out.decode("utf-8")
    lines = text.splitlines()
    assert len(lines) == 3, lines
    assert all(json.loads(line)["subject"].startswith("a\u2028b\u2029c\u0085d") for line in lines)


@pytest.mark.parametrize("start", ["\uff1d", "\uff0b", "\uff0d", "\uff20", "\u00a0=", " =",
                                   "\u3000+", "\ufe66"])
def test_csv_neutralises_lookalike_formula_starts(tmp_path: Path, start: str) -> None:
    import csv
    import io

    msg = tmp_path / "f.eml"
    msg.write_bytes(f"From: a@x.example\r\nSubject: {start}HYPERLINK(\"http://e\")\r\n\r\nx\r\n"
                    .encode())
    ran = run_piped(["check", str(msg), "--dns", "offline", "--format", "csv"], cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(ran.out.decode("utf-8"))))
    assert rows[0]["subject"].startswith("'"), rows[0]["subject"]


def test_hostile_snapshot_name_on_stderr(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps({"format": "mailaudit-dns/1",
                                "records": {f"a{OSC_TITLE}.example": {"TXT": [1]}}}))
    sample = REPO / "samples" / "01-entra-verification-code-genuine.eml"
    ran = run_pty(["check", str(sample), "--dns-snapshot", str(snap)], cwd=tmp_path)
    assert ran.rc == 3
    assert_clean(ran.out)
    assert "\\e]0;PWNED" in ran.text


def _hostile_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    src = (REPO / "src" / "mailaudit" / "templates" / "data" / "billing.yaml").read_text()
    hostile_id = json.dumps("m365-billing" + OSC_TITLE + BIDI)
    (pack / "p.yaml").write_text(src.replace("id: m365-billing", f"id: {hostile_id}", 1))
    return pack


@pytest.mark.parametrize("verb", [["templates", "list"], ["check", "--dns", "offline"]])
def test_hostile_template_pack_id_on_stderr(tmp_path: Path, verb: list[str]) -> None:
    pack = _hostile_pack(tmp_path)
    args = [*verb, "--templates", str(pack)]
    if verb[0] == "check":
        args.append(str(REPO / "samples" / "01-entra-verification-code-genuine.eml"))
    ran = run_pty(args, cwd=tmp_path)
    assert ran.rc == 3
    assert_clean(ran.out)
    assert "\\e]0;PWNED" in ran.text


def test_debug_verbs_are_clean(hostile_dir: Path) -> None:
    ran = run_pty(["dkim", str(hostile_dir / "plain.eml"), "--offline"], cwd=hostile_dir)
    assert_clean(ran.out)
    ran = run_pty(["templates", "test", str(hostile_dir / "plain.eml")], cwd=hostile_dir)
    assert_clean(ran.out)
