"""Mutation fuzzer for the whole pipeline: ``audit_message`` on hostile bytes, offline.

    python fuzz/fuzz_audit.py --iterations 100000 --seed 1 [--corpus DIR] [--jobs 2]

Seeds are signed and received notifications from ``support.synth`` (when the catalog has
templates), a set of hand-built messages that exercise every header the checks read, and every
file under ``--corpus`` (default: ../shared/corpora/mail when present). Each iteration applies
one to four mutations and audits the result against a ``SnapshotResolver`` holding the seeds'
keys, so DKIM, SPF, DMARC and ARC all run without a socket.

A crash is an exception that escapes ``audit_message`` or a result with error code
``internal-error``; a hang is a result with code ``time-budget``. Either is saved to
``fuzz/crashes/<sha1>.eml`` with the traceback beside it (``.txt``) and printed. At the end the
fuzzer prints iterations per second, crash count and the slowest message.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import multiprocessing
import os
import random
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The sample generator lives with the tests (tests/support/synth); it is not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mailaudit.errors import cut
from support.der import NULL, rsa_public_key, subject_public_key_info

HERE = Path(__file__).resolve().parent
CRASH_DIR = HERE / "crashes"
DEFAULT_CORPUS = HERE.parents[1] / "shared" / "corpora" / "mail"
MAX_SEED_BYTES = 128 * 1024  # larger corpus files are cut: size is what the huge-repeat mutator is for
MAX_MUTANT_BYTES = 8 * 1024 * 1024

CRLF = b"\r\n"

HAND_SEEDS: tuple[bytes, ...] = (
    b"Return-Path: <azure-noreply@microsoft.com>\r\n"
    b"Received: from mx.contoso-mail.example (mx.contoso-mail.example [192.0.2.25]) by "
    b"mbox.contoso-mail.example (Postfix) with LMTP id 1; Tue, 20 May 2025 10:00:02 +0000\r\n"
    b"Authentication-Results: mx.contoso-mail.example; dkim=pass header.d=microsoft.com "
    b"header.s=s1024-meo header.b=AbCd; spf=pass (domain of azure-noreply@microsoft.com "
    b"designates 20.118.139.208 as permitted sender) smtp.mailfrom=azure-noreply@microsoft.com; "
    b"dmarc=pass (p=REJECT) header.from=microsoft.com; arc=none\r\n"
    b"Received-SPF: Pass (protection.outlook.com: domain of microsoft.com designates "
    b"20.118.139.208 as permitted sender) receiver=protection.outlook.com; "
    b"client-ip=20.118.139.208; helo=mail-nam-cu06-usw3.westus3.cloudapp.azure.com;\r\n"
    b"X-Forefront-Antispam-Report: CIP:20.118.139.208;CTRY:US;LANG:en;SCL:1;SRV:;IPV:NLI;\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com; s=s1024-meo; "
    b"t=1716199200; h=from:subject:date:message-id:to:mime-version:content-type; "
    b"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAAAAAA\r\n"
    b"From: Microsoft on behalf of =?utf-8?B?Q29udG9zbyDigK4=?= "
    b"<msonlineservicesteam@microsoftonline.com>\r\n"
    b"To: victim@contoso-mail.example\r\nSubject: =?utf-8?Q?Your_invoice_=E2=80=94_call_?= "
    b"+1 800 555 0100\r\nDate: Tue, 20 May 2025 10:00:00 +0000\r\n"
    b"Message-ID: <seed1@az.westus3.microsoft.com>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
    b"quoted-printable\r\n\r\nYour organisation Contoso =E2=80=94 call +1 800 555 0100 or pay "
    b"0.5 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh\r\n"
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <a href=\"https://evil."
    b"example/x\">https://portal.azure.com</a></p>\r\n--b1--\r\n",
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=lists.fabrikam.example; s=arc2026; t=1; b=AAAA\r\n"
    b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=lists.fabrikam.example; "
    b"s=arc2026; h=from:to:subject; bh=AAAA; b=AAAA\r\n"
    b"ARC-Authentication-Results: i=1; mx.lists.fabrikam.example; dkim=pass header.d=x.example\r\n"
    b"Authentication-Results: spf=fail (sender IP is 203.0.113.45) smtp.mailfrom=x.example; "
    b"dkim=none (message not signed) header.d=none;dmarc=fail action=oreject "
    b"header.from=microsoft.com;compauth=fail reason=000\r\n"
    b"From: \"Microsoft account team\" <security@mail-notify.example>\r\n"
    b"Reply-To: <a@b.example>, \"x\" <c@d.example>\r\nSender: s@e.example\r\n"
    b"Subject: Unusual sign-in activity\r\nDate: Mon, 19 May 2025 23:59:60 -1200\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\n'
    b"Content-Type: text/plain\r\n\r\nsee attached\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: inner@microsoft.com\r\nSubject: inner\r\n\r\ninner body\r\n--o--\r\n",
    b"From: a@b.example\r\nSubject: plain\r\n\r\nhello\r\n",
)

TOKENS: tuple[bytes, ...] = (
    b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\x00", b"\xff", b"\xed\xa0\x80", b"=?", b"?=",
    b"=?utf-8?B?", b"=?utf-8?Q?", b"=?x-unknown?B?////?=", b"--", b"--b1--", b";", b"=", b":",
    b"(", b")", b"<", b">", b"\"", b"\\", b"@", b",", b"[", b"]", b"\t", b" ", "\u202e".encode(), "\u200b".encode(),
    b"\x1b]8;;http://evil.example\x1b\\", b"\x1b[31m", b"[bold red]", b"[link=http://x]",
    b"=3D", b"=\r\n", b"&#x202e;", b"<a href=", b"http://", b"xn--", b"d=", b"s=", b"h=",
    b"b=", b"bh=", b"l=", b"i=", b"t=", b"x=", b"a=ed25519-sha256", b"cv=pass", b"i=99",
    b"v=spf1", b"include:", b"redirect=", b"client-ip=", b"smtp.mailfrom=", b"header.from=",
    b"9" * 40, b"-1", b"0x", b"1e999", b"nan", b"\xc0\x80", b"%", b"'", b"*0*=", b"boundary=",
    b"charset=", b"Content-Type: multipart/mixed; boundary=\"z\"\r\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
)

HEADER_NAMES: tuple[bytes, ...] = (
    b"From", b"To", b"Cc", b"Sender", b"Reply-To", b"Return-Path", b"Subject", b"Date",
    b"Message-ID", b"Received", b"Authentication-Results", b"ARC-Authentication-Results",
    b"ARC-Seal", b"ARC-Message-Signature", b"DKIM-Signature", b"Received-SPF",
    b"X-Forefront-Antispam-Report", b"Content-Type", b"Content-Transfer-Encoding",
    b"MIME-Version", b"X-MS-Exchange-Organization-AuthAs",
)


# -- mutators ---------------------------------------------------------------------------------

Mutator = Callable[[random.Random, bytes, Sequence[bytes]], bytes]


def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randint(0, len(data)) if data else 0


def flip_bytes(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        i = rng.randrange(len(buf))
        buf[i] = rng.randrange(256) if rng.random() < 0.5 else buf[i] ^ (1 << rng.randrange(8))
    return bytes(buf)


def insert_token(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    out = data
    for _ in range(rng.randint(1, 8)):
        i = _pos(rng, out)
        out = out[:i] + rng.choice(TOKENS) + out[i:]
    return out


def delete_range(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    if len(data) < 2:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, min(256, len(data) - i)):]


def truncate(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    return data[:_pos(rng, data)]


_FIELD_BREAK = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?![ \t])")


def _header_block(data: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its continuation lines) and the rest (blank line + body)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    # One slice per field (a line end not followed by SP or HTAB ends it), not one bytes object
    # per line: a field folded over 2 million lines was 280 MB of line objects.
    fields: list[bytes] = []
    pos = 0
    for m in _FIELD_BREAK.finditer(head):
        fields.append(head[pos:m.end()])
        pos = m.end()
    if pos < len(head):
        fields.append(head[pos:])
    return fields, sep + body


def _repeats(wanted: int, piece: bytes, data: bytes) -> int:
    """``wanted`` capped so that ``data`` plus that many copies of ``piece`` fits in
    MAX_MUTANT_BYTES: every mutator allocates at most a few times the mutant limit, never
    ``len(piece) * wanted`` of an 8 MB piece (that was a MemoryError of 8 GB)."""
    room = max(0, MAX_MUTANT_BYTES - len(data))
    return max(1, min(wanted, room // max(1, len(piece))))


def duplicate_header(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    fields, rest = _header_block(data)
    if not fields:
        return data
    f = rng.choice(fields)
    if not f.endswith(b"\n"):
        f += CRLF
    copies = _repeats(rng.choice((1, 2, 10, 100, 1000)), f, data)
    at = rng.randint(0, len(fields))
    return b"".join(fields[:at]) + f * copies + b"".join(fields[at:]) + rest


def shuffle_headers(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    fields, rest = _header_block(data)
    fields = [f if f.endswith(b"\n") else f + CRLF for f in fields]
    rng.shuffle(fields)
    return b"".join(fields) + rest


def new_header(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    name = rng.choice(HEADER_NAMES)
    value = b"".join(rng.choice(TOKENS) + bytes(rng.randrange(32, 127) for _ in range(
        rng.randint(0, 12))) for _ in range(rng.randint(1, 12)))
    return name + b": " + value + CRLF + data


def splice(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    other = rng.choice(seeds)
    return data[:_pos(rng, data)] + other[_pos(rng, other):]


def swap_body(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    fields, _rest = _header_block(data)
    _f, rest = _header_block(rng.choice(seeds))
    return b"".join(fields) + rest


def deep_nesting(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    depth = 1500 if rng.random() < 0.05 else rng.choice((5, 60, 300))
    kind = rng.randrange(3)
    if kind == 0:  # multipart inside multipart
        opens = b"".join(b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i)
                         for i in range(depth))
        closes = b"".join(b"\r\n--n%d--\r\n" % i for i in reversed(range(depth)))
        return b"MIME-Version: 1.0\r\n" + opens + data + closes
    if kind == 1:  # message/rfc822 inside message/rfc822
        # Built as two lists joined once: wrapping ``out`` level by level copied it 300 times.
        levels = range(min(depth, 300))
        heads = [b'From: f%d@x.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; '
                 b'boundary="r%d"\r\n\r\n--r%d\r\nContent-Type: message/rfc822\r\n\r\n'
                 % (i, i, i) for i in reversed(levels)]
        tails = [b"\r\n--r%d--\r\n" % i for i in levels]
        return b"".join(heads) + data + b"".join(tails)
    return b"From: " + b"(" * depth + b"<a@b.example>" + b")" * rng.randrange(depth) + CRLF + data


def encoded_word_garbage(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    charset = rng.choice((b"utf-8", b"iso-8859-1", b"x-bogus", b"utf-7", b"utf-16", b"hz",
                          b"rot13", b"zlib_codec", b"", b"utf-8*en", b"cp1252"))
    enc = rng.choice((b"B", b"Q", b"b", b"q", b"X", b""))
    payload = rng.randbytes(rng.randint(0, 64))
    if rng.random() < 0.5:
        payload = base64.b64encode(payload)
    word = b"=?" + charset + b"?" + enc + b"?" + payload + b"?="
    if rng.random() < 0.3:
        word = b"=?utf-8?B?" + base64.b64encode(word) + b"?="
    name = rng.choice((b"Subject", b"From", b"To", b"Reply-To", b"Sender", b"Content-Type"))
    count = rng.choice((1, 3, 50, 2000))
    if name == b"From" or name == b"To":
        value = b" ".join([word] * count) + b" <x@y.example>"
    elif name == b"Content-Type":
        value = b"text/plain; charset=" + charset + b"; name=" + word
    else:
        value = b" ".join([word] * count)
    return name + b": " + value + CRLF + data


def huge_repeat(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    piece = data[i:i + rng.randint(1, 64)]
    # Mostly small, so the fuzzer stays fast; one in twenty is megabytes.
    times = 200_000 if rng.random() < 0.05 else rng.choice((10, 100, 1_000, 10_000))
    times = _repeats(times, piece, data)
    return data[:i] + piece * times + data[i:]


def line_ends(rng: random.Random, data: bytes, _seeds: Sequence[bytes]) -> bytes:
    choice = rng.randrange(3)
    if choice == 0:
        return data.replace(b"\r\n", b"\n")
    if choice == 1:
        return data.replace(b"\r\n", b"\r")
    return data.replace(b"\n", b"\r\n")


def attach_as_rfc822(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    outer = rng.choice(seeds)
    fields, _rest = _header_block(outer)
    fields = [f for f in fields if not f.lower().startswith((b"content-type", b"mime-version"))]
    return (b"".join(f if f.endswith(b"\n") else f + CRLF for f in fields)
            + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="fw"\r\n\r\n'
            b"--fw\r\nContent-Type: text/plain\r\n\r\nphish report\r\n--fw\r\n"
            b"Content-Type: message/rfc822\r\n\r\n" + data + b"\r\n--fw--\r\n")


MUTATORS: tuple[Mutator, ...] = (
    flip_bytes, flip_bytes, insert_token, insert_token, insert_token, delete_range, truncate,
    duplicate_header, shuffle_headers, new_header, new_header, splice, swap_body, deep_nesting,
    encoded_word_garbage, encoded_word_garbage, huge_repeat, line_ends, attach_as_rfc822,
)


def mutate(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    for _ in range(rng.randint(1, 4)):
        data = rng.choice(MUTATORS)(rng, data, seeds)
        if len(data) > MAX_MUTANT_BYTES:
            data = data[:MAX_MUTANT_BYTES]
    return data


# -- DNS answers ------------------------------------------------------------------------------
# Whoever runs a zone writes its answers: key records, SPF and DMARC are as hostile as the mail.

MAX_TXT_CHARS = 65_000  # about the most one DNS answer can carry
DNS_TOKENS: tuple[str, ...] = (
    ";", "=", " ", "\t", "\x00", "\u202e", "v=DKIM1", "k=rsa", "k=ed25519", "p=", "s=email",
    "s=tlsrpt", "t=y", "h=sha256", "v=spf1", "include:", "redirect=", "exp=", "a:", "mx:", "ptr",
    "exists:", "ip4:", "ip6:", "/0", "/33", "/129", "//64", "%{i}", "%{ir}", "%{l1r+-}", "%{d9}",
    "%{h}", "%{p}", "%%", "%_", "%-", "?all", "-all", "v=DMARC1", "p=reject", "sp=none",
    "np=quarantine", "pct=", "rua=mailto:", "ruf=", "fo=", "adkim=s", "aspf=r", "psd=y",
    "t=n", "9" * 40, "-1", "xn--", "..", ".", "@", "!", ",",
)


def random_key_der(rng: random.Random) -> bytes:
    """An RSA public key of any size, exponent and form (SubjectPublicKeyInfo with NULL,
    parameters with content or none, bare RSAPublicKey), or bytes that only look like one."""
    nbits = rng.choice([rng.randint(1, 4096), rng.randint(4096, 20_000)])
    ebits = rng.choice([2, 17, rng.randint(1, 80), rng.randint(1, nbits)])
    n = rng.getrandbits(nbits) | 1
    e = rng.getrandbits(ebits) | (rng.random() < 0.7)
    if rng.random() < 0.2:
        return rsa_public_key(n, e)
    params = rng.choice([NULL, b"\x05\x01\x00", b"", NULL + NULL])
    der = subject_public_key_info(n, e, params=params)
    if rng.random() < 0.2:  # cut or corrupt it
        i = rng.randrange(len(der))
        der = der[:i] + bytes([rng.randrange(256)]) + der[i + 1:] if rng.random() < 0.5 else der[:i]
    return der


def mutate_txt(rng: random.Random, value: str) -> str:
    """One to three mutations of a TXT answer, bounded to MAX_TXT_CHARS."""
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        if "p=" in value and choice < 0.35:
            key = (base64.b64encode(random_key_der(rng)).decode() if rng.random() < 0.8
                   else base64.b64encode(rng.randbytes(rng.choice([0, 31, 32, 33, 64]))).decode())
            at = value.find("p=")
            end = value.find(";", at)
            value = value[:at] + "p=" + key + (value[end:] if end >= 0 else "")
        elif choice < 0.55:
            at = rng.randint(0, len(value))
            value = value[:at] + rng.choice(DNS_TOKENS) + value[at:]
        elif choice < 0.7 and value:
            at = rng.randrange(len(value))
            value = value[:at] + value[at + rng.randint(1, 20):]
        elif choice < 0.8 and value:
            value = value[:rng.randrange(len(value))]
        elif choice < 0.9:  # many mechanisms or tags
            piece = rng.choice(DNS_TOKENS) + rng.choice(DNS_TOKENS) + " "
            value += piece * rng.choice([10, 100, 1000, 20_000])
        else:  # a run of one character
            value += rng.choice("a ;=%.") * rng.choice([100, 10_000, 60_000])
        value = value[:MAX_TXT_CHARS]
    return value


def mutate_records(rng: random.Random, records: dict[str, Any], raw: bytes
                   ) -> tuple[dict[str, Any], str]:
    """The snapshot with one name's answers mutated, and "name: value" for the report. A name
    the message mentions (a signature's domain, a sender's) is chosen first, so the mutated
    answer is one the audit asks for. Mostly one TXT answer (key, SPF, DMARC); a quarter of
    the time a sender domain's A, AAAA, MX, PTR or CNAME answers instead (``_other_answers``)."""
    text = raw[:200_000].decode("latin-1").lower()
    if rng.random() < 0.25:
        mutant = host_mutant(rng, records, text)
        if mutant is not None:
            return mutant
    names = [n for n, v in records.items() if isinstance(v, dict) and v.get("TXT")]
    used = [n for n in names if _asked_for(n, text)]
    keys = [n for n in used if "._domainkey." in n]
    name = rng.choice(keys if keys and rng.random() < 0.6 else used or names)
    value = mutate_txt(rng, str(rng.choice(records[name]["TXT"])))
    out = dict(records)
    out[name] = {**records[name], "TXT": [value]}
    return out, f"{name}: {value}"


