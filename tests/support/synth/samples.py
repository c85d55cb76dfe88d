"""The bundled samples: a short story of genuine, abused, spoofed and forwarded mail.

Each sample is built from the template catalog, signed with the test keys, and delivered to a
receiver whose Authentication-Results are computed from the message. ``write_samples`` lays them
out as .eml files, an mbox, a Maildir, the DNS snapshot and a README.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from support.synth import lures, world
from support.synth.build import CRLF, Draft, Mailbox, compose, message_id
from support.synth.notify import (
    Notification,
    Workshop,
    draft_of,
    find_template,
    send_notification,
)
from support.synth.receive import receive
from support.synth.sign import DEFAULT_SIGNED_HEADERS, DkimSpec, add_dkim_signature, arc_seal


class SampleError(Exception):
    """The catalog lacks a template a sample is built from."""


@dataclass(frozen=True, slots=True)
class Sample:
    number: int
    slug: str
    verdict: str  # what `mailaudit check` should say
    why: str  # one or two sentences for the README
    raw: bytes

    @property
    def filename(self) -> str:
        return f"{self.number:02d}-{self.slug}.eml"


ALICE = Mailbox("Alice Wu", "alice@contoso-mail.example")
MEGAN = Mailbox("Megan Bowen", "megan@tailspin-toys.example")
LIST_ADDRESS = Mailbox("", "ops-alerts@lists.fabrikam.example")

ENTRA = "msonlineservicesteam@microsoftonline.com"
TEAMS = "no-reply@teams.mail.microsoft"
BILLING = "microsoft-noreply@microsoft.com"
AZURE = "azure-noreply@microsoft.com"
INVITES = "invites@microsoft.com"


def _at(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def _template_id(shop: Workshop, address: str, *hints: str) -> str:
    t = find_template(shop.catalog, address, *hints) or find_template(shop.catalog, address)
    if t is None:
        raise SampleError(f"the template catalog has no template for {address}; the samples "
                          "need one (add it to src/mailaudit/templates/data/)")
    return t.id


def lure_slot(shop: Workshop, template_id: str) -> str | None:
    """The slot a campaign puts its text in: one named in the template's abuse reports, else
    the first user-controlled slot that holds words."""
    template = shop.catalog.template(template_id)
    for report in template.abuse:
        for name in report.values:
            if name in template.slots:
                return name
    for spec in template.user_slots:
        if spec.type not in _NON_TEXT_SLOTS:
            return spec.name
    return None


_NON_TEXT_SLOTS = frozenset({"code", "url", "email", "date", "datetime", "amount", "number",
                             "guid", "id", "domain", "phone"})


def _abused(shop: Workshop, template_id: str, lure: str) -> dict[str, str]:
    slot = lure_slot(shop, template_id)
    if slot is None:
        raise SampleError(f"template {template_id} has no user-controlled text slot to abuse")
    return {slot: lure}


def _notification(shop: Workshop, rng: random.Random, template_id: str, values: dict[str, str],
                  *, recipient: Mailbox, when: datetime,
                  receiver: world.Receiver = world.CONTOSO_MX, east: bool = False) -> bytes:
    n = Notification(template_id, values, recipient, when, receiver=receiver, east=east)
    return send_notification(shop, n, rng)


def _entra_genuine(shop: Workshop, rng: random.Random) -> bytes:
    return _notification(shop, rng, _template_id(shop, ENTRA, "verif"), {},
                         recipient=ALICE, when=_at(5, 18, 9, 14, 27))


def _entra_abused(shop: Workshop, rng: random.Random) -> bytes:
    tid = _template_id(shop, ENTRA, "verif")
    return _notification(shop, rng, tid, _abused(shop, tid, lures.BITCOIN_PAYPAL),
                         recipient=ALICE, when=_at(5, 19, 2, 41, 8))


def _teams_abused(shop: Workshop, rng: random.Random) -> bytes:
    tid = _template_id(shop, TEAMS, "invit")
    return _notification(shop, rng, tid, _abused(shop, tid, lures.TEAMS_INVOICE),
                         recipient=MEGAN, when=_at(1, 14, 16, 5, 41),
                         receiver=world.TAILSPIN_EXO, east=True)


def _billing_abused(shop: Workshop, rng: random.Random) -> bytes:
    tid = _template_id(shop, BILLING, "purchase")
    return _notification(shop, rng, tid, _abused(shop, tid, lures.BILLING_ORG),
                         recipient=MEGAN, when=_at(3, 2, 11, 20, 3),
                         receiver=world.TAILSPIN_EXO)


def _azure_abused(shop: Workshop, rng: random.Random) -> bytes:
    tid = _template_id(shop, AZURE, "alert")
    template = shop.catalog.template(tid)
    values = _abused(shop, tid, lures.AZURE_ALERT)
    for name, spec in template.slots.items():
        # The alert rule's name travels with its description in the March 2026 reports.
        if spec.user_controlled and name not in values and ("name" in name or "rule" in name) \
                and spec.type not in _NON_TEXT_SLOTS:
            values[name] = lures.AZURE_ALERT_NAME
    return _notification(shop, rng, tid, values, recipient=ALICE, when=_at(3, 21, 7, 52, 30))


def _invite_abused(shop: Workshop, rng: random.Random) -> bytes:
    tid = _template_id(shop, INVITES)
    return _notification(shop, rng, tid, _abused(shop, tid, lures.INVITE_MESSAGE),
                         recipient=MEGAN, when=_at(4, 8, 13, 2, 19),
                         receiver=world.TAILSPIN_EXO)


def _third_party(shop: Workshop, rng: random.Random, draft: Draft, signers: list[world.Signer],
                 origin: world.Origin, when: datetime) -> bytes:
    raw = compose(draft, rng)
    for signer in signers:
        spec = DkimSpec(signer.domain, signer.selector, shop.keys[signer.key],
                        oversign=("from", "subject"))
        raw = add_dkim_signature(raw, spec, timestamp=int(draft.date.timestamp()))
    return receive(raw, resolver=shop.resolver, origin=origin, receiver=world.CONTOSO_MX,
                   recipient=ALICE.address, when=when, rng=rng)


def _lookalike(shop: Workshop, rng: random.Random) -> bytes:
    # The look-alike copies the genuine Entra mail (capital I for l in "microsoftonIine") and
    # authenticates for its own domain, as spoofing domains usually do.
    when = _at(5, 20, 15, 33, 12)
    n = Notification(_template_id(shop, ENTRA, "verif"), {}, recipient=ALICE, when=when)
    genuine, _sender = draft_of(shop, n, rng)
    spoofed = Mailbox(genuine.sender.name, f"msonlineservicesteam@{world.LOOKALIKE.domain}")
    draft = replace(genuine, sender=spoofed, message_id=message_id(rng, world.LOOKALIKE.domain),
        text=(genuine.text or "") + f"\nConfirm your account at {lures.PHISH_LINK}\n")
    return _third_party(shop, rng, draft, [world.LOOKALIKE], world.LOOKALIKE_OUT, when)


def _display_name_spoof(shop: Workshop, rng: random.Random) -> bytes:
    when = _at(5, 21, 6, 12, 45)
    text = ("Microsoft account\n\nUnusual sign-in activity\n\nWe detected something unusual "
            "about a recent sign-in to the Microsoft account al***@contoso-mail.example.\n\n"
            "Country/region: Russia\nIP address: 203.0.113.200\n\n"
            f"Please review your recent activity: {lures.PHISH_LINK}\n\n"
            "If you do not recognise this activity call +1 (866) 555-0175 within 24 hours or "
            "your account will be suspended.\n\nThanks,\nThe Microsoft account team\n")
    draft = Draft(sender=Mailbox("Microsoft account team", "security-alert@mail-notify.example"),
                  to=(ALICE,), subject="Microsoft account security alert", date=when,
                  message_id=message_id(rng, "mail-notify.example"), text=text)
    return _third_party(shop, rng, draft, [world.MAIL_NOTIFY], world.MAIL_NOTIFY_OUT, when)


def _forwarded_list(shop: Workshop, rng: random.Random) -> bytes:
    """A genuine alert sent to a list that keeps the envelope sender: at the final receiver SPF
    fails (the list's IP is not Microsoft's), DKIM survives (nothing signed was changed), and the
    list's ARC set carries the SPF pass it saw (RFC 8617 section 7.2)."""
    when = _at(4, 15, 22, 7, 3)
    n = Notification(_template_id(shop, AZURE, "alert"), {}, recipient=LIST_ADDRESS, when=when)
    from support.synth.notify import sign_notification

    draft, sender = draft_of(shop, n, rng)
    signed = sign_notification(shop, draft, sender, rng)
    origin = world.ms_origin(world.ms_envelope(draft.sender.address))
    at_list = receive(signed, resolver=shop.resolver, origin=origin, receiver=world.LIST_MX,
                      recipient=LIST_ADDRESS.address, when=when, rng=rng, final=False)
    list_headers = (b"List-Id: Operations alerts <ops-alerts.lists.fabrikam.example>" + CRLF
                    + b"List-Post: <mailto:ops-alerts@lists.fabrikam.example>" + CRLF)
    at_list = list_headers + at_list
    sealed = arc_seal(at_list, domain=world.LIST_ARC.domain, selector=world.LIST_ARC.selector,
                      key=shop.keys[world.LIST_ARC.key], srv_id=world.LIST_MX.authserv_id,
                      timestamp=int(when.timestamp()) + 1,
                      headers=(*DEFAULT_SIGNED_HEADERS, "list-id"))
    list_spec = DkimSpec(world.LIST_DKIM.domain, world.LIST_DKIM.selector,
                         shop.keys[world.LIST_DKIM.key],
                         headers=(*DEFAULT_SIGNED_HEADERS, "list-id", "list-post"))
    resent = add_dkim_signature(sealed, list_spec, timestamp=int(when.timestamp()) + 1)
    kept = world.Origin(world.LIST_OUT.helo, world.LIST_OUT.ip, origin.mail_from)
    return receive(resent, resolver=shop.resolver, origin=kept, receiver=world.CONTOSO_MX,
                   recipient=ALICE.address, when=when.replace(second=9), rng=rng)


