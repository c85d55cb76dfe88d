"""Start-up cost: `mailaudit --version`, one-message `mailaudit check`, and mailauth's CLI.

    python benchmarks/bench_startup.py [--runs 10] [--top 15]

Each command runs once unmeasured (to warm the page cache and mailaudit's compiled catalog),
then ``--runs`` times as a subprocess; the table shows the median and minimum wall time and the
median CPU time (user + system, robust when other work shares the machine). Then
``python -X importtime`` of the one-message check lists the imports that cost the most.

Targets: ``mailaudit --version`` <= 40 ms; ``mailaudit check one.eml --offline`` <= 150 ms and
below ``mailauth report`` on the same message.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    MAILAUTH_CLI,
    ensure_corpus,
    install_mailauth,
    machine_facts,
    mailaudit_exe,
    node22,
    prepare_mailaudit,
    table,
    versions,
)


def pick_message(corpus: Path) -> Path:
    """An ARC-forwarded, DKIM-signed message: every check has work to do."""
    with open(corpus / "manifest.jsonl", encoding="utf-8") as fh:
        for line in fh:
            info = json.loads(line)
            if "arc-forwarded" in info["labels"] and "dkim-rsa2048" in info["labels"]:
                return corpus / "eml" / f"{info['id']:06d}.eml"
    return sorted((corpus / "eml").glob("*.eml"))[0]


def pick_notification(corpus: Path) -> Path | None:
    """A genuine Microsoft notification: a claimed sender, so the template match runs too."""
    with open(corpus / "manifest.jsonl", encoding="utf-8") as fh:
        for line in fh:
            info = json.loads(line)
            if "ms-genuine" in info["labels"]:
                return corpus / "eml" / f"{info['id']:06d}.eml"
    return None


def measure(cmd: list[str], runs: int) -> tuple[float, float, float, int]:
    """(median wall, min wall, median CPU) in seconds, and the last exit code."""
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm-up
    walls: list[float] = []
    cpus: list[float] = []
    rc = 0
    for _ in range(runs):
        before = os.times()
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        walls.append(time.perf_counter() - t0)
        after = os.times()
        cpus.append(after.children_user - before.children_user
                    + after.children_system - before.children_system)
    return statistics.median(walls), min(walls), statistics.median(cpus), rc


def import_offenders(cmd: list[str], top: int) -> tuple[list[list[str]], list[list[str]]]:
    """(top-level packages by cumulative time, modules by self time) from -X importtime."""
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows: list[tuple[int, int, str]] = []
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    top_level = sorted((r for r in rows if not r[2].startswith("  ")), key=lambda r: -r[1])
    by_self = sorted(rows, key=lambda r: -r[0])
    return ([[r[2].strip(), f"{r[1] / 1000:.1f}"] for r in top_level[:top]],
            [[r[2].strip(), f"{r[0] / 1000:.1f}"] for r in by_self[:top]])


def main(argv: list[str] | None = None, *, footer: bool = True) -> int:
    """``footer`` False: leave out the machine and version lines (bench_pipeline prints them)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    corpus = ensure_corpus(2_000, eml=True)
    eml = pick_message(corpus)
    snapshot = corpus / "dns-snapshot.json"
    check = ["check", str(eml), "--dns-snapshot", str(snapshot), "--offline"]
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    prepared = prepare_mailaudit()
    rows: list[list[str]] = []
    walls: dict[str, float] = {}
    cmds = [("mailaudit --version", [*mailaudit_exe(), "--version"], "<= 40"),
            ("mailaudit check one.eml --offline", [*mailaudit_exe(), *check],
             "<= 150 and < mailauth report"),
            # What an analyst's terminal gets: the same report in colour, drawn by rich.
            ("mailaudit check one.eml --offline --color", [*mailaudit_exe(), *check, "--color"],
             "-")]
    notification = pick_notification(corpus)
    if notification is not None:
        cmds.append(("mailaudit check notification.eml --offline (template match)",
                     [*mailaudit_exe(), "check", str(notification), "--dns-snapshot",
                      str(snapshot), "--offline"], "-"))
    why = install_mailauth()
    node = node22()
    if node is not None:
        cmds += [
            ("node mailauth.js --version", [str(node), str(MAILAUTH_CLI), "--version"], "-"),
            ("node mailauth.js report one.eml --dns-cache",
             [str(node), str(MAILAUTH_CLI), "report", str(eml), "--dns-cache",
              str(corpus / "dns.json"), "--mta", "mx1.recv.example"], "-"),
        ]
    for label, cmd, target in cmds:
        wall, low, cpu, rc = measure(cmd, args.runs)
        walls[label] = wall
        rows.append([label, f"{wall * 1000:.0f}", f"{low * 1000:.0f}", f"{cpu * 1000:.0f}",
                     target, str(rc)])
    if node is None:
        rows.append(["mailauth CLI", "n/a", "n/a", "n/a", "-", f"not installed ({why})"])
    print(table(rows, [f"command (after one warm-up, {args.runs} runs)", "median wall ms",
                       "min wall ms", "median CPU ms", "target ms", "exit code"]))
    print()
    one = walls.get("mailaudit check one.eml --offline")
    report = walls.get("node mailauth.js report one.eml --dns-cache")
    if one and report:
        print(f"mailaudit check one.eml / mailauth report, median wall: {one / report:.2f}x "
              "(target < 1)")
        print()
    packages, modules = import_offenders(
        [sys.executable, "-X", "importtime", "-m", "mailaudit", *check], args.top)
    print("Top-level imports of the check path, by cumulative time:")
    print(table(packages, ["package", "cumulative ms"]))
    print()
    print("Modules by self time:")
    print(table(modules, ["module", "self ms"]))
    print()
    if footer:
        print(f"Machine: {machine_facts()}")
        if load_at_start:
            print("Load average when the run started: {:.2f} {:.2f} {:.2f}".format(*load_at_start))
        print(f"Versions: {versions()}")
    print(f"Message: {eml.name} ({eml.stat().st_size} bytes)"
          + (f", notification: {notification.name}" if notification is not None else "")
          + f"; {prepared}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
