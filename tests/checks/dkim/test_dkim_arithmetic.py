"""RSA verification in Python's pow() (a process's first signatures, and the keys OpenSSL
refuses) and in OpenSSL give the same answer, and a process switches from one to the other
as ``fast._Arithmetic`` says."""

from __future__ import annotations

import base64
import hashlib
import sys
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.tags import parse_tags

TAGS = parse_tags(b"a=rsa-sha256")
KEYS = {f"{bits}-e{e}": rsa.generate_private_key(e, bits)
        for bits in (1024, 2048) for e in (3, 65537)}


def _pair(priv: Any) -> tuple[fast.PublicKey, fast.PublicKey]:
    """The same key as Python verifies it (no OpenSSL key) and as OpenSSL does."""
    numbers = priv.public_key().public_numbers()
    python = fast.PublicKey(b"rsa", priv.key_size, None, numbers.n, numbers.e)
    return python, fast._with_openssl(python)


def _signature(priv: Any, data: bytes, hash_name: str) -> bytes:
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA1()
    digest = hashlib.new(hash_name, data).digest()
    return bytes(priv.sign(digest, padding.PKCS1v15(), utils.Prehashed(algorithm)))


# DigestInfo prefixes (RFC 8017 section 9.2), and the same without the NULL parameters, a form
# some verifiers accept.
_INFO = {"sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
         "sha1": bytes.fromhex("3021300906052b0e03021a05000414")}
_NO_NULL = {"sha256": bytes.fromhex("302f300b0609608648016503040201") + b"\x04\x20",
            "sha1": bytes.fromhex("301f300706052b0e03021a") + b"\x04\x14"}


def _raw(priv: Any, block: bytes) -> bytes:
    """The private-key operation on an encoded block of our choosing: a signature over any
    padding, to hold both verifiers to the exact PKCS #1 v1.5 form."""
    numbers = priv.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    value: int = pow(int.from_bytes(block, "big") % n, numbers.d, n)
    return value.to_bytes(size, "big")


def _blocks(size: int, digest: bytes, hash_name: str, noise: bytes) -> dict[str, bytes]:
    info = _INFO[hash_name] + digest
    fill = size - len(info) - 3
    garbage = (noise * size)[:fill - 8]
    return {
        "exact": b"\x00\x01" + b"\xff" * fill + b"\x00" + info,
        "garbage-after-digest": b"\x00\x01" + b"\xff" * 8 + b"\x00" + info + garbage,
        "no-null": (b"\x00\x01" + b"\xff" * (size - len(_NO_NULL[hash_name]) - len(digest) - 3)
                    + b"\x00" + _NO_NULL[hash_name] + digest),
        "type-2": b"\x00\x02" + b"\xff" * fill + b"\x00" + info,
        "fe-in-padding": b"\x00\x01" + b"\xfe" + b"\xff" * (fill - 1) + b"\x00" + info,
        "no-zero": b"\x00\x01" + b"\xff" * (fill + 1) + info,
    }


@given(key=st.sampled_from(sorted(KEYS)), data=st.binary(max_size=64),
       hash_name=st.sampled_from(["sha256", "sha1"]), noise=st.binary(min_size=1, max_size=40))
