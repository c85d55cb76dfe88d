"""The benchmark corpus generator produces mail that authenticates against its own snapshot.

Not a timing test: it checks that benchmarks/corpus.py output is what the benchmarks assume
(signatures verify with dkimpy unless labelled broken, ARC seals validate, both DNS files agree).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dkim
import pytest

from support.paths import REPO

BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
from _mbox import read_mbox  # noqa: E402
from _world import build_world, mailauth_cache  # noqa: E402

from mailaudit.dns.base import NXDomain  # noqa: E402
from mailaudit.dns.snapshot import SnapshotResolver  # noqa: E402

pytest.importorskip("nacl", reason="dkimpy needs pynacl to sign and verify Ed25519")


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    assert corpus.main(["--n", "120", "--seed", "7", "--out", str(out), "--jobs", "1",
                        "--eml", "--domains", "12"]) == 0
    return out


def test_every_message_is_in_mbox_eml_and_manifest(small_corpus: Path) -> None:
    manifest = [json.loads(line) for line in (small_corpus / "manifest.jsonl").open()]
    messages = list(read_mbox(small_corpus / "mailbox.mbox"))
    assert len(messages) == len(manifest) == 120
    for raw, info in zip(messages, manifest, strict=True):
        eml = (small_corpus / "eml" / f"{info['id']:06d}.eml").read_bytes()
        assert raw == eml.replace(b"\r\n", b"\n")


def test_signatures_verify_as_labelled(small_corpus: Path) -> None:
    ok, checked = corpus.self_check(small_corpus, sample=120)
    assert checked > 50
    assert ok == checked


def test_labels_cover_the_mix(small_corpus: Path) -> None:
    labels = {lb for line in (small_corpus / "manifest.jsonl").open()
              for lb in json.loads(line)["labels"]}
    for wanted in ("dkim-rsa2048", "dkim-ed25519", "dkim-rsa1024", "arc-forwarded",
                   "c=relaxed/relaxed", "c=simple/simple"):
        assert wanted in labels


def test_snapshot_is_complete_and_matches_mailauth_cache(small_corpus: Path) -> None:
    snap = SnapshotResolver.from_file(small_corpus / "dns-snapshot.json")
    cache = json.loads((small_corpus / "dns.json").read_text())
    assert snap.complete
    with pytest.raises(NXDomain):
        snap.txt("_dmarc.not-in-the-corpus.example")
    for name, entry in cache.items():
        if "TXT" in entry:
            assert snap.txt(name) == ["".join(chunks) for chunks in entry["TXT"]]
        if "MX" in entry:
            assert snap.mx(name) == [(m["priority"], m["exchange"]) for m in entry["MX"]]


def test_mailauth_cache_splits_long_txt_into_255_byte_strings() -> None:
    world = build_world(3, 4, ("rsa2048",))
    cache = mailauth_cache(world.records)
    long_keys = [e["TXT"][0] for e in cache.values() if "TXT" in e and len(e["TXT"][0]) > 1]
    assert long_keys, "RSA-2048 key records are longer than one TXT string"
    assert all(len(chunk) <= 255 for chunks in long_keys for chunk in chunks)


def test_fast_rsa_signature_verifies_with_untouched_dkimpy() -> None:
    key = build_world(5, 1, ("rsa2048",)).domains[0].selectors["rsa2048"][1]
    msg = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"
    with corpus.fast_rsa():
        signed = dkim.sign(msg, b"s", b"example.com", key.private, include_headers=[b"from"]) + msg
    assert dkim.RSASSA_PKCS1_v1_5_sign is not None
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: key.dns_txt.encode())
    assert not dkim.verify(signed.replace(b"body", b"bodY"),
                           dnsfunc=lambda name, timeout=5: key.dns_txt.encode())
