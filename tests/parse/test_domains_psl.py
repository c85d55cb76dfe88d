"""The Public Suffix List read through the cache holds exactly the rules the library builds
from its own file, cold and warm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from publicsuffixlist import PublicSuffixList

from mailaudit.parse import domains

NAMES = ["mail.example.co.uk", "a.b.example.com", "xn--80ak6aa92e.com", "www.食狮.公司.cn",
         "sub.xn--fiqs8s", "foo.kawasaki.jp", "city.kawasaki.jp", "x.city.kawasaki.jp",
         "s3.amazonaws.com", "bucket.s3.amazonaws.com", "com", "a.unknowntld"]


@pytest.fixture
def fresh_psl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    domains.psl.cache_clear()
    yield tmp_path / "cache"
    domains.psl.cache_clear()


def test_cold_and_warm_equal_the_library(fresh_psl: Path) -> None:
    reference = PublicSuffixList()
    cold = domains.psl()
    assert len(list(fresh_psl.glob("psl-*.json"))) == 1
    domains.psl.cache_clear()
    warm = domains.psl()
    for p in (cold, warm):
        assert p._publicsuffix == reference._publicsuffix
        assert p._maxlabel == reference._maxlabel
        for name in NAMES:
            assert p.privatesuffix(name) == reference.privatesuffix(name), name
            assert p.publicsuffix(name) == reference.publicsuffix(name), name


def test_a_broken_entry_is_rebuilt(fresh_psl: Path) -> None:
    domains.psl()
    entry = next(fresh_psl.glob("psl-*.json"))
    entry.write_text('{"format": "mailaudit-psl-rules/1", "data": [1, 2]}', encoding="utf-8")
    domains.psl.cache_clear()
    assert domains.psl().privatesuffix("mail.example.co.uk") == "example.co.uk"


def test_warm_start_does_no_idna_work(fresh_psl: Path) -> None:
    code = ("import sys; from mailaudit.parse.domains import psl; psl(); "
            "print('encodings.idna' in sys.modules)")
    env = {"MAILAUDIT_CACHE_DIR": str(fresh_psl), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert (first, second) == ("True", "False")
