"""What a one-message check loads: start-up is kept short by importing only what the run uses.

How long start-up takes is measured by benchmarks/bench_startup.py (never asserted here); this
checks which modules a run brings in, so a module-level import added by accident shows up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.cli import SAMPLES, SNAPSHOT
from support.paths import REPO

UNCLAIMED = SAMPLES / "11-unrelated-sender-order-shipped.eml"

_CODE = """
import contextlib, io, json, sys
sys.argv = ["mailaudit", *sys.argv[1:]]
from mailaudit.__main__ import main
try:
    with contextlib.redirect_stdout(io.StringIO()):
        main()
except SystemExit:
    pass
sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)))
"""


def _modules_loaded(cache: Path, *args: str | Path) -> set[str]:
    """The modules of the second run (the first fills the cache of derived data: the compiled
    catalog and the expanded suffix list, as any later start finds them)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MAILAUDIT_CACHE_DIR": str(cache)}
    loaded: list[str] = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", _CODE, *map(str, args)], capture_output=True,
                             text=True, env=env, timeout=120, check=False)
        loaded = json.loads(res.stderr.rsplit("\n", 1)[-1])
    return set(loaded)


def _loaded(modules: set[str], *names: str) -> list[str]:
    return [n for n in names if n in modules]


def test_one_unclaimed_message_loads_no_optional_machinery(tmp_path: Path) -> None:
    modules = _modules_loaded(tmp_path, "check", UNCLAIMED, "--dns-snapshot", SNAPSHOT, "--offline")
    assert "mailaudit.checks.dkim.check" in modules  # the check ran
    assert _loaded(
        modules,
        "dns.resolver", "dns",  # dnspython: live DNS only
        "yaml",  # the catalog comes from its compiled form
        "importlib.resources",
        "mailaudit.templates.matcher", "mailaudit.templates.slots",  # no sender claimed
        "mailaudit.templates.signals",
        "mailaudit.parse.body", "email.message",  # no body needed
        "mailaudit.sources.msg", "mailaudit.sources.pst",  # no Outlook input
        "csv",  # human output
        "socket",
        "platform",  # click's uuid asks platform.system() only (mailaudit.standins)
    ) == []


def test_rsa_signatures_of_one_message_load_no_openssl(tmp_path: Path) -> None:
    """A few RSA signatures are verified in Python: loading OpenSSL's RSA would cost more
    (``fast._Arithmetic``). Ed25519 needs OpenSSL, so the unclaimed sample (dual-signed) does."""
    modules = _modules_loaded(tmp_path, "check", SAMPLES / "01-entra-verification-code-genuine.eml",
                              "--dns-snapshot", SNAPSHOT, "--offline", "--format", "json")
    assert "mailaudit.checks.dkim.fast" in modules
    assert [m for m in modules if m.startswith("cryptography")] == []
    assert "cryptography.hazmat.primitives.asymmetric.ed25519" in _modules_loaded(
        tmp_path, "check", UNCLAIMED, "--dns-snapshot", SNAPSHOT, "--offline")


def test_a_claimed_notification_loads_no_yaml_and_no_email_policy(tmp_path: Path) -> None:
    """A Microsoft notification is matched against its template: the signal phrases come
    from the cache of derived data (no PyYAML), the MIME body from compat32 (no header
    registry)."""
    modules = _modules_loaded(tmp_path, "check", SAMPLES / "02-entra-tenant-name-abused.eml",
                              "--dns-snapshot", SNAPSHOT, "--offline")
    assert "mailaudit.templates.matcher" in modules and "mailaudit.parse.body" in modules
    assert _loaded(modules, "yaml", "email.policy", "email.headerregistry") == []


def test_version_loads_neither_click_nor_the_pipeline(tmp_path: Path) -> None:
    modules = _modules_loaded(tmp_path, "--version")
    assert _loaded(modules, "click", "rich", "typing", "mailaudit.model", "mailaudit.cli") == []


def test_machine_output_loads_no_rich(tmp_path: Path) -> None:
    modules = _modules_loaded(tmp_path, "check", UNCLAIMED, "--dns-snapshot", SNAPSHOT, "--offline",
                              "--format", "jsonl")
    assert [m for m in modules if m == "rich" or m.startswith("rich.")] == []


def test_piped_human_output_loads_no_rich(tmp_path: Path) -> None:
    """The human report drawn to a pipe or a file is plain lines; rich is for colour."""
    modules = _modules_loaded(tmp_path, "check", UNCLAIMED, "--dns-snapshot", SNAPSHOT, "--offline")
    assert [m for m in modules if m == "rich" or m.startswith("rich.")] == []
    assert "mailaudit.report.human" in modules  # the human report was drawn


def test_colour_human_output_draws_through_rich(tmp_path: Path) -> None:
    modules = _modules_loaded(tmp_path, "check", UNCLAIMED, "--dns-snapshot", SNAPSHOT, "--offline",
                              "--color")
    assert "rich.console" in modules


def test_pyspf_stand_ins_import_the_real_modules_when_used() -> None:
    code = (
        "import sys\n"
        "from mailaudit.checks.spf.check import _import_pyspf\n"
        "spf = _import_pyspf()\n"
        "print('email.message' in sys.modules, 'socket' in sys.modules)\n"
        "q = spf.query(i='192.0.2.1', s='a@example.com', h='mx.example.com')\n"
        "q.parse_header('pass (x) client-ip=192.0.2.9; envelope-from=b@example.org; helo=h;')\n"
        "print(q.i, q.s, q.h, spf.socket.error is OSError)\n"
        "import email.message, socket\n"
        "print(type(spf.Message()) is email.message.Message, socket is sys.modules['socket'])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout.split("\n")
    assert out[:3] == ["False False", "192.0.2.9 b@example.org h True", "True True"]
