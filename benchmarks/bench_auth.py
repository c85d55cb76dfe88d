"""Messages per second of the authentication path against the library floor, in one run.

    .venv/bin/python benchmarks/bench_auth.py [--corpus DIR] [--repeat 3] [--limit N]

recompute   mailaudit's parse_message + read_recorded + authenticate (envelope, DKIM, SPF,
            DMARC, ARC, recorded-vs-recomputed comparison) over a snapshot resolver, in this
            process: what ``mailaudit check --dns-snapshot`` spends per message before the
            templates and the output
floor       stdlib ``email.message_from_bytes`` + dkimpy verify of every DKIM-Signature
            (the bench_pipeline floor); "floor+arc" adds dkimpy's ``ARC.verify`` on messages
            with an ARC set
stages      the recompute path timed stage by stage (a second pass; the sum is a little above
            the recompute figure because of the clock calls)

Each figure is the best of ``--repeat`` passes (the machine is shared); the range is printed.
The process-wide caches (parsed keys, SPF and DMARC memos, the Public Suffix List) are warm
after the first pass, as they are in a batch; ``--cold`` builds a fresh snapshot resolver per
pass so the per-resolver memos start empty.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import OUT
from _mbox import read_mbox

from mailaudit.checks.authenticate import authenticate
from mailaudit.checks.dkim.check import KeyFetcher
from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.options import AuditOptions
from mailaudit.parse import parse_message


def recompute(messages: list[bytes], resolver: SnapshotResolver, options: AuditOptions) -> None:
    for raw in messages:
        msg = parse_message(raw, limits=options.limits)
        authenticate(msg, read_recorded(msg), resolver, options)


def floor(messages: list[bytes], resolver: SnapshotResolver, *, arc: bool) -> None:
    import dkim

    for raw in messages:
        fetch = KeyFetcher(resolver)
        parsed = email.message_from_bytes(raw)
        count = len(parsed.get_all("DKIM-Signature") or ())
        if count:
            with contextlib.suppress(Exception):
                d = dkim.DKIM(raw, minkey=1024)
                for idx in range(count):
                    with contextlib.suppress(Exception):
                        d.verify(idx=idx, dnsfunc=fetch)
        if arc and parsed.get("ARC-Seal") is not None:
            with contextlib.suppress(Exception):
                dkim.ARC(raw, minkey=1024).verify(dnsfunc=fetch)


def stages(messages: list[bytes], resolver: SnapshotResolver,
           options: AuditOptions) -> dict[str, float]:
    from mailaudit.checks.arc.check import check_arc
    from mailaudit.checks.dkim.check import check_dkim
    from mailaudit.checks.dmarc.check import check_dmarc
    from mailaudit.checks.recorded.compare import disagreements
    from mailaudit.checks.recorded.envelope import choose_envelope
    from mailaudit.checks.spf.check import check_spf
    from mailaudit.dns.budget import BudgetResolver

    spent = dict.fromkeys(("parse", "recorded", "envelope", "dkim", "spf", "dmarc", "arc",
                           "compare"), 0.0)
    clock = time.perf_counter
    for raw in messages:
        t0 = clock()
        msg = parse_message(raw, limits=options.limits)
        t1 = clock()
        recorded = read_recorded(msg)
        t2 = clock()
        envelope = choose_envelope(msg, recorded.envelope, options)
        t3 = clock()
        budgeted = BudgetResolver(resolver, options.limits.max_dns_lookups)
        dkim_results, _ = check_dkim(msg, budgeted, now=options.now)
        t4 = clock()
        spf = check_spf(envelope, budgeted)
        t5 = clock()
        dmarc = check_dmarc(msg, dkim_results, spf, budgeted)
        t6 = clock()
        arc = (check_arc(msg, budgeted) if any(h.lname == "arc-seal" for h in msg.headers)
               else None)
        t7 = clock()
        disagreements(recorded.results, (*dkim_results, spf, dmarc), arc, envelope)
        t8 = clock()
        for name, took in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5,
                                      t7 - t6, t8 - t7), strict=True):
            spent[name] += took
    return spent


def best_of(repeat: int, run: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=OUT / "corpus-2000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N messages")
    ap.add_argument("--cold", action="store_true", help="fresh resolver (empty memos) per pass")
    args = ap.parse_args(argv)
    if not (args.corpus / "mailbox.mbox").is_file():
        print(f"{args.corpus}: no mailbox.mbox; run benchmarks/corpus.py first", file=sys.stderr)
        return 2
    messages = list(read_mbox(args.corpus / "mailbox.mbox"))
    if args.limit:
        messages = messages[:args.limit]
    snapshot = args.corpus / "dns-snapshot.json"
    shared = SnapshotResolver.from_file(snapshot)
    options = AuditOptions()

    def resolver() -> SnapshotResolver:
        return SnapshotResolver.from_file(snapshot) if args.cold else shared

    n = len(messages)
    arc_n = sum(1 for m in messages if b"\nARC-Seal:" in m or b"\narc-seal:" in m.lower())
    print(f"corpus {args.corpus} : {n} messages, {arc_n} with ARC; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; best of {args.repeat}")
    recompute(messages[:50], shared, options)  # imports and first-use costs out of the way
    rows = [
        ("recompute", best_of(args.repeat, lambda: recompute(messages, resolver(), options))),
        ("floor", best_of(args.repeat, lambda: floor(messages, resolver(), arc=False))),
        ("floor+arc", best_of(args.repeat, lambda: floor(messages, resolver(), arc=True))),
    ]
    for name, times in rows:
        best = min(times)
        print(f"  {name:<10} {n / best:8.0f} msg/s  {best / n * 1e3:6.3f} ms/msg  "
              f"(range {n / max(times):.0f}-{n / best:.0f} msg/s)")
    rec, flo, flo_arc = (min(t) for _, t in rows)
    print(f"  ratio recompute/floor {flo / rec:.2f}x, recompute/floor+arc {flo_arc / rec:.2f}x")
    spent = min((stages(messages, resolver(), options) for _ in range(args.repeat)),
                key=lambda s: sum(s.values()))
    print("  stages (ms/msg): " + ", ".join(f"{k} {v / n * 1e3:.3f}" for k, v in spent.items())
          + f"; total {sum(spent.values()) / n * 1e3:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
