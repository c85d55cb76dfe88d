#!/usr/bin/env python3
"""Evaluate the template verdicts on the project's own evaluation messages.

For every catalogued template with customer-controlled slots, build signed, delivered messages
(the sample generator's machinery and test keys) with

* ordinary values in each slot (organisation names with accents and apostrophes, real-looking
  team names, alert rules, invitation notes) — these must be ``authentic``;
* each of a set of lures (fake charges, callback numbers in several spellings, wallets,
  off-list links, other brands) in each slot — these must be ``abused``;

run them through the whole pipeline offline, and print the confusion counts, every miss and
every false alarm, and the audit throughput.

    python benchmarks/eval_templates.py [--keys samples/keys]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The sample generator lives with the tests (tests/support/synth); it is not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

BENIGN: dict[str, list[str]] = {
    "org_name": ["Contoso Ltd", "Fabrikam, Inc.", "Northwind Traders", "Müller & Söhne GmbH",
                 "St. Mary's Hospital", "US Visa & American Citizen Services",
                 "Prism Cyber Learning", "Université de Montréal", "A1 Plumbing & Heating (Leeds)",
                 "Woodgrove Bank", "Adatum Corporation", "City of Springfield - IT",
                 "O'Brien Family Dental", "東京テクノロジー株式会社", "3M Health Care",
                 "Alpine Ski House", "Wide World Importers", "Litware Inc."],
    "team_name": ["Marketing", "Q3 Planning", "Project Phoenix 2026", "IT Helpdesk",
                  "Sales – EMEA", "Board of Directors", "Class of 2027", "Finance Team",
                  "Design Review", "Onboarding"],
    "person_name": ["Alex Wilber", "Megan Bowen", "José Álvarez", "Nguyễn Văn An",
                    "Anne-Marie O'Neil", "李娜", "Dr. Priya Raman"],
    "short_text": ["High CPU on web-prod-01", "Storage latency above 500 ms",
                   "Failed sign-ins spike", "vm-build-agent-03", "Quarterly report.xlsx",
                   "Expense approval for March", "Contoso HR App", "Marketing contractors"],
    "free_text": ["Hi Alex, please join our project workspace for the Q3 launch.",
                  "Welcome to the Fabrikam partner portal. Let me know if you have any questions.",
                  "Invitation to collaborate on the 2026 budget review - see you Monday!",
                  "Access to the shared design files, as discussed in our call."],
}

LURES = [
    "Your PayPal account was charged $499.99 for Norton 360. If you did not authorize this, "
    "call +1 (888) 555-0147",
    "Order INV-88213 confirmed: 0.0123 BTC (USD 845.00). To cancel call 1-8O8-555-0199",
    "Geek Squad auto-renewal of USD 349.99 processed today. Support: +1 808 555 0134",
    "Defender subscription renewed for $299.00, call 888.555.0182 within 24 hours for a refund",
    "Send 0.05 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh to unlock your account",
    "Your account will be suspended. Verify now at https://secure-login-verify.example/m365",
    "Coinbase withdrawal of $1,250.00 pending. Not you? Call +44 20 7946 0321",
    "Amazon Prime renewal 139 USD charged. Contact billing desk +1‑888‑555‑0166",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=Path, default=Path("samples/keys"))
    parser.add_argument("--show", type=int, default=10, help="misses/false alarms to print")
    args = parser.parse_args(argv)

    from mailaudit.audit import audit_message
    from mailaudit.templates.matcher import example_values
    from support.synth.build import Mailbox
    from support.synth.notify import Notification, open_workshop, send_notification

    shop = open_workshop(args.keys if args.keys.is_dir() else None)
    rng = random.Random(2026)
    when = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    cases: list[tuple[str, str, str, str, bytes]] = []  # template, slot, expected, value, raw
    for template in shop.catalog.templates:
        for spec in template.user_slots:
            base = example_values(template)
            benign = BENIGN.get(spec.type, [])
            for expected, values in (("authentic", benign), ("abused", LURES)):
                for value in values:
                    when += timedelta(minutes=7)
                    n = Notification(template.id, {**base, spec.name: value},
                                     Mailbox("Alex Wilber", "alex@contoso.example"), when)
                    cases.append((template.id, spec.name, expected, value,
                                  send_notification(shop, n, rng)))

    confusion: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    started = time.perf_counter()
    for template_id, slot, expected, value, raw in cases:
        result = audit_message(raw, resolver=shop.resolver, catalog=shop.catalog)
        got = str(result.verdict)
        confusion[(expected, got)] += 1
        if got != expected:
            wrong.append(f"  {template_id} slot {slot}: expected {expected}, got {got}: "
                         f"{value[:70]!r} — {result.reason[:140]}")
    elapsed = time.perf_counter() - started

    abused_total = sum(v for (e, _), v in confusion.items() if e == "abused")
    genuine_total = sum(v for (e, _), v in confusion.items() if e == "authentic")
    caught = confusion[("abused", "abused")]
    false_alarms = genuine_total - confusion[("authentic", "authentic")]
    print(f"templates with customer slots: {len({c[0] for c in cases})}; messages: {len(cases)}")
    print(f"abused caught:          {caught}/{abused_total}")
    print(f"genuine wrongly flagged: {false_alarms}/{genuine_total}")
    print("confusion (expected -> got): " + ", ".join(
        f"{e}->{g}: {v}" for (e, g), v in sorted(confusion.items())))
    print(f"audit throughput: {len(cases) / elapsed:,.0f} messages/s "
          f"({elapsed / len(cases) * 1000:.2f} ms each, one core, offline replay)")
    if wrong:
        print(f"first {min(args.show, len(wrong))} of {len(wrong)} wrong:")
        print("\n".join(wrong[:args.show]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
