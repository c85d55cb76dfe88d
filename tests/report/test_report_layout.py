"""What a tired analyst sees: the single-message report in a terminal (no bar, nothing torn,
nothing cut), the batch progress line at 80 columns, errors on standard error, clean piped
output, and ``templates list`` at 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailaudit.templates.catalog import load_catalog
from support.ptyrun import REPO, run_piped, run_pty

SAMPLES = REPO / "samples"
SNAP = ["--dns-snapshot", str(SAMPLES / "dns.json"), "--offline"]
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    return CSI.sub("", text)


@pytest.mark.parametrize("sample", ["02-entra-tenant-name-abused.eml",
                                    "05-azure-monitor-alert-abused.eml",
                                    "09-forwarded-via-list-arc.eml"])
def test_single_message_at_80_columns(sample: str) -> None:
    ran = run_pty(["check", str(SAMPLES / sample), *SNAP], cwd=REPO, cols=80)
    text = plain(ran.text)
    assert "auditing" not in text and "━" not in text, "a single message gets no progress bar"
    assert "\x1b[2K" not in ran.text and "\x1b[1A" not in ran.text
    assert text.count(sample) == 1
    assert "more characters]" not in text and "…" not in text, "evidence was cut"
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    # The table is stacked at this width: one label per line, values wrapped beside it.
    assert any(line.startswith("  recomputed  ") for line in lines)
    # Inside Findings, wrapped lines keep their indent (no line restarts at column 0).
    if "Findings" in lines:
        block = lines[lines.index("Findings") + 1:]
        block = block[:block.index("")] if "" in block else block
        assert block and all(line.startswith("  ") for line in block), block


def test_dns_names_are_whole_at_80_columns() -> None:
    ran = run_pty(["check", str(SAMPLES / "02-entra-tenant-name-abused.eml"), *SNAP], cwd=REPO,
                  cols=80)
    # A name may wrap, never end in an ellipsis.
    joined = plain(ran.text).replace("\n", " ")
    assert "_dmarc.microsoftonline.com" in joined.replace(" ", "") or \
        "_dmarc.microsoftonline.com" in joined


def test_wide_terminal_keeps_the_table() -> None:
    ran = run_pty(["check", str(SAMPLES / "09-forwarded-via-list-arc.eml"), *SNAP], cwd=REPO,
                  cols=140)
    text = plain(ran.text)
    assert re.search(r"^method\s+recorded .*ARC first hop\s+recomputed$", text, re.M)


def test_piped_output_has_no_trailing_spaces() -> None:
    for args in (["check", str(SAMPLES / "05-azure-monitor-alert-abused.eml"), *SNAP],
                 ["check", str(SAMPLES), *SNAP], ["check", str(SAMPLES), *SNAP, "--details"]):
        ran = run_piped(args, cwd=REPO, env={"COLUMNS": "80"})
        bad = [line for line in ran.out.decode().splitlines() if line != line.rstrip()]
        assert not bad, bad[:5]


def _mail_items() -> int:
    return sum(1 for p in SAMPLES.iterdir() if p.suffix == ".eml")


def test_batch_progress_at_80_columns_keeps_count_elapsed_and_eta() -> None:
    ran = run_pty(["check", str(SAMPLES), *SNAP, "--progress"], cwd=REPO, cols=80)
    frames = [plain(f) for f in re.split(r"\r|\x1b\[2K|\n", ran.text) if "auditing" in f]
    assert frames, ran.text[-2000:]
    for frame in frames:
        assert len(frame.rstrip()) <= 80
        assert re.search(r"\d+(/\d+)? \d+:\d\d:\d\d ETA (\d+:\d\d:\d\d|-:--:--)", frame), frame
    n = _mail_items()
    assert f" {n}/{n} " in frames[-1], frames[-1]  # counts what is mail, and completes


def test_progress_line_drops_verdict_counts_first() -> None:
    from mailaudit.report.progress import ProgressLine

    clock = iter([0.0, *[1.0] * 50])
    line = ProgressLine(1500, clock=lambda: next(clock))
    for _ in range(120):
        line.advance(["authentic", "unknown-sender"])
    narrow = line.render(80).plain
    wide = line.render(200).plain
    assert "120/1500" in narrow and "0:00:01" in narrow and "ETA 0:00:" in narrow
    assert "authentic=" not in narrow and "authentic=120" in wide
    assert len(narrow) <= 80


def test_errors_that_end_a_run_go_to_stderr_too(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.eml")
    ran = run_piped(["check", missing, "--dns", "offline"], cwd=tmp_path)
    assert ran.rc == 3
    assert "no such file" in ran.err.decode()
    # The report wraps at 80 columns, and where depends on the temporary path's length.
    assert "no such file" in " ".join(ran.out.decode().split())
    ran = run_piped(["check", missing, "--dns", "offline", "--format", "jsonl"], cwd=tmp_path)
    assert json.loads(ran.out)["error"]["code"] == "not-found"
    assert "no such file" in ran.err.decode()


def test_single_and_batch_layouts_of_an_error_agree(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.eml")
    single = run_piped(["check", missing, "--dns", "offline", "--details"], cwd=tmp_path)
    batch = run_piped(["check", missing, missing.replace("missing", "other"), "--dns", "offline"],
                      cwd=tmp_path)
    first = single.out.decode().splitlines()[:2]
    assert batch.out.decode().splitlines()[:2] == first, (first, batch.out)


def test_templates_list_at_80_columns_keeps_every_id() -> None:
    ran = run_pty(["templates", "list"], cwd=REPO, cols=80)
    text = plain(ran.text)
    assert all(len(line) <= 80 for line in text.splitlines())
    words = set(re.findall(r"\S+", text))
    ids = [t.id for t in load_catalog().templates]
    cut = [i for i in ids if i not in words]
    assert not cut, cut[:5]


def test_templates_list_piped_is_one_line_per_template() -> None:
    ran = run_piped(["templates", "list"], cwd=REPO)
    lines = ran.out.decode().splitlines()
    assert len(lines) == len(load_catalog().templates)
    assert all(len(line.split("\t")) == 5 and line == line.rstrip(" ") for line in lines)
