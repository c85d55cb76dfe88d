"""The fast ARC path against dkimpy: the same cv and reason on every case it decides.

Two corpora: the ValiMail ARC validation suite (171 cases), and messages sealed here with
dkimpy's ``arc_sign`` (1 to 3 hops, RSA keys of 2048, 1024 and 512 bits, an Ed25519 key record
behind an RSA seal, missing and uncaptured keys) and then damaged the way forwarding or an
attacker damages them (bodies, seals, cv=, instances, order, algorithms, line ends).
Where the fast path steps aside (``Unsupported``) dkimpy decides; those are counted, and the
fast path must decide most of the corpus or it is not worth its code.
"""

from __future__ import annotations

import base64
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mailaudit.checks import dkim_fast as fast
from mailaudit.checks.arc import check_arc, validate_dkimpy, validate_fast
from mailaudit.checks.dkim import KeyFetcher
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.synth.keys import SampleKey

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_arc_suite import CASES, SUITE, parsed
from test_dkim_generated import _weak_rsa_key

DOMAIN = "seal.example"
GENERATED = 600


def _compare(raw: bytes, resolver: SnapshotResolver) -> tuple[bool, tuple[str, str],
                                                               tuple[str, str]]:
    """(fast path decided, its (cv, reason) or dkimpy's when it did not, dkimpy's)."""
    ref = validate_dkimpy(raw, KeyFetcher(resolver))
    try:
        got = validate_fast(fast.split_message(raw), KeyFetcher(resolver))
    except fast.Unsupported:
        return False, ref, ref
    return True, got, ref


# --------------------------------------------------------------------------------------------
# The ValiMail suite


@pytest.mark.parametrize("case_id,test,records", CASES, ids=[c[0] for c in CASES])
def test_suite_fast_equals_dkimpy(case_id: str, test: dict[str, Any],
                                  records: dict[str, str]) -> None:
    if not SUITE.is_file():
        pytest.skip("../shared/corpora not present; the ARC suite needs it")
    resolver = SnapshotResolver({k: {"TXT": [v]} for k, v in records.items()}, complete=True)
    _decided, got, ref = _compare(test["message"].encode(), resolver)
    assert got == ref


def test_suite_mostly_decided_by_fast_path() -> None:
    if not SUITE.is_file():
        pytest.skip("../shared/corpora not present; the ARC suite needs it")
    decided = 0
    for _case_id, test, records in CASES:
        resolver = SnapshotResolver({k: {"TXT": [v]} for k, v in records.items()},
                                    complete=True)
        decided += _compare(test["message"].encode(), resolver)[0]
    # The rest are malformed tag lists and values, which dkimpy words itself.
    assert decided >= 120, decided


# --------------------------------------------------------------------------------------------
# The generated corpus


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


def _arc_indexes(fields: list[bytes], name: bytes = b"arc-") -> list[int]:
    return [i for i, f in enumerate(fields) if f.lower().startswith(name)]


def _edit_field(rng: random.Random, fields: list[bytes], prefix: bytes,
                edit: Callable[[bytes], bytes]) -> None:
    idx = _arc_indexes(fields, prefix)
    if idx:
        i = rng.choice(idx)
        fields[i] = edit(fields[i])


def _flip_b(field: bytes) -> bytes:
    k = field.find(b" b=")
    if k < 0:
        return field
    pos = k + 8
    ch = field[pos:pos + 1]
    return field[:pos] + (b"A" if ch != b"A" else b"B") + field[pos + 1:]


