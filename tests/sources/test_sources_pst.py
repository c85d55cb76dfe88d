"""Outlook PST/OST input (sources/pst.py) on the shared corpus files (INVENTORY.md, "mail/pst"):
support.pst (Unicode PST, 17 messages with transport headers), 32-bit.pst (ANSI PST whose one
item is an appointment). Damaged files are made in the test from a copy of support.pst."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mailaudit.audit import audit_item
from mailaudit.model import RawMessage, SourceError, Verdict
from mailaudit.options import AuditOptions, Limits
from mailaudit.sources import iter_messages, pst

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PST_DIR = ROOT.parent / "shared" / "corpora" / "mail" / "pst"
SUPPORT = PST_DIR / "support.pst"
ANSI = PST_DIR / "32-bit.pst"
LIMITS = Limits()


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not present; the PST tests need the shared development corpora")
    pytest.importorskip("pypff", reason="libpff-python is not installed (pip install -e '.[pst]')")


def _read(path: Path | str) -> list[RawMessage | SourceError]:
    pst.reset_skipped()
    return list(iter_messages([str(path)], limits=LIMITS))


def _mailaudit(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    exe = Path(sys.executable).parent / "mailaudit"
    found = str(exe) if exe.exists() else shutil.which("mailaudit")
    assert found, "the mailaudit console script is not installed (pip install -e .)"
    return subprocess.run([found, *map(str, args), "--offline", "--no-progress"], input=stdin,
                          capture_output=True, timeout=120, check=False)


def test_support_pst_gives_17_messages_with_stable_folder_refs() -> None:
    _need(SUPPORT)
    items = _read(SUPPORT)
    assert all(isinstance(i, RawMessage) for i in items), items
    assert len(items) == 17
    locators = [i.ref.locator for i in items]
    assert len(set(locators)) == 17
    assert locators[0] == "pst:Top of Personal Folders/Drafts#0"
    assert locators[-1] == "pst:Top of Personal Folders/Sent Messages#10"
    assert sum(loc.startswith("pst:Top of Personal Folders/Sent Messages#") for loc in locators) == 11
    for raw in items:
        assert isinstance(raw, RawMessage)
        assert b"X-Mailaudit-Source: pst-transport-headers\r\n" in raw.data
        assert [f.code for f in raw.findings] == [pst.REBUILT_CODE] and raw.caveat == ""
        assert b"Received:" in raw.data or b"From:" in raw.data
    assert _read(SUPPORT) == items  # same refs and bytes on every read


def test_support_pst_audits_with_subjects() -> None:
    _need(SUPPORT)
    items = _read(SUPPORT)
    results = [r for item in items for r in audit_item(item, resolver=None, catalog=None,
                                                       options=AuditOptions(recompute=False))]
    assert len(results) == 17
    assert all(r.verdict is not Verdict.ERROR for r in results)
    subjects = [r.subject for r in results]
    assert "Desktop exploits suspension notice" in subjects
    assert "IMPORTANT: Support portal downtime for maintenance" in subjects
    assert sum(bool(s) for s in subjects) == 14  # three drafts were saved with an empty subject


def test_content_decides_not_the_name(tmp_path: Path) -> None:
    _need(SUPPORT)
    copy = tmp_path / "mailbox-export.dat"
    shutil.copyfile(SUPPORT, copy)
    assert pst.detect(str(copy))
    assert not pst.detect(str(Path(__file__)))
    assert len([i for i in _read(copy) if isinstance(i, RawMessage)]) == 17


def test_pst_with_no_messages_says_so_and_counts_what_it_skipped() -> None:
    _need(ANSI)
    items = _read(ANSI)
    assert len(items) == 1 and isinstance(items[0], SourceError)
    assert items[0].code == "no-mail"
    assert "no messages in this PST/OST file" in items[0].message
    assert "1 item that is not mail skipped" in items[0].message
    assert pst.skipped_counts() == {(str(ANSI), "appointment"): 1}
    assert pst.skipped_summary() == [
        f"{ANSI}: skipped 1 item that is not mail (1 appointment)"]


def test_item_without_transport_headers_says_what_could_not_be_checked() -> None:
    # The ANSI file's one item is real PST content with no transport headers and 8-bit
    # (cp1252) strings: rebuilt from its properties, it must carry the finding and caveat.
    _need(ANSI)
    import pypff

    pff = pypff.file()
    pff.open(str(ANSI))
    try:
        calendar = pff.get_root_folder().get_sub_folder(0).get_sub_folder(1)
        item = calendar.get_sub_message(0)
        built = pst.build_message(item, pst._properties(item), LIMITS)
    finally:
        pff.close()
    head = built.data.split(b"\r\n\r\n", 1)[0]
    assert b"X-Mailaudit-Source: pst-properties" in head
    assert b"From: Cyndy Foulkrod" in head
    assert b"Subject: Updated: Olympus training for new hires" in head
    assert b"Message-ID: <68D707482AFCAC478675833B9A2023AEAFB006@" in head
    assert b"/O=INRS" not in head  # X.500 DNs are not mail addresses
    assert [f.code for f in built.findings] == [pst.REBUILT_CODE, pst.NO_HEADERS_CODE]
    raw = RawMessage(pst.MessageRef(str(ANSI), "pst:test#0"), built.data,
                     findings=built.findings, caveat=built.caveat)
    [result] = audit_item(raw, resolver=None, catalog=None, options=AuditOptions(recompute=False))
    assert result.verdict is not Verdict.ERROR
    assert pst.NO_HEADERS_CODE in [f.code for f in result.findings]
    assert result.reason.endswith(pst.NO_HEADERS_CAVEAT)
    assert result.subject == "Updated: Olympus training for new hires"


@pytest.mark.parametrize("size", [100, 600, 100_000])
def test_truncated_pst_is_one_clear_error_naming_the_file(tmp_path: Path, size: int) -> None:
    _need(SUPPORT)
    cut = tmp_path / "cut.pst"
    cut.write_bytes(SUPPORT.read_bytes()[:size])
    items = _read(cut)
    assert len(items) == 1 and isinstance(items[0], SourceError), items
    assert items[0].code == "bad-pst"
    assert items[0].message.startswith(f"{cut}: not a readable PST/OST file (libpff: ")
    assert "cut short" in items[0].message


def test_pst_cut_inside_its_folder_tree_reports_and_goes_on(tmp_path: Path) -> None:
    _need(SUPPORT)
    cut = tmp_path / "cut.pst"
    cut.write_bytes(SUPPORT.read_bytes()[:900_000])
    items = _read(cut)
    errors = [i for i in items if isinstance(i, SourceError)]
    assert errors and all(e.code == "bad-pst" and str(cut) in e.message for e in errors)


def test_damaged_page_fails_that_message_not_the_file(tmp_path: Path) -> None:
    _need(SUPPORT)
    data = bytearray(SUPPORT.read_bytes())
    data[0x70000:0x71000] = b"\xff" * 0x1000  # one damaged 4 KiB run inside the data blocks
    damaged = tmp_path / "damaged.pst"
    damaged.write_bytes(bytes(data))
    items = _read(damaged)
    raws = [i for i in items if isinstance(i, RawMessage)]
    errors = [i for i in items if isinstance(i, SourceError)]
    assert len(raws) + len(errors) == 17
    assert raws and errors
    for error in errors:
        assert error.code == "bad-pst"
        assert error.ref.locator.startswith("pst:Top of Personal Folders/")
        assert "this item of the PST/OST is damaged" in error.message
    good = {i.ref.locator: i.data for i in _read(SUPPORT)}
    # The rest is read unchanged (one message whose body block was hit reads with changed
    # bytes: libpff does not checksum every data block of a Unicode PST).
    assert sum(good[r.ref.locator] == r.data for r in raws) >= len(raws) - 1


def test_without_the_extra_one_line_names_it(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulates libpff-python not being installed (it is third-party, not ours).
    head = tmp_path / "export.pst"
    head.write_bytes(b"!BDN" + b"\x00" * 508)
    monkeypatch.setitem(sys.modules, "pypff", None)
    [item] = list(iter_messages([str(head)], limits=LIMITS))
    assert isinstance(item, SourceError) and item.code == "pst-extra-missing"
    assert "pip install 'mailaudit[pst]'" in item.message and "\n" not in item.message


def test_folder_names_are_escaped_into_one_locator_step() -> None:
    assert pst.locator_name("Inbox") == "Inbox"
    assert pst.locator_name("a/b;c#d%e~f\x1b[31m") == "a%2Fb%3Bc%23d%25e%7Ef%1B[31m"


def test_stdin_pst_is_refused_with_a_sentence() -> None:
    stream = io.BytesIO(b"!BDN" + b"\x00" * 600)
    [item] = list(iter_messages(["-"], limits=LIMITS, stdin=stream))
    assert isinstance(item, SourceError) and item.code == "pst-not-seekable"


def _records(text: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.decode().splitlines() if line.strip()]


def test_cli_check_pst_and_resume(tmp_path: Path) -> None:
    _need(SUPPORT)
    full = _mailaudit("check", SUPPORT, "--format", "jsonl")
    assert full.returncode in (0, 1), full.stderr
    records = _records(full.stdout)
    assert len(records) == 17
    assert all(r["ref"]["locator"].startswith("pst:") for r in records)
    report = tmp_path / "report.jsonl"
    lines = full.stdout.splitlines(keepends=True)
    report.write_bytes(b"".join(lines[:6]) + lines[6][:40])  # a run killed mid-write
    resumed = _mailaudit("check", SUPPORT, "--format", "jsonl", "--resume", report)
    assert resumed.returncode in (0, 1), resumed.stderr
    assert b"skipped 6 messages already in" in resumed.stderr
    again = _records(report.read_bytes())
    assert [r["ref"] for r in again] == [r["ref"] for r in records]


def test_cli_pst_without_messages(tmp_path: Path) -> None:
    _need(ANSI)
    out = _mailaudit("check", ANSI, "--format", "jsonl")
    assert out.returncode == 3
    [record] = _records(out.stdout)
    assert record["error"]["code"] == "no-mail"
    assert b"skipped 1 item that is not mail (1 appointment)" in out.stderr
