"""DKIM verifications per second: dkimpy against the fast path, on the same generated corpus.

    .venv/bin/python benchmarks/bench_dkim.py [--messages 2000]

Both verifiers read keys from the same snapshot resolver; dkimpy gets a fresh ``DKIM`` object
per message (it parses the message in its constructor), the fast path a fresh split per
message and the process-wide parsed-key cache, as in a batch run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import contextlib

from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.check import KeyFetcher, check_dkim
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.parse.message import ParsedMessage
from support.dkimgen import generate_corpus


def _count(raw: bytes) -> int:
    return sum(1 for line in raw.split(b"\n") if line.lower().startswith(b"dkim-signature:"))


def bench_dkimpy(messages: list[bytes], resolver: SnapshotResolver) -> float:
    import dkim

    start = time.perf_counter()
    for raw in messages:
        fetch = KeyFetcher(resolver)
        try:
            d = dkim.DKIM(raw, minkey=1024)
        except Exception:
            continue
        for idx in range(_count(raw)):
            with contextlib.suppress(Exception):
                d.verify(idx=idx, dnsfunc=fetch)
    return time.perf_counter() - start


def bench_fast(messages: list[bytes], resolver: SnapshotResolver) -> float:
    keys = fast.KeyCache()
    start = time.perf_counter()
    for raw in messages:
        view = fast.split_message(raw)
        fetch = KeyFetcher(resolver)
        for idx in range(_count(raw)):
            fast.verify(view, idx, fetch, keys=keys)
    return time.perf_counter() - start


def bench_check(messages: list[bytes], resolver: SnapshotResolver) -> float:
    start = time.perf_counter()
    for raw in messages:
        check_dkim(ParsedMessage(raw=raw, headers=()), resolver)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--body-lines", type=int, default=12,
                        help="upper bound of body lines per message (about 40 bytes each)")
    args = parser.parse_args()
    corpus, records = generate_corpus(args.messages, body_lines=args.body_lines)
    messages = [m.raw for m in corpus]
    resolver = SnapshotResolver(records)
    sigs = sum(_count(raw) for raw in messages)
    slow = min(bench_dkimpy(messages, resolver) for _ in range(args.rounds))
    quick = min(bench_fast(messages, resolver) for _ in range(args.rounds))
    full = min(bench_check(messages, resolver) for _ in range(args.rounds))
    size = sum(len(raw) for raw in messages) // len(messages)
    print(f"{len(messages)} messages (mean {size} bytes), {sigs} signatures, "
          f"best of {args.rounds}")
    print(f"dkimpy       {sigs / slow:10.0f} verifications/s")
    print(f"fast path    {sigs / quick:10.0f} verifications/s")
    print(f"check_dkim   {sigs / full:10.0f} verifications/s (results, props and findings)")
    print(f"ratio        {slow / quick:10.1f}x (fast path over dkimpy)")


if __name__ == "__main__":
    main()
