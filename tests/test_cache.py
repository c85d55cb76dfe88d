"""The cache of derived data (mailaudit.cache): entries round-trip, are ASCII, and are private."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailaudit import cache


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_non_ascii_text_round_trips_in_an_ascii_entry(cache_dir: Path) -> None:
    plain = {"rules": "公司.cn\nxn--55qx5d.cn\ncom", "odd": "\ud800 lone surrogate", "n": 3}
    entry = cache.entry_path("test", "test/1", b"input")
    assert entry is not None and entry.parent == cache_dir
    cache.store(entry, "test/1", plain)
    raw = entry.read_bytes()
    assert raw.isascii() and json.loads(raw)["data"] == plain
    assert cache.lookup(entry, "test/1", lambda data: data) == plain
    assert cache.lookup(entry, "test/2", lambda data: data) is None  # another format
    assert entry.stat().st_mode & 0o077 == 0  # private to the user


def test_another_format_is_another_entry(cache_dir: Path) -> None:
    """Two releases that write an entry differently keep one each, instead of rebuilding it
    in turn on every start."""
    first = cache.entry_path("psl", "rules/1", b"list")
    second = cache.entry_path("psl", "rules/2", b"list")
    assert first is not None and second is not None and first != second
    assert cache.entry_path("psl", "rules/1", b"list") == first
    cache.store(first, "rules/1", ["a"])
    cache.store(second, "rules/2", {"b": 1})
    assert cache.lookup(first, "rules/1", lambda data: data) == ["a"]
    assert cache.lookup(second, "rules/2", lambda data: data) == {"b": 1}
