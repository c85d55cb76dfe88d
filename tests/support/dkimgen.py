"""Signed (and then mangled) DKIM corpora generated with dkimpy and fresh keys; the benchmark reuses them."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from typing import Any

DOMAIN = "gen.example"


@dataclass(frozen=True)
class GenKey:
    selector: str
    algorithm: bytes  # what dkimpy signs with
    private: bytes
    record: str


@dataclass(frozen=True)
class GenMessage:
    raw: bytes
    note: str


def make_keys(rng: random.Random) -> list[GenKey]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    keys: list[GenKey] = []
    for bits in (1024, 2048, 512):
        priv = (rsa.generate_private_key(public_exponent=65537, key_size=bits) if bits >= 1024
                else _weak_rsa_key(rng, bits))
        pem = priv.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
        spki = priv.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        p = base64.b64encode(spki).decode()
        for alg in (b"rsa-sha256", b"rsa-sha1"):
            keys.append(GenKey(f"rsa{bits}", alg, pem, f"v=DKIM1; k=rsa; p={p}"))
    ed = ed25519.Ed25519PrivateKey.generate()
    seed = ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    pub = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keys.append(GenKey("ed", b"ed25519-sha256", base64.b64encode(seed),
                       f"v=DKIM1; k=ed25519; p={base64.b64encode(pub).decode()}"))
    return keys


def _probable_prime(rng: random.Random, bits: int) -> int:
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (c - 1) % 65537 and all(pow(a, c - 1, c) == 1 for a in (2, 3, 5, 7, 11, 13)):
            return c


def _weak_rsa_key(rng: random.Random, bits: int) -> Any:
    """OpenSSL will not generate keys under 1024 bits; RFC 8301 tests need one, so build it."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    p, q = _probable_prime(rng, bits // 2), _probable_prime(rng, bits // 2)
    e = 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                 rsa.RSAPublicNumbers(e, p * q)).private_key()


def dns_records(keys: list[GenKey]) -> dict[str, Any]:
    records: dict[str, Any] = {f"{k.selector}._domainkey.{DOMAIN}": {"TXT": [k.record]}
                               for k in keys}
    records[f"revoked._domainkey.{DOMAIN}"] = {"TXT": ["v=DKIM1; k=rsa; p="]}
    records[f"gone._domainkey.{DOMAIN}"] = "NXDOMAIN"
    return records


_WORDS = [b"hello", b"world", b"invoice", b"caf\xc3\xa9", b"\xe9t\xe9", b"x" * 40, b"-", b"==",
          b"Teams", b"tenant", b"\xff\xfe", b"\x00"]


def _body(rng: random.Random, max_lines: int = 12) -> bytes:
    lines: list[bytes] = []
    for _ in range(rng.randint(0, max_lines)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(0, 8))]
        sep = rng.choice([b" ", b"  ", b"\t", b" \t "])
        line = sep.join(words)
        line = rng.choice([b"", b" ", b"\t", b"  "]) + line + rng.choice([b"", b" ", b"\t ", b""])
        lines.append(line)
    body = b"\r\n".join(lines)
    body += rng.choice([b"", b"\r\n", b"\r\n\r\n", b"\r\n\r\n\r\n", b"\r\n \r\n"])
    return body


def _headers(rng: random.Random, i: int) -> list[bytes]:
    subject = b"Subject: notice " + str(i).encode()
    if rng.random() < 0.3:
        subject += b"\r\n\tcontinued  on a folded\r\n line"
    hs = [
        b"Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000",
        b"From: Sender <sender@" + DOMAIN.encode() + b">",
        b"To: rcpt@example.org",
        subject,
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000",
        b"Message-ID: <" + str(i).encode() + b"@gen.example>",
    ]
    if rng.random() < 0.3:
        hs.append(b"Received: from c.example by a.example; Mon, 1 Jan 2024 00:00:00 +0000")
    if rng.random() < 0.2:
        hs.append(b"X-Odd:   spaced\t\tvalue   ")
    if rng.random() < 0.15:
        hs.append(b"Subject: a second subject")
    return hs