def host_mutant(rng: random.Random, records: dict[str, Any], text: str
                ) -> tuple[dict[str, Any], str] | None:
    """A sender domain's host answers mutated (``_other_answers``): mostly the envelope
    domain's, the one SPF evaluates (RFC 7208 §2.4), with an SPF record that asks for them,
    since of 400 probes aimed at any mentioned name only 38 changed the SPF result."""
    envelope = _envelope_domain(text)
    if envelope and rng.random() < 0.7:
        return _other_answers(rng, records, envelope, text, asks=0.8)
    hosts = [n for n in records if "._domainkey." not in n and not n.startswith("_dmarc.")
             and _asked_for(n, text)]
    if not hosts:
        return None
    return _other_answers(rng, records, rng.choice(hosts), text, asks=0.5)


_RETURN_PATH = re.compile(r"^return-path:[ \t]*<[^<>@\s]*@([a-z0-9.-]{1,253})>", re.M)


def _envelope_domain(text: str) -> str:
    """The (lower-cased) message's Return-Path domain, "" when it has none."""
    m = _RETURN_PATH.search(text)
    return m.group(1).rstrip(".") if m else ""


# Names a zone may hand back in MX, PTR and CNAME answers: empty, the root (RFC 7505's null MX),
# over-long labels and names, empty labels, control and bidi characters, wildcards, punycode
# that does not decode, and names that lead back to where they came from.
HOSTILE_NAMES: tuple[str, ...] = (
    "", ".", "..", "a..example", "-.example", "*.example", "x\x00y.example", "\u202eevil.example",
    "xn--.example", "xn--zzzzzzzz-9999.example", "a" * 64 + ".example",
    ".".join(["b" * 63] * 5), "c." * 127 + "example", "\u0435xample.com", "localhost",
    "in-addr.arpa", "%{d}.example", "mx.example.", "MX.EXAMPLE",
)
_BRACKETED_IP = re.compile(r"\[(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\]")
# The SPF terms that make the evaluation ask for A, AAAA, MX and PTR answers.
_LOOKUP_SPF: tuple[str, ...] = (
    "v=spf1 a -all", "v=spf1 mx -all", "v=spf1 ptr -all", "v=spf1 a/24 mx//64 ptr ~all",
    "v=spf1 a:%{d} mx:%{d}/0 -all", "v=spf1 mx mx mx mx mx mx mx mx mx mx -all",
)


