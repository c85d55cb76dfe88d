"""The Dask engine (engines/dask.py) on real clusters on 127.0.0.1: a LocalCluster started in
the test, and a `dask scheduler` with two `dask worker` processes reached through --scheduler.
Both must give the records of --jobs 1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mailaudit.audit import AuditTimeout
from mailaudit.model import ExitCode

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SAMPLES = ROOT / "samples"
SNAPSHOT = SAMPLES / "dns.json"
SAMPLE_MBOX = ROOT / "samples-mailboxes" / "samples.mbox"
SUPPORT_PST = ROOT.parent / "shared" / "corpora" / "mail" / "pst" / "support.pst"
SHARD = "20000"  # bytes: the test mbox is split into many ranges


def _bin(name: str) -> str:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install -e '.[dev]')"
    return found


def _need_dask() -> None:
    pytest.importorskip("distributed", reason="dask is not installed (pip install -e '.[dask]')")


def _check(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([_bin("mailaudit"), "check", *map(str, args), "--dns-snapshot",
                           str(SNAPSHOT), "--offline", "--format", "jsonl", "--no-progress"],
                          capture_output=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """An mbox large enough for several ranges, a directory of samples (with the Maildir),
    and the PST when the shared corpora are there."""
    base = tmp_path_factory.mktemp("dask")
    big = base / "big.mbox"
    data = SAMPLE_MBOX.read_bytes()
    if not data.endswith(b"\n\n"):
        data += b"\n"
    big.write_bytes(data * 6)
    tree = base / "tree"
    shutil.copytree(SAMPLES, tree / "samples", ignore=shutil.ignore_patterns("keys", "*.json"))
    shutil.copytree(ROOT / "samples-mailboxes" / "maildir", tree / "maildir")
    paths = [big, tree]
    try:
        import pypff  # noqa: F401
        if SUPPORT_PST.is_file():
            paths.append(SUPPORT_PST)
    except ImportError:
        pass
    return paths


@pytest.fixture(scope="module")
def reference(corpus: list[Path]) -> bytes:
    out = _check(*corpus, "--jobs", "1")
    assert out.returncode == ExitCode.FLAGGED, out.stderr
    return out.stdout


def _first_difference(got: bytes, want: bytes, log: Path | None = None) -> str:
    """What a failed comparison shows: the first records that differ (ref, verdict, reason,
    error) and the end of the cluster's log, instead of pytest's cut bytes diff."""
    got_lines, want_lines = got.splitlines(), want.splitlines()
    lines = [f"{len(got_lines)} records, the reference has {len(want_lines)}"]
    for number, (a, b) in enumerate(zip(got_lines, want_lines, strict=False)):
        if a != b:
            for label, line in (("got", a), ("want", b)):
                try:
                    rec = json.loads(line)
                    shown = {k: rec.get(k) for k in ("ref", "message_id", "verdict", "reason",
                                                     "error")}
                except ValueError:
                    shown = {"line": line[:300].decode("utf-8", "replace")}
                lines.append(f"line {number + 1} {label}: {json.dumps(shown)[:600]}")
            break
    if log is not None and log.is_file():
        lines.append("cluster log, last lines:")
        lines.extend(log.read_text("utf-8", "replace").splitlines()[-25:])
    return "\n".join(lines)


def _keys(jsonl: bytes) -> list[tuple[str, str]]:
    return [(r["ref"]["path"], r["ref"]["locator"])
            for r in map(json.loads, jsonl.decode().splitlines())]


def test_local_cluster_gives_the_records_of_jobs_1(corpus: list[Path], reference: bytes,
                                                   tmp_path: Path) -> None:
    _need_dask()
    from mailaudit.dns import DnsConfig
    from mailaudit.engines.dask import connect, plan, run_dask
    from mailaudit.options import AuditOptions
    from mailaudit.report import PREPARERS, OutputFormat, make_writer
    from mailaudit.run import RunConfig

    shards, _ = plan([str(p) for p in corpus], shard_bytes=int(SHARD))
    assert sum(getattr(s, "kind", "") == "range" for s in shards) > 3
    config = RunConfig(options=AuditOptions(), dns=DnsConfig(snapshot=str(SNAPSHOT), offline=True))
    out = tmp_path / "dask.jsonl"
    with connect(None, workers=2) as client:
        assert len(client.nthreads()) == 2
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in client.nthreads())
        with out.open("w", encoding="utf-8", newline="") as stream:
            writer = make_writer(OutputFormat.JSONL, stream, detail=False, color=False)
            for group in run_dask([str(p) for p in corpus], config, client=client, encode=PREPARERS[OutputFormat.JSONL],
                                  shard_bytes=int(SHARD)):
                writer.write_group(group)
            writer.close(seconds=0.0, flagged=frozenset())
        assert out.read_bytes() == reference, _first_difference(out.read_bytes(), reference)

        unordered = list(run_dask([str(p) for p in corpus], config, client=client, encode=PREPARERS[OutputFormat.JSONL],
                                  ordered=False, shard_bytes=int(SHARD)))
        assert sorted(map(repr, unordered)) == sorted(
            map(repr, run_dask([str(p) for p in corpus], config, client=client, encode=PREPARERS[OutputFormat.JSONL],
                               shard_bytes=int(SHARD))))

        # A shard that killed workers twice is run one message per task: the same groups.
        from mailaudit.engines.dask import Shard, _retry_items, run_shard

        [first] = [s for s in shards if isinstance(s, Shard) and s.kind == "range"][:1]
        encode = PREPARERS[OutputFormat.JSONL]
        whole = client.submit(run_shard, first, config, encode, pure=False).result().groups
        assert len(whole) > 1
        assert list(_retry_items(client, first, config, encode)) == whole

        # A path the workers cannot see: one error record naming the path and the worker.
        gone = tmp_path / "not-there.eml"
        [[(verdict, payload)]] = list(run_dask([str(gone)], config, client=client, encode=PREPARERS[OutputFormat.JSONL]))
        text = json.dumps(payload) if not isinstance(payload, str) else payload
        assert verdict.value == "error"
        assert "not-on-worker" in text and str(gone) in text and "tcp://127.0.0.1:" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """`dask scheduler` and two `dask worker` processes, started by hand as the README says."""
    _need_dask()
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    log = (tmp_path / "cluster.log").open("wb")
    procs = [subprocess.Popen([_bin("dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], stdout=log, stderr=log, env=env)]
    try:
        procs += [subprocess.Popen([_bin("dask"), "worker", address, "--nworkers", "1",
                                    "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                   stdout=log, stderr=log, env=env) for _ in range(2)]
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout=5) as client:  # type: ignore[no-untyped-call]
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address, procs
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_scheduler_and_two_workers_give_the_records_of_jobs_1(
        corpus: list[Path], reference: bytes,
        cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path) -> None:
    address, _procs = cluster
    out = _check(*corpus, "--engine", "dask", "--scheduler", address, "--shard-size", SHARD)
    assert out.returncode == ExitCode.FLAGGED, out.stderr
    assert out.stdout == reference, _first_difference(out.stdout, reference,
                                                      tmp_path / "cluster.log")

    # --resume through the cluster: a cut report is completed, every record exactly once.
    report = tmp_path / "report.jsonl"
    lines = reference.splitlines(keepends=True)
    report.write_bytes(b"".join(lines[:25]) + lines[25][:30])
    resumed = _check(*corpus, "--engine", "dask", "--scheduler", address, "--shard-size",
                     SHARD, "--resume", report)
    assert resumed.returncode == ExitCode.FLAGGED, resumed.stderr
    # The last complete group is redone too: a kill can cut a group at a line end.
    assert b"skipped 24 messages" in resumed.stderr
    assert _keys(report.read_bytes()) == _keys(reference)


def test_unreachable_scheduler_is_a_clear_error_within_seconds(corpus: list[Path]) -> None:
    _need_dask()
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    out = _check(corpus[0], "--engine", "dask", "--scheduler", address, timeout=120)
    assert out.returncode == ExitCode.DNS and ExitCode.DNS.value == 4
    assert out.stdout == b""
    assert f"no Dask scheduler at {address}".encode() in out.stderr
    assert out.stderr.count(b"\n") == 1
    assert time.monotonic() - started < 60  # 5 s connect timeout; the rest is start-up


def test_without_the_extra_one_line_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulates dask not being installed (it is third-party, not ours).
    from mailaudit.engines import dask as engine

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(engine.EngineError, match=r"pip install 'mailaudit\[dask\]'") as info:
        engine.require_dask()
    assert info.value.exit_code == 4


def test_usage_errors() -> None:
    out = subprocess.run([_bin("mailaudit"), "check", str(SAMPLE_MBOX), "--engine", "dask",
                          "--jobs", "2"], capture_output=True, timeout=60, check=False)
    assert out.returncode == ExitCode.USAGE
    out = subprocess.run([_bin("mailaudit"), "check", "-", "--engine", "dask", "--format",
                          "jsonl", "--scheduler", "tcp://127.0.0.1:1"], input=b"",
                         capture_output=True, timeout=60, check=False)
    assert out.returncode == 4  # no scheduler: said before anything is read


def test_thread_time_budget_stops_a_task_off_the_main_thread() -> None:
    from mailaudit.engines.dask import thread_time_budget

    outcome: list[str] = []

    def task() -> None:
        try:
            with thread_time_budget(0.2):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    pass
            outcome.append("ran to the end")
        except AuditTimeout:
            outcome.append("stopped")
        time.sleep(1)  # no late alarm after the budget ended
        outcome.append("after")

    worker = threading.Thread(target=task)
    worker.start()
    worker.join(20)
    assert outcome == ["stopped", "after"]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


@contextmanager
def _dask_run(address: str, tmp_path: Path, *extra: str
              ) -> Iterator[tuple[subprocess.Popen[bytes], Path, subprocess.CompletedProcess[bytes]]]:
    """A `--engine dask` run of the samples mbox twelve times over, to a report file, handed
    over once its first record is written (the run, the report, the --jobs 1 reference); the
    run is killed if the test leaves it running."""
    big = tmp_path / "many.mbox"
    data = SAMPLE_MBOX.read_bytes()
    big.write_bytes((data if data.endswith(b"\n\n") else data + b"\n") * 12)
    reference = _check(big, "--jobs", "1")
    report = tmp_path / "dask.jsonl"
    cmd = [_bin("mailaudit"), "check", str(big), "--dns-snapshot", str(SNAPSHOT), "--offline",
           "--format", "jsonl", "--no-progress", "--engine", "dask", "--scheduler", address,
           "--shard-size", SHARD, "--output", str(report), *extra]
    run = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (report.exists() and report.read_bytes().count(b"\n") >= 1):
            if run.poll() is not None:
                pytest.fail("the run ended before anything could be killed: "
                            + (run.stderr.read() if run.stderr else b"").decode("utf-8", "replace"))
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield run, report, reference
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


@pytest.mark.parametrize("victims", [1, 2], ids=["one-worker", "every-worker"])
def test_a_worker_killed_mid_run_loses_no_message(
        cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path, victims: int) -> None:
    """Killing every worker at once also loses nothing: the nannies start new ones, which
    hold none of the run's data (a value scattered to the first workers would be gone)."""
    address, procs = cluster
    with _dask_run(address, tmp_path) as (run, report, reference):
        # The worker process under each `dask worker` killed (its nanny starts a new one).
        for nanny in procs[1:1 + victims]:
            workers = [pid for pid in _children(nanny.pid)
                       if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
            assert workers, "no worker process under a dask worker"
            os.kill(workers[0], signal.SIGKILL)
        _, stderr = run.communicate(timeout=300)
    assert run.returncode == reference.returncode == ExitCode.FLAGGED, stderr
    assert report.read_bytes() == reference.stdout, _first_difference(
        report.read_bytes(), reference.stdout, tmp_path / "cluster.log")


@pytest.mark.parametrize("order", ["ordered", "unordered"])
def test_a_scheduler_lost_mid_run_is_exit_4_and_resume_finishes(
        cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path, order: str) -> None:
    """The scheduler killed mid-run: the run ends (it used to wait for ever) with exit code 4
    and one line, writes no record for the shards it could not run, and --resume finishes."""
    address, procs = cluster
    with _dask_run(address, tmp_path, *(["--unordered"] if order == "unordered" else [])) \
            as (run, report, reference):
        procs[0].kill()
        killed = time.monotonic()
        _, stderr = run.communicate(timeout=120)
    assert time.monotonic() - killed < 60
    assert run.returncode == ExitCode.DNS, stderr
    assert stderr.decode().startswith(f"mailaudit: lost the Dask scheduler at {address} ")
    assert stderr.count(b"\n") == 1, stderr
    written = report.read_bytes().splitlines()
    wanted = reference.stdout.splitlines()
    assert 1 <= len(written) < len(wanted)
    assert set(written) <= set(wanted)  # no error record for the shards it could not run
    if order == "ordered":
        assert written == wanted[:len(written)]
    resumed = _check(report.parent / "many.mbox", "--jobs", "1", "--resume", report)
    assert resumed.returncode == ExitCode.FLAGGED, resumed.stderr
    assert sorted(_keys(report.read_bytes())) == sorted(_keys(reference.stdout))
