"""Matcher throughput over rendered genuine and abused notifications.

    .venv/bin/python benchmarks/bench_matcher.py [--seconds 3] [--parse]

Every template is rendered with each genuine example and each reported lure; messages are
built as MIME once. By default the timed loop is claim_of + match_message on pre-parsed
messages (the template stage alone); --parse adds mailaudit.parse.parse_message to the loop.
"""

from __future__ import annotations

import argparse
import time
from email.headerregistry import Address as StdAddress
from email.message import EmailMessage
from email.policy import SMTP

from mailaudit.templates.catalog import load_catalog
from mailaudit.templates.claims import claim_of
from mailaudit.templates.matcher import match_message, render


def corpus() -> list[tuple[bytes, bool]]:
    cat = load_catalog()
    out: list[tuple[bytes, bool]] = []
    for sender in cat.senders:
        for t in sender.templates:
            cases = [(dict(v), False) for v in t.examples]
            cases += [(dict(a.values), True) for a in t.abuse if a.values]
            for values, abused in cases:
                r = render(t, values)
                msg = EmailMessage(policy=SMTP)
                msg["From"] = str(StdAddress("Microsoft", addr_spec=sender.addresses[0]))
                msg["To"] = "victim@example.net"
                msg["Subject"] = r.subject
                msg.set_content(r.text)
                msg.add_alternative(r.html, subtype="html")
                out.append((msg.as_bytes(), abused))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--parse", action="store_true", help="include MIME parsing in the loop")
    args = ap.parse_args()
    from mailaudit.parse import parse_message

    cat = load_catalog()
    messages = corpus()
    parsed = [parse_message(raw) for raw, _ in messages]
    for p in parsed:
        p.body()
    # Correctness first: genuine clean, abused hostile.
    wrong = 0
    for p, (_, abused) in zip(parsed, messages, strict=True):
        c = claim_of(p, cat)
        assert c is not None
        if match_message(p, c.sender).hostile != abused:
            wrong += 1
    n = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for i, p in enumerate(parsed):
            if args.parse:
                p = parse_message(messages[i][0])
            c = claim_of(p, cat)
            assert c is not None
            match_message(p, c.sender)
            n += 1
    elapsed = time.perf_counter() - started
    n_abused = sum(a for _, a in messages)
    print(f"{len(messages)} messages ({len(messages) - n_abused} genuine, {n_abused} abused) "
          f"from {len(cat.templates)} templates of {len(cat.senders)} senders; "
          f"misjudged: {wrong}")
    what = "parse + claim + match" if args.parse else "claim + match"
    print(f"{what}: {n} messages in {elapsed:.2f} s = {n / elapsed:,.0f} messages/s (one core)")


if __name__ == "__main__":
    main()
