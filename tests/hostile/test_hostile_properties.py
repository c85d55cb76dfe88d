"""Property tests: every parser that reads message text returns, for any input, and the whole
pipeline never ends in ``internal-error``.

Bounded (a few hundred examples each, no deadline) so the suite stays quick; the fuzzer in
fuzz/ is where long runs happen.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailaudit.audit import audit_message
from mailaudit.checks.dkim.tags import parse_tags
from mailaudit.checks.recorded.exchange import parse_colon_list
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import ReceivedHop, Verdict
from mailaudit.parse import parse_message
from mailaudit.parse.addresses import parse_address, parse_address_list
from mailaudit.parse.authres import (
    parse_authentication_results,
    parse_received_spf,
    split_arc_instance,
)
from mailaudit.parse.html_text import html_to_text
from mailaudit.parse.links import text_links, url_domain
from mailaudit.parse.received import parse_received, to_iso_date
from mailaudit.parse.rfc2047 import decode_words
from mailaudit.templates.catalog import Catalog
from mailaudit.templates.claims import claim_of, edit_distance_at_most, fold_label, fold_name
from mailaudit.templates.matcher import match_message
from mailaudit.templates.normalise import conf_key, digit_key, has_confusable, match_key, normalise
from mailaudit.templates.signals import find_signals

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Text that looks like header syntax: the structural characters show up often enough to matter.
SYNTAX = "()<>[]\":;@,.=?\\ \t\r\n-_/+'*%&#!~"
header_text = st.text(alphabet=st.sampled_from(string.ascii_letters + string.digits + SYNTAX)
                      | st.characters(), max_size=300)
any_text = st.text(max_size=300)
header_bytes = st.binary(max_size=300) | header_text.map(lambda s: s.encode("utf-8", "replace"))


# -- header parsers -----------------------------------------------------------------------------

@SETTINGS
@given(header_text, st.integers(min_value=0, max_value=10_000))
def test_received_never_raises(value: str, index: int) -> None:
    hop = parse_received(value, index)
    assert isinstance(hop, ReceivedHop) and hop.index == index
    to_iso_date(value)


@SETTINGS
@given(header_text)
def test_authentication_results_never_raises(value: str) -> None:
    parse_authentication_results(value)
    split_arc_instance(value)


@SETTINGS
@given(st.sampled_from(["mx.example.org; ", "", "spf=pass ", "i=1; x; "]), header_text,
       st.sampled_from(["dkim", "spf", "dmarc", "arc", "compauth", "auth"]),
       st.sampled_from(["pass", "fail", "", "=", "none (x)"]))
def test_authentication_results_shaped_never_raises(prefix: str, tail: str, method: str,
                                                    result: str) -> None:
    value = f"{prefix}{method}={result} {tail}"
    parse_authentication_results(value)


@SETTINGS
@given(header_text)
def test_received_spf_never_raises(value: str) -> None:
    parse_received_spf(value)


@SETTINGS
@given(header_text)
def test_colon_list_never_raises(value: str) -> None:
    assert isinstance(parse_colon_list(value), dict)


@SETTINGS
@given(header_bytes)
def test_dkim_tags_never_raise(value: bytes) -> None:
    parse_tags(value)
    parse_tags(b"v=1; a=rsa-sha256; " + value + b"; b=; bh=")


@SETTINGS
@given(header_text)
def test_addresses_never_raise(value: str) -> None:
    addresses, _problems = parse_address_list(value)
    for a in addresses:
        assert a.domain == a.domain.lower()
    parse_address(value)


@SETTINGS
@given(header_text)
def test_encoded_words_never_raise(value: str) -> None:
    decode_words(value)
    decode_words("=?utf-8?B?" + value + "?= =?x?Q?" + value + "?=")


@SETTINGS
@given(any_text | header_text)
def test_html_and_links_never_raise(value: str) -> None:
    html_to_text(value)
    html_to_text("<a href=\"" + value + "\">" + value)
    for link in text_links(value):
        url_domain(link.url)


# -- template normaliser, signals, claims, matcher ----------------------------------------------

@SETTINGS
@given(any_text | header_text)
def test_normaliser_and_signals_never_raise(value: str) -> None:
    norm = normalise(value)
    assert normalise(norm) == norm  # idempotent: matching normalises both sides
    match_key(norm)
    digit_key(conf_key(norm))
    has_confusable(norm)
    find_signals(value, where="body")
    find_signals(value, where="slot:x", allowed_domains=("microsoft.com",), skip=("money",))


@SETTINGS
@given(any_text, any_text, st.integers(min_value=0, max_value=5))
def test_claim_helpers_never_raise(a: str, b: str, limit: int) -> None:
    fold_name(a)
    fold_label(b)
    result = edit_distance_at_most(a[:60], b[:60], limit)
    assert result is None or 0 <= result <= limit


def _addresses(catalog: Catalog) -> list[str]:
    return sorted({a for s in catalog.senders for a in s.addresses})


@SETTINGS
@given(data=st.data())
def test_matcher_never_raises(catalog: Catalog, data: st.DataObject) -> None:
    address = data.draw(st.sampled_from(_addresses(catalog)))
    subject = data.draw(any_text)
    body = data.draw(any_text | header_text)
    html = data.draw(st.booleans())
    ctype = b"text/html" if html else b"text/plain"
    raw = (b"From: " + data.draw(header_text).encode("utf-8", "replace")[:80] + b" <"
           + address.encode() + b">\r\nSubject: " + subject.encode("utf-8", "replace")
           + b"\r\nContent-Type: " + ctype + b"; charset=utf-8\r\n\r\n"
           + body.encode("utf-8", "replace"))
    msg = parse_message(raw)
    claim_of(msg, catalog)  # may be None: the display name can split From into several
    sender = catalog.by_address(address)
    assert sender is not None
    match_message(msg, sender)


# -- whole messages -----------------------------------------------------------------------------

HEADER_NAMES = ["From", "To", "Cc", "Sender", "Reply-To", "Return-Path", "Subject", "Date",
                "Message-ID", "Received", "DKIM-Signature", "ARC-Seal", "ARC-Message-Signature",
                "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
                "X-Forefront-Antispam-Report", "X-Other", ""]
# Headers read by recorded_parse.tokenize, drawn more often than the others.
TOKENIZED = ["Authentication-Results", "ARC-Authentication-Results", "Received-SPF"]


@st.composite
def messages(draw: st.DrawFn, catalog_addresses: list[str]) -> bytes:
    fields = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        if draw(st.integers(0, 5)) == 0:
            name = draw(st.sampled_from(TOKENIZED))
            value = draw(header_text)
        else:
            name = draw(st.sampled_from(HEADER_NAMES))
            value = draw(header_text)
        if name == "From" and catalog_addresses and draw(st.booleans()):
            value = f"{value[:40]} <{draw(st.sampled_from(catalog_addresses))}>"
        sep = draw(st.sampled_from([": ", ":", " : ", "\r\n ", ""]))
        fields.append(name.encode() + sep.encode() + value.encode("utf-8", "replace"))
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    body = draw(st.binary(max_size=400) | any_text.map(lambda s: s.encode("utf-8", "replace")))
    multipart = draw(st.booleans())
    if multipart:
        fields.append(b'Content-Type: multipart/mixed; boundary="' +
                      draw(st.sampled_from([b"b", b"", b"--", b"b\"x"])) + b'"')
        body = b"--b" + eol + body + eol + b"--b--"
    return eol.join(fields) + eol + eol + body


@SETTINGS
@given(data=st.data())
def test_audit_message_never_crashes(catalog: Catalog, data: st.DataObject) -> None:
    raw = data.draw(messages(_addresses(catalog)))
    result = audit_message(raw, resolver=SnapshotResolver({}), catalog=catalog)
    assert isinstance(result.verdict, Verdict)
    assert result.error is None or result.error.code != "internal-error", result.error.message


@SETTINGS
@given(st.binary(max_size=2_000))
def test_audit_message_on_raw_bytes(catalog: Catalog, raw: bytes) -> None:
    result = audit_message(raw, resolver=SnapshotResolver({}), catalog=catalog)
    assert result.error is None or result.error.code != "internal-error", result.error.message


def test_fold_label_decodes_only_what_can_be_a_dns_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """The idna codec's punycode decoder is quadratic (a 200,000-character "label" took 3.9 s
    before it failed as too long): nothing longer than a DNS label (63) is decoded, and a
    real one still is."""
    import encodings.idna

    decoded: list[str] = []
    real = encodings.idna.ToUnicode

    def counting(label: bytes | str) -> str:
        decoded.append(str(label))
        return real(label)

    monkeypatch.setattr(encodings.idna, "ToUnicode", counting)
    assert fold_label("xn--mnchen-3ya") == fold_label("münchen") == "münchen"
    assert len(decoded) == 1
    long_label = "xn--" + "a" * 2000 + "-" + "b" * 2000
    assert fold_label(long_label) == long_label.replace("-", "")
    assert len(decoded) == 1
