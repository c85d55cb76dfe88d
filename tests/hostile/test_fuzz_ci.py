"""The mutation fuzzer (fuzz/fuzz_audit.py): a short fixed run, and mutations bounded in memory.

The long runs (200,000 iterations) are done by hand and their figures kept in SECURITY.md;
this keeps the fuzzer itself working and its inputs within MAX_MUTANT_BYTES.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import random
import re
import subprocess
import sys
import tracemalloc
from types import ModuleType
from typing import Any

import pytest

from support.paths import REPO

FUZZER = REPO / "fuzz" / "fuzz_audit.py"


def _fuzz_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_audit", FUZZER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_audit"] = module
    spec.loader.exec_module(module)
    return module


def test_fixed_seed_run_finds_nothing() -> None:
    """200 mutants of seed 7, the bundled seeds only (no corpus), one process. The per-message
    budget is generous: a loaded CI machine must not turn a slow message into a "hang"."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, str(FUZZER), "--iterations", "200", "--seed", "7", "--quiet",
         "--max-seconds", "60", "--corpus", str(REPO / "fuzz" / "no-corpus")],
        capture_output=True, timeout=900, env=env, cwd=REPO, check=False)
    out = proc.stdout.decode("utf-8", "replace")
    assert "iterations: 200" in out, out + proc.stderr.decode("utf-8", "replace")[-3000:]
    assert re.search(r"crashes: 0\s+hangs \(time-budget\): 0", out), out
    assert proc.returncode == 0, out


@pytest.mark.parametrize("name", sorted({m.__name__ for m in _fuzz_module().MUTATORS}))
def test_mutation_is_bounded(name: str) -> None:
    """Each mutation of an input already at MAX_MUTANT_BYTES allocates a few times that, not
    ``copies x field`` (duplicate_header once asked for 8 GB and died of MemoryError)."""
    fuzz = _fuzz_module()
    mutator = getattr(fuzz, name)
    limit = fuzz.MAX_MUTANT_BYTES
    # One huge folded field: the header mutators can only pick it.
    data = (b"Subject: x" + b"\r\n y" * (limit // 4))[:limit - 100] + b"\r\n\r\nbody\r\n"
    seeds = [data, *fuzz.HAND_SEEDS]
    for seed in range(6):
        rng = random.Random(seed)
        tracemalloc.start()
        try:
            out = mutator(rng, data, seeds)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(out) <= 2 * limit + 1_000_000, (name, len(out))
        assert peak <= 8 * limit, (name, peak)


def test_fixed_seed_run_with_mutated_dns_answers_finds_nothing() -> None:
    """100 mutants of seed 11, every one audited against a mutated DNS answer, key records past
    the RSA bounds among them (longer runs of this kind found the costly-key hang in the code
    before the bounds: fuzz/README.md)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, str(FUZZER), "--iterations", "100", "--seed", "11", "--quiet",
         "--dns-rate", "1", "--max-seconds", "60", "--corpus", str(REPO / "fuzz" / "no-corpus")],
        capture_output=True, timeout=900, env=env, cwd=REPO, check=False)
    out = proc.stdout.decode("utf-8", "replace")
    assert "audited against a mutated DNS answer: 100" in out, (
        out + proc.stderr.decode("utf-8", "replace")[-3000:])
    assert re.search(r"crashes: 0\s+hangs \(time-budget\): 0", out), out
    assert proc.returncode == 0, out


def test_dns_mutants_are_bounded_and_asked_for() -> None:
    """A mutated answer stays within MAX_TXT_CHARS, changes one name only, is one the message
    asks for when it names any (its signature's key first), and loads as a snapshot. A
    quarter of the mutants replace a sender domain's A, AAAA, MX or CNAME answers, or the
    PTR answers of the address its Received field names."""
    fuzz = _fuzz_module()
    from mailaudit.dns.snapshot import SnapshotResolver

    message = (b"Received: from mx.example.com (mx.example.com [192.0.2.25]) by mx.example.net\r\n"
               b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=x; b=y\r\n"
               b"From: a@example.com\r\n\r\nbody\r\n")
    records: dict[str, Any] = {
        "sel._domainkey.example.com": {"TXT": ["v=DKIM1; k=rsa; p=QUJD"]},
        "other._domainkey.example.org": {"TXT": ["v=DKIM1; k=rsa; p=QUJD"]},
        "example.com": {"TXT": ["v=spf1 -all"], "A": ["192.0.2.1"]},
        "gone.example": "NXDOMAIN",
    }
    changed_names: set[str] = set()
    changed_types: set[str] = set()
    for seed in range(400):
        out, report = fuzz.mutate_records(random.Random(seed), records, message)
        SnapshotResolver.from_document({"format": "mailaudit-dns/1", "records": out})
        changed = {n for n in out if out[n] != records.get(n)}
        # Hosts a mutated MX or PTR answer names, added with addresses so the evaluation
        # reaches them: new names, A and AAAA only, each one the mutant points at.
        targets = {n for n in changed if n not in records and n.startswith(("mx", "host."))}
        named = {str(h) for v in out.values() if isinstance(v, dict)
                 for h in [*(mx[1] for mx in v.get("MX", [])), *v.get("PTR", [])]}
        for name in targets:
            assert set(out[name]) == {"A", "AAAA"} and name in named, (name, report)
        changed -= targets
        assert changed and len(changed) <= 2, changed  # the PTR name and the SPF asking for it
        assert report.split(": ", 1)[0] in changed
        for name in changed:
            before = records.get(name)
            types = {t for t in out[name] if not isinstance(before, dict)
                     or out[name].get(t) != before.get(t)}
            changed_types |= types
            changed_names.add(name)
            for value in out[name].get("TXT", []):
                assert len(value) <= fuzz.MAX_TXT_CHARS
        assert records["sel._domainkey.example.com"]["TXT"] == ["v=DKIM1; k=rsa; p=QUJD"]
    assert changed_names == {"sel._domainkey.example.com", "example.com",
                             "25.2.0.192.in-addr.arpa"}
    assert changed_types == {"TXT", "A", "AAAA", "MX", "PTR", "CNAME"}
    assert records["example.com"] == {"TXT": ["v=spf1 -all"], "A": ["192.0.2.1"]}


def test_random_keys_cover_the_costly_ones() -> None:
    """The key generator makes keys past both RSA bounds (what found the hang) and within."""
    fuzz = _fuzz_module()
    from mailaudit.checks.dkim import fast

    outcomes: set[str] = set()
    for seed in range(300):
        der = fuzz.random_key_der(random.Random(seed))
        try:
            fast.parse_key_record(b"v=DKIM1; k=rsa; p=" + base64.b64encode(der))
            outcomes.add("usable")
        except fast.KeyTooCostly as exc:
            outcomes.add("modulus" if "bits is longer" in exc.reason else "exponent")
        except (fast.KeyRecordError, fast.Unsupported):
            outcomes.add("refused")
    assert outcomes == {"usable", "modulus", "exponent", "refused"}