def _hostile_name(rng: random.Random, domain: str, records: dict[str, Any]) -> str:
    pick = rng.random()
    if pick < 0.15:
        return domain  # a name that points at itself
    if pick < 0.3 and records:
        return rng.choice(list(records))  # at another name of the snapshot
    return rng.choice(HOSTILE_NAMES)


def _addresses(rng: random.Random, family: int,
               counts: Sequence[int] = (0, 1, 2, 3, 50, 1000)) -> list[str]:
    """Valid addresses only (a snapshot refuses anything else), of every odd kind."""
    def fresh() -> str:
        if family == 4:
            return ".".join(str(rng.randrange(256)) for _ in range(4))
        return ":".join(f"{rng.randrange(65536):x}" for _ in range(8))

    if family == 4:
        odd = ["0.0.0.0", "255.255.255.255", "127.0.0.1", "192.0.2.1", "10.0.0.1", "224.0.0.1"]
    else:
        odd = ["::", "::1", "::ffff:192.0.2.1", "2001:db8::1", "fe80::1", "ff02::1",
               "64:ff9b::c000:201", "2002:c000:201::"]
    count = rng.choice(counts)
    return [rng.choice(odd) if rng.random() < 0.6 else fresh() for _ in range(count)]


def _other_answers(rng: random.Random, records: dict[str, Any], name: str, text: str, *,
                   asks: float) -> tuple[dict[str, Any], str]:
    """``name``'s A, AAAA, MX or CNAME answers replaced by hostile ones, or the PTR answers of
    an address the message's Received fields name; with probability ``asks`` with an SPF
    record at ``name`` that asks for them. A CNAME replaces the whole entry, such a record
    included (an alias holds no other data, RFC 1034 §3.6.2): its SPF is then the target's."""
    rdtype = rng.choice(["A", "AAAA", "MX", "PTR", "CNAME"])
    out = dict(records)
    ips = _BRACKETED_IP.findall(text)
    if rng.random() < asks:
        spf = records.get(name)
        asking = {**(spf if isinstance(spf, dict) else {}), "TXT": [rng.choice(_LOOKUP_SPF)]}
        # The answers the record asks for and the mutant does not replace: captured, so the
        # evaluation goes on to the mutated one instead of stopping at "not captured".
        if rdtype != "CNAME":  # an alias holds nothing else
            asking.setdefault("A", ips[:1] or ["192.0.2.1"])
            asking.setdefault("AAAA", [])
            if rdtype != "MX" and "MX" not in asking:
                asking["MX"] = [[10, _resolvable(rng, out, f"mx.{name}", ips)]]
        out[name] = asking
    value: list[Any]
    if rdtype == "PTR":
        owner = name
        if ips:  # the client address SPF's ptr asks about (RFC 7208 §5.5)
            name = ".".join(reversed(rng.choice(ips).split("."))) + ".in-addr.arpa"
        value = [_hostile_name(rng, name, records) for _ in range(rng.choice([1, 2, 50]))]
        if rng.random() < 0.5:
            value[rng.randrange(len(value))] = _resolvable(rng, out, f"host.{owner}", ips)
    elif rdtype in ("A", "AAAA"):
        value = _addresses(rng, 4 if rdtype == "A" else 6)
    elif rdtype == "MX":
        value = [[rng.choice([0, 0, 10, 65535, rng.randrange(65536)]),
                  _hostile_name(rng, name, records)]
                 for _ in range(rng.choice([0, 1, 2, 20, 500]))]
        every = rng.random() < 0.4  # one uncaptured host makes the whole mx term temperror
        for i in range(len(value)):
            if every or rng.random() < 0.2:
                value[i][1] = _resolvable(rng, out, f"mx{i}.{name}", ips)
    else:
        value = [_hostile_name(rng, name, records)]
    current = out.get(name)
    entry = dict(current) if isinstance(current, dict) else {}
    out[name] = {"CNAME": value} if rdtype == "CNAME" else {**entry, rdtype: value}
    return out, f"{name}: {rdtype} {cut(repr(value), 300)}"


