"""Fixtures shared across the suite. Helpers that are not fixtures live in tests/support/
(importable as ``support.*``: pytest runs with ``pythonpath = tests``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.templates.catalog import Catalog, load_catalog
from support.paths import REPO, SAMPLES


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
