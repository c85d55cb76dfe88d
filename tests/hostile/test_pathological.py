"""The pathological corpus (tests/pathological.py) through the whole pipeline and the real CLI.

Every input must give records within a generous CPU-time bound (so a quadratic regression
fails, not just a hang), no ``internal-error``, and the limit it hits must show as a finding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import support.pathological as patho
from mailaudit.audit import audit_item
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import AuditResult, MessageRef, RawMessage, SourceError, Verdict
from mailaudit.options import AuditOptions, Limits
from mailaudit.parse import parse_message
from mailaudit.sources import iter_messages
from mailaudit.templates.catalog import Catalog
from support.paths import CORPORA, REPO
from support.scaling import assert_linear

CASE_SECONDS = 20.0  # per input; today every case takes well under 3 s
CORPORA = CORPORA
REPO = REPO

# The limit (or defect) each input must be reported under: in the audit record's findings, or,
# for MIME limits, in the parsed body's findings (the audit parses bodies only when a check or
# the template matcher needs them).
HEADER_FINDINGS = {
    "header-bomb-100k": "limit-headers",
    "header-line-50mb": "limit-header-bytes",
    "folded-header-200k-lines": "limit-header-bytes",
    "one-line-20mb": "limit-header-bytes",
    # DKIM-Signature fields are kept past max_headers (the verdict reads them); the
    # signature cap reports them.
    "dkim-signatures-2000": "limit-signatures",
    "many-addresses-10k": "limit-header-bytes",
}
BODY_FINDINGS = {
    "multipart-depth-1000": "mime-too-deep",
    "rfc822-depth-200": "mime-too-deep",
    "multipart-parts-20k": "limit-mime-parts",
    "multipart-never-closed": "limit-mime-parts",
    "base64-body-30mb": "limit-body-bytes",
}


@pytest.fixture(scope="module")
def resolver() -> SnapshotResolver:
    return SnapshotResolver({}, origin="empty")


def assert_sound(results: list[AuditResult]) -> None:
    assert results, "no record at all"
    for r in results:
        assert isinstance(r.verdict, Verdict)
        if r.error is not None:
            assert r.error.code != "internal-error", r.error.message
            assert r.reason
        else:
            assert r.verdict is not Verdict.ERROR


@pytest.mark.parametrize("case", sorted(patho.MESSAGES))
def test_message_through_audit_item(case: str, catalog: Catalog,
                                    resolver: SnapshotResolver) -> None:
    raw = patho.MESSAGES[case]()
    item = RawMessage(MessageRef(f"<{case}>"), raw)
    # CPU time of this process, not wall time: a loaded machine does not fail the bound, a
    # hang or a quadratic path still does (test_base64_body_stays_linear times the growth).
    started = time.process_time()
    results = audit_item(item, resolver=resolver, catalog=catalog, options=AuditOptions())
    elapsed = time.process_time() - started
    assert elapsed < CASE_SECONDS, f"{case} took {elapsed:.1f} s of CPU"
    assert_sound(results)
    if case in HEADER_FINDINGS:
        codes = {f.code for f in results[0].findings}
        assert HEADER_FINDINGS[case] in codes, codes
    if case in BODY_FINDINGS:
        started = time.process_time()
        body = parse_message(raw).body()
        assert time.process_time() - started < CASE_SECONDS
        assert BODY_FINDINGS[case] in {f.code for f in body.findings}


def test_base64_body_stays_linear(catalog: Catalog, resolver: SnapshotResolver) -> None:
    # The base64-body-30mb case at 2 MB and 8 MB decoded (both under max_decoded_body_bytes):
    # 4x the body may take at most 10x the CPU time of the audit and the body parse.
    def work(raw: bytes) -> None:
        audit_item(RawMessage(MessageRef("<base64>"), raw), resolver=resolver, catalog=catalog,
                   options=AuditOptions())
        parse_message(raw).body()

    assert_linear(work, patho.base64_body_bomb, 2 * 1024 * 1024, repeat=1, what="base64 body")


def test_over_size_message_is_cut_and_flagged(tmp_path: Path, catalog: Catalog,
                                              resolver: SnapshotResolver) -> None:
    path = tmp_path / "big.eml"
    path.write_bytes(patho.long_header_line(3_000_000))
    limits = Limits(max_message_bytes=1_000_000)
    items = list(iter_messages([str(path)], limits=limits))
    assert len(items) == 1 and isinstance(items[0], RawMessage)
    assert items[0].truncated and len(items[0].data) <= 1_000_000
    results = audit_item(items[0], resolver=resolver, catalog=catalog,
                         options=AuditOptions(limits=limits))
    assert_sound(results)
    assert "limit-message-size" in {f.code for f in results[0].findings}


def _audit_all(items: Iterator[RawMessage | SourceError], catalog: Catalog,
               resolver: SnapshotResolver) -> list[AuditResult]:
    out: list[AuditResult] = []
    for item in items:
        out.extend(audit_item(item, resolver=resolver, catalog=catalog))
    return out


def test_mbox_with_from_lines_in_bodies(tmp_path: Path, catalog: Catalog,
                                        resolver: SnapshotResolver) -> None:
    path = tmp_path / "mail.mbox"
    expected = patho.mbox_with_from_lines(path)
    started = time.perf_counter()
    results = _audit_all(iter_messages([str(path)], limits=Limits()), catalog, resolver)
    assert time.perf_counter() - started < CASE_SECONDS
    assert_sound(results)
    assert len(results) == expected
    assert [r.subject for r in results] == [f"mbox {i}" for i in range(expected)]


def test_symlink_loops_end(tmp_path: Path, catalog: Catalog, resolver: SnapshotResolver) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    expected = patho.symlink_loop_tree(root)
    started = time.perf_counter()
    items = list(iter_messages([str(root)], limits=Limits()))
    assert time.perf_counter() - started < CASE_SECONDS
    messages = [i for i in items if isinstance(i, RawMessage)]
    results = _audit_all(iter(items), catalog, resolver)
    assert_sound(results)
    subjects = sorted(r.subject or "" for r in results if r.error is None)
    assert subjects == ["m1", "m2"] and len(messages) == expected
    for item in items:
        if isinstance(item, SourceError):
            assert item.message


def test_maildir_changing_during_scan(tmp_path: Path, catalog: Catalog,
                                      resolver: SnapshotResolver) -> None:
    root = tmp_path / "Maildir"
    originals = patho.maildir(root, messages=300)
    started = time.perf_counter()
    with patho.MaildirChurn(root) as churn:
        items = []
        for item in iter_messages([str(root)], limits=Limits()):
            items.append(item)
            time.sleep(0.001)  # let the churn thread run between reads
    assert time.perf_counter() - started < CASE_SECONDS
    assert churn.created > 0
    results = _audit_all(iter(items), catalog, resolver)
    assert_sound(results)
    seen = [Path(i.ref.path).name for i in items if isinstance(i, RawMessage)]
    for p in originals:  # the churn thread only removes its own files
        assert seen.count(p.name) == 1, p.name


def _cli(args: list[str], *, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "mailaudit", *args], capture_output=True,
                          timeout=timeout, env=env, cwd=REPO, check=False)


CLI_CASES = ("header-bomb-100k", "header-line-50mb", "multipart-depth-1000", "encoded-words-10k",
             "invalid-utf8-headers", "binary-noise")


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_single_file(case: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.eml"
    path.write_bytes(patho.MESSAGES[case]())
    started = time.perf_counter()
    proc = _cli(["check", str(path), "--offline", "--format", "jsonl"])
    elapsed = time.perf_counter() - started
    assert elapsed < CASE_SECONDS + 5, f"{case}: {elapsed:.1f} s"
    assert proc.returncode in (0, 1, 3), proc.stderr.decode(errors="replace")
    lines = proc.stdout.decode("utf-8").splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert record["verdict"] in [v.value for v in Verdict]
        assert (record.get("error") or {}).get("code") != "internal-error"


def test_cli_tree_with_every_pathology(tmp_path: Path) -> None:
    """Symlink loops, an mbox with From lines in bodies and small pathological messages in one
    directory, two workers, human output: the run completes with a record for each."""
    root = tmp_path / "tree"
    root.mkdir()
    patho.symlink_loop_tree(root)
    patho.mbox_with_from_lines(root / "a" / "inbox.mbox", messages=20)
    for case in ("nul-bytes", "invalid-utf8-headers", "encoded-words-malformed",
                 "nested-comments-50k", "authres-garbage", "arc-sets-500"):
        (root / f"{case}.eml").write_bytes(patho.MESSAGES[case]())
    started = time.perf_counter()
    proc = _cli(["check", str(root), "--offline", "--format", "jsonl", "--jobs", "2"])
    assert time.perf_counter() - started < 60
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    records = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert sum(r["verdict"] != "error" for r in records) >= 2 + 20 + 6 - 2
    assert not [r for r in records if (r.get("error") or {}).get("code") == "internal-error"]


# -- the shared mail corpora ------------------------------------------------------------------

def _corpus_files() -> list[str]:
    mail = CORPORA / "mail"
    if not mail.is_dir():
        return []
    return sorted(str(p.relative_to(mail)) for p in mail.rglob("*")
                  if p.is_file() and not p.name.startswith(("LICENSE", "COPYING"))
                  and p.suffix not in (".json", ".rtf", ".md"))


@pytest.mark.parametrize("rel", _corpus_files() or ["<absent>"])
def test_shared_mail_corpus(rel: str, catalog: Catalog, resolver: SnapshotResolver) -> None:
    if rel == "<absent>":
        pytest.skip(f"{CORPORA}/mail not present; the shared corpora are a sibling checkout")
    path = CORPORA / "mail" / rel
    started = time.perf_counter()
    results = _audit_all(iter_messages([str(path)], limits=Limits()), catalog, resolver)
    assert time.perf_counter() - started < CASE_SECONDS * 3  # the spamassassin mboxes hold ~70
    for r in results:
        assert r.error is None or r.error.code != "internal-error", (r.ref, r.error.message)