def _body_changed(shop: Workshop, rng: random.Random) -> bytes:
    """Delivered genuine, then edited in the mailbox: the receiver's record says dkim=pass,
    recomputing says the body hash no longer matches."""
    n = Notification(_template_id(shop, BILLING, "invoice"), {}, recipient=ALICE, when=_at(5, 4, 10, 1, 40))
    state = rng.getstate()
    delivered = send_notification(shop, n, rng)
    rng.setstate(state)
    edit = "If you did not make this purchase call +1 (844) 555-0199 for a refund."
    tampered, _ = draft_of(shop, replace(n, extra_text=f"\n{edit}\n",
                                         extra_html=f"<tr><td>{edit}</td></tr>"), rng)
    head = delivered.partition(CRLF + CRLF)[0]
    return head + CRLF + CRLF + compose(tampered, rng).partition(CRLF + CRLF)[2]


def _unrelated(shop: Workshop, rng: random.Random) -> bytes:
    when = _at(5, 12, 14, 30, 0)
    text = ("Hello Alice,\n\nYour order NW-20418 has shipped and should arrive on Friday.\n\n"
            "Track it at https://www.northwind-traders.example/orders/NW-20418\n\n"
            "Northwind Traders customer care\n")
    draft = Draft(sender=Mailbox("Northwind Traders", "orders@northwind-traders.example"),
                  to=(ALICE,), subject="Your Northwind order has shipped", date=when,
                  message_id=message_id(rng, "northwind-traders.example"), text=text,
                  html=f"<html><body><p>{text.replace(chr(10) * 2, '</p><p>')}</p></body></html>")
    return _third_party(shop, rng, draft, [world.NORTHWIND_RSA, world.NORTHWIND_ED],
                        world.NORTHWIND_OUT, when)


