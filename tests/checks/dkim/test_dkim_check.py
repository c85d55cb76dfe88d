"""check_dkim on hand-made cases: every failure mode gets a clear result, nothing crashes."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.checks.dkim.check import KEY_NOT_CAPTURED, check_dkim
from mailaudit.checks.dkim.tags import parse_tags
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import Severity
from mailaudit.parse.message import ParsedMessage
from mailaudit.report.schema import check_json
from support.synth.keys import generate_key

BASE = (b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\n"
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello Bob,\r\nsee you.\r\n")
NAME = "sel._domainkey.example.com"


def msg(raw: bytes) -> ParsedMessage:
    return ParsedMessage(raw=raw, headers=())


@pytest.fixture(scope="module")
def rsa_key() -> tuple[bytes, str]:
    key = generate_key("sel", "rsa1024")
    return key.pem, key.dns_txt()


def sign(raw: bytes, pem: bytes, **kw: Any) -> bytes:
    import dkim

    kw.setdefault("include_headers", [b"from", b"to", b"subject"])
    return bytes(dkim.sign(raw, b"sel", b"example.com", pem, **kw)) + raw


def snap(record: Any, *, complete: bool = True) -> SnapshotResolver:
    return SnapshotResolver({NAME: {"TXT": [record]}} if record is not None else {},
                            complete=complete)


def test_pass(rsa_key: tuple[bytes, str]) -> None:
    results, findings = check_dkim(msg(sign(BASE, rsa_key[0])), snap(rsa_key[1]))
    (r,) = results
    assert r.result == "pass"
    assert r.props["header.d"] == "example.com" and r.props["header.s"] == "sel"
    assert r.props["header.a"] == "rsa-sha256" and r.props["dkim.key_bits"] == 1024
    assert r.props["dkim.h"] == "from:to:subject" and r.props["dkim.index"] == 0
    assert r.props["dkim.l"] is False and r.props["dkim.sha1"] is False
    assert findings == ()


def test_unsigned_is_none() -> None:
    assert [r.result for r in check_dkim(msg(BASE), snap(None))[0]] == ["none"]


def test_altered_body_fails_with_body_hash(rsa_key: tuple[bytes, str]) -> None:
    raw = sign(BASE, rsa_key[0]).replace(b"see you", b"send money")
    (r,), _ = check_dkim(msg(raw), snap(rsa_key[1]))
    assert (r.result, r.failure, r.body_hash) == ("fail", "body-hash", "fail")
    assert r.reason == "body hash did not verify (body changed after signing)"


def test_altered_header_fails_signature(rsa_key: tuple[bytes, str]) -> None:
    raw = sign(BASE, rsa_key[0]).replace(b"Subject: hello", b"Subject: urgent")
    (r,), _ = check_dkim(msg(raw), snap(rsa_key[1]))
    assert (r.result, r.reason) == ("fail", "signature did not verify")


def test_a_key_of_another_type_is_an_inappropriate_key_not_a_failed_signature(
        rsa_key: tuple[bytes, str]) -> None:
    """RFC 6376 section 6.1.2: a key record whose type (k=) is not the signature's (a=) is
    PERMFAIL "inappropriate key algorithm". It used to be "signature did not verify", which
    says the message changed and refutes a receiver's recorded pass when only the key record
    differs (dkimpy verifies by the key's type whatever a= says)."""
    from mailaudit.checks.recorded.compare import contradicted
    from mailaudit.model import CheckResult, RecordedResult

    ed = generate_key("sel", "ed25519")
    rsa_signed = sign(BASE, rsa_key[0])
    ed_signed = sign(BASE, ed.signing_key(), signature_algorithm=b"ed25519-sha256")
    for raw, record, key, alg in ((rsa_signed, ed.dns_txt(), "ed25519", "rsa-sha256"),
                                  (ed_signed, rsa_key[1], "rsa", "ed25519-sha256")):
        (r,), _ = check_dkim(msg(raw), snap(record))
        assert (r.result, r.failure) == ("permerror", "key"), r
        assert r.reason == (f"inappropriate key algorithm: the key record is {key} (k=), the "
                            f"signature a={alg} (RFC 6376 section 6.1.2)")
        assert r.body_hash == "pass"  # the message is as signed
        recorded = RecordedResult(CheckResult("dkim", "pass", "", {"header.d": "example.com",
                                                                  "header.s": "sel"}),
                                  "mx.example.org", True, "Authentication-Results", 0)
        assert contradicted([recorded], [r]) == frozenset()
    (ok,), _ = check_dkim(msg(ed_signed), snap(ed.dns_txt()))
    assert ok.result == "pass"


def test_missing_key_and_uncaptured_key_stay_apart(rsa_key: tuple[bytes, str]) -> None:
    raw = sign(BASE, rsa_key[0])
    (gone,), _ = check_dkim(msg(raw), SnapshotResolver({}, complete=True))
    (unknown,), _ = check_dkim(msg(raw), SnapshotResolver({}, complete=False))
    assert gone.result == "permerror" and "does not exist" in gone.reason
    assert "dkim.unverifiable" not in check_json(gone)["props"]
    assert unknown.result == "temperror" and unknown.reason == KEY_NOT_CAPTURED
    assert unknown.failure == "key-not-captured"
    assert check_json(unknown)["props"]["dkim.unverifiable"] is True


def test_timeout_is_temperror(rsa_key: tuple[bytes, str]) -> None:
    (r,), _ = check_dkim(msg(sign(BASE, rsa_key[0])), SnapshotResolver({NAME: "TIMEOUT"}))
    assert r.result == "temperror"


@pytest.mark.parametrize("record,words", [
    ("v=DKIM1; k=rsa; p=", "revoked"),
    ("v=DKIM1; k=rsa; p=!!!not*base64", "RSA public key"),
    ("v=DKIM1; k=rsa; p=QUJD", "RSA public key"),
    ("v=DKIM2; k=rsa; p=QUJD", "v="),
    ("v=DKIM1; k=dsa; p=QUJD", "unknown key type"),
    ("v=DKIM1; k=rsa; k=rsa; p=QUJD", "duplicate"),
    ("just text", "key record"),
])
def test_bad_key_records_are_permerror(rsa_key: tuple[bytes, str], record: str,
                                       words: str) -> None:
    (r,), _ = check_dkim(msg(sign(BASE, rsa_key[0])), snap(record))
    assert r.result == "permerror"
    assert words in r.reason


@pytest.mark.parametrize("change,words", [
    (lambda v: v.replace(b"; s=", b"; s"), "without '='"),
    (lambda v: v.replace(b"; s=sel", b"; s=sel; s=sel"), "duplicate"),
    (lambda v: v.replace(b"a=rsa-sha256", b"a=rsa-md5"), "algorithm"),
    (lambda v: v.replace(b"d=example.com", b"d=exa(mple.com"), "d="),
    (lambda v: v.replace(b"v=1", b"v=2"), "v="),
    (lambda v: v.replace(b"bh=", b"bh=A"), "bh="),
    (lambda v: v.replace(b"; h=", b"; x=1; h="), "expired"),
])
def test_malformed_signatures_are_permerror(rsa_key: tuple[bytes, str], change: Any,
                                            words: str) -> None:
    (r,), _ = check_dkim(msg(change(sign(BASE, rsa_key[0]))), snap(rsa_key[1]))
    assert r.result == "permerror"
    assert words in r.reason


def test_rsa_512_is_permerror_rfc8301() -> None:
    from cryptography.hazmat.primitives import serialization

    from support.dkimgen import _weak_rsa_key

    priv = _weak_rsa_key(random.Random(8301), 512)
    pem = priv.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    der = priv.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    (r,), _ = check_dkim(msg(sign(BASE, pem)), snap("p=" + base64.b64encode(der).decode()))
    assert r.result == "permerror" and "RFC 8301" in r.reason


def test_l_tag_flags_unsigned_tail(rsa_key: tuple[bytes, str]) -> None:
    raw = sign(BASE, rsa_key[0], length=True) + b"Call +1 555 0100 now!\r\n"
    (r,), findings = check_dkim(msg(raw), snap(rsa_key[1]))
    assert r.result == "pass" and r.props["dkim.l"] is True
    (f,) = findings
    assert f.code == "dkim-l-tag" and f.severity == Severity.WARNING
    assert "23 bytes of the body are not covered" in f.message


def test_sha1_is_flagged(rsa_key: tuple[bytes, str]) -> None:
    raw = sign(BASE, rsa_key[0], signature_algorithm=b"rsa-sha1")
    (r,), findings = check_dkim(msg(raw), snap(rsa_key[1]))
    assert r.result == "pass" and r.props["dkim.sha1"] is True
    assert [f.code for f in findings] == ["dkim-sha1"]


def test_two_signatures_in_header_order(rsa_key: tuple[bytes, str]) -> None:
    raw = sign(sign(BASE, rsa_key[0]), rsa_key[0], canonicalize=(b"simple", b"simple"))
    results, _ = check_dkim(msg(raw), snap(rsa_key[1]))
    assert [r.props["dkim.index"] for r in results] == [0, 1]
    assert [r.result for r in results] == ["pass", "pass"]


def test_unparsable_header_section_is_permerror(rsa_key: tuple[bytes, str]) -> None:
    from mailaudit.parse.message import Header

    raw = b"Bad Name: x\r\n" + sign(BASE, rsa_key[0])
    sig_line = raw.split(b"\r\n")[1]
    headers = (Header("DKIM-Signature", "dkim-signature", "", sig_line),)
    (r,), _ = check_dkim(ParsedMessage(raw=raw, headers=headers), snap(rsa_key[1]))
    assert r.result == "permerror" and "could not be parsed" in r.reason


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_tag_parser_never_raises(data: bytes) -> None:
    parse_tags(data)


_TAGS = st.sampled_from([b"v=1", b"a=rsa-sha256", b"a=ed25519-sha256", b"d=example.com",
                         b"s=sel", b"h=from", b"bh=AAAA", b"b=AAAA", b"l=", b"l=5", b"c=relaxed",
                         b"c=x/y/z", b"i=@example.com", b"t=1", b"x=0", b"q=dns", b"=", b"",
                         b"b", b"\x00=\xff"])


@given(st.lists(_TAGS, max_size=12), st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_check_dkim_never_raises(tags: list[bytes], body: bytes) -> None:
    raw = b"DKIM-Signature: " + b"; ".join(tags) + b"\r\nFrom: a@example.com\r\n\r\n" + body
    results, _ = check_dkim(msg(raw), SnapshotResolver({}, complete=True))
    assert len(results) == 1
    assert results[0].result in ("permerror", "temperror", "fail")


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_check_dkim_never_raises_on_any_bytes(raw: bytes) -> None:
    check_dkim(msg(b"DKIM-Signature: v=1\r\n" + raw), SnapshotResolver({}))


def test_long_blank_runs_stay_linear(rsa_key: tuple[bytes, str]) -> None:
    import time

    raw = sign(BASE, rsa_key[0], canonicalize=(b"relaxed", b"relaxed")) + b" " * 2_000_000 + b"x"
    start = time.perf_counter()
    check_dkim(msg(raw), snap(rsa_key[1]))
    assert time.perf_counter() - start < 2.0
