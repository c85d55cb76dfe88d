"""Mail of a fictional payments sender, Northwind Pay (northwind-traders.example), for learning
templates: genuine messages of two templates, signed with the project's test keys and
delivered through the generator's receiver, plus the abused and spoofed variants.

Northwind is the generator's "unrelated legitimate sender" (``world.NORTHWIND_*``): its keys,
SPF and DMARC are in the generator's DNS snapshot, so everything here authenticates offline.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.paths import SAMPLES
from support.synth import world
from support.synth.build import Draft, Mailbox, compose, message_id
from support.synth.dnssnap import write_dns_snapshot
from support.synth.notify import Workshop, open_workshop
from support.synth.receive import receive
from support.synth.sign import DkimSpec, add_dkim_signature

KEYS = SAMPLES / "keys"
SENDER = Mailbox("Northwind Pay", "pay@northwind-traders.example")

_PEOPLE = ["Jordan Lee", "Sam Ortiz", "Priya Raman", "Chen Wei", "Maria Gonzalez", "Tom Becker",
           "Aisha Khan", "Lars Nilsson", "Emma Dubois", "Kofi Mensah", "Yuki Tanaka"]
_RECIPIENTS = ["Alice", "Megan", "Ravi", "Olga", "Ben", "Fatima", "Hugo", "Ines"]
_NOTES = ["Dinner on Friday", "Rent for April, thanks!", "Concert tickets", "Your half of the taxi",
          "Team lunch", "Birthday gift for Dana", "Groceries from Saturday", "Book club fees",
          "Ski trip deposit", "Electric bill for March"]
_MERCHANTS = ["Contoso Coffee", "Fabrikam Books", "Tailspin Toys", "Adventure Works",
              "Wide World Importers", "Litware Garden"]
_MEMOS = ["Order 5512", "Monthly plan", "Gift card", "Table for two", "Spring catalogue",
          "Repair deposit"]
LURE = ("Your account will be charged $499.99 today. If you did not authorise this, call "
        "Northwind Billing at +1 (888) 555-0142 immediately")
APPENDED = ("URGENT: your wallet is locked. Call +1 (877) 555-0199 now to verify your "
            "identity or lose access within 24 hours.")


@dataclass(frozen=True, slots=True)
class Mail:
    kind: str  # "request" or "receipt"
    subject: str
    text: str
    html: str


def _amount(rng: random.Random) -> str:
    return f"${rng.randint(5, 400)}.{rng.randint(0, 99):02d}"


def _date(rng: random.Random) -> str:
    month = rng.choice(["January", "February", "March", "April", "May", "June"])
    return f"{month} {rng.randint(1, 28)}, 2026"


def _page(paras: list[str], link: tuple[str, str] | None) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paras)
    if link:
        body += f'<p><a href="{html.escape(link[0])}">{html.escape(link[1])}</a></p>\n'
    return f"<html><body>\n{body}</body></html>\n"


_FOOTER = ["Questions? Visit the Northwind Pay help centre.",
           "Northwind Traders, 1 Example Way, Example City"]


def payment_request(rng: random.Random, *, note: str | None = None) -> Mail:
    name, amount, who = rng.choice(_PEOPLE), _amount(rng), rng.choice(_RECIPIENTS)
    code = str(rng.randint(10_000_000, 99_999_999))
    note = note if note is not None else rng.choice(_NOTES)
    link = f"https://pay.northwind-traders.example/r/{code}"
    paras = [f"Hi {who},", f"{name} has requested {amount} from you using Northwind Pay.",
             f"Note from {name}: {note}", f"Request ID: {code}", f"Due date: {_date(rng)}"]
    text = "\n\n".join([*paras, f"Pay now: {link}", *_FOOTER]) + "\n"
    return Mail("request", f"{name} sent you a payment request for {amount}", text,
                _page([*paras, *_FOOTER], (link, "Pay now")))


def receipt(rng: random.Random, *, memo: str | None = None) -> Mail:
    merchant, amount, who = rng.choice(_MERCHANTS), _amount(rng), rng.choice(_RECIPIENTS)
    code = str(rng.randint(100_000_000, 999_999_999))
    memo = memo if memo is not None else rng.choice(_MEMOS)
    paras = [f"Hi {who},", f"You paid {amount} to {merchant} on {_date(rng)}.",
             f"Memo: {memo}", f"Transaction ID: {code}",
             "Keep this receipt for your records."]
    link = "https://pay.northwind-traders.example/activity"
    text = "\n\n".join([*paras, f"See your activity: {link}", *_FOOTER]) + "\n"
    return Mail("receipt", f"Receipt for your payment to {merchant}", text,
                _page([*paras, *_FOOTER], (link, "See your activity")))


def deliver(shop: Workshop, mail: Mail, rng: random.Random, *, n: int, signed: bool = True,
            extra_text: str = "", extra_html: str = "",
            origin: world.Origin = world.NORTHWIND_OUT) -> bytes:
    """The message as it sits in the recipient's mailbox."""
    when = datetime(2026, 5, 1, 9, 0, tzinfo=UTC) + timedelta(hours=7 * n)
    html_part = mail.html.replace("</body>", f"<p>{html.escape(extra_html)}</p>\n</body>") \
        if extra_html else mail.html
    draft = Draft(sender=SENDER, to=(Mailbox("", "alice@contoso-mail.example"),),
                  subject=mail.subject, date=when,
                  message_id=message_id(rng, "northwind-traders.example"),
                  text=mail.text + (f"\n{extra_text}\n" if extra_text else ""), html=html_part)
    raw = compose(draft, rng)
    if signed:
        for signer in (world.NORTHWIND_RSA, world.NORTHWIND_ED):
            spec = DkimSpec(signer.domain, signer.selector, shop.keys[signer.key],
                            oversign=("from", "subject"))
            raw = add_dkim_signature(raw, spec, timestamp=int(when.timestamp()))
    return receive(raw, resolver=shop.resolver, origin=origin, receiver=world.CONTOSO_MX,
                   recipient="alice@contoso-mail.example", when=when + timedelta(seconds=5),
                   rng=rng)


def workshop() -> Workshop:
    return open_workshop(KEYS)


def write_snapshot(shop: Workshop, path: Path) -> Path:
    write_dns_snapshot(path, shop.records)
    return path


def write_corpus(out: Path, shop: Workshop, *, seed: int = 15, requests: int = 9,
                 receipts: int = 8) -> list[Path]:
    """Genuine mail of both templates into ``out`` (one .eml each), interleaved."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths: list[Path] = []
    kinds = ["request"] * requests + ["receipt"] * receipts
    rng.shuffle(kinds)
    for n, kind in enumerate(kinds):
        mail = payment_request(rng) if kind == "request" else receipt(rng)
        path = out / f"{n:02d}-{kind}.eml"
        path.write_bytes(deliver(shop, mail, rng, n=n))
        paths.append(path)
    return paths
