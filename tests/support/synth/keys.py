"""Test signing keys for the synthetic samples.

Keys are generated with ``cryptography`` the first time and stored as PEM files; later builds load
them, so a rebuild is byte-identical (RSASSA-PKCS1-v1_5 and Ed25519 signatures are deterministic
for a fixed key and input). These are test keys published in the samples' DNS snapshot: they are
not, and do not stand in for, any real domain's keys.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

KEY_KINDS = ("rsa1024", "rsa2048", "ed25519")
_RSA_BITS = {"rsa1024": 1024, "rsa2048": 2048}


@dataclass(frozen=True, slots=True)
class SampleKey:
    """One key pair. ``pem`` is what is stored on disk (PKCS#1 for RSA, PKCS#8 for Ed25519)."""

    name: str
    kind: str
    pem: bytes

    @classmethod
    def from_private_key(cls, name: str, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
                         ) -> SampleKey:
        """Wrap any RSA or Ed25519 private key (tests also build odd sizes, e.g. RSA-512)."""
        if isinstance(key, ed25519.Ed25519PrivateKey):
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            return cls(name, "ed25519", pem)
        # PKCS#1 ("BEGIN RSA PRIVATE KEY") because that is the form dkimpy documents.
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
        return cls(name, f"rsa{key.key_size}", pem)

    @property
    def algorithm(self) -> bytes:
        """The DKIM ``a=`` value this key signs with."""
        return b"ed25519-sha256" if self.kind == "ed25519" else b"rsa-sha256"

    def signing_key(self) -> bytes:
        """The private key in the form dkimpy's signer takes: PEM for RSA, and for Ed25519 the
        base64 of the 32-byte seed (RFC 8463 section 3)."""
        if self.kind != "ed25519":
            return self.pem
        key = serialization.load_pem_private_key(self.pem, password=None)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return base64.b64encode(seed)

    def dns_txt(self) -> str:
        """The DKIM key record (RFC 6376 section 3.6.1) that publishes this key."""
        key = serialization.load_pem_private_key(self.pem, password=None)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
            return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode("ascii")
        assert isinstance(key, rsa.RSAPrivateKey)
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")


def generate_key(name: str, kind: str) -> SampleKey:
    """A fresh key pair (random: store it to keep later builds identical)."""
    if kind == "ed25519":
        return SampleKey.from_private_key(name, ed25519.Ed25519PrivateKey.generate())
    if kind not in _RSA_BITS:
        raise ValueError(f"unknown key kind {kind!r}; known: {', '.join(KEY_KINDS)}")
    return SampleKey.from_private_key(
        name, rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[kind]))


def load_key(path: Path, kind: str) -> SampleKey:
    """Read one stored key and check it is of the kind the samples expect."""
    pem = path.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if kind == "ed25519":
        ok = isinstance(key, ed25519.Ed25519PrivateKey)
    else:
        ok = isinstance(key, rsa.RSAPrivateKey) and key.key_size == _RSA_BITS.get(kind)
    if not ok:
        raise ValueError(f"{path}: not a {kind} private key; delete it to have a new one made")
    return SampleKey(path.stem, kind, pem)


def load_or_create_keys(key_dir: Path | None, wanted: Mapping[str, str]) -> dict[str, SampleKey]:
    """Keys by name (``wanted`` maps name -> kind). With ``key_dir``, existing ``<name>.pem``
    files are loaded and missing ones generated and written there."""
    keys: dict[str, SampleKey] = {}
    for name, kind in wanted.items():
        path = key_dir / f"{name}.pem" if key_dir is not None else None
        if path is not None and path.exists():
            keys[name] = load_key(path, kind)
            continue
        keys[name] = generate_key(name, kind)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(keys[name].pem)
    return keys