def _report_forward(shop: Workshop, rng: random.Random, reported: bytes) -> bytes:
    when = _at(5, 19, 8, 30, 15)
    draft = Draft(sender=ALICE, to=(Mailbox("Phishing reports", "phish-report@contoso-mail.example"),),
                  subject="Fw: Is this real? Microsoft verification code with a PayPal charge",
                  date=when, message_id=message_id(rng, "contoso-mail.example"),
                  text="Hi security team,\n\nThis arrived overnight from a real Microsoft "
                       "address. I did not buy any Bitcoin. The original is attached.\n\nAlice\n",
                  attached=(reported,))
    raw = compose(draft, rng)
    raw = add_dkim_signature(raw, DkimSpec(world.CONTOSO.domain, world.CONTOSO.selector,
                                           shop.keys[world.CONTOSO.key]),
                             timestamp=int(when.timestamp()))
    origin = world.Origin(world.CONTOSO_OUT.helo, world.CONTOSO_OUT.ip, ALICE.address)
    return receive(raw, resolver=shop.resolver, origin=origin, receiver=world.CONTOSO_MX,
                   recipient="phish-report@contoso-mail.example", when=when, rng=rng)


ACCOUNT = "account-security-noreply@accountprotection.microsoft.com"
_SECURITY_INFO_ES = (
    "Verificación de la información de seguridad de la cuenta Microsoft\n\n"
    "Hola:\n\nQueremos confirmar que la información de seguridad de la cuenta "
    "al*****@contoso-mail.example sigue siendo correcta. Si la reconoce, no tiene que hacer "
    "nada.\n\nPuede revisarla en https://account.microsoft.com/security\n\n"
    "Si tiene preguntas, escriba a mailto:al*****@contoso-mail.example\n\n"
    "Gracias,\nEl equipo de cuentas Microsoft\n")


