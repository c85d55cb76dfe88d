"""The public API: what ``mailaudit.__all__`` promises is importable, and the example in
docs/api.md runs as written and prints the samples' documented verdicts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mailaudit

ROOT = Path(__file__).resolve().parents[1]
while not (ROOT / "pyproject.toml").exists():  # the test may sit in a sub-folder of tests/
    ROOT = ROOT.parent


def _example() -> str:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "docs/api.md has no python example"
    return str(blocks[0])


def test_every_public_name_imports() -> None:
    for name in mailaudit.__all__:
        assert getattr(mailaudit, name) is not None, name
    assert not hasattr(mailaudit, "no_such_name")


def test_the_documented_example_runs_and_reads_the_verdicts() -> None:
    done = subprocess.run([sys.executable, "-c", _example()], cwd=ROOT, capture_output=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "abused: samples/02-entra-tenant-name-abused.eml:" in out
    assert "abused: samples/12-user-report-phish-forward.eml [attachment=2]:" in out
    assert "spoofed: samples/07-lookalike-domain-spoof.eml:" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("{<Verdict.ABUSED: 'abused'>: 6, <Verdict.AUTHENTIC: 'authentic'>: ")
    assert "<Verdict.SPOOFED: 'spoofed'>" in last
