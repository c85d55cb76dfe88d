"""Throughput of `--engine dask` (1 and 2 workers) against the local pool (`--jobs 2`).

    python benchmarks/bench_dask.py [--quick] [--n N] [--corpus DIR] [--shard-mb MB]

One corpus (benchmarks/corpus.py, `out/corpus-N`), one command per contender, wall time of the
whole `mailaudit check` run (start-up, planning, results written by the client):

  jobs2        `--jobs 2`: the local process pool
  dask-1w      `--engine dask --scheduler ADDR`, a `dask scheduler` and one `dask worker`
               (one process, one thread) started beforehand on 127.0.0.1, as a standing
               cluster would be: its start-up is not counted
  dask-2w      the same with two workers
  dask-local   `--engine dask` with no address: a LocalCluster sized to the machine, started
               and stopped inside the run (its start-up is counted)

Every Dask run's records are compared with the `--jobs 2` run's (same bytes, same order).
On one machine Dask cannot beat the pool: it adds a scheduler, task serialisation and the
client's result handling on the same cores. It pays off when the workers are other machines
that mount the mailboxes (throughput grows with the number of worker cores).
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    OUT,
    count_lines,
    ensure_corpus,
    machine_facts,
    mailaudit_exe,
    run_measured,
    table,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dask_exe() -> str:
    exe = Path(sys.executable).with_name("dask")
    if not exe.exists():
        sys.exit("bench_dask: the dask command is missing; pip install -e '.[dask]'")
    return str(exe)


class Cluster:
    """`dask scheduler` plus N `dask worker` processes on 127.0.0.1, stopped on exit."""

    def __init__(self, workers: int) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.log = open(OUT / f"dask-cluster-{workers}w.log", "wb")  # noqa: SIM115
        port = self.address.rsplit(":", 1)[1]
        self.procs = [subprocess.Popen([_dask_exe(), "scheduler", "--host", "127.0.0.1",
                                        "--port", port, "--no-dashboard"],
                                       stdout=self.log, stderr=self.log)]
        self.procs += [subprocess.Popen([_dask_exe(), "worker", self.address, "--nthreads", "1",
                                         "--host", "127.0.0.1", "--no-dashboard"],
                                        stdout=self.log, stderr=self.log)
                       for _ in range(workers)]
        self.workers = workers

    def __enter__(self) -> Cluster:
        from distributed import Client

        deadline = time.monotonic() + 180
        while True:
            try:
                with Client(self.address, timeout=5) as client:
                    client.wait_for_workers(self.workers, timeout=max(1, deadline - time.monotonic()))
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()


def run(name: str, corpus: Path, extra: list[str]) -> tuple[str, float, int, Path, int]:
    out = OUT / f"dask-{name}.jsonl"
    out.unlink(missing_ok=True)
    cmd = [*mailaudit_exe(), "check", str(corpus / "mailbox.mbox"), "--format", "jsonl",
           "--output", str(out), "--dns-snapshot", str(corpus / "dns-snapshot.json"),
           "--offline", "--no-progress", *extra]
    measured = run_measured(cmd)
    if measured.rc not in (0, 1):
        print(f"{name}: exit {measured.rc}\n{measured.stderr}", file=sys.stderr)
    lines = count_lines(out) if out.exists() else 0
    return name, measured.wall, lines, out, measured.rc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="messages in the corpus")
    parser.add_argument("--quick", action="store_true", help="300 messages: checks that it runs")
    parser.add_argument("--corpus", type=Path, help="an existing corpus directory")
    parser.add_argument("--shard-mb", type=float, default=2.0,
                        help="Dask shard size (the mbox is split into ranges of about this)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus or ensure_corpus(300 if args.quick else args.n, eml=False)
    shard = ["--shard-size", str(int(args.shard_mb * 1024 * 1024))]
    size_mb = (corpus / "mailbox.mbox").stat().st_size / 1e6
    print(f"# bench_dask: {corpus} ({size_mb:.1f} MB), shard {args.shard_mb:g} MB")
    print(f"# {machine_facts()}")

    results = [run("jobs2", corpus, ["--jobs", "2"])]
    for workers in (1, 2):
        with Cluster(workers) as cluster:
            results.append(run(f"dask-{workers}w", corpus,
                               ["--engine", "dask", "--scheduler", cluster.address, *shard]))
    results.append(run("dask-local", corpus, ["--engine", "dask", *shard]))

    reference = results[0][3].read_bytes() if results[0][3].exists() else b""
    base = results[0][2] / results[0][1] if results[0][1] else 0.0
    rows = []
    for name, wall, lines, out, rc in results:
        rate = lines / wall if wall else 0.0
        same = "yes" if out.exists() and out.read_bytes() == reference else "NO"
        rows.append([name, str(lines), f"{wall:.1f}", f"{rate:,.0f}",
                     f"{rate / base:.2f}x" if base else "-", same, str(rc)])
    print(table(rows, ["run", "records", "seconds", "msg/s", "vs jobs2", "same records", "exit"]))


if __name__ == "__main__":
    main()
