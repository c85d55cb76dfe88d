#!/usr/bin/env python3
"""Build the bundled samples: synthetic messages signed with the project's test keys, the DNS
snapshot that makes them authenticate offline, an mbox and a Maildir copy, and a README.

    python scripts/make_samples.py --seed 2026 --out samples/

Keys are read from ``--keys`` (default: OUT/keys) and generated there when missing; with the same
keys and seed the output is byte-identical.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# The sample generator lives with the tests (tests/support/synth); it is not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--out", type=Path, default=Path("samples"), help="output folder")
    parser.add_argument("--keys", type=Path, default=None,
                        help="folder of test keys (default: OUT/keys; created when missing)")
    parser.add_argument("--templates", type=Path, action="append", default=[],
                        help="extra template pack folder (same format as the built-in catalog)")
    args = parser.parse_args(argv)

    from mailaudit.errors import MailauditError
    from support.synth import build_sample_set

    try:
        written = build_sample_set(args.out, seed=args.seed, key_dir=args.keys,
                                   template_dirs=args.templates)
    except MailauditError as exc:
        print(f"make_samples: {exc.message}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
