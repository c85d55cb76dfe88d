"""The compiled catalog: what a cached start loads is exactly what validating the YAML gives,
and an entry that is stale, foreign or not private is never used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailaudit.errors import CatalogError
from mailaudit.templates import compiled
from mailaudit.templates.catalog import _builtin_files, load_file
from support.packs import PACK


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(where))
    return where


def _uncached(path: Path, label: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setenv("MAILAUDIT_CACHE_DIR", "")
        return load_file(path, label)


def test_every_builtin_file_round_trips(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path, label in _builtin_files():
        reference = _uncached(path, label, monkeypatch)
        cold = load_file(path, label)  # validates and writes the entry
        warm = load_file(path, label)  # reads the entry
        assert cold == reference and warm == reference, label
    entries = sorted(cache.glob("catalog-*.json"))
    assert len(entries) == len(_builtin_files())
    assert (cache.stat().st_mode & 0o777) == 0o700
    assert all((e.stat().st_mode & 0o077) == 0 for e in entries)


def test_warm_start_imports_no_yaml(cache: Path, tmp_path: Path) -> None:
    code = ("import sys; from mailaudit.templates.catalog import load_catalog; "
            "c = load_catalog(); print(len(c.templates), 'yaml' in sys.modules)")
    env = {**os.environ, "MAILAUDIT_CACHE_DIR": str(cache)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
    assert first[0] == second[0] and int(first[0]) > 0
    assert first[1] == "True" and second[1] == "False"


def test_an_edited_file_is_validated_again(cache: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    assert load_file(pack, "pack.yaml").senders[0].product == "Notices"
    pack.write_text(PACK.replace("product: Notices", "product: Letters"), encoding="utf-8")
    assert load_file(pack, "pack.yaml").senders[0].product == "Letters"
    # An edit that breaks the file fails as before, cache or not.
    pack.write_text(PACK.replace("evidence: INFERRED", "evidence: RUMOUR", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match="evidence"):
        load_file(pack, "pack.yaml")
    assert len(list(cache.glob("catalog-*.json"))) == 2


def test_the_label_is_part_of_the_key(cache: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    a = load_file(pack, "a.yaml")
    b = load_file(pack, "b.yaml")
    assert a.senders[0].origin.startswith("a.yaml:") and b.senders[0].origin.startswith("b.yaml:")


def _entry_for(pack: Path, label: str) -> Path:
    entry = compiled.entry_path(label, pack.read_bytes())
    assert entry is not None
    return entry


def test_a_foreign_entry_is_ignored(cache: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    good = load_file(pack, "pack.yaml")
    entry = _entry_for(pack, "pack.yaml")
    doc = json.loads(entry.read_text(encoding="utf-8"))
    # A class the catalog does not define: decoding refuses it, the YAML is used instead.
    doc["data"]["c"] = "Popen"
    entry.write_text(json.dumps(doc), encoding="utf-8")
    assert load_file(pack, "pack.yaml") == good
    entry.write_text("not json", encoding="utf-8")
    assert load_file(pack, "pack.yaml") == good
    # Shapes no entry of ours has: an object that is no tag, fields as an object (the first
    # format's), a field name that is not text, a tuple of no list, a key that cannot be one.
    text = _entry_for(pack, "pack.yaml").read_text(encoding="utf-8")
    for wrong in ('{"format": "mailaudit-catalog-compiled/2", "data": {"x": 1}}',
                  '{"format": "mailaudit-catalog-compiled/2", "data": '
                  '{"c": "CatalogData", "f": {"brands": {"t": []}}}}',
                  '{"format": "mailaudit-catalog-compiled/2", "data": '
                  '{"c": "CatalogData", "f": [[1, {"t": []}]]}}',
                  '{"format": "mailaudit-catalog-compiled/2", "data": {"t": "abc"}}',
                  '{"format": "mailaudit-catalog-compiled/2", "data": {"d": [[[1], 2]]}}'):
        entry.write_text(wrong, encoding="utf-8")
        assert load_file(pack, "pack.yaml") == good, wrong
    entry.write_text(text, encoding="utf-8")
    assert load_file(pack, "pack.yaml") == good


def test_an_entry_others_can_write_is_not_used(cache: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    load_file(pack, "pack.yaml")
    entry = _entry_for(pack, "pack.yaml")
    doc = json.loads(entry.read_text(encoding="utf-8"))
    tampered = json.dumps(doc).replace("Notices", "Tampered")
    entry.write_text(tampered, encoding="utf-8")
    os.chmod(entry, 0o666)
    assert load_file(pack, "pack.yaml").senders[0].product == "Notices"
    # (the rejected entry was rebuilt from the YAML and replaced)
    entry.write_text(tampered, encoding="utf-8")
    os.chmod(entry, 0o600)
    os.chmod(cache, 0o777)
    try:
        assert load_file(pack, "pack.yaml").senders[0].product == "Notices"
    finally:
        os.chmod(cache, 0o700)
    # The same entry, private in a private directory, is used: the checks above kept it out.
    entry.write_text(tampered, encoding="utf-8")
    assert load_file(pack, "pack.yaml").senders[0].product == "Tampered"


def test_cache_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", "")
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    assert compiled.entry_path("pack.yaml", pack.read_bytes()) is None
    assert load_file(pack, "pack.yaml").senders[0].id == "example.notice"


# -- the signal phrases (_signals.yaml) ---------------------------------------------------------

def test_signal_phrases_are_read_from_the_cache_without_yaml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailaudit.templates import signals

    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(cache_dir))
    signals._phrases.cache_clear()
    try:
        derived = signals._phrases()  # from the YAML, and kept
        assert derived["brands"] and derived["urgency"]
        assert len(list(cache_dir.glob("signals-*.json"))) == 1
        signals._phrases.cache_clear()
        monkeypatch.setitem(sys.modules, "yaml", None)  # any import of PyYAML now fails
        assert signals._phrases() == derived
    finally:
        signals._phrases.cache_clear()


@pytest.mark.parametrize("data", [{"brands": [1], "urgency": []}, {"brands": []},
                                  ["brands", "urgency"], {"brands": "PayPal", "urgency": []}])
def test_a_foreign_signal_phrase_entry_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: object) -> None:
    from mailaudit.templates import signals

    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(cache_dir))
    signals._phrases.cache_clear()
    try:
        derived = signals._phrases()
        (entry,) = cache_dir.glob("signals-*.json")
        entry.write_text(json.dumps({"format": signals._PHRASES_FORMAT, "data": data}))
        signals._phrases.cache_clear()
        assert signals._phrases() == derived
    finally:
        signals._phrases.cache_clear()