def _resolvable(rng: random.Random, out: dict[str, Any], host: str, ips: list[str]) -> str:
    """``host`` with A and AAAA answers in ``out``, often holding the message's client address,
    so an ``mx`` or ``ptr`` mechanism reaches the address match and its validation (RFC 7208
    §5.4, §5.5) instead of stopping at a name the snapshot did not capture."""
    addresses = _addresses(rng, 4, counts=(0, 1, 2))
    if ips and rng.random() < 0.7:
        addresses.insert(rng.randint(0, len(addresses)), rng.choice(ips))
    out[host] = {"A": addresses, "AAAA": _addresses(rng, 6, counts=(0, 1))}
    return host


def _asked_for(name: str, text: str) -> bool:
    """Does the (lower-cased) message name the key, SPF or DMARC record ``name``?"""
    selector, marker, domain = name.partition("._domainkey.")
    if marker:
        return f"d={domain}" in text and f"s={selector}" in text
    return name.removeprefix("_dmarc.") in text


# -- seeds ------------------------------------------------------------------------------------

@dataclass
class SeedSet:
    messages: list[bytes]
    records: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def synth_seeds(rng: random.Random) -> SeedSet:
    """Signed, received notifications for every catalog template (genuine and abused), with
    the snapshot records that verify them. Empty when the generator is not usable."""
    out = SeedSet([])
    try:
        from datetime import UTC, datetime

        from support.synth.build import Mailbox
        from support.synth.notify import Notification, open_workshop, send_notification

        shop = open_workshop(None)
        out.records = dict(shop.records)
        when = datetime(2025, 5, 20, 10, 0, tzinfo=UTC)
        for sender in shop.catalog.senders:
            for template in sender.templates:
                for values in (*template.examples[:1], *(
                        {**(template.examples[0] if template.examples else {}),
                         **{s: "Call +1 800 555 0100 \u202e" for s in template.slots}},)):
                    try:
                        n = Notification(template.id, values, Mailbox("Victim", "v@contoso-mail.example"), when)
                        out.messages.append(send_notification(shop, n, rng))
                    except Exception as exc:  # a seed we cannot build is skipped
                        out.notes.append(f"synth {template.id}: {type(exc).__name__}: {exc}")
    except Exception as exc:
        out.notes.append(f"synth unavailable: {type(exc).__name__}: {exc}")
    return out


