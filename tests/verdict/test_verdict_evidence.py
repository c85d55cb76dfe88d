"""Verdicts that hold on adversarial mail: each case is built here (fresh keys, the sample
generator's machinery) and judged through ``audit_message`` and the installed command.

Conclusive recomputation beats a recorded result; only the receiver's own record is trusted;
limits never decide; the body hash is said for every signature; one evaluation time; abuse
needs positive evidence; every header that names a catalogued sender is a claim.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailaudit.audit import audit_item, audit_message
from mailaudit.dns.offline import OfflineResolver
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import AuditResult, MessageRef, RawMessage, Verdict
from mailaudit.options import AuditOptions, Limits
from support.paths import CORPORA
from support.synth import world
from support.synth.build import Draft, Mailbox, compose, message_id
from support.synth.notify import (
    Notification,
    Workshop,
    draft_of,
    open_workshop,
    send_notification,
    sign_notification,
)
from support.synth.receive import receive
from support.synth.samples import drop_headers
from support.synth.sign import DkimSpec, add_dkim_signature

RECIPIENT = Mailbox("Megan Bowen", "megan@contoso-mail.example")
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOT_GENUINE = {Verdict.AUTHENTIC, Verdict.ABUSED, Verdict.UNKNOWN_SENDER}
LURE = ("Microsoft 365 Apps order of 55 licences USD 587.95 charged. Not you? Call Microsoft "
        "Billing +1-888-555-0163 for a refund")


@pytest.fixture(scope="module")
def shop() -> Workshop:
    return open_workshop(None)  # fresh keys, made for this run


@pytest.fixture(scope="module")
def snapshot(shop: Workshop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dns") / "dns.json"
    path.write_text(json.dumps({"format": "mailaudit-dns/1", "captured_at": "2026-03-02T10:00:00Z",
                                "records": dict(shop.records)}), encoding="utf-8")
    return path


def deliver(shop: Workshop, template_id: str, values: dict[str, str] | None = None, *,
            seed: int = 1, **kw: object) -> bytes:
    template = shop.catalog.template(template_id)
    kw.setdefault("receiver", world.CONTOSO_MX)
    n = Notification(template_id, {**template.examples[0], **(values or {})}, RECIPIENT, WHEN,
                     **kw)  # type: ignore[arg-type]
    return send_notification(shop, n, random.Random(seed))


def audit(raw: bytes, shop: Workshop, *, resolver: object = None, **options: object
          ) -> AuditResult:
    return audit_message(raw, resolver=shop.resolver if resolver is None else resolver,  # type: ignore[arg-type]
                         catalog=shop.catalog, options=AuditOptions(**options))  # type: ignore[arg-type]


def cli(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    exe = Path(sys.executable).with_name("mailaudit")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, timeout=120,
                          check=False)


def cli_record(path: Path, *args: str | Path) -> tuple[dict[str, object], int]:
    res = cli("check", path, "--format", "jsonl", *args)
    lines = res.stdout.decode("utf-8").splitlines()
    assert lines, res.stderr.decode("utf-8", "replace")
    return json.loads(lines[0]), res.returncode


# -- 1. Conclusive beats recorded -------------------------------------------------------------

def forged_unsigned(shop: Workshop, values: dict[str, str] | None = None) -> bytes:
    """Genuine billing mail as delivered, with its DKIM signature taken off: the receiver's
    record (dkim=pass, dmarc=pass) now describes a message that is not signed."""
    return drop_headers(deliver(shop, "billing.invoice-available", values), b"DKIM-Signature")


@pytest.mark.parametrize("lure", [False, True])
def test_forged_record_on_unsigned_message_is_never_genuine(shop: Workshop, snapshot: Path,
                                                            tmp_path: Path, lure: bool) -> None:
    raw = forged_unsigned(shop, {"org": LURE} if lure else None)
    assert b"dkim=pass" in raw and b"DKIM-Signature" not in raw
    for resolver in (OfflineResolver(), shop.resolver):
        result = audit(raw, shop, resolver=resolver)
        assert result.verdict not in NOT_GENUINE, result.reason
        assert result.verdict is Verdict.SPOOFED, result.reason
        (d,) = [d for d in result.auth.disagreements if d.method == "dkim"]
        assert (d.recorded, d.recomputed) == ("pass", "none")
        assert "no DKIM signature" in d.explanation
        assert all(r.contradicted for r in result.auth.recorded if r.trusted)
        assert "inconclusive" not in result.reason
    path = tmp_path / "forged.eml"
    path.write_bytes(raw)
    for args in (("--offline",), ("--dns-snapshot", snapshot, "--offline")):
        rec, code = cli_record(path, *args)
        assert rec["verdict"] == "spoofed" and code == 1


def test_forged_receiver_record_with_a_forged_hop_is_contradicted(shop: Workshop) -> None:
    """The attacker writes both the record and a Received "by" the receiver: the record is
    then trusted as the receiver's, and the recomputation still refutes it."""
    head = (b"Authentication-Results: mx.contoso-mail.example; dkim=pass header.d=microsoft.com;"
            b" spf=pass smtp.mailfrom=microsoft.com; dmarc=pass header.from=microsoft.com\r\n"
            b"Received: from attacker.example (attacker.example [198.51.100.9]) by "
            b"mx.contoso-mail.example with ESMTP id 1; Mon, 2 Mar 2026 09:30:00 +0000\r\n")
    body = drop_headers(deliver(shop, "billing.invoice-available"), b"DKIM-Signature")
    body = drop_headers(drop_headers(body, b"Authentication-Results"), b"Received")
    result = audit(head + body, shop, resolver=OfflineResolver())
    assert any(r.trusted for r in result.auth.recorded)
    assert result.verdict is Verdict.SPOOFED, result.reason


