"""Throughput of the full mailaudit pipeline against a floor and against mailauth, one corpus.

    python benchmarks/bench_pipeline.py [--quick] [--n N] [--corpus DIR] [--no-mailauth]

Columns (all over the same messages):
  floor        stdlib email.message_from_bytes + dkimpy verify of every DKIM-Signature, in this
               process with a snapshot dnsfunc, nothing else: the cost of the libraries we reuse
  mailaudit    `mailaudit check MBOX --format jsonl --output F --dns-snapshot S --offline
               --jobs N` as a subprocess, N = 1 and 2; wall time includes start-up
  mailauth     authenticate() from mailauth 7 on Node 22, one core, offline resolver over the
               same records (benchmarks/mailauth_bench.mjs); messages preloaded, so no start-up
Targets: mailaudit >= 2x mailauth msg/s; 2 jobs >= 1.8x 1 job; peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import email
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dkim
from _common import (
    HERE,
    OUT,
    Run,
    count_lines,
    ensure_corpus,
    install_mailauth,
    machine_facts,
    mailaudit_exe,
    node22,
    run_measured,
    table,
)
from _mbox import read_mbox
from _snapdns import dkim_dnsfunc


def floor(corpus: Path) -> dict[str, Any]:
    dnsfunc = dkim_dnsfunc(corpus / "dns-snapshot.json")
    n = sigs = passed = 0
    parse_s = 0.0
    clock = time.perf_counter
    t0 = clock()
    cpu0 = time.process_time()
    for raw in read_mbox(corpus / "mailbox.mbox"):
        t = clock()
        msg = email.message_from_bytes(raw)
        parse_s += clock() - t
        count = len(msg.get_all("DKIM-Signature") or ())
        if count:
            d = dkim.DKIM(raw)
            for idx in range(count):
                with contextlib.suppress(dkim.DKIMException):
                    passed += bool(d.verify(idx=idx, dnsfunc=dnsfunc))
            sigs += count
        n += 1
    took = clock() - t0
    return {"messages": n, "seconds": took, "msgs_per_s": n / took, "signatures": sigs,
            "passed": passed, "parse_s": parse_s, "cpu_s": time.process_time() - cpu0}


def mailaudit(corpus: Path, jobs: int, n: int) -> tuple[Run, dict[str, Any]]:
    out = OUT / f"pipeline-jobs{jobs}.jsonl"
    out.unlink(missing_ok=True)
    cmd = [*mailaudit_exe(), "check", str(corpus / "mailbox.mbox"), "--format", "jsonl",
           "--output", str(out), "--dns-snapshot", str(corpus / "dns-snapshot.json"), "--offline",
           "--jobs", str(jobs), "--no-progress"]
    run = run_measured(cmd)
    lines = count_lines(out) if out.exists() else 0
    verdicts: collections.Counter[str] = collections.Counter()
    if out.exists():
        with open(out, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    verdicts["<bad json>"] += 1
                    continue
                v = rec.get("verdict")
                verdicts[str(v.get("verdict") if isinstance(v, dict) else v)] += 1
    ok = run.rc in (0, 1) and lines >= n
    return run, {"ok": ok, "records": lines, "verdicts": dict(verdicts),
                 "msgs_per_s": n / run.wall if ok else None}


def mailauth(corpus: Path) -> dict[str, Any] | str:
    why = install_mailauth()
    node = node22()
    if why or node is None:
        return f"mailauth skipped: {why or 'Node 22 not installed'}"
    res = subprocess.run([str(node), str(HERE / "mailauth_bench.mjs"), str(corpus)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return f"mailauth failed: {res.stderr.strip()[-500:]}"
    result: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def fmt_rate(v: float | None) -> str:
    return f"{v:,.0f}" if v else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 messages instead of 20,000")
    ap.add_argument("--n", type=int)
    ap.add_argument("--corpus", type=Path, help="a corpus.py output directory (with eml/)")
    ap.add_argument("--no-mailauth", action="store_true")
    ap.add_argument("--jobs", default="1,2", help="job counts to run mailaudit with")
    args = ap.parse_args(argv)
    n = args.n or (2_000 if args.quick else 20_000)
    corpus = args.corpus or ensure_corpus(n, eml=not args.no_mailauth)
    n = count_lines(corpus / "manifest.jsonl")
    mb = (corpus / "mailbox.mbox").stat().st_size / 1e6
    print(f"corpus {corpus}: {n} messages, {mb:.0f} MB mbox", file=sys.stderr)

    rows: list[list[str]] = []
    notes: list[str] = []
    fl = floor(corpus)
    rows.append(["floor: email + dkimpy verify (in-process)", fmt_rate(fl["msgs_per_s"]),
                 f"{fl['seconds']:.1f}", f"{fl['cpu_s']:.1f}", fmt_rate(n / fl["cpu_s"]),
                 "-", "-"])
    notes.append(f"floor verified {fl['signatures']} signatures, {fl['passed']} pass; of its "
                 f"{fl['seconds']:.1f} s, email.message_from_bytes took {fl['parse_s']:.1f} s "
                 f"and dkimpy the rest")

    rates: dict[int, float | None] = {}
    cpu_rate: dict[int, float] = {}
    for jobs in [int(j) for j in args.jobs.split(",")]:
        run, info = mailaudit(corpus, jobs, n)
        rates[jobs] = info["msgs_per_s"]
        if info["ok"] and run.cpu_s:
            cpu_rate[jobs] = n / run.cpu_s
        rows.append([f"mailaudit check --jobs {jobs}", fmt_rate(info["msgs_per_s"]),
                     f"{run.wall:.1f}", f"{run.cpu_s:.1f}",
                     fmt_rate(n / run.cpu_s if info["ok"] and run.cpu_s else None),
                     f"{run.maxrss_kb / 1024:.0f}",
                     f"{run.tree_peak_kb / 1024:.0f}"])
        if info["ok"]:
            notes.append(f"mailaudit --jobs {jobs}: rc {run.rc}, {info['records']} records, "
                         f"verdicts {info['verdicts']}")
        else:
            tail = run.stderr.strip().splitlines()[-3:]
            notes.append(f"mailaudit --jobs {jobs} did not complete (rc {run.rc}, "
                         f"{info['records']}/{n} records): {' / '.join(tail)}")

    ma: dict[str, Any] | str = "mailauth skipped (--no-mailauth)"
    if not args.no_mailauth:
        ma = mailauth(corpus)
    if isinstance(ma, dict):
        rows.append([f"mailauth {ma['version']} authenticate() (Node {ma['node']}, 1 core)",
                     fmt_rate(ma["msgs_per_s"]), f"{ma['seconds']:.1f}", f"{ma['cpu_s']:.1f}",
                     fmt_rate(ma["msgs_per_cpu_s"]),
                     f"{ma['max_rss_kb'] / 1024:.0f}", "-"])
        notes.append(f"mailauth results: {ma['counts']}")
    else:
        notes.append(ma)

    print()
    print(table(rows, ["run", "msg/s", "wall s", "CPU s", "msg/CPU s", "peak RSS MB (largest process)",
                       "peak RSS MB (all processes)"]))
    print()
    checks: list[list[str]] = []
    r1, r2 = rates.get(1), rates.get(2)
    if isinstance(ma, dict) and r1:
        checks.append(["mailaudit 1 job / mailauth", f"{r1 / ma['msgs_per_s']:.2f}x", ">= 2x"])
    if isinstance(ma, dict) and r2:
        checks.append(["mailaudit 2 jobs / mailauth", f"{r2 / ma['msgs_per_s']:.2f}x", ">= 2x"])
    if r1 and r2:
        checks.append(["mailaudit 2 jobs / 1 job", f"{r2 / r1:.2f}x", ">= 1.8x"])
    if r1:
        checks.append(["mailaudit 1 job / floor", f"{r1 / fl['msgs_per_s']:.2f}x", "-"])
    if isinstance(ma, dict) and cpu_rate.get(1):
        # Per CPU second: robust when other work shares the machine (wall-clock ratios are not).
        checks.append(["mailaudit / mailauth, msg per CPU second",
                       f"{cpu_rate[1] / ma['msgs_per_cpu_s']:.2f}x", "-"])
    if checks:
        print(table(checks, ["ratio", "measured", "target"]))
        print()
    print(f"Machine: {machine_facts()}")
    print(f"Corpus: {n} messages, {mb:.0f} MB ({corpus.name})")
    for note in notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