def corpus_seeds(dirs: Sequence[Path]) -> list[bytes]:
    seeds: list[bytes] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            if p.is_file() and not p.is_symlink() and p.suffix not in (".json", ".rtf"):
                try:
                    with p.open("rb") as fh:
                        data = fh.read(MAX_SEED_BYTES)
                except OSError:
                    continue
                if data.startswith(b"From ") and b"\nFrom " in data:
                    # mbox: each message is its own seed
                    seeds.extend(m for m in data.split(b"\nFrom ")[:200] if m)
                elif data:
                    seeds.append(data)
    return seeds


def build_seeds(corpus: Sequence[Path], seed: int) -> SeedSet:
    rng = random.Random(seed)
    seeds = synth_seeds(rng)
    seeds.messages.extend(HAND_SEEDS)
    seeds.messages.extend(corpus_seeds(corpus))
    return seeds


# -- known open bugs ------------------------------------------------------------------------
# Inputs that trigger a bug already reported (tests/hostile/test_fuzz_regressions.py, xfail) are skipped
# with --skip-known, so the time budget is spent finding new ones. Each entry names its test.

def known_bug(raw: bytes) -> str:
    """The regression test an input would only repeat, or "". Cheap counts, no parsing; an
    entry goes when its test stops being xfail. None is open: the last one (thousands of
    copies of a DKIM-Signature, test_many_copies_of_a_valid_signature) was fixed by
    Limits.max_signatures."""
    del raw
    return ""