def test_a_signed_header_edited_after_delivery_refutes_the_record(shop: Workshop) -> None:
    """A genuine notification whose signed Subject was edited afterwards (a forwarded .eml
    made to say something else): its signature fails with the key in hand while the body
    hash still passes. The receiver's record of a pass is not about these bytes, and the
    message is spoofed, whatever SPF says."""
    raw = deliver(shop, "billing.invoice-available")
    subject = re.search(rb"\r\nSubject: [^\r\n]*", raw)
    assert subject is not None
    edited = raw.replace(subject.group(0), b"\r\nSubject: Refund pending: call +1-888-555-0163",
                         1)
    result = audit(edited, shop)
    (dkim,) = [c for c in result.auth.recomputed if c.method == "dkim"]
    assert (dkim.result, dkim.failure, dkim.body_hash) == ("fail", "signature", "pass")
    assert result.verdict is Verdict.SPOOFED, result.reason
    assert all(r.contradicted for r in result.auth.recorded if r.trusted)
    (d,) = [d for d in result.auth.disagreements if d.method == "dkim"]
    assert "signed headers changed after delivery" in d.explanation
    assert audit(raw, shop).verdict is Verdict.AUTHENTIC  # the same message, unedited


# -- 2. Trust the receiver, not the top line --------------------------------------------------

def test_record_not_written_by_the_receiver_is_an_upstream_claim(shop: Workshop) -> None:
    raw = deliver(shop, "billing.invoice-available")
    raw = drop_headers(raw, b"Authentication-Results")
    forged = (b"Authentication-Results: mx.recipient.example; dkim=pass header.d=microsoft.com;"
              b" dmarc=pass header.from=microsoft.com\r\n")
    result = audit(forged + raw, shop, resolver=OfflineResolver())
    assert result.auth.recorded and not any(r.trusted for r in result.auth.recorded)
    (f,) = [f for f in result.findings if f.code == "no-trusted-receiver"]
    assert "--trust-authserv-id" in f.message and "mx.recipient.example" in f.message
    named = audit(forged + raw, shop, resolver=OfflineResolver(),
                  trust_authserv_ids=("mx.recipient.example",))
    assert any(r.trusted for r in named.auth.recorded)