def _security_info_spanish(shop: Workshop, rng: random.Random) -> bytes:
    """Genuine account mail in a language and wording the catalog does not hold."""
    from support.synth.notify import sign_notification

    when = _at(5, 22, 7, 5, 31)
    sender = shop.catalog.by_address(ACCOUNT)
    if sender is None:
        raise SampleError(f"the catalog has no sender {ACCOUNT}")
    draft = Draft(sender=Mailbox("Equipo de cuentas Microsoft", ACCOUNT), to=(ALICE,),
                  subject="Verificación de la información de seguridad de la cuenta Microsoft",
                  date=when, message_id=message_id(rng, "az.westus3.microsoft.com"),
                  text=_SECURITY_INFO_ES)
    signed = sign_notification(shop, draft, sender, rng)
    origin = world.ms_origin(world.ms_envelope(ACCOUNT))
    return receive(signed, resolver=shop.resolver, origin=origin, receiver=world.CONTOSO_MX,
                   recipient=ALICE.address, when=when.replace(second=38), rng=rng)


def drop_headers(raw: bytes, name: bytes) -> bytes:
    """``raw`` without every ``name`` field (folded lines included)."""
    head, sep, body = raw.partition(CRLF + CRLF)
    kept: list[bytes] = []
    skipping = False
    for line in head.split(CRLF):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.lower().startswith(name.lower() + b":")
        if not skipping:
            kept.append(line)
    return CRLF.join(kept) + sep + body


def _forged_record(shop: Workshop, rng: random.Random) -> bytes:
    """Genuine billing mail with its DKIM signature taken off: the receiver's record still says
    dkim=pass and dmarc=pass, the message is not signed at all."""
    n = Notification(_template_id(shop, BILLING, "invoice"), {}, recipient=ALICE,
                     when=_at(5, 23, 11, 48, 2))
    return drop_headers(send_notification(shop, n, rng), b"DKIM-Signature")


def _padded_spoof(shop: Workshop, rng: random.Random) -> bytes:
    """Sample 08's spoof with 2,100 padding headers before From, past max_headers."""
    raw = _display_name_spoof(shop, rng)
    at = raw.find(CRLF + b"From: ") + 2
    padding = (b"X-Pad: x" + CRLF) * 2_100
    return raw[:at] + padding + raw[at:]


def _genuine(address: str, hint: str, recipient: Mailbox, when: datetime,
             receiver: world.Receiver) -> Callable[[Workshop, random.Random], bytes]:
    def build(shop: Workshop, rng: random.Random) -> bytes:
        tid = _template_id(shop, address, hint) if hint else _template_id(shop, address)
        return _notification(shop, rng, tid, {}, recipient=recipient, when=when,
                             receiver=receiver)
    return build


_Builder = Callable[[Workshop, random.Random], bytes]

