"""Fixtures shared across the suite. Helpers that are not fixtures live in tests/support/
(importable as ``support.*``: pytest runs with ``pythonpath = tests``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.templates.catalog import Catalog, load_catalog
from support.paths import REPO, SAMPLES

# Property tests draw new examples on every run (that is what finds the input nobody wrote
# down), so a failure must be reproducible from its log alone: print_blob prints the
# @reproduce_failure line to paste. No per-example deadline: time is measured by benchmarks/,
# never asserted, and a loaded CI machine must not fail a correct test.
# HYPOTHESIS_PROFILE=deterministic draws the same examples every run (bisecting a failure).
settings.register_profile("mailaudit", deadline=None, print_blob=True)
settings.register_profile("deterministic", parent=settings.get_profile("mailaudit"),
                          derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mailaudit"))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The built-in template catalog (loaded once; it is immutable)."""
    return load_catalog()


@pytest.fixture(scope="session")
def samples_resolver() -> SnapshotResolver:
    """Replay of the samples' DNS snapshot (samples/dns.json)."""
    return SnapshotResolver.from_file(SAMPLES / "dns.json")


@pytest.fixture(scope="session")
def big_mbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real mbox of about 1,000 messages: the samples' mbox repeated, so every message has
    its own offset (batch, pool, resume and signal tests)."""
    path = tmp_path_factory.mktemp("mbox") / "big.mbox"
    data = (REPO / "samples-mailboxes" / "samples.mbox").read_bytes()
    if not data.endswith(b"\n\n"):
        data += b"\n"
    with path.open("wb") as fh:
        for _ in range(60):
            fh.write(data)
    return path
