"""Organisational domains: the PSL test vectors, and the DMARCbis tree walk."""

from __future__ import annotations

from typing import Any

import pytest

from mailaudit.checks.dmarc.check import fetch_dmarc_record
from mailaudit.checks.dmarc.treewalk import treewalk, walk_names
from mailaudit.dns.base import NotCaptured, Resolver
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.parse.domains import org_domain_psl
from support.paths import CORPORA

PSL_TESTS = CORPORA / "psl" / "tests.txt"

# Vectors where the bundled list (publicsuffixlist's release) may legitimately differ from
# the corpus's list version. None at the time of writing; keep entries with the reason.
PSL_DEVIATIONS: dict[str, str] = {}


def _vectors() -> list[Any]:
    if not PSL_TESTS.exists():
        return [pytest.param("", None, marks=pytest.mark.skip(
            reason="../shared/corpora/psl not present; PSL vectors not run"), id="corpora-missing")]
    out = []
    for line in PSL_TESTS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("//"):
            continue
        domain, expected = line.split()
        if domain == "null":
            continue  # a null input is a type error upstream, not a domain
        out.append(pytest.param(domain, None if expected == "null" else expected,
                                id=f"{domain}->{expected}"))
    return out


@pytest.mark.parametrize(("domain", "expected"), _vectors())
def test_psl_vectors(domain: str, expected: str | None) -> None:
    got = org_domain_psl(domain)
    if domain in PSL_DEVIATIONS:
        pytest.xfail(PSL_DEVIATIONS[domain])
    assert got == expected


def test_psl_rejects_non_domains() -> None:
    for bad in ("", ".", "a..b.com", "x" * 64 + ".com", "a." * 130 + "com"):
        assert org_domain_psl(bad) is None


def test_walk_names_bounded() -> None:
    deep = ".".join(f"l{i}" for i in range(40)) + ".example.com"
    names = walk_names(deep)
    assert len(names) == 8 and names[1].count(".") == 6 and names[-1] == "com"


ZONE: dict[str, Any] = {
    "_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject"]},
    "_dmarc.mail.example.com": {"TXT": ["v=DMARC1; p=none"]},
    "_dmarc.gov": {"TXT": ["v=DMARC1; p=reject; psd=y"]},
    "_dmarc.corp.example.net": {"TXT": ["v=DMARC1; p=quarantine; psd=n"]},
    "_dmarc.example.net": {"TXT": ["v=DMARC1; p=reject"]},
}


@pytest.mark.parametrize(("domain", "org", "record_domain"), [
    ("a.mail.example.com", "example.com", "example.com"),  # fewest labels wins
    ("example.com", "example.com", "example.com"),
    ("x.y.agency.gov", "agency.gov", "gov"),  # one label below the PSD
    ("a.b.corp.example.net", "corp.example.net", "corp.example.net"),  # psd=n stops the walk
    ("nothing.example.org", "nothing.example.org", None),  # no record: the domain itself
])
def test_treewalk(domain: str, org: str, record_domain: str | None) -> None:
    got_org, record = org_domain_treewalk(domain, SnapshotResolver(ZONE, complete=True))
    assert got_org == org
    assert (record.domain if record else None) == record_domain


def test_treewalk_not_captured_is_raised() -> None:
    with pytest.raises(NotCaptured):
        org_domain_treewalk("a.example.com", SnapshotResolver(ZONE, complete=False))


def org_domain_treewalk(domain: str, resolver: Resolver) -> tuple[str | None, object]:
    """The tree walk as the DMARC check runs it, over one resolver."""
    return treewalk(domain, lambda name: fetch_dmarc_record(name, resolver)[0])