# (number, slug, verdict, why, builder). Order is the story order.
_STORY: list[tuple[int, str, str, str, _Builder]] = [
    (1, "entra-verification-code-genuine", "authentic",
     "Entra ID email verification code from msonlineservicesteam@microsoftonline.com with an "
     "ordinary organisation name; signed and on template.", _entra_genuine),
    (2, "entra-tenant-name-abused", "abused",
     "Same sender and template, but the tenant name is a fake Bitcoin/PayPal charge with a "
     "callback number (the 2026 campaign). Authentication passes: only the slot gives it away.",
     _entra_abused),
    (3, "teams-team-name-abused", "abused",
     "Genuine Teams guest invitation whose team name is a fake invoice with a callback number "
     "(Check Point, January 2026). Delivered by Exchange Online (id-less Authentication-Results).",
     _teams_abused),
    (4, "billing-organization-name-abused", "abused",
     "Genuine billing mail from microsoft-noreply@microsoft.com whose organisation name carries "
     "a refund-desk phone number.", _billing_abused),
    (5, "azure-monitor-alert-abused", "abused",
     "Genuine Azure Monitor alert whose rule name and description are a fake Windows Defender "
     "charge with a callback number (March 2026).", _azure_abused),
    (6, "guest-invitation-message-abused", "abused",
     "Genuine Entra B2B invitation from invites@microsoft.com whose free-text invitation message "
     "is a callback lure.", _invite_abused),
    (7, "lookalike-domain-spoof", "spoofed",
     "Copies the Entra mail from msonlineservicesteam@microsoftonIine-security.com (capital I for "
     "l). SPF, DKIM and DMARC pass for that domain, which is not Microsoft's.", _lookalike),
    (8, "display-name-spoof", "spoofed",
     "\"Microsoft account team\" <security-alert@mail-notify.example>: a free-mail-like domain "
     "borrowing Microsoft's name, with a phishing link and a phone number.", _display_name_spoof),
    (9, "forwarded-via-list-arc", "authentic",
     "Genuine Azure Monitor alert forwarded by a mailing list that keeps the envelope sender: SPF "
     "fails at the final receiver, Microsoft's DKIM signature still verifies, and the list's ARC "
     "set (cv=pass) carries the SPF pass the list saw.", _forwarded_list),
    (10, "body-changed-after-delivery", "spoofed",
     "Genuine billing mail edited after delivery (a refund phone number added). The receiver "
     "recorded dkim=pass; recomputing fails on the body hash, so no valid microsoft.com "
     "signature remains.", _body_changed),
    (11, "unrelated-sender-order-shipped", "unknown-sender",
     "Ordinary mail from northwind-traders.example, dual-signed RSA and Ed25519, SPF and DMARC "
     "pass; not a catalogued sender.", _unrelated),
]
_EXTRA: list[tuple[int, str, str, str, _Builder]] = [
    (13, "teams-invitation-genuine", "authentic",
     "Genuine Teams guest invitation with an ordinary team name (compare 03).",
     _genuine(TEAMS, "invit", MEGAN, _at(2, 10, 9, 45, 12), world.TAILSPIN_EXO)),
    (14, "azure-monitor-alert-genuine", "authentic",
     "Genuine Azure Monitor alert with an ordinary rule name (compare 05).",
     _genuine(AZURE, "alert", ALICE, _at(3, 10, 4, 18, 55), world.CONTOSO_MX)),
    (15, "billing-genuine", "authentic",
     "Genuine billing mail from microsoft-noreply@microsoft.com (compare 04 and 10).",
     _genuine(BILLING, "invoice", MEGAN, _at(3, 1, 12, 0, 31), world.TAILSPIN_EXO)),
    (16, "guest-invitation-genuine", "authentic",
     "Genuine Entra B2B invitation with an ordinary message (compare 06).",
     _genuine(INVITES, "", MEGAN, _at(4, 2, 16, 40, 2), world.TAILSPIN_EXO)),
    (17, "account-security-info-unrecognized", "unrecognized",
     "Genuine, signed Microsoft account mail in Spanish (a security-info check with no code): "
     "no catalogued template fits and it carries no scam signal, so it is not abuse; the "
     "report names the closest template and what differed.", _security_info_spanish),
    (18, "forged-record-unsigned", "spoofed",
     "Billing mail whose receiver record says dkim=pass and dmarc=pass, but the message carries "
     "no DKIM signature: the recomputation (no DNS needed) contradicts the record, so nothing "
     "in it counts, and Microsoft's signature is missing.", _forged_record),
    (19, "padded-display-name-spoof", "spoofed",
     "Sample 08 with 2,100 padding headers before From: the fields the verdict reads are kept "
     "past max_headers, so padding cannot hide the spoof.", _padded_spoof),
]


_REPORT = (12, "user-report-phish-forward", "unknown-sender",
           "A user's \"report phishing\" forward: the outer mail is Contoso's own and "
           "authenticates; the attached message (sample 02) is audited on its own and is abused.")
REPORTED_SAMPLE = 2  # the sample attached to sample 12


def expected_verdicts() -> dict[str, str]:
    """File name -> the verdict ``mailaudit check`` should give, without building anything.
    The attachment inside sample 12 is expected to be ``abused``, like sample 02."""
    rows = [(n, slug, verdict) for n, slug, verdict, _why, _b in [*_STORY, *_EXTRA]]
    rows.append(_REPORT[:3])
    return {f"{n:02d}-{slug}.eml": verdict for n, slug, verdict in sorted(rows)}


def build_samples(shop: Workshop, seed: int) -> list[Sample]:
    """All samples, in story order. Each sample has its own random stream, so adding one does
    not change the others."""
    out: list[Sample] = []
    for number, slug, verdict, why, builder in _STORY:
        rng = random.Random(f"{seed}:{number}:{slug}")
        out.append(Sample(number, slug, verdict, why, builder(shop, rng)))
    reported = next(s for s in out if s.number == 2)
    number, slug, verdict, why = _REPORT
    rng = random.Random(f"{seed}:{number}:{slug}")
    out.append(Sample(number, slug, verdict, why, _report_forward(shop, rng, reported.raw)))
    for number, slug, verdict, why, builder in _EXTRA:
        rng = random.Random(f"{seed}:{number}:{slug}")
        out.append(Sample(number, slug, verdict, why, builder(shop, rng)))
    return sorted(out, key=lambda s: s.number)