def test_id_less_record_needs_exchange_online_hops(shop: Workshop) -> None:
    raw = drop_headers(deliver(shop, "billing.invoice-available"), b"Authentication-Results")
    forged = b"Authentication-Results: spf=pass smtp.mailfrom=microsoft.com; dmarc=pass\r\n"
    result = audit(forged + raw, shop, resolver=OfflineResolver())
    assert not any(r.trusted for r in result.auth.recorded)
    exo = deliver(shop, "billing.invoice-available", receiver=world.TAILSPIN_EXO)
    assert any(r.trusted and r.authserv_id == "" for r in
               audit(exo, shop, resolver=OfflineResolver()).auth.recorded)


def test_record_inside_a_forwarded_message_is_an_upstream_claim(shop: Workshop) -> None:
    inner = forged_unsigned(shop, {"org": LURE})
    draft = Draft(sender=Mailbox("Megan Bowen", "megan@contoso-mail.example"),
                  to=(Mailbox("", "phish@contoso-mail.example"),), subject="FW: invoice",
                  date=WHEN, message_id="<fw@contoso-mail.example>", text="Is this real?",
                  attached=(inner,))
    outer = compose(draft, random.Random(3))
    results = audit_item(RawMessage(MessageRef("fw.eml"), outer), resolver=OfflineResolver(),
                         catalog=shop.catalog, options=AuditOptions(
                             trust_authserv_ids=("mx.contoso-mail.example",)))
    child = results[-1]
    assert child.parent is not None
    assert child.auth.recorded and not any(r.trusted for r in child.auth.recorded)
    assert any(f.code == "recorded-in-attachment" for f in child.findings)
    assert child.verdict not in NOT_GENUINE


# -- 3. Limits never decide -------------------------------------------------------------------

def display_name_spoof(pad: int) -> bytes:
    padding = b"".join(b"X-Pad-%d: x\r\n" % i for i in range(pad))
    return (b"Received: from out.mail-notify.example (out.mail-notify.example [203.0.113.88]) by "
            b"mx.contoso-mail.example with ESMTPS id 2; Mon, 2 Mar 2026 09:30:00 +0000\r\n"
            + padding +
            b"From: Microsoft account team <security-alert@mail-notify.example>\r\n"
            b"To: megan@contoso-mail.example\r\nSubject: Unusual sign-in activity\r\n"
            b"Date: Mon, 2 Mar 2026 09:29:00 +0000\r\nMessage-ID: <p@mail-notify.example>\r\n"
            b"\r\nWe detected something unusual. Call +1 (802) 555-0142 now.\r\n")


def test_padding_does_not_hide_the_from_header(shop: Workshop, tmp_path: Path) -> None:
    plain = audit(display_name_spoof(0), shop, resolver=OfflineResolver())
    padded = audit(display_name_spoof(2_100), shop, resolver=OfflineResolver())
    assert plain.verdict is padded.verdict is Verdict.SPOOFED, padded.reason
    assert any(f.code == "limit-headers" for f in padded.findings)
    path = tmp_path / "padded.eml"
    path.write_bytes(display_name_spoof(2_100))
    rec, code = cli_record(path, "--offline")
    assert rec["verdict"] == "spoofed" and code == 1


def test_a_limit_that_cuts_the_message_gives_error(shop: Workshop, tmp_path: Path) -> None:
    raw = deliver(shop, "billing.invoice-available", {"org": LURE})
    assert audit(raw, shop).verdict is Verdict.ABUSED
    cut = audit(raw, shop, limits=Limits(max_message_bytes=1_000))
    assert cut.verdict is Verdict.ERROR and cut.error is not None
    assert cut.error.code == "limit-message-size" and "max_message_bytes" in cut.reason
    few = audit(raw, shop, limits=Limits(max_headers=3))
    assert few.verdict is not Verdict.AUTHENTIC
    path = tmp_path / "abused.eml"
    path.write_bytes(raw)
    rec, code = cli_record(path, "--limit", "max_message_bytes=1000", "--offline")
    assert rec["verdict"] == "error" and code != 0  # flagged (3 when every record is an error)


# -- 4. Body hash for every signature; 5. one evaluation time ---------------------------------

