"""The Public Suffix List read through the cache answers exactly as the library built from its
own file does, cold and warm, on every rule of the list and on the list's published vectors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from publicsuffixlist import PublicSuffixList

from mailaudit.parse import domains
from support.paths import CORPORA

NAMES = ["mail.example.co.uk", "a.b.example.com", "xn--80ak6aa92e.com", "www.食狮.公司.cn",
         "sub.xn--fiqs8s", "foo.kawasaki.jp", "city.kawasaki.jp", "x.city.kawasaki.jp",
         "s3.amazonaws.com", "bucket.s3.amazonaws.com", "com", "a.unknowntld", "Mail.Example.COM.",
         "example.com..", ".example.com", "", ".", "a..b.com", "x.y.z.w.v.u.t.s.r.q.p.example.com"]


@pytest.fixture
def fresh_psl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    domains.psl.cache_clear()
    yield tmp_path / "cache"
    domains.psl.cache_clear()


def _rule_names(reference: PublicSuffixList) -> list[str]:
    """Every rule as a name, one label under and one label over it: where exact, wildcard and
    exception rules meet."""
    out: list[str] = []
    for rule in sorted(reference._publicsuffix):
        base = rule.lstrip("!").removeprefix("*.")
        out += [base, f"x.{base}", f"y.x.{base}", base.rpartition(".")[2]]
    return out


def _published_vectors() -> list[tuple[str, str | None]]:
    """Both syntaxes of the list's test vectors (tests.txt and test_psl.txt)."""
    out: list[tuple[str, str | None]] = []
    tests = CORPORA / "psl" / "tests.txt"
    js = CORPORA / "psl" / "test_psl.txt"
    if not tests.exists() or not js.exists():
        pytest.skip("../shared/corpora/psl not present; PSL vectors not run")
    for line in tests.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("//"):
            domain, expected = line.split()
            if domain != "null":
                out.append((domain, None if expected == "null" else expected))
    call = re.compile(r"^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);")
    for line in js.read_text(encoding="utf-8").splitlines():
        m = call.match(line)
        if m and m[1] != "null":
            out.append((m[1].strip("'"), None if m[2] == "null" else m[2].strip("'")))
    return out


def test_cold_and_warm_equal_the_library(fresh_psl: Path) -> None:
    reference = PublicSuffixList()
    cold = domains.psl()
    assert len(list(fresh_psl.glob("psl-*.json"))) == 1
    domains.psl.cache_clear()
    warm = domains.psl()
    names = NAMES + _rule_names(reference)
    for p in (cold, warm):
        assert p._rules == reference._publicsuffix
        assert p._maxlabel == reference._maxlabel
        for name in names:
            assert p.privatesuffix(name) == reference.privatesuffix(name), name
            assert p.publicsuffix(name) == reference.publicsuffix(name), name
            for unknown in (True, False):
                assert (p.publicsuffix(name, accept_unknown=unknown)
                        == reference.publicsuffix(name, accept_unknown=unknown)), name
                assert (p.privatesuffix(name, accept_unknown=unknown)
                        == reference.privatesuffix(name, accept_unknown=unknown)), name


def test_published_vectors_both_syntaxes(fresh_psl: Path) -> None:
    vectors = _published_vectors()
    assert len(vectors) >= 150
    for domain, expected in vectors:
        assert domains.org_domain_psl(domain) == expected, domain


def test_a_broken_entry_is_rebuilt(fresh_psl: Path) -> None:
    domains.psl()
    entry = next(fresh_psl.glob("psl-*.json"))
    for data in ('[1, 2]', '{"maxlabel": 1, "rules": ["com"]}', '{"maxlabel": "3", "rules": ""}',
                 '{"maxlabel": -1, "rules": "com"}', '{"maxlabel": true, "rules": "com"}',
                 '{"rules": "com"}'):
        entry.write_text(f'{{"format": "mailaudit-psl-rules/2", "data": {data}}}',
                         encoding="utf-8")
        domains.psl.cache_clear()
        assert domains.psl().privatesuffix("mail.example.co.uk") == "example.co.uk", data


def test_warm_start_does_no_idna_work(fresh_psl: Path) -> None:
    code = ("import sys; from mailaudit.parse.domains import psl; psl(); "
            "print('encodings.idna' in sys.modules)")
    env = {"MAILAUDIT_CACHE_DIR": str(fresh_psl), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert (first, second) == ("True", "False")
