"""The mutation fuzzer (fuzz/fuzz_audit.py): a short fixed run, and mutations bounded in memory.

The long runs (200,000 iterations) are done by hand and their figures kept in SECURITY.md;
this keeps the fuzzer itself working and its inputs within MAX_MUTANT_BYTES.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import subprocess
import sys
import tracemalloc
from types import ModuleType

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