def _sign(raw: bytes, key: GenKey, rng: random.Random) -> bytes:
    import dkim

    canon = (rng.choice([b"simple", b"relaxed"]), rng.choice([b"simple", b"relaxed"]))
    include = [b"from", b"to", b"subject", b"date"]
    if rng.random() < 0.3:
        include += [b"from", b"subject"]  # over-signing
    if rng.random() < 0.3:
        include.append(b"reply-to")  # absent header: signed as absent
    if rng.random() < 0.2:
        include.append(b"x-odd")
    if rng.random() < 0.2:
        include.append(b"received")
    signer = dkim.DKIM(raw)
    signer.should_not_sign = set()  # dkimpy refuses to sign Received; real signers do not
    sig = signer.sign(key.selector.encode(), DOMAIN.encode(), key.private,
                              signature_algorithm=key.algorithm, canonicalize=canon,
                              include_headers=include, length=rng.random() < 0.2)
    return bytes(sig) + raw


def _mangle(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    roll = rng.random()
    if roll < 0.45:
        return raw, "untouched"
    if roll < 0.52:
        return head + b"\r\n\r\n" + body + b"appended text\r\n", "body appended"
    if roll < 0.58:
        return head + b"\r\n\r\n" + body.replace(b" ", b"  ", 1), "body whitespace"
    if roll < 0.63:
        return head + b"\r\n\r\n" + body + b"\r\n\r\n", "trailing blank lines"
    if roll < 0.68:
        return head.replace(b"Subject: notice", b"Subject: n0tice", 1) + b"\r\n\r\n" + body, "subject"
    if roll < 0.72:
        return b"From: Other <x@evil.example>\r\n" + raw, "second From on top"
    if roll < 0.76:
        return raw.replace(b"To: rcpt@example.org", b"To:   rcpt@example.org ", 1), "To whitespace"
    if roll < 0.80:
        return raw.replace(b"\r\n", b"\n"), "LF only"
    if roll < 0.83:
        return b"X-Added: late\r\n" + raw, "unsigned header added"
    if roll < 0.86:
        return raw.replace(b"\r\n\tcontinued", b"\r\n    continued", 1), "refolded"
    if roll < 0.89:
        return raw.replace(b"b=", b"b= ", 1), "space in b="
    if roll < 0.92:
        return raw.replace(b"\xc3\xa9", b"e", 1), "8-bit byte changed"
    if roll < 0.93:
        return raw.replace(b"d=gen.example", b"d=GEN.example", 1), "d= case"
    if roll < 0.94:
        return raw.replace(b"DKIM-Signature:", b"dkim-signature:", 1), "header name case"
    if roll < 0.95:
        return raw.replace(b"; s=", b"; s=dup; s=", 1), "duplicate tag"
    if roll < 0.96:
        return raw.replace(b"DKIM-Signature: ", b"DKIM-Signature: x=1; ", 1), "expired"
    if roll < 0.97:
        return b"Bad Name: x\r\n" + raw, "header name with a space"
    if roll < 0.98:
        return b" leading continuation\r\n" + raw, "continuation first"
    if roll < 0.99:
        return raw.replace(b"bh=", b"bh=!!", 1), "bh= junk"
    return raw.replace(b"b=", b"b=A", 1), "b= one character more"


def generate_corpus(n: int = 2000, seed: int = 6376,
                    body_lines: int = 12) -> tuple[list[GenMessage], dict[str, Any]]:
    rng = random.Random(seed)
    keys = make_keys(rng)
    records = dns_records(keys)
    fake = [GenKey("revoked", b"rsa-sha256", keys[0].private, ""),
            GenKey("gone", b"rsa-sha256", keys[0].private, ""),
            GenKey("uncaptured", b"rsa-sha256", keys[0].private, "")]
    out: list[GenMessage] = []
    for i in range(n):
        raw = b"\r\n".join(_headers(rng, i)) + b"\r\n\r\n" + _body(rng, body_lines)
        if rng.random() < 0.06:
            key = rng.choice(fake + [k for k in keys if k.selector == "rsa512"])
        else:
            key = rng.choice([k for k in keys if k.selector != "rsa512"])
        raw = _sign(raw, key, rng)
        if rng.random() < 0.15:
            raw = _sign(raw, rng.choice(keys), rng)
        raw, note = _mangle(raw, rng)
        out.append(GenMessage(raw, f"{key.selector}/{key.algorithm.decode()}: {note}"))
    return out, records