# -- running ----------------------------------------------------------------------------------

@dataclass
class Stats:
    iterations: int = 0
    crashes: int = 0
    hangs: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error code -> count (not crashes)
    worst_seconds: float = 0.0
    worst_size: int = 0
    worst_sha1: str = ""
    seconds: float = 0.0
    crash_files: list[str] = field(default_factory=list)
    signatures: dict[str, int] = field(default_factory=dict)  # distinct crash places -> count
    skipped: int = 0  # inputs that would only repeat a known bug (--skip-known)
    peak_rss_mb: int = 0  # highest peak resident set size of a worker (the OS's figure)
    dns_mutated: int = 0  # iterations audited against one mutated DNS answer (--dns-rate)

    def merge(self, other: Stats) -> None:
        self.iterations += other.iterations
        self.dns_mutated += other.dns_mutated
        self.skipped += other.skipped
        self.crashes += other.crashes
        self.hangs += other.hangs
        for k, v in other.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v
        if other.worst_seconds > self.worst_seconds:
            self.worst_seconds, self.worst_size = other.worst_seconds, other.worst_size
            self.worst_sha1 = other.worst_sha1
        self.seconds = max(self.seconds, other.seconds)
        self.peak_rss_mb = max(self.peak_rss_mb, other.peak_rss_mb)
        self.crash_files.extend(other.crash_files)
        for k, v in other.signatures.items():
            self.signatures[k] = self.signatures.get(k, 0) + v


