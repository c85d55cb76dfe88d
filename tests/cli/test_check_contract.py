"""The script's contract, through the installed command with real files, processes and signals:
what is refused, how a run ends (SIGTERM, a closed pipe, a dead parent), what the exit code
covers, and the DNS plumbing (a dead --nameserver, dns record on bad input)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mailaudit.model import ExitCode
from support.cli import GENUINE, SAMPLES, SNAPSHOT, mailaudit_bin, offline, run
from support.dnsserver import silent_udp_port
from support.paths import CORPORA

SPOOF = SAMPLES / "07-lookalike-domain-spoof.eml"
FORWARD = SAMPLES / "12-user-report-phish-forward.eml"


def jsonl(*paths: str | Path, jobs: int = 1) -> list[str | Path]:
    return ["check", *offline(*paths), "--format", "jsonl", "--jobs", str(jobs)]


def records(data: bytes | str) -> list[dict[str, object]]:
    text = data.decode() if isinstance(data, bytes) else data
    return [json.loads(line) for line in text.splitlines()]


def start(args: list[str | Path], *, stdout: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen([mailaudit_bin(), *map(str, args)], stdout=stdout,
                            stderr=subprocess.PIPE)


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


# --- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_output_that_is_an_input_is_refused(tmp_path: Path, how: str) -> None:
    box = tmp_path / "export.mbox"
    shutil.copy(SAMPLES.parent / "samples-mailboxes" / "samples.mbox", box)
    before = box.read_bytes()
    target = box
    if how == "symlink":
        target = tmp_path / "link.jsonl"
        target.symlink_to(box)
    elif how == "hardlink":
        target = tmp_path / "hard.jsonl"
        os.link(box, target)
    res = run(*jsonl(box), "-o", target)
    assert res.returncode == ExitCode.USAGE, res.stderr
    assert b"is an input" in res.stderr
    assert box.read_bytes() == before
    res = run(*jsonl(box), "--resume", target)
    assert res.returncode == ExitCode.USAGE and box.read_bytes() == before


def test_output_over_a_message_inside_an_input_directory_is_refused(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    member = box / "new" / "1700000000.1.host"
    shutil.copy(GENUINE, member)
    before = member.read_bytes()
    res = run(*jsonl(box), "-o", member)
    assert res.returncode == ExitCode.USAGE, res.stderr
    assert b"inside the input directory" in res.stderr
    assert member.read_bytes() == before
    # An earlier report in the scanned folder is not mail: writing over it is allowed.
    report = box / "report.jsonl"
    report.write_text("old\n", encoding="utf-8")
    res = run(*jsonl(box), "-o", report)
    assert res.returncode == ExitCode.OK, res.stderr
    assert report.read_text(encoding="utf-8").startswith("{")


def test_named_pipe_is_refused_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "mail.fifo"
    os.mkfifo(fifo)
    res = run(*jsonl(fifo), timeout=30)
    assert res.returncode == ExitCode.INPUT
    [record] = records(res.stdout)
    assert record["error"] == {"code": "not-a-file", "message": record["reason"]}
    assert "named pipe" in str(record["reason"])


@pytest.mark.parametrize("name", ["README.md", "dns.json"])
def test_text_that_is_not_mail_named_explicitly_is_a_not_mail_error(name: str) -> None:
    res = run(*jsonl(SAMPLES / name))
    assert res.returncode == ExitCode.INPUT
    [record] = records(res.stdout)
    assert record["verdict"] == "error"
    assert (record["error"] or {})["code"] == "not-mail"  # type: ignore[index]


def test_dns_live_with_offline_is_a_usage_error() -> None:
    res = run("check", GENUINE, "--dns", "live", "--offline")
    assert res.returncode == ExitCode.USAGE
    assert b"--offline" in res.stderr


def test_check_and_templates_list_take_the_same_template_file(tmp_path: Path) -> None:
    bad = tmp_path / "pack.yaml"
    bad.write_text("senders: [\n", encoding="utf-8")
    for args in (["check", *offline(GENUINE), "--templates", bad],
                 ["templates", "list", "--templates", bad]):
        res = run(*args)
        assert res.returncode == ExitCode.INPUT, (args, res.stderr)
        assert b"pack.yaml" in res.stderr


# --- single messages ------------------------------------------------------------------------------

def test_eml_starting_with_a_from_line_gets_the_full_report(tmp_path: Path) -> None:
    eml = tmp_path / "saved.eml"
    eml.write_bytes(b"From someone@example.org Thu Jan  2 10:00:00 2025\n" + GENUINE.read_bytes())
    default = run("check", *offline(eml), "--no-color")
    detailed = run("check", *offline(eml), "--no-color", "--details")
    batch = run("check", *offline(eml), "--no-color", "--no-details")
    assert default.returncode == ExitCode.OK
    # Digits masked: the report may show how long the audit took.
    same = [re.sub(rb"\d", b"0", r.stdout) for r in (default, detailed, batch)]
    assert same[0] == same[1] != same[2]


def test_one_outlook_msg_gets_the_full_report() -> None:
    pytest.importorskip("olefile")
    folder = CORPORA / "mail" / "msgreader" / "test"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (shared corpora not available)")
    msg = sorted(folder.glob("*.msg"))[0]
    default = run("check", msg, "--offline", "--no-color")
    detailed = run("check", msg, "--offline", "--no-color", "--details")
    batch = run("check", msg, "--offline", "--no-color", "--no-details")
    # Digits masked: the report may show how long the audit took.
    same = [re.sub(rb"\d", b"0", r.stdout) for r in (default, detailed, batch)]
    assert same[0] == same[1] != same[2]


# --- how runs end ---------------------------------------------------------------------------------

def test_sigterm_ends_like_ctrl_c_with_valid_json_and_no_workers(big_mbox: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = [*jsonl(big_mbox, jobs=2), "-o", out]
    args[args.index("jsonl")] = "json"
    proc = start(args)
    wait_for(lambda: (out.exists() and out.stat().st_size > 20_000) or proc.poll() is not None)
    workers = children(proc.pid)
    assert workers, "the pool should be running"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and ExitCode.TERMINATED.value == 143, err
    assert b"terminated" in err and b"Exception ignored" not in err
    parsed = json.loads(out.read_text())
    assert parsed and all(r["schema"] == "mailaudit/1" for r in parsed)
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=10)


def test_workers_die_with_a_killed_parent(big_mbox: Path) -> None:
    proc = start(jsonl(big_mbox, jobs=2), stdout=subprocess.DEVNULL)
    wait_for(lambda: len(children(proc.pid)) >= 2 or proc.poll() is not None)
    workers = children(proc.pid)
    assert workers
    proc.kill()
    proc.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=10)


def test_closed_stdout_pipe_exits_quietly(big_mbox: Path) -> None:
    for jobs in (1, 2, 2):
        proc = start(jsonl(big_mbox, jobs=jobs))
        assert proc.stdout is not None
        first = proc.stdout.readline()  # what `| head -1` does: read one line, then close
        proc.stdout.close()
        err = proc.stderr.read() if proc.stderr else b""
        proc.wait(timeout=60)
        assert json.loads(first)["schema"] == "mailaudit/1"
        assert proc.returncode == 141 and ExitCode.BROKEN_PIPE.value == 141, err
        assert err == b"", err


def test_pool_shutdown_leaves_stderr_clean(big_mbox: Path) -> None:
    for _ in range(4):
        res = run(*jsonl(big_mbox, jobs=2))
        assert res.returncode == ExitCode.FLAGGED
        assert res.stderr == b"", res.stderr


# --- resume -----------------------------------------------------------------------------------------

def test_exit_code_after_resume_covers_the_old_records(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    first = run(*jsonl(SPOOF, GENUINE), "-o", report)
    assert first.returncode == ExitCode.FLAGGED
    more = SAMPLES / "13-teams-invitation-genuine.eml"
    resumed = run(*jsonl(SPOOF, GENUINE, more), "--resume", report)
    got = records(report.read_bytes())
    assert [r["verdict"] for r in got] == ["spoofed", "authentic", "authentic"]
    # Only authentic messages were audited this time; the report holds a spoofed one.
    assert resumed.returncode == ExitCode.FLAGGED, resumed.stderr


@pytest.mark.parametrize("cut", ["inside-attachment-line", "at-line-end"])
def test_a_group_cut_by_a_kill_is_redone_whole(tmp_path: Path, cut: str) -> None:
    report = tmp_path / "report.jsonl"
    full = run(*jsonl(GENUINE, FORWARD), "-o", report)
    whole = report.read_bytes()
    lines = whole.splitlines(keepends=True)
    assert len(lines) == 3  # the genuine message, the forward and its attached message
    kept = b"".join(lines[:2])
    report.write_bytes(kept + lines[2][:40] if cut == "inside-attachment-line" else kept)
    res = run(*jsonl(GENUINE, FORWARD), "--resume", report)
    assert res.returncode == full.returncode, res.stderr
    assert report.read_bytes() == whole


def test_maildir_flags_changed_between_runs_are_not_written_twice(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    shutil.copy(GENUINE, box / "new" / "1700000000.1.host")
    shutil.copy(SPOOF, box / "new" / "1700000001.2.host")
    shutil.copy(SAMPLES / "13-teams-invitation-genuine.eml", box / "new" / "1700000002.3.host")
    report = tmp_path / "report.jsonl"
    run(*jsonl(box), "-o", report)
    # The mail client reads the first two: moved to cur/ with flags.
    os.rename(box / "new" / "1700000000.1.host", box / "cur" / "1700000000.1.host:2,S")
    os.rename(box / "new" / "1700000001.2.host", box / "cur" / "1700000001.2.host:2,RS")
    res = run(*jsonl(box), "--resume", report)
    assert res.returncode == ExitCode.FLAGGED, res.stderr
    keys = [str(r["ref"]["locator"]) for r in records(report.read_bytes())]  # type: ignore[index]
    assert sorted(keys) == ["maildir:key=1700000000.1.host", "maildir:key=1700000001.2.host",
                            "maildir:key=1700000002.3.host"]


# --- DNS plumbing -----------------------------------------------------------------------------------

def test_unreachable_nameserver_fails_fast_with_exit_4(tmp_path: Path) -> None:
    with silent_udp_port() as port:
        ns = f"127.0.0.1:{port}"
        started = time.monotonic()
        res = run("check", GENUINE, "--nameserver", ns, "--format", "jsonl")
        assert res.returncode == ExitCode.DNS, res.stderr
        assert b"no reply from DNS server" in res.stderr and res.stdout == b""
        snap = tmp_path / "snap.json"
        rec = run("dns", "record", GENUINE, "-o", snap, "--nameserver", ns)
        assert rec.returncode == ExitCode.DNS, rec.stderr
        assert not snap.exists() and b"saved" not in rec.stderr
        assert time.monotonic() - started < 15


def test_dns_record_of_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    res = run("dns", "record", tmp_path / "missing.eml", "-o", snap, "--nameserver", "127.0.0.1:9")
    # The probe may fail first (nothing listens on port 9): either way no snapshot, no success.
    assert res.returncode in (ExitCode.INPUT, ExitCode.DNS), res.stderr
    assert not snap.exists()


def test_dns_record_of_no_readable_message_writes_nothing(tmp_path: Path) -> None:
    from support.dnsserver import loopback_dns

    snap = tmp_path / "snap.json"
    with loopback_dns({}) as server:
        res = run("dns", "record", tmp_path / "missing.eml", "-o", snap, "--nameserver",
                  f"127.0.0.1:{server.port}")
    assert res.returncode == ExitCode.INPUT, res.stderr
    assert b"missing.eml" in res.stderr and not snap.exists()


def test_dns_help_promises_only_what_exists() -> None:
    res = run("dns", "--help")
    assert res.returncode == 0
    assert b"inspect" not in res.stdout.lower() and b"record" in res.stdout


def test_hostile_snapshots_are_a_sentence_and_exit_3(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    res = run("check", GENUINE, "--dns-snapshot", deep)
    assert res.returncode == ExitCode.INPUT
    assert b"Traceback" not in res.stderr and b"too deeply" in res.stderr
    res = run("check", GENUINE, "--dns-snapshot", SNAPSHOT, "--limit", "max_snapshot_bytes=100")
    assert res.returncode == ExitCode.INPUT
    assert b"larger than 100 bytes" in res.stderr
    named = tmp_path / "named.json"
    named.write_text(json.dumps({"format": "mailaudit-dns/1",
                                 "records": {"x\x1b]0;PWNED\x07": "bogus"}}), encoding="utf-8")
    res = run("check", GENUINE, "--dns-snapshot", named)
    assert res.returncode == ExitCode.INPUT and b"\x1b" not in res.stderr


# --- the file system ----------------------------------------------------------------------------

def test_inputs_keep_their_access_time(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    eml = folder / "one.eml"
    shutil.copy(GENUINE, eml)
    snap = tmp_path / "dns.json"
    shutil.copy(SNAPSHOT, snap)
    paths = [eml, folder, snap]
    old = time.time() - 7 * 86400
    for p in paths:
        os.utime(p, (old, time.time()))  # atime before mtime: relatime would update it
    probe = tmp_path / "probe"
    probe.write_bytes(b"x")
    os.utime(probe, (old, time.time()))
    probe.read_bytes()
    if probe.stat().st_atime == old:
        pytest.skip("this file system does not update access times (noatime)")
    res = run("check", folder, eml, "--dns-snapshot", snap, "--format", "jsonl", "--progress")
    assert res.returncode == ExitCode.OK, res.stderr
    for p in paths:
        assert p.stat().st_atime == old, p


def _forwarded(inner: bytes, depth: int) -> bytes:
    for i in range(depth):
        inner = (b"From: fwd%d@example.org\r\nTo: soc@example.org\r\nSubject: Fwd %d\r\n"
                 b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                 b"--b%d\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b%d\r\n"
                 b"Content-Type: message/rfc822\r\n\r\n" % (i, i, i, i, i)) + inner + \
            b"\r\n--b%d--\r\n" % i
    return inner


@pytest.mark.parametrize(("depth", "code"), [(5, "limit-attachment-depth"), (500, "mime-too-deep")])
def test_forwards_nested_past_a_limit_say_so(tmp_path: Path, depth: int, code: str) -> None:
    eml = tmp_path / "nested.eml"
    eml.write_bytes(_forwarded((SAMPLES / "02-entra-tenant-name-abused.eml").read_bytes(), depth))
    res = run(*jsonl(eml))
    codes = [f["code"] for r in records(res.stdout) for f in r["findings"]]  # type: ignore[attr-defined]
    assert code in codes, codes
