"""Peak memory and throughput of `mailaudit check` over a large mbox (default ~1 GB).

    python benchmarks/bench_memory.py [--size-mb 1024] [--jobs 1,2]

The big mbox is the 2,000-message corpus repeated until it reaches the size (written once to
benchmarks/out/big-<size>MB.mbox and reused). Sources must stream, so peak RSS should not grow
with the mbox: compare a --size-mb 64 run with the default.
"""

from __future__ import annotations

import argparse
import sys
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


def build_big_mbox(base: Path, size_mb: int) -> tuple[Path, int]:
    """Repeat ``base``'s mbox until it reaches ``size_mb``; returns (path, message count)."""
    src = base / "mailbox.mbox"
    per_copy = count_lines(base / "manifest.jsonl")
    chunk = src.read_bytes()
    copies = max(1, round(size_mb * 1_000_000 / len(chunk)))
    out = OUT / f"big-{size_mb}MB.mbox"
    if not out.exists() or out.stat().st_size != copies * len(chunk):
        tmp = out.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            for _ in range(copies):
                fh.write(chunk)
        tmp.replace(out)
    return out, copies * per_copy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--jobs", default="1,2")
    args = ap.parse_args(argv)
    base = ensure_corpus(2_000, eml=False)
    mbox, n = build_big_mbox(base, args.size_mb)
    mb = mbox.stat().st_size / 1e6
    print(f"{mbox}: {n} messages, {mb:.0f} MB", file=sys.stderr)
    rows: list[list[str]] = []
    notes: list[str] = []
    for jobs in [int(j) for j in args.jobs.split(",")]:
        cmd = [*mailaudit_exe(), "check", str(mbox), "--format", "jsonl", "--output", "/dev/null",
               "--dns-snapshot", str(base / "dns-snapshot.json"), "--offline", "--jobs", str(jobs),
               "--no-progress"]
        run = run_measured(cmd)
        # Exit 1 also means "messages flagged", so a crash is told apart by its traceback.
        ok = run.rc in (0, 1) and "Traceback (most recent call last)" not in run.stderr
        rows.append([f"mailaudit check --jobs {jobs}", f"{n / run.wall:,.0f}" if ok else "n/a",
                     f"{run.wall:.1f}", f"{run.cpu_s:.1f}", f"{run.maxrss_kb / 1024:.0f}",
                     f"{run.tree_peak_kb / 1024:.0f}"])
        if not ok:
            tail = " / ".join(run.stderr.strip().splitlines()[-3:])
            notes.append(f"--jobs {jobs} failed (rc {run.rc}): {tail}")
    print()
    print(table(rows, ["run", "msg/s", "wall s", "CPU s", "peak RSS MB (largest process)",
                       "peak RSS MB (all processes)"]))
    print()
    print(f"Machine: {machine_facts()}")
    print(f"Input: {mbox.name}, {n} messages, {mb:.0f} MB; output to /dev/null; target peak RSS "
          f"< 200 MB whatever the mbox size")
    for note in notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
