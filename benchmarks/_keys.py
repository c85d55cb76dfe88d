"""Signing keys for the synthetic corpus, and a fast RSA primitive for dkimpy.

dkimpy signs RSA in pure Python (``pow`` on 1024-bit halves: ~7 ms per RSA-2048 signature), which
would make a 20,000-message corpus take minutes just to sign. While generating, ``fast_rsa``
swaps dkimpy's module-level RSASSA-PKCS1-v1_5 primitive for OpenSSL's (via ``cryptography``,
~0.7 ms). Canonicalisation, header selection and folding stay dkimpy's own, and ``corpus.py``
verifies a sample of the output with the untouched dkimpy verifier, so the corpus is exactly what
dkimpy would have produced.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils


@dataclass(frozen=True)
class Key:
    """One signing key: ``kind`` is rsa2048, rsa1024 or ed25519."""

    kind: str
    private: bytes  # PEM (RSA) or base64 seed (Ed25519), as dkimpy wants it
    dns_txt: str  # the DKIM key record to publish

    @property
    def algorithm(self) -> bytes:
        return b"ed25519-sha256" if self.kind == "ed25519" else b"rsa-sha256"


def make_key(kind: str) -> Key:
    if kind == "ed25519":
        ek = ed25519.Ed25519PrivateKey.generate()
        seed = ek.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        pub = ek.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
        return Key(kind, base64.b64encode(seed),
                   "v=DKIM1; k=ed25519; p=" + base64.b64encode(pub).decode())
    bits = {"rsa2048": 2048, "rsa1024": 1024}[kind]
    rk = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = rk.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.TraditionalOpenSSL,
                           serialization.NoEncryption())
    spki = rk.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return Key(kind, pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode())


_CACHE: dict[int, rsa.RSAPrivateKey] = {}


def _openssl_key(pk: dict[str, int]) -> rsa.RSAPrivateKey:
    n = pk["modulus"]
    key = _CACHE.get(n)
    if key is None:
        numbers = rsa.RSAPrivateNumbers(
            p=pk["prime1"], q=pk["prime2"], d=pk["privateExponent"], dmp1=pk["exponent1"],
            dmq1=pk["exponent2"], iqmp=pk["coefficient"],
            public_numbers=rsa.RSAPublicNumbers(pk["publicExponent"], n))
        key = numbers.private_key()
        _CACHE[n] = key
    return key


def _rsa_sign(hasher: Any, private_key: dict[str, int]) -> bytes:
    # The corpus only uses rsa-sha256 (RFC 8301 forbids rsa-sha1 for signers).
    return _openssl_key(private_key).sign(hasher.digest(), padding.PKCS1v15(),
                                          utils.Prehashed(hashes.SHA256()))


@contextlib.contextmanager
def fast_rsa() -> Iterator[None]:
    original = dkim.RSASSA_PKCS1_v1_5_sign
    dkim.RSASSA_PKCS1_v1_5_sign = _rsa_sign
    try:
        yield
    finally:
        dkim.RSASSA_PKCS1_v1_5_sign = original