def signed_at(shop: Workshop, when: datetime, *, expire_after: int | None,
              body: str = "Your invoice is ready.") -> bytes:
    key = shop.keys[world.CONTOSO.key]
    raw = (b"From: Contoso Billing <billing@contoso-mail.example>\r\n"
           b"To: megan@contoso-mail.example\r\nSubject: Invoice\r\n"
           b"Date: Mon, 2 Mar 2026 09:29:00 +0000\r\nMessage-ID: <x@contoso-mail.example>\r\n"
           b"\r\n" + body.encode() + b"\r\n")
    spec = DkimSpec(world.CONTOSO.domain, world.CONTOSO.selector, key,
                    headers=("from", "to", "subject", "date", "message-id"),
                    expire_after=expire_after)
    return add_dkim_signature(raw, spec, timestamp=int(when.timestamp()))


def dkim_of(result: AuditResult) -> tuple[str, str, str, str]:
    (c,) = result.auth.recomputed_of("dkim")
    return c.result, c.failure, c.body_hash, c.reason


def test_expired_signature_still_says_the_body_changed(shop: Workshop) -> None:
    raw = signed_at(shop, WHEN, expire_after=3600)
    later = (WHEN + timedelta(days=2)).timestamp()
    result, failure, bh, _ = dkim_of(audit(raw, shop, now=later))
    assert (result, failure, bh) == ("permerror", "expired", "pass")
    changed = raw.replace(b"Your invoice is ready.", b"Call +1 802 555 0142 to pay now.")
    result, failure, bh, reason = dkim_of(audit(changed, shop, now=later))
    assert (result, failure, bh) == ("fail", "body-hash", "fail")
    assert "body changed after signing" in reason and "expired" in reason
    # The key is not captured either: the body hash needs no key.
    result, failure, bh, reason = dkim_of(audit(changed, shop, resolver=OfflineResolver(),
                                                now=WHEN.timestamp()))
    assert (result, bh) == ("fail", "fail") and "body changed after signing" in reason


