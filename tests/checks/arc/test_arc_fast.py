"""The fast ARC path against dkimpy: the same cv and reason on every case it decides.

Two corpora: the ValiMail ARC validation suite (171 cases), and messages sealed here with
dkimpy's ``arc_sign`` (1 to 3 hops, RSA keys of 2048, 1024 and 512 bits, an Ed25519 key record
behind an RSA seal, missing and uncaptured keys) and then damaged the way forwarding or an
attacker damages them (bodies, seals, cv=, instances, order, algorithms, line ends).
Where the fast path steps aside (``Unsupported``) dkimpy decides; those are counted, and the
fast path must decide most of the corpus or it is not worth its code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from mailaudit.checks.arc.check import check_arc, validate_dkimpy, validate_fast
from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.check import KeyFetcher
from mailaudit.dns.snapshot import SnapshotResolver
from support.arc_suite import CASES, SUITE, parsed
from support.arcgen import (
    _base_message,
    _join,
    _resolver,
    _seal,
    _split,
    _world,
)

DKIMPY_KEY_TYPE = "The signature must be exactly 64 bytes long"
KEY_TYPE_NOTE = ("inappropriate key algorithm: the key record is ed25519 (k=), the signature "
                 "a=rsa-sha256 (RFC 6376 section 6.1.2))")
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
    key_types = named = 0
    for note, raw in corpus:
        was_decided, got, ref = _compare(raw, resolver)
        decided += was_decided
        outcomes[ref[0]] = outcomes.get(ref[0], 0) + 1
        if ref[1].endswith(DKIMPY_KEY_TYPE + ")"):
            # A seal or AMS whose selector publishes an Ed25519 key (the "ed" sealer): dkimpy
            # raises, and the chain fails. The fast path fails it too, with the first reason
            # RFC 8617 section 5.2 meets in its order (a seal that says cv=fail, a set that
            # cannot be, a signature that does not validate), naming the key type where that
            # is the cause.
            key_types += 1
            named += got[1].endswith(KEY_TYPE_NOTE)
            if got[0] != "fail":
                mismatches.append(f"{note}: fast {got} dkimpy {ref}")
        elif got != ref:
            mismatches.append(f"{note}: fast {got} dkimpy {ref}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert key_types >= 10 and named >= key_types // 2, (key_types, named)
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
            # RFC 8617 §5.2 step 2 decides before dkimpy's structure checks and key
            # lookups do: the chain fails, no key needed.
            assert report.cv == "fail" and cv in ("fail", "temperror"), note
            continue
        if reason.endswith(DKIMPY_KEY_TYPE + ")"):  # as in the test above
            assert report.cv == cv == "fail", note
            continue
        assert (report.cv, report.reason) == (cv, reason), note


def _ed_key_chains() -> list[bytes]:
    """Intact one-set chains sealed with rsa-sha256 under a selector that publishes Ed25519."""
    found = [raw for note, raw in generated_corpus()[:200]
             if note.split("-", 1)[1] == "ed:none-intact"]
    assert found
    return found


def test_a_chain_dkimpy_refuses_says_what_dkimpy_said() -> None:
    """Where dkimpy raises, the reason carries dkimpy's own words, cut and on one line (it
    used to be only "malformed or incomplete")."""
    resolver = _resolver()
    refused = _ed_key_chains()
    cv, reason = validate_dkimpy(refused[0], KeyFetcher(resolver))
    assert cv == "fail" and reason.endswith(f"(dkimpy: ValueError: {DKIMPY_KEY_TYPE})"), reason


def test_a_seal_against_a_key_of_another_type_says_so() -> None:
    """An RSA-signed ARC set whose selector publishes an Ed25519 key: the chain fails, and the
    reason names the key type (RFC 6376 section 6.1.2, "inappropriate key algorithm"), not a
    malformed chain, which is what dkimpy's exception read as."""
    resolver = _resolver()
    refused = _ed_key_chains()
    report = check_arc(parsed(refused[0]), resolver)
    assert report.cv == "fail"
    assert report.reason == ("Most recent ARC-Message-Signature did not validate (" +
                             KEY_TYPE_NOTE), report.reason