def test_python_and_openssl_agree_on_every_padding(key: str, data: bytes, hash_name: str,
                                                   noise: bytes) -> None:
    priv = KEYS[key]
    python, openssl = _pair(priv)
    digest = hashlib.new(hash_name, data).digest()
    for name, block in _blocks((python.bits + 7) // 8, digest, hash_name, noise).items():
        signature = _raw(priv, block)
        got = _verdict(python, data, signature, hash_name)
        assert got == _verdict(openssl, data, signature, hash_name), name
        assert got[0] == ("pass" if name == "exact" else "fail"), name


def _verdict(key: fast.PublicKey, data: bytes, signature: bytes, hash_name: str) -> tuple[str, str]:
    r = fast._verify_rsa(key, hashlib.new(hash_name, data), signature, 1024, TAGS, (b"from",))
    return r.status, r.reason


@given(key=st.sampled_from(sorted(KEYS)), data=st.binary(max_size=64),
       hash_name=st.sampled_from(["sha256", "sha1"]),
       change=st.sampled_from(["none", "flip", "short", "long", "zero-prefix", "random",
                               "over-modulus", "other-data"]),
       at=st.integers(min_value=0, max_value=10_000), noise=st.binary(min_size=1, max_size=300))
def test_python_and_openssl_agree(key: str, data: bytes, hash_name: str, change: str, at: int,
                                  noise: bytes) -> None:
    priv = KEYS[key]
    python, openssl = _pair(priv)
    assert python.key is None and openssl.key is not None
    sig = _signature(priv, data, hash_name)
    i = at % len(sig)
    signature = {
        "none": sig,
        "flip": sig[:i] + bytes([sig[i] ^ (1 + at % 255)]) + sig[i + 1:],
        "short": sig[:i],
        "long": sig + noise,
        "zero-prefix": b"\x00" + sig,
        "random": (noise * (len(sig) // len(noise) + 1))[:len(sig)],
        "over-modulus": (python.modulus + at).to_bytes(len(sig) + 1, "big")[-len(sig):],
        "other-data": _signature(priv, data + b"!", hash_name),
    }[change]
    got = _verdict(python, data, signature, hash_name)
    assert got == _verdict(openssl, data, signature, hash_name)
    if change == "none":
        assert got == ("pass", "")


def test_a_key_openssl_refuses_is_verified_in_python() -> None:
    priv = KEYS["1024-e65537"]
    python, _ = _pair(priv)
    even = fast.PublicKey(b"rsa", python.bits, None, python.modulus, 65536)
    refused = fast._with_openssl(even)
    assert refused.refused and refused.key is None
    assert _verdict(refused, b"x", _signature(priv, b"x", "sha256"), "sha256")[0] == "fail"


class _NoOpenSSL:
    """The process as if OpenSSL's RSA were not loaded yet."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(fast, "_OPENSSL_RSA", "mailaudit.no-such-module")
        self.arithmetic = fast._Arithmetic()
        monkeypatch.setattr(fast, "ARITHMETIC", self.arithmetic)


def test_python_until_the_budget_is_spent_then_openssl(monkeypatch: pytest.MonkeyPatch) -> None:
    state = _NoOpenSSL(monkeypatch)
    key = _pair(KEYS["2048-e65537"])[0]
    answers = [state.arithmetic.openssl(key) for _ in range(20)]
    assert answers == [False] * int(fast.PYTHON_RSA_BUDGET) + [True] * 4
    big = fast.PublicKey(b"rsa", 8192, None, key.modulus, (1 << 63) | 1)
    fresh = fast._Arithmetic()
    assert fresh.openssl(big) is True  # 16 x 3.7 units: more than the whole budget at once


def test_openssl_from_the_start_when_it_is_loaded() -> None:
    assert fast._OPENSSL_RSA in sys.modules  # this test module imported it
    assert fast._Arithmetic().openssl(_pair(KEYS["1024-e3"])[0]) is True


def test_cached_keys_move_to_openssl_when_the_process_does(monkeypatch: pytest.MonkeyPatch) -> None:
    _NoOpenSSL(monkeypatch)
    priv = KEYS["2048-e65537"]
    der = priv.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    cache = fast.KeyCache()
    seen = [cache.get(b"sel._domainkey.example.com.", record).key is not None
            for _ in range(20)]
    assert seen == [False] * int(fast.PYTHON_RSA_BUDGET) + [True] * 4


def test_a_pool_parent_loads_openssl_for_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailaudit.dns import DnsConfig
    from mailaudit.options import AuditOptions
    from mailaudit.run import RunConfig, preload

    state = _NoOpenSSL(monkeypatch)
    monkeypatch.setattr(fast, "_OPENSSL_RSA", "cryptography.hazmat.primitives.asymmetric.rsa")
    preload(RunConfig(options=AuditOptions(), dns=DnsConfig(offline=True)))
    assert state.arithmetic.loaded
