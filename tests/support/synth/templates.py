"""Test messages for every template in the catalog: genuine ones (each example's values) and
abused ones (scam text in the template's user-controlled slot, plainly and obfuscated).

The messages are signed with the workshop's keys and authenticate against ``shop.records``
(the same records as samples/dns.json when the workshop uses samples/keys/), so a test can run
every case through the whole pipeline offline::

    shop = open_workshop(Path("samples/keys"))
    resolver = shop.resolver
    for case in iter_template_cases(shop):
        result = audit_message(case.raw, resolver=resolver, catalog=shop.catalog)
        assert result.verdict == case.expected_verdict
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from support.synth import lures, world
from support.synth.build import Mailbox
from support.synth.notify import Notification, Workshop, open_workshop, send_notification

if TYPE_CHECKING:
    from mailaudit.templates.catalog import SlotSpec, Template

GENUINE = "genuine"
ABUSED = "abused"

_NON_TEXT = frozenset({"code", "url", "email", "date", "datetime", "amount", "number", "guid",
                       "id", "domain", "phone", "product_name"})
_RECIPIENTS = (Mailbox("Alice Wu", "alice@contoso-mail.example"),
               Mailbox("Megan Bowen", "megan@tailspin-toys.example"))
_START = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TemplateCase:
    template_id: str
    kind: str  # "genuine" | "abused"
    raw: bytes
    expected_verdict: str  # "authentic" for genuine cases, "abused" for abused ones
    variant: str = ""  # how the lure is placed or disguised; "" for genuine and plain lures

    @property
    def case_id(self) -> str:
        """A stable id for pytest: template, kind and variant."""
        return "-".join(p for p in (self.template_id, self.kind, self.variant) if p)


def text_slot(template: Template) -> SlotSpec | None:
    """Where a campaign puts its words: a slot its abuse reports name, else the first
    user-controlled slot that holds free words."""
    for report in template.abuse:
        for name in report.values:
            if name in template.slots and template.slots[name].user_controlled:
                return template.slots[name]
    for spec in template.user_slots:
        if spec.type not in _NON_TEXT:
            return spec
    return None


def lure_for(spec: SlotSpec) -> str:
    return lures.INVITE_MESSAGE if spec.type == "free_text" else lures.BITCOIN_PAYPAL


# variant -> (transform of the lure, drop the text part, put the lure only in an img alt)
_Transform = Callable[[str], str]
_VARIANTS: tuple[tuple[str, _Transform, bool], ...] = (
    ("zero-width", lures.zero_width_digits, False),
    ("homoglyph", lures.homoglyphs, False),
    ("fullwidth-digits", lures.fullwidth_digits, False),
    ("html-only", str, True),
)


def _abused_notifications(template: Template, base: Notification) -> Iterator[
        tuple[str, Notification]]:
    spec = text_slot(template)
    if spec is None:
        # No slot a sender can write in: the abuse can only be text the template lacks.
        yield "off-template", _with(base, extra_text=f"\n{lures.BITCOIN_PAYPAL}\n",
                                    extra_html=_row(lures.BITCOIN_PAYPAL))
        return
    lure = lure_for(spec)
    yield "", _with(base, values={spec.name: lure})
    for name, transform, html_only in _VARIANTS:
        yield name, _with(base, values={spec.name: transform(lure)}, drop_text=html_only)
    # Text an HTML-to-text step drops unless it keeps alt text: the body stays genuine and the
    # lure rides in an image's alt attribute.
    alt = html.escape(lures.BITCOIN_PAYPAL, quote=True)
    yield "img-alt", _with(base, extra_html=f'<tr><td><img src="cid:logo" alt="{alt}"></td></tr>')


def _row(text: str) -> str:
    return f"<tr><td>{html.escape(text)}</td></tr>"


def _with(n: Notification, *, values: dict[str, str] | None = None, extra_text: str = "",
          extra_html: str = "", drop_text: bool = False) -> Notification:
    return Notification(n.template_id, {**n.values, **(values or {})}, n.recipient, n.when,
                        receiver=n.receiver, east=n.east, drop_text=drop_text,
                        extra_html=extra_html, extra_text=extra_text)


def iter_template_cases(shop: Workshop | None = None, *, seed: int = 2026
                        ) -> Iterator[TemplateCase]:
    """Every template's genuine and abused messages. Without ``shop``, fresh keys are made and
    the caller cannot verify the messages: pass ``open_workshop(key_dir)`` and use its
    ``records``/``resolver``."""
    shop = shop or open_workshop(None)
    for index, template in enumerate(shop.catalog.templates):
        rng = random.Random(f"{seed}:template:{template.id}")
        when = _START + timedelta(hours=7 * index, minutes=index % 60)
        receiver = world.CONTOSO_MX if index % 2 == 0 else world.TAILSPIN_EXO
        recipient = _RECIPIENTS[index % 2]
        for number, example in enumerate(template.examples, 1):
            n = Notification(template.id, dict(example), recipient, when, receiver=receiver)
            yield TemplateCase(template.id, GENUINE, send_notification(shop, n, rng), "authentic",
                               f"example-{number}" if number > 1 else "")
            when += timedelta(minutes=3)
        base = Notification(template.id, dict(template.examples[0]), recipient, when,
                            receiver=receiver)
        for variant, n in _abused_notifications(template, base):
            yield TemplateCase(template.id, ABUSED, send_notification(shop, n, rng), "abused",
                               variant)
