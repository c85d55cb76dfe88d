"""Genuine and abused Microsoft notifications, built from the template catalog.

A notification is rendered from its catalog template (``mailaudit.templates.render``), signed
the way the research says Microsoft's platform signs (``world.platform_signer``), sent from one of
the platform's outbound hosts and delivered to a receiver, whose Authentication-Results are
computed from the message itself. The catalog is imported lazily: the rest of the generator does
not need it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mailaudit.dns.snapshot import Entry, SnapshotResolver
from support.synth import world
from support.synth.build import Draft, Mailbox, compose, message_id
from support.synth.dnssnap import snapshot_records
from support.synth.keys import SampleKey, load_or_create_keys
from support.synth.receive import receive
from support.synth.sign import DkimSpec, add_dkim_signature

if TYPE_CHECKING:
    from mailaudit.templates.catalog import Catalog, Sender, Template


@dataclass(frozen=True, slots=True)
class Workshop:
    """Keys, DNS and catalog: everything a build needs besides the seed."""

    keys: Mapping[str, SampleKey]
    records: Mapping[str, Entry]
    resolver: SnapshotResolver
    catalog: Catalog


def microsoft_domains(catalog: Catalog) -> list[str]:
    """From, envelope and DKIM domains of every catalogued sender: each must be in the
    snapshot."""
    domains: set[str] = set()
    for sender in catalog.senders:
        domains.update(a.rpartition("@")[2].lower() for a in sender.addresses)
        domains.update(d.domain.lower() for d in sender.dkim)
        domains.update(d.lower() for d in sender.envelope_domains if "." in d and " " not in d)
    return sorted(domains)


def signer_for(sender: Sender) -> world.Signer:
    """How a genuine message from ``sender`` is signed: the catalog's first verified DKIM
    domain (else its first listed one, else the From domain), with the catalog's selector when
    it names one, else the platform's."""
    expectations = [*(d for d in sender.dkim if d.verified), *(d for d in sender.dkim
                                                                if not d.verified)]
    if not expectations:
        return world.platform_signer(sender.addresses[0].rpartition("@")[2])
    first = expectations[0]
    base = world.platform_signer(first.domain)
    if first.selectors and first.selectors[0] != base.selector:
        return world.Signer(base.domain, first.selectors[0], world.PLATFORM_KEY,
                            inferred=not first.verified)
    return base


def open_workshop(key_dir: Path | None, catalog: Catalog | None = None) -> Workshop:
    if catalog is None:
        from mailaudit.templates.catalog import load_catalog

        catalog = load_catalog()
    keys = load_or_create_keys(key_dir, world.KEYS)
    records = snapshot_records(keys, platform_domains=microsoft_domains(catalog),
                               platform_signers=[signer_for(s) for s in catalog.senders])
    return Workshop(keys, records, SnapshotResolver(records, origin="synth"), catalog)


def display_name(sender: Sender, values: Mapping[str, str]) -> str:
    """The sender's display name with slot values filled in; prefers a pattern whose slots the
    values provide ("Microsoft on behalf of {tenant}") over a plain one."""
    if not sender.display_names:
        return ""
    best = sender.display_names[0]
    for dn in sender.display_names:
        slots = [s.slot for s in dn.segments if s.is_slot]
        if slots and all(v in values for v in slots):
            best = dn
            break
    parts = [values.get(s.slot, "") if s.is_slot else s.text for s in best.segments]
    return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Notification:
    template_id: str
    values: Mapping[str, str]
    recipient: Mailbox
    when: datetime  # arrival at the receiver
    receiver: world.Receiver = world.CONTOSO_MX
    east: bool = False  # send from the eastus host instead of westus3
    drop_text: bool = False  # HTML-only (no text/plain alternative)
    extra_html: str = ""  # appended inside the HTML body (text a template does not have)
    extra_text: str = ""  # appended to the text part


def draft_of(shop: Workshop, n: Notification, rng: random.Random) -> tuple[Draft, Sender]:
    from mailaudit.templates.render import render

    template = shop.catalog.template(n.template_id)
    sender = shop.catalog.sender(template.sender_id)
    rendered = render(template, n.values)
    filled = {**_examples(template), **n.values}
    text: str | None = rendered.text + n.extra_text
    html = rendered.html
    if n.extra_html:
        html = html.replace("</table>\n</td></tr></table>", n.extra_html
                            + "\n</table>\n</td></tr></table>", 1)
    if n.drop_text:
        text = None
    host = "az.eastus.unknown.microsoft.com" if n.east else "az.westus3.microsoft.com"
    draft = Draft(
        sender=Mailbox(display_name(sender, filled), sender.addresses[0]),
        to=(n.recipient,), subject=rendered.subject,
        date=n.when - timedelta(seconds=rng.randint(2, 9)),
        message_id=message_id(rng, host), text=text, html=html)
    return draft, sender


def _examples(template: Template) -> dict[str, str]:
    return dict(template.examples[0]) if template.examples else {}


def sign_notification(shop: Workshop, draft: Draft, sender: Sender, rng: random.Random) -> bytes:
    raw = compose(draft, rng)
    signer = signer_for(sender)
    # i= is the From address when it sits under d= (as in real s1024-meo signatures).
    identity = draft.sender.address if draft.sender.domain.endswith(signer.domain) else None
    spec = DkimSpec(signer.domain, signer.selector, shop.keys[signer.key], identity=identity)
    return add_dkim_signature(raw, spec, timestamp=int(draft.date.timestamp()))


def send_notification(shop: Workshop, n: Notification, rng: random.Random) -> bytes:
    """The delivered message: rendered, signed, sent from Microsoft's host, received."""
    draft, sender = draft_of(shop, n, rng)
    signed = sign_notification(shop, draft, sender, rng)
    origin = world.ms_origin(world.ms_envelope(draft.sender.address), east=n.east)
    return receive(signed, resolver=shop.resolver, origin=origin, receiver=n.receiver,
                   recipient=n.recipient.address, when=n.when, rng=rng)


def find_template(catalog: Catalog, address: str, *hints: str) -> Template | None:
    """The first template of the sender at ``address`` whose id contains every hint."""
    sender = catalog.by_address(address)
    if sender is None:
        return None
    for t in sender.templates:
        if all(h in t.id for h in hints):
            return t
    return sender.templates[0] if sender.templates and not hints else None