def test_replay_judges_at_captured_at(shop: Workshop, tmp_path: Path) -> None:
    raw = signed_at(shop, WHEN, expire_after=3600)
    doc = {"format": "mailaudit-dns/1", "captured_at": (WHEN + timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "records": dict(shop.records)}
    replay = SnapshotResolver.from_document(doc)
    result = audit(raw, shop, resolver=replay)
    assert dkim_of(result)[0] == "pass"
    assert result.auth.clock == "snapshot"
    assert result.auth.evaluated_at == (WHEN + timedelta(minutes=5)).timestamp()
    at = audit(raw, shop, resolver=replay, now=(WHEN + timedelta(days=1)).timestamp())
    assert dkim_of(at)[:2] == ("permerror", "expired") and at.auth.clock == "--at"
    path, snap = tmp_path / "m.eml", tmp_path / "dns.json"
    path.write_bytes(raw)
    snap.write_text(json.dumps(doc), encoding="utf-8")
    rec, _ = cli_record(path, "--dns-snapshot", snap, "--offline")
    assert rec["auth"]["clock"] == "snapshot"  # type: ignore[index]
    assert [c["result"] for c in rec["auth"]["recomputed"] if c["method"] == "dkim"] == ["pass"]  # type: ignore[index]
    rec, _ = cli_record(path, "--dns-snapshot", snap, "--offline", "--at", "2026-03-05T00:00:00Z")
    assert rec["auth"]["clock"] == "--at"  # type: ignore[index]
    assert [c["result"] for c in rec["auth"]["recomputed"] if c["method"] == "dkim"] == ["permerror"]  # type: ignore[index]


def test_huge_time_tags_are_quiet(shop: Workshop, capfd: pytest.CaptureFixture[str]) -> None:
    raw = signed_at(shop, WHEN, expire_after=None)
    raw = re.sub(rb"t=\d+", b"t=" + b"9" * 5_000, raw, count=1)
    result = audit(raw, shop)
    assert dkim_of(result)[0] in ("permerror", "fail")
    assert "fast DKIM path failed" not in capfd.readouterr().err


# -- 6. Abuse needs positive evidence ---------------------------------------------------------

def genuine_custom(shop: Workshop, address: str, subject: str, text: str, *,
                   display: str = "") -> bytes:
    """A message from a catalogued sender, signed and delivered as the platform does, with
    wording of our choosing (a language or layout the catalog does not hold)."""
    sender = shop.catalog.by_address(address)
    assert sender is not None
    rng = random.Random(7)
    draft = Draft(sender=Mailbox(display or "Microsoft", address), to=(RECIPIENT,),
                  subject=subject, date=WHEN - timedelta(seconds=5),
                  message_id=message_id(rng, "az.westus3.microsoft.com"), text=text)
    signed = sign_notification(shop, draft, sender, rng)
    origin = world.ms_origin(world.ms_envelope(address))
    return receive(signed, resolver=shop.resolver, origin=origin, receiver=world.CONTOSO_MX,
                   recipient=RECIPIENT.address, when=WHEN, rng=rng)


SPANISH = ("Verificación de la información de seguridad de la cuenta Microsoft\n\n"
           "Hola:\n\nQueremos confirmar que la información de seguridad de la cuenta "
           "me*****@contoso-mail.example sigue siendo correcta. Si la reconoce, no tiene que "
           "hacer nada.\n\nPuede revisarla en https://account.microsoft.com/security\n"
           "Si tiene preguntas, escriba a mailto:me*****@contoso-mail.example\n\n"
           "Gracias,\nEl equipo de cuentas Microsoft\n")


def test_genuine_mail_in_another_language_is_unrecognized(shop: Workshop, tmp_path: Path
                                                          ) -> None:
    raw = genuine_custom(shop, "account-security-noreply@accountprotection.microsoft.com",
                         "Verificación de la información de seguridad de la cuenta Microsoft",
                         SPANISH, display="Equipo de cuentas Microsoft")
    result = audit(raw, shop)
    assert result.verdict is Verdict.UNRECOGNIZED, result.reason
    assert result.template is not None and not result.template.signals
    assert "closest" in result.reason
    assert any(f.code == "unrecognized-wording" for f in result.findings)
    path = tmp_path / "es.eml"
    path.write_bytes(raw)
    rec, code = cli_record(path, "--dns-snapshot", tmp_path / "dns.json", "--offline") \
        if (tmp_path / "dns.json").exists() else cli_record(path, "--offline")
    assert rec["verdict"] in ("unrecognized", "unauthenticated")
    assert code == 0  # not flagged by default


def billing_without_optional_lines(shop: Workshop, org: str) -> bytes:
    template = shop.catalog.template("billing.invoice-available")
    n = Notification(template.id, {**template.examples[0], "org": org}, RECIPIENT, WHEN,
                     receiver=world.CONTOSO_MX)
    draft, sender = draft_of(shop, n, random.Random(11))
    assert draft.text is not None
    text = "\n".join(line for line in draft.text.splitlines()
                     if not line.startswith(("Domain:", "Subscription expiration date:")))
    text += "\nhttps://safelink.emails.azure.net/redirect/?destination=billing\n"
    draft = replace(draft, text=text, html=None)
    rng = random.Random(12)
    signed = sign_notification(shop, draft, sender, rng)
    origin = world.ms_origin(world.ms_envelope(sender.addresses[0]))
    return receive(signed, resolver=shop.resolver, origin=origin, receiver=world.CONTOSO_MX,
                   recipient=RECIPIENT.address, when=WHEN, rng=rng)


def test_missing_lines_are_never_abuse_and_slots_do_not_slide(shop: Workshop) -> None:
    result = audit(billing_without_optional_lines(shop, "Fabrikam, Inc."), shop)
    assert result.verdict is Verdict.UNRECOGNIZED, result.reason
    assert result.template is not None
    assert not any(s.name == "expires" for s in result.template.slots)
    assert "Domain:" in " ".join(result.template.missing)
    lured = audit(billing_without_optional_lines(shop, LURE), shop)
    assert lured.verdict is Verdict.ABUSED, lured.reason  # the lure is still evidence


def test_catalogued_sender_without_templates_needs_evidence(shop: Workshop) -> None:
    sender = next((s for s in shop.catalog.senders if not s.templates), None)
    if sender is None:
        pytest.skip("every catalogued sender has templates")
    raw = genuine_custom(shop, sender.addresses[0], "Notice", "Your settings were updated.")
    assert audit(raw, shop).verdict in (Verdict.UNRECOGNIZED, Verdict.SPOOFED,
                                        Verdict.UNAUTHENTICATED)


# -- 7. Every way to claim a sender is a claim ------------------------------------------------

def third_party(shop: Workshop, head: bytes, text: bytes = b"Please verify your account.") -> bytes:
    raw = head + (b"To: megan@contoso-mail.example\r\nSubject: Account notice\r\n"
                  b"Date: Mon, 2 Mar 2026 09:29:00 +0000\r\nMessage-ID: <t@x.example>\r\n"
                  b"\r\n" + text + b"\r\n")
    return (b"Received: from out.tenant.example (out.tenant.example [203.0.113.99]) by "
            b"mx.contoso-mail.example with ESMTPS id 3; Mon, 2 Mar 2026 09:30:00 +0000\r\n" + raw)


def test_sender_header_naming_a_catalogued_address_is_a_claim(shop: Workshop) -> None:
    raw = third_party(shop, b"From: Account Team <alerts@contosoo365.onmicrosoft.com>\r\n"
                            b"Sender: account-security-noreply@accountprotection.microsoft.com\r\n")
    for resolver in (OfflineResolver(), shop.resolver):
        result = audit(raw, shop, resolver=resolver)
        assert result.verdict is Verdict.SPOOFED, result.reason
        assert "Sender:" in result.reason


def test_envelope_and_dkim_domain_of_a_catalogued_sender_are_claims(shop: Workshop) -> None:
    genuine = deliver(shop, "billing.invoice-available")
    sig = re.search(rb"DKIM-Signature:.*?(?=\r\n[^ \t])", genuine, re.S)
    assert sig is not None
    forged_sig = sig.group(0).replace(b"d=microsoft.com", b"d=accountprotection.microsoft.com")
    raw = third_party(shop, b"Return-Path: <account-security-noreply@accountprotection.microsoft.com>\r\n"
                      + forged_sig + b"\r\nFrom: Account Team <team@acct-protect.example>\r\n")
    result = audit(raw, shop)
    assert result.verdict is Verdict.SPOOFED, result.reason
    assert "Return-Path" in result.reason or "DKIM-Signature d=" in result.reason


@pytest.mark.parametrize("address", ["no-reply@microsoft.com", "alerts-noreply@microsoft.com"])
def test_notification_address_at_the_brand_domain_failing_dmarc_is_spoofed(
        shop: Workshop, address: str) -> None:
    raw = third_party(shop, f"From: Microsoft account team <{address}>\r\n".encode())
    result = audit(raw, shop)
    assert result.verdict is Verdict.SPOOFED, result.reason


def test_a_person_at_the_brand_domain_claims_nothing(shop: Workshop) -> None:
    raw = third_party(shop, b"From: Jane Doe <jane.doe@microsoft.com>\r\n")
    assert audit(raw, shop).verdict is Verdict.UNAUTHENTICATED


def test_brand_display_name_on_a_throwaway_tenant(shop: Workshop) -> None:
    raw = third_party(shop, b"From: Ledger <support@ledgerwallet7.onmicrosoft.com>\r\n")
    result = audit(raw, shop)
    assert any(f.code == "brand-on-tenant-domain" for f in result.findings), result.findings


# -- 8. No internal exception reaches a result ------------------------------------------------

EXCEPTION_TEXT = re.compile(r"list index out of range|object has no attribute|Traceback|"
                            r"invalid literal for int|unsupported operand|KeyError|IndexError|"
                            r"TypeError|ValueError|AttributeError")


def _texts(result: AuditResult) -> Iterator[str]:
    yield result.reason
    for f in result.findings:
        yield f.message
    for c in result.auth.recomputed:
        yield c.reason
    if result.auth.arc is not None:
        yield result.auth.arc.reason


def test_arc_chain_sealed_with_cv_fail_by_a_list(shop: Workshop) -> None:
    from support.synth.sign import arc_seal

    raw = deliver(shop, "billing.invoice-available")
    key = shop.keys[world.LIST_ARC.key]
    hop1 = b"Authentication-Results: lists.fabrikam.example; dkim=pass; arc=none\r\n" + raw
    sealed = arc_seal(hop1, domain=world.LIST_ARC.domain, selector=world.LIST_ARC.selector,
                      key=key, srv_id="lists.fabrikam.example", timestamp=int(WHEN.timestamp()))
    sealed = sealed.replace(b"Account information", b"Account information [list footer]")
    hop2 = b"Authentication-Results: lists.fabrikam.example; arc=fail\r\n" + sealed
    twice = arc_seal(hop2, domain=world.LIST_ARC.domain, selector=world.LIST_ARC.selector,
                     key=key, srv_id="lists.fabrikam.example", timestamp=int(WHEN.timestamp()))
    assert b"i=2; cv=fail" in twice
    # A list that drops the first AMS: dkimpy stumbles over such chains.
    broken = re.sub(rb"ARC-Message-Signature: i=1;.*?(?=\r\n[^ \t])\r\n", b"", twice,
                    count=1, flags=re.S)
    for message in (twice, broken):
        result = audit(message, shop)
        assert result.auth.arc is not None and result.auth.arc.cv == "fail"
        assert "ARC-Seal[2]" in result.auth.arc.reason
        assert not any(EXCEPTION_TEXT.search(t) for t in _texts(result))


@pytest.mark.parametrize("tag", [b"i=\xc2\xb2", b"i=1\xd9\xa3"])
def test_non_ascii_digits_in_arc_instance(shop: Workshop, tag: bytes) -> None:
    raw = (b"ARC-Seal: " + tag + b"; cv=none; a=rsa-sha256; d=x.example; s=s; b=AAAA\r\n"
           b"ARC-Authentication-Results: " + tag + b"; x.example; spf=pass\r\n"
           + third_party(shop, b"From: a@x.example\r\n"))
    result = audit(raw, shop)
    assert result.verdict is not Verdict.ERROR or result.error is None or \
        result.error.code != "internal-error", result.reason


def test_no_exception_text_in_real_mail(shop: Workshop) -> None:
    root = CORPORA / "mail"
    if not root.is_dir():
        pytest.skip("../shared/corpora not present")
    from mailaudit.sources import iter_messages

    seen = 0
    for item in iter_messages([str(root)], limits=Limits()):
        for result in audit_item(item, resolver=OfflineResolver(), catalog=shop.catalog):
            seen += 1
            bad = [t for t in _texts(result) if EXCEPTION_TEXT.search(t)]
            assert not bad, (result.ref.display(), bad)
            assert result.error is None or result.error.code != "internal-error", result.reason
    assert seen > 100


# -- 9. RFC 9989 corners ----------------------------------------------------------------------

def _dmarc_world(author_txt: list[str]) -> SnapshotResolver:
    return SnapshotResolver({
        "_dmarc.news.example.org": {"TXT": author_txt},
        "_dmarc.example.org": {"TXT": ["v=DMARC1; p=reject"]},
        "example.org": {"TXT": ["v=spf1 -all"]},
        "out.tenant.example": {"TXT": []},
    }, complete=True)


def _dmarc_of(raw: bytes, shop: Workshop, resolver: SnapshotResolver) -> tuple[str, str]:
    (d,) = audit(raw, shop, resolver=resolver).auth.recomputed_of("dmarc")
    return d.result, d.reason


def test_two_records_at_the_author_domain_mean_none(shop: Workshop) -> None:
    raw = third_party(shop, b"From: news@news.example.org\r\n")
    result, reason = _dmarc_of(raw, shop, _dmarc_world(["v=DMARC1; p=none",
                                                        "v=DMARC1; p=quarantine"]))
    assert result == "none" and "2 DMARC records" in reason
    result, _ = _dmarc_of(raw, shop, _dmarc_world(["v=dmarc1; p=none"]))
    assert result == "fail"  # not a record: the organisational domain's p=reject applies


@pytest.mark.parametrize("pct", ["²", "٣", "1" * 5_000])
def test_non_ascii_digits_in_dmarc_pct(shop: Workshop, pct: str) -> None:
    raw = third_party(shop, b"From: news@news.example.org\r\n")
    result, _reason = _dmarc_of(raw, shop, _dmarc_world([f"v=DMARC1; p=reject; pct={pct}"]))
    assert result == "fail"
