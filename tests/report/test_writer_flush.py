"""When the JSONL writer hands its lines to the operating system: after every message for a
pipe (whoever reads it sees each record as it comes), at most every FILE_FLUSH_SECONDS for a
regular file, and always on close."""

from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

import pytest

from mailaudit.model import ExitCode, Verdict
from mailaudit.report import FILE_FLUSH_SECONDS, JsonlWriter
from support.cli import SAMPLES, mailaudit_bin, offline


def _group(n: int) -> list[tuple[Verdict, str]]:
    return [(Verdict.AUTHENTIC, f'{{"n": {n}}}')]


def test_a_pipe_reader_gets_each_record_at_once() -> None:
    read_end, write_end = os.pipe()
    try:
        with open(write_end, "w", encoding="utf-8", closefd=True) as stream:
            writer = JsonlWriter(stream)
            for n in range(3):
                writer.write_group(_group(n))
                ready, _, _ = select.select([read_end], [], [], 5)
                assert ready, "the record was not flushed to the pipe"
                assert os.read(read_end, 4096) == f'{{"n": {n}}}\n'.encode()
    finally:
        os.close(read_end)


def test_a_file_is_flushed_in_batches_and_complete_on_close(tmp_path: Path) -> None:
    assert 0 < FILE_FLUSH_SECONDS <= 1
    path = tmp_path / "out.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        writer = JsonlWriter(stream)
        for n in range(1000):
            writer.write_group(_group(n))
        writer.close()
        assert path.read_text(encoding="utf-8").splitlines() == [
            f'{{"n": {n}}}' for n in range(1000)]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_standard_output_redirected_to_a_file_gets_the_same_report(tmp_path: Path,
                                                                   fmt: str) -> None:
    """Standard output that is a regular file is written through a larger buffer, like -o:
    the bytes must be those of -o, and those of a pipe."""
    args = [mailaudit_bin(), *map(str, offline("check", SAMPLES, "--format", fmt))]
    named = tmp_path / f"named.{fmt}"
    subprocess.run([*args, "-o", str(named)], capture_output=True, timeout=120, check=False)
    redirected = tmp_path / f"redirected.{fmt}"
    with redirected.open("wb") as out:
        ran = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, timeout=120, check=False)
    assert ran.returncode == ExitCode.FLAGGED, ran.stderr
    piped = subprocess.run(args, capture_output=True, timeout=120, check=False).stdout
    assert redirected.read_bytes() == named.read_bytes() == piped
    assert len(piped) > 1000
