#!/usr/bin/env python3
"""Learn a template pack from genuine mail of a fictional sender, then catch abused mail of it.

    python examples/learn/demo.py            # works in a temporary folder
    python examples/learn/demo.py --keep DIR # ... or in DIR (must not exist), kept afterwards

Northwind Pay (pay@northwind-traders.example, a reserved .example domain) sends payment
requests with a "note" and receipts with a "memo" that its customers write. The script
generates 17 genuine messages of both templates, signed with the project's test keys, and the
DNS snapshot that makes them authenticate offline; runs `mailaudit templates learn` on them;
then runs `mailaudit check --templates` on held-out mail: genuine ones, ones with a callback
lure in the customer's note or memo, one with a lure appended, and unsigned ones.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The mail generator lives with the tests (tests/support); it is not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))


def mailaudit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "mailaudit"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailaudit"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, check=False)


def demo(root: Path) -> int:
    from support.learn_mail import (
        APPENDED,
        LURE,
        deliver,
        payment_request,
        receipt,
        workshop,
        write_corpus,
        write_snapshot,
    )
    from support.synth import world

    shop = workshop()
    snapshot = write_snapshot(shop, root / "dns.json")
    write_corpus(root / "genuine", shop)
    print(f"1. generated 17 genuine Northwind Pay messages in {root / 'genuine'}")

    learned = mailaudit("templates", "learn", root / "genuine", "-o", root / "packs",
                        "--dns-snapshot", snapshot, "--offline")
    print("2. mailaudit templates learn genuine/ -o packs/ --dns-snapshot dns.json --offline")
    print("   " + learned.stdout.replace("\n", "\n   ").rstrip())
    if learned.returncode != 0:
        return learned.returncode

    rng = random.Random(2026)
    held = root / "held-out"
    held.mkdir()
    spoof_origin = world.Origin(world.MAIL_NOTIFY_OUT.helo, world.MAIL_NOTIFY_OUT.ip,
                                "pay@northwind-traders.example")
    cases = {
        "1-genuine-request.eml": deliver(shop, payment_request(rng), rng, n=50),
        "2-genuine-receipt.eml": deliver(shop, receipt(rng), rng, n=51),
        "3-lure-in-note.eml": deliver(shop, payment_request(rng, note=LURE), rng, n=52),
        "4-lure-in-memo.eml": deliver(shop, receipt(rng, memo=LURE), rng, n=53),
        "5-lure-appended.eml": deliver(shop, receipt(rng), rng, n=54, extra_text=APPENDED,
                                       extra_html=APPENDED),
        "6-unsigned.eml": deliver(shop, payment_request(rng), rng, n=55, signed=False,
                                  origin=spoof_origin),
    }
    for name, raw in cases.items():
        (held / name).write_bytes(raw)
    print(f"3. mailaudit check held-out/ --templates packs/ (held-out mail in {held})")
    checked = mailaudit("check", held, "--templates", root / "packs", "--dns-snapshot", snapshot,
                        "--offline", "--no-color")
    print("   " + checked.stdout.replace("\n", "\n   ").rstrip())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this new folder and keep it")
    args = parser.parse_args()
    if args.keep:
        if args.keep.exists():
            print(f"demo: {args.keep} already exists; give a new folder", file=sys.stderr)
            return 2
        args.keep.mkdir(parents=True)
        return demo(args.keep)
    root = Path(tempfile.mkdtemp(prefix="mailaudit-learn-"))
    try:
        return demo(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