def triage(raw: bytes, resolver: Any, catalog: Any) -> str:
    """Run the pipeline's stages without audit_message's safety net, to get the traceback."""
    from mailaudit.checks.authenticate import authenticate
    from mailaudit.checks.recorded.trust import read_recorded
    from mailaudit.options import AuditOptions
    from mailaudit.parse import parse_message
    from mailaudit.templates.claims import claim_of
    from mailaudit.templates.matcher import match_message
    from mailaudit.verdict import decide

    options = AuditOptions()
    try:
        msg = parse_message(raw, limits=options.limits)
        recorded = read_recorded(msg, trust_authserv_ids=())
        auth, _f = authenticate(msg, recorded, resolver, options)
        claim = claim_of(msg, catalog)
        match = match_message(msg, claim.sender) if claim is not None and claim.kind == "address" else None
        decide(claim, auth, match)
        msg.body()
        from mailaudit.audit import _attached_messages

        _attached_messages(msg, options)
    except Exception:
        return traceback.format_exc()
    return "(stages ran without raising; the error came from audit_message itself)"


def save_crash(raw: bytes, what: str, detail: str, dns: str = "") -> Path:
    """``dns``: the mutated DNS answer ("name: value") the message was audited against."""
    CRASH_DIR.mkdir(exist_ok=True)
    sha = hashlib.sha1(raw + dns.encode("utf-8", "replace")).hexdigest()
    path = CRASH_DIR / f"{sha}.eml"
    path.write_bytes(raw)
    answer = f"\n\nDNS answer: {dns}\n" if dns else ""
    (CRASH_DIR / f"{sha}.txt").write_text(f"{what}\n\n{detail}{answer}\n", encoding="utf-8")
    return path


class _Budget:
    """Like ``mailaudit.run.Watchdog`` for one message, but remembers where the alarm caught
    the audit, so a hang is reported with the code that was running."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.where = ""
        self.fired_outside = False  # the alarm caught this harness, not the audit

    def _on_alarm(self, signum: int, frame: Any) -> None:
        from mailaudit.audit import AuditTimeout

        self.where = "".join(traceback.format_stack(frame)[-40:])
        self.fired_outside = frame is not None and frame.f_code.co_filename == __file__
        raise AuditTimeout()

    def __enter__(self) -> _Budget:
        import signal

        self.where = ""
        self.fired_outside = False
        signal.signal(signal.SIGALRM, self._on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)


def _signature(detail: str) -> str:
    """Where it broke: the innermost mailaudit frame of a traceback or stack."""
    frames = [line.strip() for line in detail.splitlines() if line.strip().startswith("File ")]
    ours = [f for f in frames if "/mailaudit/" in f] or frames
    return ours[-1] if ours else detail[:200]


def _limit_memory(megabytes: int) -> None:
    """A runaway allocation (a parser loop that never advances) must hit MemoryError in this
    worker, not the machine's OOM killer."""
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _peak_rss_mb() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    except (ImportError, OSError):
        return 0