MUTATIONS: dict[str, Callable[[random.Random, list[bytes], bytes], tuple[list[bytes], bytes]]] = {
    "body-appended": lambda r, f, b: (f, b + b"Appended by a list footer.\r\n"),
    "body-respaced": lambda r, f, b: (f, b.replace(b" ", b"  ", 3)),
    "body-truncated": lambda r, f, b: (f, b[: len(b) // 2]),
    "subject-changed": lambda r, f, b: ([x if not x.lower().startswith(b"subject:")
                                         else b"Subject: [list] changed" for x in f], b),
    "seal-b-flipped": lambda r, f, b: (_edited(r, f, b"arc-seal:", _flip_b), b),
    "ams-b-flipped": lambda r, f, b: (_edited(r, f, b"arc-message-signature:", _flip_b), b),
    "cv-to-fail": lambda r, f, b: (_edited(r, f, b"arc-seal:",
                                           lambda x: x.replace(b"cv=pass", b"cv=fail")), b),
    "cv-to-none": lambda r, f, b: (_edited(r, f, b"arc-seal:",
                                           lambda x: x.replace(b"cv=pass", b"cv=none")), b),
    "cv-to-pass": lambda r, f, b: (_edited(r, f, b"arc-seal:",
                                           lambda x: x.replace(b"cv=none", b"cv=pass")), b),
    "set-dropped": lambda r, f, b: (_drop(r, f), b),
    "field-duplicated": lambda r, f, b: (_duplicate(r, f), b),
    "sets-reordered": lambda r, f, b: (_reorder(f), b),
    "instance-changed": lambda r, f, b: (_edited(r, f, b"arc-message-signature:",
                                                 lambda x: x.replace(b"i=1;", b"i=2;", 1)), b),
    "instance-zero": lambda r, f, b: ([b"ARC-Authentication-Results: i=0; x.example; none",
                                       *f], b),
    "refolded": lambda r, f, b: (_edited(r, f, b"arc-", lambda x: x.replace(
        b"; ", b";\r\n\t  ", 2)), b),
    "lf-only": lambda r, f, b: (f, b),  # line ends changed after joining
    "algorithm-ed25519": lambda r, f, b: (_edited(r, f, b"arc-message-signature:", lambda x: x.replace(
        b"a=rsa-sha256", b"a=ed25519-sha256")), b),
    "h-in-seal": lambda r, f, b: (_edited(r, f, b"arc-seal:",
                                          lambda x: x.replace(b"cv=", b"h=from; cv=", 1)), b),
    "seal-signs-seal": lambda r, f, b: (_edited(r, f, b"arc-message-signature:",
                                                lambda x: x.replace(b"h=", b"h=arc-seal:", 1)), b),
    "seal-expired": lambda r, f, b: (_edited(r, f, b"arc-seal:",
                                             lambda x: x.replace(b"cv=", b"x=1; cv=", 1)), b),
    "from-added": lambda r, f, b: ([*f, b"From: attacker@evil.example"], b),
}


def _edited(rng: random.Random, fields: list[bytes], prefix: bytes,
            edit: Callable[[bytes], bytes]) -> list[bytes]:
    fields = list(fields)
    _edit_field(rng, fields, prefix, edit)
    return fields


def _drop(rng: random.Random, fields: list[bytes]) -> list[bytes]:
    idx = _arc_indexes(fields)
    if not idx:
        return fields
    drop = rng.choice(idx)
    return [f for i, f in enumerate(fields) if i != drop]


def _duplicate(rng: random.Random, fields: list[bytes]) -> list[bytes]:
    idx = _arc_indexes(fields)
    if not idx:
        return fields
    i = rng.choice(idx)
    return [*fields[:i], fields[i], *fields[i:]]


def _reorder(fields: list[bytes]) -> list[bytes]:
    arc = [f for f in fields if f.lower().startswith(b"arc-")]
    rest = [f for f in fields if not f.lower().startswith(b"arc-")]
    return list(reversed(arc)) + rest


@cache
def generated_corpus() -> tuple[tuple[str, bytes], ...]:
    """(note, message) pairs; deterministic apart from the keys and dkimpy's t= stamps."""
    rng = random.Random(5617)
    world = _world()
    good = [s for s in world.sealers if s.selector in ("r2048", "r1024")]
    out: list[tuple[str, bytes]] = []
    for n in range(GENERATED):
        raw = _base_message(rng, n)
        hops = rng.choice((1, 1, 2, 2, 2, 3))
        notes = []
        for hop in range(1, hops + 1):
            sealer = rng.choice(good) if rng.random() < 0.8 else rng.choice(world.sealers)
            status = "none" if hop == 1 else rng.choice(("pass", "pass", "pass", "fail"))
            notes.append(f"{sealer.selector}:{status}")
            sealed = _seal(raw, hop, sealer, status)
            raw = sealed if sealed != raw else raw
        mutation = rng.choice(list(MUTATIONS)) if rng.random() < 0.6 else ""
        if mutation:
            fields, body = _split(raw)
            fields, body = MUTATIONS[mutation](rng, fields, body)
            raw = _join(fields, body)
            if mutation == "lf-only":
                raw = raw.replace(b"\r\n", b"\n")
        out.append((f"{n}-{'/'.join(notes)}-{mutation or 'intact'}", raw))
    return tuple(out)


def test_generated_corpus_fast_equals_dkimpy() -> None:
    pytest.importorskip("authres")  # dkimpy's arc_sign needs it
    corpus = generated_corpus()
    assert len(corpus) >= 500
    resolver = _resolver()
    decided = 0
    outcomes: dict[str, int] = {}
    mismatches: list[str] = []
    for note, raw in corpus:
        was_decided, got, ref = _compare(raw, resolver)
        decided += was_decided
        outcomes[ref[0]] = outcomes.get(ref[0], 0) + 1
        if got != ref:
            mismatches.append(f"{note}: fast {got} dkimpy {ref}")
    assert not mismatches, "\n".join(mismatches[:20])
    # The corpus must exercise passing and failing chains, and the fast path must decide most.
    assert outcomes.get("pass", 0) >= 100 and outcomes.get("fail", 0) >= 100, outcomes
    assert decided >= 0.7 * len(corpus), (decided, len(corpus))


def test_generated_corpus_check_arc_equals_dkimpy_report() -> None:
    """The whole check (fallback, temperror for uncaptured keys) against dkimpy alone."""
    pytest.importorskip("authres")
    resolver = _resolver()
    for note, raw in generated_corpus()[:200]:
        report = check_arc(parsed(raw), resolver)
        fetcher = KeyFetcher(resolver)
        cv, reason = validate_dkimpy(raw, fetcher)
        if cv == "fail" and fetcher.unavailable():
            cv, reason = "temperror", f"{fetcher.unavailable()[0]}; chain could not be validated"
        if report.reason.startswith("chain terminated") and "cv=fail)" in report.reason:
            # RFC 8617 §5.2 step 2 decides before dkimpy's structure checks do.
            assert report.cv == cv == "fail", note
            continue
        assert (report.cv, report.reason) == (cv, reason), note
