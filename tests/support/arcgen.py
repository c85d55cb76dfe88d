"""ARC-sealed test messages made with dkimpy's arc_sign and the project's test keys."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from mailaudit.dns.snapshot import SnapshotResolver
from support.dkimgen import _weak_rsa_key
from support.synth.keys import SampleKey

DOMAIN = "seal.example"


@dataclass(frozen=True)
class Sealer:
    selector: str
    pem: bytes


@dataclass(frozen=True)
class World:
    sealers: tuple[Sealer, ...]
    records: dict[str, Any]


@cache
def _world() -> World:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    rng = random.Random(8617)

    def pem_and_record(priv: Any) -> tuple[bytes, str]:
        key = SampleKey.from_private_key("seal", priv)
        return key.pem, key.dns_txt()

    records: dict[str, Any] = {}
    sealers: list[Sealer] = []
    rsa1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for name, priv in (("r2048", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                       ("r1024", rsa1024), ("r512", _weak_rsa_key(rng, 512))):
        pem, record = pem_and_record(priv)
        records[f"{name}._domainkey.{DOMAIN}"] = {"TXT": [record]}
        sealers.append(Sealer(name, pem))
    pem1024 = pem_and_record(rsa1024)[0]
    ed_pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # An RSA seal whose selector publishes an Ed25519 key: dkimpy stops with an exception.
    records[f"ed._domainkey.{DOMAIN}"] = {"TXT": [
        f"v=DKIM1; k=ed25519; p={base64.b64encode(ed_pub).decode()}"]}
    sealers.append(Sealer("ed", pem1024))
    records[f"gone._domainkey.{DOMAIN}"] = "NXDOMAIN"
    sealers.append(Sealer("gone", pem1024))
    sealers.append(Sealer("uncaptured", pem1024))  # not in the snapshot: NotCaptured
    records[f"revoked._domainkey.{DOMAIN}"] = {"TXT": ["v=DKIM1; k=rsa; p="]}
    sealers.append(Sealer("revoked", pem1024))
    return World(tuple(sealers), records)


def _resolver() -> SnapshotResolver:
    return SnapshotResolver(_world().records, complete=False)


def _base_message(rng: random.Random, n: int) -> bytes:
    lines = [f"Line {i} of message {n}: " + " ".join(rng.choice(
        ["forwarded", "list", "text", "  spaced", "\ttabbed", "caf\u00e9", "end "])
        for _ in range(rng.randint(1, 12))) for i in range(rng.randint(1, 30))]
    body = "\r\n".join(lines) + "\r\n" + "\r\n" * rng.randint(0, 3)
    head = (f"From: Sender {n} <sender{n}@origin.example>\r\n"
            f"To: list{n}@lists.example\r\n"
            f"Subject: message {n}\r\n"
            f"Date: Mon, 23 Nov 2026 10:{n % 60:02d}:00 +0000\r\n"
            f"Message-ID: <{n}@origin.example>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n")
    return (head + "\r\n" + body).encode("utf-8")


def _seal(raw: bytes, hop: int, sealer: Sealer, status: str) -> bytes:
    import dkim

    srv = f"mx{hop}.example"
    ar = f"Authentication-Results: {srv}; spf=pass smtp.mailfrom=origin.example"
    if hop > 1:
        ar += f"; arc={status}"
    raw = (ar + "\r\n").encode() + raw
    lines = dkim.arc_sign(raw, sealer.selector.encode(), DOMAIN.encode(), sealer.pem,
                          srv.encode())
    received = f"Received: from relay{hop}.example by mx{hop}.example; Mon, 23 Nov 2026\r\n"
    return b"".join(lines) + received.encode() + raw


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields, body


def _join(fields: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(fields) + b"\r\n\r\n" + body