def run_worker(args: tuple[int, int, list[bytes], dict[str, Any], float, bool, int, bool, float]
               ) -> Stats:
    iterations, seed, seeds, records, max_seconds, quiet, memory_mb, skip_known, dns_rate = args
    _limit_memory(memory_mb)
    from mailaudit.audit import audit_message
    from mailaudit.dns.snapshot import SnapshotResolver
    from mailaudit.options import AuditOptions
    from mailaudit.templates.catalog import load_catalog

    resolver = SnapshotResolver(records, origin="fuzz")
    catalog = load_catalog()
    options = AuditOptions()  # default limits: the worst time below is with them
    rng = random.Random(seed)
    stats = Stats()
    budget = _Budget(max_seconds)
    started = time.perf_counter()
    n = 0
    while stats.iterations < iterations:  # audited inputs; skipped ones do not count
        n += 1
        seed_message = rng.choice(seeds)
        answers, dns = resolver, ""
        mutate_dns = rng.random() < dns_rate
        # Half the DNS mutants keep the seed message as it is, so that its signatures reach
        # the key and the arithmetic (a mutated body fails at the body hash first).
        raw = seed_message if mutate_dns and rng.random() < 0.5 else mutate(rng, seed_message, seeds)
        if skip_known and known_bug(raw):
            stats.skipped += 1
            continue
        if mutate_dns:
            mutated, dns = mutate_records(rng, records, raw)
            # Through the snapshot's own checks: a mutant is what a snapshot file may hold.
            answers = SnapshotResolver.from_document(
                {"format": "mailaudit-dns/1", "records": mutated}, origin="fuzz")
            stats.dns_mutated += 1
        t0 = time.perf_counter()
        what = detail = ""
        try:
            with budget:
                result = audit_message(raw, resolver=answers, catalog=catalog, options=options)
            if result.error is not None:
                code = result.error.code
                if code == "internal-error":
                    what = f"internal-error: {result.error.message[:300]}"
                    detail = triage(raw, answers, catalog)
                elif code == "time-budget":
                    stats.hangs += 1
                    what, detail = f"time-budget (over {max_seconds:g} s)", budget.where
                else:
                    stats.errors[code] = stats.errors.get(code, 0) + 1
        except BaseException as exc:  # the whole point: nothing may escape audit_message
            if isinstance(exc, KeyboardInterrupt):
                raise
            if type(exc).__name__ == "AuditTimeout" and budget.fired_outside:
                # The alarm went off after audit_message returned, before the budget was
                # disarmed: a message at the edge of the budget, not an escaped exception.
                stats.hangs += 1
                what, detail = f"time-budget (over {max_seconds:g} s)", budget.where
            else:
                what, detail = "exception escaped audit_message", traceback.format_exc()
        elapsed = time.perf_counter() - t0
        stats.iterations += 1
        if elapsed > stats.worst_seconds and not what.startswith("time-budget"):
            stats.worst_seconds, stats.worst_size = elapsed, len(raw)
            stats.worst_sha1 = hashlib.sha1(raw).hexdigest()
        if what:
            stats.crashes += not what.startswith("time-budget")
            sig = f"{what.split(':')[0]} at {_signature(detail)}"
            seen = stats.signatures.get(sig, 0)
            stats.signatures[sig] = seen + 1
            if seen < 3:  # a few inputs per distinct place are enough to reproduce it
                path = save_crash(raw, what, detail, dns)
                stats.crash_files.append(str(path))
                if not quiet:
                    print(f"CRASH #{n} seed={seed}: {what}\n{detail}\n{dns[:300]}\nsaved {path}",
                          file=sys.stderr, flush=True)
        if not quiet and stats.iterations % 2000 == 0:
            rate = stats.iterations / (time.perf_counter() - started)
            print(f"[seed {seed}] {stats.iterations} iterations, {rate:.0f}/s, crashes "
                  f"{stats.crashes}, hangs {stats.hangs}, skipped {stats.skipped}, worst "
                  f"{stats.worst_seconds:.2f} s", file=sys.stderr, flush=True)
    stats.seconds = time.perf_counter() - started
    stats.peak_rss_mb = _peak_rss_mb()
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--iterations", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, action="append", default=[],
                    help="extra seed directory (repeatable); default ../shared/corpora/mail")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--max-seconds", type=float, default=5.0,
                    help="per-message budget; a message that takes longer is a hang")
    ap.add_argument("--memory-mb", type=int, default=3072,
                    help="address-space limit per worker (MemoryError instead of the OOM killer)")
    ap.add_argument("--quiet", action="store_true", help="do not print each crash")
    ap.add_argument("--dns-rate", type=float, default=0.2,
                    help="share of iterations audited against one mutated DNS answer (a key "
                         "record, SPF or DMARC the message asks for)")
    ap.add_argument("--skip-known", action="store_true",
                    help="skip inputs that only repeat a bug already in test_fuzz_regressions.py")
    args = ap.parse_args(argv)

    corpus = args.corpus or ([DEFAULT_CORPUS] if DEFAULT_CORPUS.is_dir() else [])
    t0 = time.perf_counter()
    seeds = build_seeds(corpus, args.seed)
    for note in seeds.notes[:10]:
        print(f"note: {note}", file=sys.stderr)
    print(f"{len(seeds.messages)} seeds ({len(seeds.records)} DNS names) in "
          f"{time.perf_counter() - t0:.1f} s; corpus: {', '.join(map(str, corpus)) or 'none'}",
          file=sys.stderr)

    jobs = max(1, args.jobs)
    share = [args.iterations // jobs + (i < args.iterations % jobs) for i in range(jobs)]
    work = [(share[i], args.seed * 1000 + i, seeds.messages, seeds.records, args.max_seconds,
             args.quiet, args.memory_mb, args.skip_known, args.dns_rate) for i in range(jobs)]
    started = time.perf_counter()
    total = Stats()
    if jobs == 1:
        total.merge(run_worker(work[0]))
    else:
        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ctx.Pool(jobs) as pool:
            for s in pool.imap_unordered(run_worker, work):
                total.merge(s)
    wall = time.perf_counter() - started
    print(f"iterations: {total.iterations}  wall: {wall:.1f} s  "
          f"rate: {total.iterations / wall if wall else 0:,.0f}/s ({jobs} job(s))")
    print(f"crashes: {total.crashes}  hangs (time-budget): {total.hangs}  "
          f"skipped as known bugs: {total.skipped}")
    print(f"audited against a mutated DNS answer: {total.dns_mutated}")
    print(f"peak RSS of a worker: {total.peak_rss_mb:,} MB")
    print(f"worst per-message time: {total.worst_seconds:.3f} s ({total.worst_size:,} bytes, "
          f"sha1 {total.worst_sha1})")
    if total.errors:
        print("error records (not crashes): " + ", ".join(
            f"{k}={v}" for k, v in sorted(total.errors.items())))
    for sig, count in sorted(total.signatures.items(), key=lambda kv: -kv[1]):
        print(f"  {count:6d} x {sig}")
    for f in sorted(set(total.crash_files)):
        print(f"saved: {f}")
    return 1 if total.crashes or total.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
