"""Run the installed ``mailaudit`` command the way an analyst does: in a pseudo-terminal of a
given width, or piped, and hand back the exact bytes the terminal would receive."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO

__all__ = ["REPO", "Ran", "foreign_bytes", "mailaudit_command", "run_piped", "run_pty"]


def mailaudit_command() -> list[str]:
    """The console script installed beside this interpreter (``pip install -e .``)."""
    script = Path(sys.executable).parent / "mailaudit"
    if script.exists():
        return [str(script)]
    found = shutil.which("mailaudit")
    if found:
        return [found]
    return [sys.executable, "-m", "mailaudit"]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM")}
    env["TERM"] = "xterm-256color"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Ran:
    rc: int
    out: bytes  # what the terminal received (stdout and stderr together in a pty)
    err: bytes = b""  # stderr, when piped

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def run_pty(args: list[str], *, cwd: Path, cols: int = 80, rows: int = 50,
            env: dict[str, str] | None = None, timeout: float = 120.0) -> Ran:
    """``mailaudit ARGS`` with stdin, stdout and stderr on a pseudo-terminal ``cols`` wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen([*mailaudit_command(), *args], stdin=slave, stdout=slave,
                            stderr=slave, cwd=cwd, env=_env(env), close_fds=True,
                            start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        rc = proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The terminal's line discipline turns "\n" into "\r\n"; give the program's own bytes back.
    return Ran(rc, b"".join(chunks).replace(b"\r\n", b"\n"))


def run_piped(args: list[str], *, cwd: Path, input: bytes | None = None,
              env: dict[str, str] | None = None, timeout: float = 120.0) -> Ran:
    proc = subprocess.run([*mailaudit_command(), *args], cwd=cwd, input=input,
                          capture_output=True, env=_env(env), timeout=timeout, check=False)
    return Ran(proc.returncode, proc.stdout, proc.stderr)


# What rich itself writes to a terminal: colours (SGR), and for a live progress display the
# cursor hide/show, erase-line and cursor-up sequences, and carriage returns.
RICH_SEQUENCES = re.compile(rb"\x1b\[[0-9;]*m|\x1b\[\?25[hl]|\x1b\[2K|\x1b\[[0-9]*[AB]|\r")


def foreign_bytes(out: bytes) -> list[str]:
    """Every control byte or sequence in ``out`` that rich did not generate, with context."""
    plain = RICH_SEQUENCES.sub(b"", out)
    problems: list[str] = []
    text = plain.decode("utf-8", "replace")
    for m in re.finditer("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                         "\u2060-\u206f\ufe00-\ufe0f\ufeff\ufff9-\ufffb"
                         "\U000e0000-\U000e007f\U000e0100-\U000e01ef]", text):
        problems.append(f"U+{ord(m.group()):04X} at {m.start()}: "
                        f"{text[max(0, m.start() - 30):m.start() + 30]!r}")
    return problems
