"""RSA keys built to be expensive are refused, not verified (fast.MAX_RSA_BITS,
fast.MAX_RSA_EXPONENT_BITS).

OpenSSL will not verify with a key whose modulus is over 16,384 bits, or whose public exponent
is even; Python's pow() then did, in one C call that no time budget stops. Before the bounds,
the first case here (a 16,384-bit key with an even 16,000-bit exponent, a 5.4 KB TXT record
anyone can publish for their own domain) took 9.4 s a signature and answered "fail"; twenty
signatures a message (max_signatures) held one message for three minutes. Each case now
answers permerror with the reason, on the fast path and on the dkimpy path alike. Last, a key
in a form the fast path leaves to dkimpy, which cannot read it either: a key problem, too.
"""

from __future__ import annotations

import base64
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.check import KeyFetcher, _dkimpy_verify, check_dkim, dkimpy_run
from mailaudit.checks.dkim.tags import parse_tags
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.parse import parse_message
from support.der import NULL, rsa_public_key, subject_public_key_info
from support.synth.keys import generate_key

BASE = (b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\n"
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello Bob,\r\nsee you.\r\n")
NAME = "sel._domainkey.example.com"
def key_der(n: int, e: int, *, null: bytes = NULL) -> bytes:
    """A SubjectPublicKeyInfo for (n, e); ``null``: the algorithm's parameters."""
    return subject_public_key_info(n, e, params=null)


def costly(nbits: int, ebits: int, *, even: bool) -> tuple[int, int]:
    rng = random.Random(nbits * 7 + ebits)
    n = rng.getrandbits(nbits) | 1 | (1 << (nbits - 1))
    e = rng.getrandbits(ebits) | 1 | (1 << (ebits - 1))
    return n, e - 1 if even else e


def record(der: bytes) -> str:
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def signed() -> bytes:
    import dkim

    key = generate_key("sel", "rsa1024")
    return bytes(dkim.sign(BASE, b"sel", b"example.com", key.pem,
                           include_headers=[b"from", b"to", b"subject"])) + BASE


CASES = {
    # OpenSSL refuses an even exponent: this one went to pow() (9.4 s, "fail").
    "exponent-16000-bits-even": (costly(16384, 16000, even=True), "public exponent of 16000 bits"),
    "exponent-65-bits": (costly(2048, 65, even=False), "public exponent of 65 bits"),
    "modulus-32768-bits": (costly(32768, 17, even=False), "RSA key of 32768 bits"),
}


@pytest.mark.parametrize("case", CASES)
def test_costly_key_is_permerror(signed: bytes, case: str) -> None:
    (n, e), words = CASES[case]
    resolver = SnapshotResolver({NAME: {"TXT": [record(key_der(n, e))]}}, complete=True)
    (r,), _ = check_dkim(parse_message(signed), resolver)
    assert (r.result, r.failure) == ("permerror", "key")
    assert words in r.reason and "longest that is verified" in r.reason


def test_costly_key_is_refused_before_dkimpy_is_asked(signed: bytes) -> None:
    # Parameters with content in the algorithm identifier are the case the fast path leaves
    # to dkimpy; the key's bounds are checked first.
    n, e = costly(16384, 16000, even=True)
    der = key_der(n, e, null=b"\x05\x01\x00")
    with pytest.raises(fast.KeyTooCostly):
        fast.parse_key_record(record(der).encode())
    resolver = SnapshotResolver({NAME: {"TXT": [record(der)]}}, complete=True)
    (r,), _ = check_dkim(parse_message(signed), resolver)
    assert (r.result, r.failure) == ("permerror", "key")
    # The same parameters with a usable key still go to dkimpy, as before.
    good = base64.b64decode(generate_key("sel", "rsa1024").dns_txt().split("p=")[1])
    assert good.startswith(b"\x30")
    with pytest.raises(fast.Unsupported):
        fast.parse_key_record(record(key_der(*_numbers(good), null=b"\x05\x01\x00")).encode())


def _numbers(der: bytes) -> tuple[int, int]:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    pub = load_der_public_key(der)
    assert isinstance(pub, RSAPublicKey)
    return pub.public_numbers().n, pub.public_numbers().e


def test_dkimpy_path_is_bounded_too(signed: bytes) -> None:
    n, e = costly(16384, 16000, even=True)
    resolver = SnapshotResolver({NAME: {"TXT": [record(key_der(n, e))]}}, complete=True)
    sig = parse_message(signed).get_all("dkim-signature")[0].encode()
    result, reason, failure, _bits = _dkimpy_verify(signed, 0, KeyFetcher(resolver),
                                                    parse_tags(sig), [], time.time())
    assert (result, failure) == ("permerror", "key")
    assert "public exponent of 16000 bits" in reason


def test_dkimpy_run_puts_dkimpy_back() -> None:
    import dkim
    from dkim.crypto import UnparsableKeyError

    before = dkim.parse_public_key, dkim.time
    n, e = costly(4096, 4000, even=False)
    with dkimpy_run(1.7e9):
        with pytest.raises(UnparsableKeyError):
            dkim.parse_public_key(key_der(n, e))
        assert dkim.time.time() == 1.7e9
    assert (dkim.parse_public_key, dkim.time) == before
    assert dkim.parse_public_key(key_der(n, e))["publicExponent"] == e


@pytest.mark.parametrize("nbits,ebits,ok", [
    (16384, 17, True), (16385, 17, False), (2048, 64, True), (2048, 65, False), (1024, 2, True),
])
def test_the_bounds(nbits: int, ebits: int, ok: bool) -> None:
    n, e = (1 << (nbits - 1)) | 1, (1 << (ebits - 1)) | 1
    if ok:
        fast.check_rsa_cost(n, e)
    else:
        with pytest.raises(fast.KeyTooCostly):
            fast.check_rsa_cost(n, e)


@given(nbits=st.integers(min_value=2, max_value=20_000),
       ebits=st.integers(min_value=2, max_value=200), even=st.booleans(),
       null=st.sampled_from([b"\x05\x00", b"\x05\x01\x00", b""]),
       bare=st.booleans())
def test_no_costly_key_passes_the_parser(nbits: int, ebits: int, even: bool, null: bytes,
                                         bare: bool) -> None:
    """Whatever the key's form, a key past the bounds is refused as costly, and what goes on
    (to OpenSSL, Python's arithmetic or dkimpy) is within them."""
    n, e = costly(nbits, min(ebits, nbits), even=even)
    der = rsa_public_key(n, e) if bare else key_der(n, e, null=null)
    within = n.bit_length() <= fast.MAX_RSA_BITS and e.bit_length() <= fast.MAX_RSA_EXPONENT_BITS
    try:
        key = fast.parse_key_record(record(der).encode())
    except fast.KeyTooCostly:
        assert not within
    except fast.Unsupported:  # left to dkimpy, which must get no costly key
        assert within
    except fast.KeyRecordError:  # unparsable (no NULL at all, say): refused, whatever its size
        pass
    else:
        assert within and (key.modulus, key.exponent) == (n, e)


def test_a_key_dkimpy_cannot_read_is_a_key_problem(signed: bytes) -> None:
    """NULL with content in the algorithm identifier: the fast path leaves the key to dkimpy,
    whose ASN.1 reader fails (an AssertionError); the reason names the key, not the tags."""
    good = base64.b64decode(generate_key("sel", "rsa1024").dns_txt().split("p=")[1])
    der = key_der(*_numbers(good), null=b"\x05\x01\x00")
    resolver = SnapshotResolver({NAME: {"TXT": [record(der)]}}, complete=True)
    (r,), _ = check_dkim(parse_message(signed), resolver)
    assert (r.result, r.failure) == ("permerror", "key")
    assert r.reason == ("the public key could not be read: NULL with content in the key's "
                        "algorithm identifier")
