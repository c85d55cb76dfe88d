"""Batch runs through the real command: order with a pool, resume after a kill, Ctrl-C, progress."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mailaudit.model import ExitCode
from support.cli import SNAPSHOT, mailaudit_bin, run
from support.paths import REPO

ROOT = REPO
SAMPLE_MBOX = ROOT / "samples-mailboxes" / "samples.mbox"


def refs(text: str) -> list[tuple[str, str]]:
    return [(r["ref"]["path"], r["ref"]["locator"]) for r in map(json.loads, text.splitlines())]


def check_args(*paths: Path | str, jobs: int = 1) -> list[str]:
    return ["check", *map(str, paths), "--dns-snapshot", str(SNAPSHOT), "--offline",
            "--format", "jsonl", "--jobs", str(jobs)]


def test_two_jobs_keep_input_order(big_mbox: Path) -> None:
    one = run(*check_args(big_mbox, jobs=1))
    two = run(*check_args(big_mbox, jobs=2))
    assert one.returncode == two.returncode == ExitCode.FLAGGED
    assert refs(one.stdout.decode()) == refs(two.stdout.decode())
    assert len(refs(one.stdout.decode())) > 900
    # same records, not just the same order
    assert one.stdout == two.stdout


def test_unordered_gives_the_same_set(big_mbox: Path) -> None:
    ordered = run(*check_args(big_mbox, jobs=2))
    unordered = run(*check_args(big_mbox, jobs=2), "--unordered")
    assert sorted(refs(ordered.stdout.decode())) == sorted(refs(unordered.stdout.decode()))


def _interruptible() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and a process
    # that inherits an ignored SIGINT rightly keeps ignoring it (as nohup wants). The tests
    # are about what mailaudit does with Ctrl-C, not about how the suite was launched.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([mailaudit_bin(), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_interruptible)


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        if proc.poll() is not None:
            return
        time.sleep(0.02)
    raise AssertionError("the run wrote nothing in time")


@pytest.mark.parametrize("jobs", [1, 2])
def test_resume_after_a_killed_run_writes_every_message_exactly_once(big_mbox: Path, tmp_path: Path,
                                                                     jobs: int) -> None:
    full = refs(run(*check_args(big_mbox, jobs=1)).stdout.decode())
    out = tmp_path / "report.jsonl"
    proc = _start([*check_args(big_mbox, jobs=jobs), "--resume", str(out)])
    _wait_for_lines(out, 100, proc)
    proc.kill()  # SIGKILL: no clean-up at all, a line may be cut
    proc.wait()
    partial = out.read_bytes().count(b"\n")
    assert 0 < partial < len(full), "kill the run while it is still going"
    res = run(*check_args(big_mbox, jobs=jobs), "--resume", out)
    assert res.returncode == ExitCode.FLAGGED, res.stderr
    got = refs(out.read_text())
    assert sorted(got) == sorted(full)
    assert len(got) == len(set(got)) == len(full)
    assert b"resumed" in res.stderr


def test_resume_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    out = tmp_path / "notes.jsonl"
    out.write_text("hello\n")
    res = run(*check_args(ROOT / "samples" / "01-entra-verification-code-genuine.eml"), "--resume", out)
    assert res.returncode == ExitCode.INPUT
    assert b"not a mailaudit JSONL record" in res.stderr
    assert out.read_text() == "hello\n"


@pytest.mark.parametrize(("fmt", "jobs"), [("jsonl", 1), ("json", 2)])
def test_ctrl_c_exits_130_with_valid_output(big_mbox: Path, tmp_path: Path, fmt: str, jobs: int) -> None:
    out = tmp_path / f"report.{fmt}"
    args = [*check_args(big_mbox, jobs=jobs), "-o", str(out)]
    args[args.index("jsonl")] = fmt
    proc = _start(args)
    _wait_for_lines(out, 50, proc)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert b"interrupted" in err
    text = out.read_text()
    if fmt == "json":
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines()]
    assert records and all(r["schema"] == "mailaudit/1" for r in records)


def test_no_progress_on_stderr_when_not_a_terminal(big_mbox: Path) -> None:
    quiet = run(*check_args(big_mbox, jobs=2))
    assert quiet.stderr == b""
    loud = run(*check_args(big_mbox, jobs=2), "--progress")
    assert b"auditing" in loud.stderr


def test_default_jobs_is_one_for_a_single_small_file() -> None:
    from mailaudit.run import default_jobs
    from mailaudit.sources import survey

    one = survey([str(ROOT / "samples" / "01-entra-verification-code-genuine.eml")])
    assert one.single and default_jobs(one.large) == 1
    folder = survey([str(ROOT / "samples")])
    assert not folder.single and default_jobs(folder.large) == len(os.sched_getaffinity(0))
