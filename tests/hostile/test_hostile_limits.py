"""Every resource limit exists, is enforced, turns into a finding (never a crash), and can be
changed with ``--limit NAME=VALUE``."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import support.pathological as patho
from mailaudit.audit import audit_message
from mailaudit.cli import cli
from mailaudit.cli.check import LIMIT_NAMES
from mailaudit.dns import DnsConfig
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import AuditResult, MessageRef, RawMessage
from mailaudit.options import AuditOptions, Limits
from mailaudit.run import Auditor, RunConfig, inline_engine, pool_engine
from mailaudit.templates.catalog import Catalog
from support.paths import REPO

SRC = REPO / "src" / "mailaudit"
CATALOGUED = b"msonlineservicesteam@microsoftonline.com"  # the matcher reads this sender's body

REQUIRED = {"max_message_bytes", "max_headers", "max_header_bytes", "max_mime_depth",
            "max_mime_parts", "max_decoded_body_bytes", "max_dns_lookups", "max_seconds"}


def catalogued(raw: bytes) -> bytes:
    return raw.replace(b"account-security-noreply@accountprotection.microsoft.com", CATALOGUED)


def signatures(n: int) -> bytes:
    return b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s%d; h=from; "
                    b"bh=AAAA; b=AAAA\r\n" % i for i in range(n)) + patho.simple()


# name -> (small value, message that exceeds it, finding codes any of which must appear)
CASES: dict[str, tuple[float, Callable[[], bytes], set[str]]] = {
    "max_message_bytes": (1_000, lambda: patho.simple(body=b"x" * 5_000),
                          {"limit-message-size"}),
    "max_headers": (10, lambda: patho.header_bomb(50), {"limit-headers", "limit-headers-needed"}),
    "max_header_bytes": (100, lambda: patho.simple(subject=b"s" * 1_000), {"limit-header-bytes"}),
    "max_mime_depth": (3, lambda: catalogued(patho.deep_multipart(10)),
                       {"limit-mime-depth", "mime-too-deep"}),
    "max_mime_parts": (5, lambda: catalogued(patho.many_parts(20)), {"limit-mime-parts"}),
    "max_decoded_body_bytes": (1_000, lambda: catalogued(patho.simple(body=b"word " * 2_000)),
                               {"limit-body-bytes"}),
}


def codes(result: AuditResult) -> set[str]:
    return {f.code for f in result.findings}


def test_limits_cover_every_resource() -> None:
    names = {f.name for f in dataclasses.fields(Limits)}
    assert names >= REQUIRED
    assert set(LIMIT_NAMES) == names  # every limit can be changed on the command line


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_limit_is_enforced_somewhere(name: str) -> None:
    """Some module other than the option plumbing reads the limit."""
    users = [p for p in SRC.rglob("*.py") if p.name not in ("options.py", "cli.py")
             and re.search(rf"\blimits\.{name}\b", p.read_text(encoding="utf-8"))]
    assert users, f"Limits.{name} is never read"


@pytest.mark.parametrize("name", sorted(CASES))
def test_limit_gives_a_finding(name: str, catalog: Catalog) -> None:
    value, build, expected = CASES[name]
    raw = build()
    options = AuditOptions(limits=Limits(**{name: value}))  # type: ignore[arg-type]
    result = audit_message(raw, resolver=SnapshotResolver({}), catalog=catalog, options=options)
    # A limit that cut what the verdict needs makes the verdict ``error``, naming the limit.
    assert result.error is None or result.error.code in expected, result.error
    assert codes(result) & expected, codes(result)
    default = audit_message(raw, resolver=SnapshotResolver({}), catalog=catalog)
    assert not codes(default) & expected, "the default limit should not be hit by this message"


def test_dns_lookup_limit_caps_lookups(catalog: Catalog) -> None:
    class Counting(SnapshotResolver):
        asked = 0

        def _lookup(self, name: str, rdtype: str) -> list[object]:
            Counting.asked += 1
            return super()._lookup(name, rdtype)

    options = AuditOptions(limits=Limits(max_dns_lookups=3))
    result = audit_message(signatures(10), resolver=Counting({}), catalog=catalog,
                           options=options)
    assert Counting.asked <= 3
    assert [c.result for c in result.auth.recomputed_of("dkim")].count("temperror") == 10


def test_dns_lookup_limit_gives_a_finding(catalog: Catalog) -> None:
    options = AuditOptions(limits=Limits(max_dns_lookups=3))
    result = audit_message(signatures(10), resolver=SnapshotResolver({}), catalog=catalog,
                           options=options)
    assert any("dns" in c and "limit" in c for c in codes(result)), codes(result)


def test_time_limit_gives_an_error_record() -> None:
    config = RunConfig(options=AuditOptions(limits=Limits(max_seconds=0.3)),
                       dns=DnsConfig(offline=True))
    auditor = Auditor(config)
    item = RawMessage(MessageRef("<slow>"), catalogued(patho.base64_body_bomb()))
    started = time.perf_counter()
    results = auditor.audit(item)
    assert time.perf_counter() - started < 3
    assert results[0].error is not None and results[0].error.code == "time-budget"
    assert "max_seconds" in results[0].reason


def _slow_then_quick() -> list[RawMessage]:
    return [RawMessage(MessageRef("<slow>"), catalogued(patho.base64_body_bomb())),
            RawMessage(MessageRef("<quick>"), patho.simple())]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_time_limit_holds_in_a_run_and_the_timer_is_put_back() -> None:
    """The inline engine times messages with one periodic timer for the run (Watchdog): the
    slow message still becomes a time-budget error, the next one is audited, and after the
    run the timer is off and the SIGALRM handler is what it was."""
    config = RunConfig(options=AuditOptions(limits=Limits(max_seconds=0.3)),
                       dns=DnsConfig(offline=True))
    before = signal.getsignal(signal.SIGALRM)
    started = time.perf_counter()
    groups = list(inline_engine(Auditor(config), lambda r: r)(_slow_then_quick()))
    assert time.perf_counter() - started < 3
    slow, quick = groups[0][0][1], groups[1][0][1]
    assert slow.error is not None and slow.error.code == "time-budget"
    assert quick.error is None
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_time_limit_holds_for_one_message_outside_a_run() -> None:
    """``Auditor.audit`` with no run around it (the dns and templates commands, a library
    caller) arms a watchdog for that message only, and puts the timer back after it."""
    config = RunConfig(options=AuditOptions(limits=Limits(max_seconds=0.3)),
                       dns=DnsConfig(offline=True))
    before = signal.getsignal(signal.SIGALRM)
    auditor = Auditor(config)
    slow, quick = _slow_then_quick()
    started = time.perf_counter()
    [result] = auditor.audit(slow)[:1]
    assert time.perf_counter() - started < 3
    assert result.error is not None and result.error.code == "time-budget"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
    assert auditor.audit(quick)[0].error is None


def _error_code(result: AuditResult) -> str:
    return result.error.code if result.error else ""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_time_limit_holds_in_pool_workers() -> None:
    config = RunConfig(options=AuditOptions(limits=Limits(max_seconds=0.3)),
                       dns=DnsConfig(offline=True))
    started = time.perf_counter()
    groups = list(pool_engine(config, _error_code, jobs=2)(_slow_then_quick()))
    assert time.perf_counter() - started < 10
    assert [g[0][1] for g in groups] == ["time-budget", ""]


# -- the command line ---------------------------------------------------------------------------

def run_check(path: Path, *extra: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["check", str(path), "--offline", "--format", "jsonl",
                                      "--jobs", "1", *extra], catch_exceptions=False)
    assert result.exit_code in (0, 1, 3), result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def record_codes(record: dict[str, object]) -> set[str]:
    findings = record["findings"]
    assert isinstance(findings, list)
    codes = {f["code"] for f in findings}
    error = record.get("error")
    if isinstance(error, dict):
        codes.add(error["code"])
    return codes


CLI_CASES: dict[str, tuple[str, Callable[[], bytes], set[str]]] = {
    **{name: (str(v), b, c) for name, (v, b, c) in CASES.items()},
    "max_seconds": ("0.2", lambda: catalogued(patho.base64_body_bomb()), {"time-budget"}),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_limit_option_changes_the_limit(name: str, tmp_path: Path) -> None:
    value, build, expected = CLI_CASES[name]
    path = tmp_path / "m.eml"
    path.write_bytes(build())
    limited = run_check(path, "--limit", f"{name}={value}")
    assert record_codes(limited[0]) & expected, record_codes(limited[0])
    if name != "max_seconds":  # the default 30 s run of the 30 MB body is left out for speed
        assert not record_codes(run_check(path)[0]) & expected


def test_limit_option_dns_lookups(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(signatures(10))
    record = run_check(path, "--limit", "max_dns_lookups=2")[0]
    auth = record["auth"]
    assert isinstance(auth, dict)
    reasons = " ".join(c["reason"] for c in auth["recomputed"])
    assert "budget of 2 spent" in reasons


@pytest.mark.parametrize("bad", ["max_headers", "nonsense=1", "max_headers=-1",
                                 "max_headers=ten", "max_seconds=0", "max_seconds=nan",
                                 "max_seconds=inf", "max_seconds=-inf", "max_seconds=1e400",
                                 "max_dns_lookups=1e400"])
def test_bad_limit_option_is_a_usage_error(bad: str, tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(patho.simple())
    result = CliRunner().invoke(cli, ["check", str(path), "--offline", "--limit", bad])
    assert result.exit_code == 2
    if "max_seconds=" in bad and bad != "max_seconds=0":
        assert "must be a finite number" in result.output  # nan passed "<= 0" before


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_tiny_time_budget_is_not_a_signal_storm(tmp_path: Path) -> None:
    """A 1 us budget made the watchdog tick every 250 ns: the process spent a minute in the
    kernel (103 s of system time on two cores) and audited nothing. Ticks are at least 10 ms
    apart now, so each message ends as a time-budget error record, promptly."""
    for i in range(5):
        (tmp_path / f"m{i}.eml").write_bytes(patho.simple())
    out = tmp_path / "out.jsonl"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mailaudit", "check", str(tmp_path), "--offline",
                           "--format", "jsonl", "--jobs", "1", "-o", str(out), "--limit",
                           "max_seconds=0.000001"], capture_output=True, timeout=120)
    assert time.perf_counter() - started < 60
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5, done.stderr
    # The DNS share of the budget (half of it) may run out first: limit-dns-lookups.
    assert {r["error"]["code"] if r["error"] else r["verdict"] for r in records} <= {
        "time-budget", "limit-dns-lookups", "unknown-sender", "unauthenticated"}


def test_a_budget_that_lands_while_a_class_is_made_is_still_the_budget() -> None:
    """Python wraps an exception raised in ``__set_name__`` in RuntimeError. An alarm landing
    while a module imported on first use defined its classes (seen: templates.slots, with a
    1 us budget, about one run in 25) was reported as an internal error."""
    from mailaudit.audit import AuditTimeout, _caused_by_timeout

    class Alarm:
        def __set_name__(self, owner: type, name: str) -> None:
            raise AuditTimeout()

    with pytest.raises(RuntimeError) as info:
        type("SlotType", (), {"field": Alarm()})
    assert _caused_by_timeout(info.value)
    assert not _caused_by_timeout(RuntimeError("a bug of ours"))


def _thread_budget_failures(seconds: float) -> list[BaseException | None]:
    """What Dask's per-thread budget raised in its own timer thread, over a 50 ms audit."""
    from mailaudit.engines.dask import thread_time_budget

    failures: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)
    try:
        with thread_time_budget(seconds):
            time.sleep(0.05)
    finally:
        threading.excepthook = previous
    return failures


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_budget_that_is_not_a_positive_finite_number_means_none(seconds: float) -> None:
    from mailaudit.run import Watchdog

    with Watchdog(seconds) as watchdog:
        assert not watchdog.active
    assert _thread_budget_failures(seconds) == []  # Event.wait(inf) raised OverflowError


def test_a_budget_past_the_thread_timeout_limit_still_works() -> None:
    """1e300 s is a budget, but past threading.TIMEOUT_MAX: Event.wait raised OverflowError
    in Dask's timer thread. The watchdog arms, and neither timer fails."""
    from mailaudit.run import Watchdog

    with Watchdog(1e300) as watchdog:
        assert watchdog.active or not hasattr(signal, "setitimer")
        time.sleep(0.02)
    assert _thread_budget_failures(1e300) == []


def test_part_limit_bounds_parse_time() -> None:
    """Found by the fuzzer: the whole body went to email.feedparser before max_mime_parts
    applied (80,000 tiny parts, 3 MB: 5.3 s; 50 MB of them ~90 s). Fixed in parse/body.py."""
    from mailaudit.parse import parse_message

    raw = patho.many_parts(80_000)
    started = time.perf_counter()
    body = parse_message(raw).body()
    elapsed = time.perf_counter() - started
    assert "limit-mime-parts" in {f.code for f in body.findings}
    assert elapsed < 2.0, f"{elapsed:.1f} s for a walk limited to 2,000 parts"
