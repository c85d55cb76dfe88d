"""Run the installed mailaudit command as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.paths import REPO

ROOT = REPO


SAMPLES = ROOT / "samples"


SNAPSHOT = SAMPLES / "dns.json"


GENUINE = SAMPLES / "01-entra-verification-code-genuine.eml"


ABUSED = SAMPLES / "02-entra-tenant-name-abused.eml"


def mailaudit_bin() -> str:
    exe = Path(sys.executable).parent / "mailaudit"
    found = str(exe) if exe.exists() else shutil.which("mailaudit")
    assert found, "the mailaudit console script is not installed (pip install -e .)"
    return found


def run(*args: str | Path, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([mailaudit_bin(), *map(str, args)], input=stdin, capture_output=True,
                          timeout=timeout, check=False)


def offline(*args: str | Path) -> list[str | Path]:
    return [*args, "--dns-snapshot", SNAPSHOT, "--offline"]
