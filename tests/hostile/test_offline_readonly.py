"""``--offline`` provably opens no socket, and a scan provably writes nothing.

The CLI runs as a real subprocess with a ``sitecustomize.py`` on PYTHONPATH that makes every
network socket fail *and logs the attempt*: a caller that swallows the OSError (a resolver
turning it into temperror) is still caught, and the pool's worker processes inherit the guard
(fork) or load it again (spawn). A control run in live mode shows that the guard does see
attempts.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import support.pathological as patho
from support.paths import REPO

GUARD = '''
import os, socket, traceback

_LOG = os.environ["MAILAUDIT_SOCKET_LOG"]
_NET = {socket.AF_INET, socket.AF_INET6}


def _record(what):
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {what}\\n" + "".join(traceback.format_stack(limit=6)) + "\\n")


class GuardedSocket(socket.socket):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and (family in _NET or family == -1):
            _record(f"socket({family}, {type})")
            raise OSError(1, "network sockets are disabled by the offline test")
        super().__init__(family, type, proto, fileno)


def _refuse(name):
    def refuse(*args, **kwargs):
        _record(f"{name}{args[:2]}")
        raise OSError(1, f"{name} is disabled by the offline test")
    return refuse


socket.socket = GuardedSocket
for _name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
              "gethostbyaddr", "create_server"):
    setattr(socket, _name, _refuse(_name))
'''

SIGNED = (b"Authentication-Results: mx.example.org; dkim=pass header.d=microsoft.com; "
          b"spf=pass smtp.mailfrom=microsoft.com; dmarc=pass header.from=microsoft.com\r\n"
          b"Received: from mail.example.net (mail.example.net [192.0.2.7]) by mx.example.org "
          b"with ESMTPS id 1; Tue, 20 May 2025 10:00:00 +0000\r\n"
          b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com; s=s1024-meo; "
          b"h=from:subject; bh=RHI91NDg1Go8f6isolS2HCe2tXiflhd+gsgHAECfFTU=; b=AAAA\r\n"
          b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=arc; b=AAAA\r\n"
          b"ARC-Message-Signature: i=1; a=rsa-sha256; d=example.net; s=arc; h=from; bh=AAAA; "
          b"b=AAAA\r\nARC-Authentication-Results: i=1; example.net; spf=pass\r\n"
          b"Return-Path: <bounce@microsoft.com>\r\n")


def build_batch(root: Path) -> int:
    """Messages that ask for every kind of lookup (DKIM keys, SPF, DMARC, ARC, PTR), an mbox
    and a Maildir. Returns the number of messages."""
    root.mkdir(parents=True, exist_ok=True)
    count = 0
    for i in range(12):
        (root / f"m{i}.eml").write_bytes(SIGNED + patho.simple(subject=b"batch %d" % i))
        count += 1
    for case in ("invalid-utf8-headers", "authres-garbage", "dkim-signatures-2000"):
        (root / f"{case}.eml").write_bytes(patho.MESSAGES[case]())
        count += 1
    count += patho.mbox_with_from_lines(root / "inbox.mbox", messages=10)
    count += len(patho.maildir(root / "Maildir", messages=8))
    return count


def run_guarded(tmp_path: Path, args: list[str]) -> tuple[subprocess.CompletedProcess[bytes], str]:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir(exist_ok=True)
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "socket.log"
    log.write_text("", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard_dir), str(REPO / "src")]),
           "MAILAUDIT_SOCKET_LOG": str(log)}
    proc = subprocess.run([sys.executable, "-m", "mailaudit", *args], capture_output=True,
                          env=env, cwd=tmp_path, timeout=120, check=False)
    return proc, log.read_text(encoding="utf-8")


def _records(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]


def _assert_unverifiable_not_crashed(records: list[dict[str, object]], expected: int, *,
                                     nothing_known: bool = True) -> None:
    assert len(records) >= expected
    results = set()
    for r in records:
        error = r.get("error") or {}
        assert isinstance(error, dict)
        assert error.get("code") not in ("internal-error", "worker-crashed", "time-budget"), r
        auth = r["auth"]
        assert isinstance(auth, dict)
        for check in auth["recomputed"]:
            results.add((check["method"], check["result"]))
            if nothing_known:  # with no DNS answers at all, not knowing must never be failing
                assert check["result"] not in ("fail", "softfail"), check
    assert ("dkim", "temperror") in results or ("spf", "temperror") in results, results


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_offline_batch_opens_no_socket(tmp_path: Path, jobs: str) -> None:
    expected = build_batch(tmp_path / "mail")
    proc, log = run_guarded(tmp_path, ["check", "mail", "--offline", "--format", "jsonl",
                                       "--jobs", jobs])
    assert log == "", f"sockets attempted:\n{log}"
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    _assert_unverifiable_not_crashed(_records(proc), expected)


@pytest.mark.parametrize("offline", [True, False], ids=["snapshot-offline", "snapshot-only"])
def test_snapshot_batch_opens_no_socket(tmp_path: Path, offline: bool) -> None:
    expected = build_batch(tmp_path / "mail")
    snapshot = {"format": "mailaudit-dns/1", "complete": False, "records": {
        "microsoft.com": {"TXT": ["v=spf1 ip4:20.118.139.0/24 -all"]},
        "_dmarc.microsoft.com": {"TXT": ["v=DMARC1; p=reject"]},
        "s1024-meo._domainkey.microsoft.com": "TIMEOUT",
    }}
    (tmp_path / "dns.json").write_text(json.dumps(snapshot), encoding="utf-8")
    args = ["check", "mail", "--dns-snapshot", "dns.json", "--format", "jsonl", "--jobs", "2"]
    proc, log = run_guarded(tmp_path, [*args, "--offline"] if offline else args)
    assert log == "", f"sockets attempted:\n{log}"
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    records = _records(proc)
    _assert_unverifiable_not_crashed(records, expected, nothing_known=False)
    spf = [c for r in records for c in r["auth"]["recomputed"]  # type: ignore[index]
           if c["method"] == "spf" and "microsoft.com" in json.dumps(c)]
    assert spf, "the snapshot's SPF record was never used"


def test_guard_sees_live_lookups(tmp_path: Path) -> None:
    """Control: without --offline the same guard logs the resolver's attempts, so the empty
    logs above mean something."""
    build_batch(tmp_path / "mail")
    proc, log = run_guarded(tmp_path, ["check", "mail/m0.eml", "--format", "jsonl",
                                       "--nameserver", "127.0.0.1:9"])
    assert "socket(" in log or "getaddrinfo" in log or "create_connection" in log
    assert proc.returncode in (0, 1, 4), proc.stderr.decode(errors="replace")


# -- read-only ----------------------------------------------------------------------------------

def _state(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every path under root (files, directories, links) with content hash, mtime and mode."""
    out: dict[str, tuple[str, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
            out[str(p.relative_to(root))] = (digest, st.st_mtime_ns, st.st_mode)
    return out


@pytest.mark.parametrize("fmt", ["jsonl", "human"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_changes_nothing(tmp_path: Path, jobs: str, fmt: str) -> None:
    root = tmp_path / "mail"
    build_batch(root)
    patho.symlink_loop_tree(root / "loops")
    past = 1_000_000_000  # 2001: any write would move it
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            if not p.is_symlink():
                os.utime(p, ns=(past * 10**9, past * 10**9))
    before = _state(root)
    maildir_names = {sub: sorted(os.listdir(root / "Maildir" / sub)) for sub in ("cur", "new", "tmp")}
    proc, _log = run_guarded(tmp_path, ["check", "mail", "--offline", "--format", fmt,
                                        "--jobs", jobs, "--no-color"])
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    assert _state(root) == before
    assert {sub: sorted(os.listdir(root / "Maildir" / sub))
            for sub in ("cur", "new", "tmp")} == maildir_names
    assert any(":2,S" in n for n in maildir_names["cur"]) and maildir_names["new"]
