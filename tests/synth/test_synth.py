"""The synthetic-mail generator: keys, signing, ARC sealing, builders, DNS and per-template
cases. Everything offline: dkimpy looks keys up through the generator's own snapshot."""

from __future__ import annotations

import email
import random
import unicodedata
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.policy import default
from pathlib import Path

import dkim
import pytest

from mailaudit.dns.snapshot import SnapshotResolver
from support.paths import REPO
from support.synth import lures, world
from support.synth.build import Draft, Mailbox, compose, header_field
from support.synth.dnssnap import dkim_dnsfunc, snapshot_records, spf_result
from support.synth.keys import KEY_KINDS, SampleKey, generate_key, load_key, load_or_create_keys
from support.synth.receive import observe
from support.synth.sign import DkimSpec, add_dkim_signature, arc_seal

SAMPLE_KEYS = REPO / "samples" / "keys"
WHEN = datetime(2026, 5, 19, 2, 41, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> dict[str, SampleKey]:
    return {kind: generate_key(kind, kind) for kind in KEY_KINDS}


def _resolver(records: dict[str, list[str]]) -> SnapshotResolver:
    return SnapshotResolver({name: {"TXT": txt} for name, txt in records.items()})


def _message(subject: str = "Hello", text: str = "Body line\n") -> bytes:
    draft = Draft(sender=Mailbox("Sender", "a@example.com"), to=(Mailbox("", "b@example.org"),),
                  subject=subject, date=WHEN, message_id="<1@example.com>", text=text,
                  html=f"<p>{text}</p>")
    return compose(draft, random.Random(1))


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_sign_verifies_for_each_key_kind(keys: dict[str, SampleKey], kind: str) -> None:
    key = keys[kind]
    signed = add_dkim_signature(_message(), DkimSpec("example.com", "sel", key),
                                timestamp=int(WHEN.timestamp()))
    dns = dkim_dnsfunc(_resolver({"sel._domainkey.example.com": [key.dns_txt()]}))
    assert dkim.verify(signed, dnsfunc=dns)
    assert f"a={key.algorithm.decode()}".encode() in signed
    assert f"t={int(WHEN.timestamp())}".encode() in signed


def test_signing_is_deterministic(keys: dict[str, SampleKey]) -> None:
    for key in keys.values():
        spec = DkimSpec("example.com", "sel", key)
        assert add_dkim_signature(_message(), spec, timestamp=1) == \
            add_dkim_signature(_message(), spec, timestamp=1)


def test_options_l_simple_and_oversigning(keys: dict[str, SampleKey]) -> None:
    key = keys["rsa2048"]
    dns = dkim_dnsfunc(_resolver({"sel._domainkey.example.com": [key.dns_txt()]}))
    spec = DkimSpec("example.com", "sel", key, canonicalize=("simple", "simple"),
                    body_length=True, oversign=("from",))
    signed = add_dkim_signature(_message(), spec, timestamp=1)
    assert b"c=simple/simple" in signed and b"; l=" in signed
    assert dkim.verify(signed, dnsfunc=dns)
    # l= lets text be appended without breaking the signature (RFC 6376 section 8.2) ...
    assert dkim.verify(signed + b"appended\r\n", dnsfunc=dns)
    # ... and an oversigned From cannot be added to.
    assert not dkim.verify(b"From: evil@example.net\r\n" + signed, dnsfunc=dns)


def test_from_must_be_signed(keys: dict[str, SampleKey]) -> None:
    with pytest.raises(ValueError, match="From"):
        add_dkim_signature(_message(), DkimSpec("example.com", "s", keys["rsa1024"],
                                                headers=("subject",)), timestamp=1)


def test_arc_seal_validates(keys: dict[str, SampleKey]) -> None:
    key = keys["rsa2048"]
    msg = (b"Authentication-Results: lists.example.org; dkim=pass header.d=example.com;"
           b" spf=pass smtp.mailfrom=a@example.com\r\n" + _message())
    sealed = arc_seal(msg, domain="lists.example.org", selector="arc", key=key,
                      srv_id="lists.example.org", timestamp=1_780_000_000)
    dns = dkim_dnsfunc(_resolver({"arc._domainkey.lists.example.org": [key.dns_txt()]}))
    cv, _results, reason = dkim.arc_verify(sealed, dnsfunc=dns)
    assert cv == b"pass", reason
    with pytest.raises(ValueError, match="authserv-id"):
        arc_seal(_message(), domain="x.example", selector="a", key=key, srv_id="x.example",
                 timestamp=1)


def test_keys_round_trip_and_kind_check(tmp_path: Path) -> None:
    made = load_or_create_keys(tmp_path, {"a": "rsa1024", "b": "ed25519"})
    again = load_or_create_keys(tmp_path, {"a": "rsa1024", "b": "ed25519"})
    assert {k: v.pem for k, v in made.items()} == {k: v.pem for k, v in again.items()}
    with pytest.raises(ValueError, match="not a rsa2048"):
        load_key(tmp_path / "a.pem", "rsa2048")
    with pytest.raises(ValueError, match="unknown key kind"):
        generate_key("x", "dsa")


def test_headers_encode_non_ascii_and_fold() -> None:
    subject = "Contoso Ltd — account email verification code " + "x" * 10
    field = header_field("Subject", subject)
    assert field.isascii() and b"=?utf-8?" in field
    value = field.decode().split(":", 1)[1].strip()
    assert str(make_header(decode_header(value))) == subject
    long_ascii = header_field("Subject", " ".join(["word"] * 40))
    assert all(len(line) <= 78 for line in long_ascii.split(b"\r\n"))


def test_compose_makes_seven_bit_mime() -> None:
    raw = _message(subject="Prüfung", text="Grüße — 498,95 €\n")
    assert raw.isascii()
    msg = email.message_from_bytes(raw, policy=default)
    assert msg["Subject"] == "Prüfung"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    assert plain is not None and "Grüße — 498,95 €" in plain.get_content()


def test_lure_obfuscations() -> None:
    zw = lures.zero_width_digits("call 555-0142")
    assert "\u200b" in zw and zw.replace("\u200b", "") == "call 555-0142"
    hg = lures.homoglyphs("PayPal")
    assert hg != "PayPal" and len(hg) == 6 and "\u0430" in hg
    fw = lures.fullwidth_digits("555-0142")
    assert fw != "555-0142" and unicodedata.normalize("NFKC", fw) == "555-0142"


def test_spf_evaluator_over_snapshot(keys: dict[str, SampleKey]) -> None:
    named = {name: keys[kind] for name, kind in world.KEYS.items()}
    resolver = SnapshotResolver(snapshot_records(named))
    assert spf_result(resolver, "microsoft.com", world.MS_WESTUS3.ip) == "pass"
    assert spf_result(resolver, "microsoft.com", world.LIST_OUT.ip) == "fail"
    assert spf_result(resolver, "mail-notify.example", "203.0.113.88") == "pass"
    assert spf_result(resolver, "mail-notify.example", "192.0.2.1") == "softfail"
    assert spf_result(resolver, "no-such.example", "192.0.2.1") == "none"


def test_observe_reports_what_dkimpy_sees(keys: dict[str, SampleKey]) -> None:
    named = {name: keys[kind] for name, kind in world.KEYS.items()}
    resolver = SnapshotResolver(snapshot_records(named))
    signer = world.NORTHWIND_RSA
    raw = add_dkim_signature(_message().replace(b"a@example.com", b"a@northwind-traders.example"),
                             DkimSpec(signer.domain, signer.selector, named[signer.key]),
                             timestamp=1)
    obs = observe(raw, resolver=resolver, origin=world.NORTHWIND_OUT)
    assert [d.result for d in obs.dkim] == ["pass"]
    assert (obs.spf, obs.dmarc, obs.dmarc_policy) == ("pass", "pass", "reject")
    broken = raw.replace(b"Body line", b"Body lime")
    obs = observe(broken, resolver=resolver, origin=world.MS_WESTUS3)
    assert [d.result for d in obs.dkim] == ["fail"] and obs.dmarc == "fail"


# --- per-template cases ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def template_cases():  # type: ignore[no-untyped-def]
    pytest.importorskip("mailaudit.templates.matcher")
    from support.synth.notify import open_workshop
    from support.synth.templates import iter_template_cases

    shop = open_workshop(SAMPLE_KEYS if SAMPLE_KEYS.is_dir() else None)
    return shop, list(iter_template_cases(shop))


def test_every_template_has_genuine_and_abused_cases(template_cases) -> None:  # type: ignore[no-untyped-def]
    shop, cases = template_cases
    for template in shop.catalog.templates:
        kinds = {c.kind for c in cases if c.template_id == template.id}
        assert kinds == {"genuine", "abused"}, template.id
    assert len({c.case_id for c in cases}) == len(cases)
    variants = {c.variant for c in cases}
    assert {"zero-width", "homoglyph", "fullwidth-digits", "html-only", "img-alt"} <= variants


def test_template_cases_authenticate_offline(template_cases) -> None:  # type: ignore[no-untyped-def]
    shop, cases = template_cases
    dns = dkim_dnsfunc(shop.resolver)
    failed = [c.case_id for c in cases if not dkim.verify(c.raw, dnsfunc=dns)]
    assert failed == []


def test_template_cases_are_reproducible(template_cases) -> None:  # type: ignore[no-untyped-def]
    from support.synth.templates import iter_template_cases

    shop, cases = template_cases
    again = list(iter_template_cases(shop))
    assert [c.raw for c in again] == [c.raw for c in cases]


def test_html_only_variant_has_no_text_part(template_cases) -> None:  # type: ignore[no-untyped-def]
    _shop, cases = template_cases
    for case in (c for c in cases if c.variant == "html-only"):
        msg = email.message_from_bytes(case.raw, policy=default)
        types = {p.get_content_type() for p in msg.walk()}
        assert "text/plain" not in types and "text/html" in types, case.case_id
