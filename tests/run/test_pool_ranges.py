"""A pool fed byte ranges of an mbox (``sources.iter_units``): the workers read their own
messages, and the records, their order, ``--resume`` skipping and a worker that dies inside a
range all come out as when this process reads every message itself."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from mailaudit.dns import DnsConfig
from mailaudit.model import AuditResult, RawMessage, Verdict
from mailaudit.options import AuditOptions, Limits
from mailaudit.report.schema import to_json_line
from mailaudit.resume import resume_key
from mailaudit.run import Auditor, Engine, RunConfig, Unit, inline_engine, pool_engine, run
from mailaudit.sources import MboxRange, iter_messages, iter_units
from support.cli import SNAPSHOT
from support.paths import REPO

LIMITS = Limits()
CONFIG = RunConfig(options=AuditOptions(), dns=DnsConfig(snapshot=str(SNAPSHOT), offline=True))
RANGE = 20_000  # bytes: the samples' mbox (about 100 KB) repeated gives a few dozen ranges


@pytest.fixture(scope="module")
def mbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = (REPO / "samples-mailboxes" / "samples.mbox").read_bytes()
    if not data.endswith(b"\n\n"):
        data += b"\n"
    path = tmp_path_factory.mktemp("ranges") / "box.mbox"
    path.write_bytes(data * 3)
    return path


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_group(self, group: Sequence[tuple[Verdict, object]]) -> None:
        self.lines.extend(str(payload) for _, payload in group)

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        pass


def _run(units: Iterable[Unit], engine: Engine, skip: set[str] | None = None) -> list[str]:
    sink = _Lines()
    run(units, engine=engine, sink=sink, flagged=frozenset(), skip=skip,
        key=lambda item: resume_key(item.ref))
    return sink.lines


def _inline(path: Path) -> list[str]:
    return _run(iter_messages([str(path)], limits=LIMITS), inline_engine(Auditor(CONFIG),
                                                                          to_json_line))


def test_a_large_mbox_comes_as_ranges_that_tile_the_file(mbox: Path, tmp_path: Path) -> None:
    units = list(iter_units([str(mbox)], limits=LIMITS, range_bytes=RANGE))
    assert len(units) > 5 and all(isinstance(u, MboxRange) for u in units)
    ranges = [u for u in units if isinstance(u, MboxRange)]
    assert ranges[0].start == 0 and ranges[-1].end is None
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
    whole = list(iter_messages([str(mbox)], limits=LIMITS))
    assert [item for r in ranges for item in r.items(limits=LIMITS)] == whole
    # A small mbox, an .eml (one message even with a From_ line) and a missing path are read
    # as before, here.
    small = list(iter_units([str(mbox)], limits=LIMITS, range_bytes=mbox.stat().st_size))
    assert small == whole
    eml = tmp_path / "big.eml"
    eml.write_bytes(mbox.read_bytes())
    assert [type(u) for u in iter_units([str(eml)], limits=LIMITS, range_bytes=RANGE)] == [
        RawMessage]
    missing = list(iter_units([str(tmp_path / "nope")], limits=LIMITS, range_bytes=RANGE))
    assert len(missing) == 1 and not isinstance(missing[0], MboxRange)


def test_a_large_mbox_in_a_directory_comes_as_ranges(mbox: Path, tmp_path: Path) -> None:
    tree = tmp_path / "export"
    (tree / "Archive").mkdir(parents=True)
    (tree / "Archive" / "2024").write_bytes(mbox.read_bytes())  # an mbox without a suffix
    (tree / "one.eml").write_bytes((REPO / "samples" / "13-teams-invitation-genuine.eml")
                                   .read_bytes())
    (tree / "notes.txt").write_text("not mail\n", encoding="utf-8")
    units = list(iter_units([str(tree)], limits=LIMITS, range_bytes=RANGE))
    assert sum(isinstance(u, MboxRange) for u in units) > 5
    expanded = [item for u in units
                for item in (u.items(limits=LIMITS) if isinstance(u, MboxRange) else [u])]
    assert expanded == list(iter_messages([str(tree)], limits=LIMITS))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert list(iter_units([str(empty)], limits=LIMITS, range_bytes=RANGE)) == list(
        iter_messages([str(empty)], limits=LIMITS))


def test_a_pool_over_ranges_gives_the_inline_records_in_order(mbox: Path) -> None:
    inline = _inline(mbox)
    pooled = _run(iter_units([str(mbox)], limits=LIMITS, range_bytes=RANGE),
                  pool_engine(CONFIG, to_json_line, jobs=2))
    assert len(inline) > 50
    assert pooled == inline


def _item_locator(line: str) -> str:
    """The locator of the message a record belongs to (an attachment's record adds a step)."""
    return str(json.loads(line)["ref"]["locator"]).split(";", 1)[0]


def test_resume_keys_are_skipped_inside_ranges(mbox: Path) -> None:
    inline = _inline(mbox)
    items = list(iter_messages([str(mbox)], limits=LIMITS))
    done = {resume_key(item.ref) for item in items[::3]}
    done_locators = {item.ref.locator for item in items[::3]}
    pooled = _run(iter_units([str(mbox)], limits=LIMITS, range_bytes=RANGE),
                  pool_engine(CONFIG, to_json_line, jobs=2, skip=frozenset(done)), skip=done)
    kept = [line for line in inline if _item_locator(line) not in done_locators]
    assert len(done) > 10 and len(kept) < len(inline)
    assert pooled == kept


_PARENT = os.getpid()
_DEADLY: list[str] = []  # the locator of the message whose audit kills its worker


def _encode_or_die(result: AuditResult) -> str:
    if os.getpid() != _PARENT and result.error is None and result.ref.locator in _DEADLY:
        os._exit(1)  # as a segfault or an OOM kill would: no clean-up, no result
    return to_json_line(result)


@pytest.mark.skipif(os.name != "posix", reason="the workers are forked (they see _DEADLY)")
def test_a_worker_that_dies_inside_a_range_costs_one_message(mbox: Path) -> None:
    inline = _inline(mbox)
    items = list(iter_messages([str(mbox)], limits=LIMITS))
    victim = items[len(items) // 2].ref.locator
    _DEADLY[:] = [victim]
    try:
        pooled = _run(iter_units([str(mbox)], limits=LIMITS, range_bytes=RANGE),
                      pool_engine(CONFIG, _encode_or_die, jobs=2))
    finally:
        _DEADLY.clear()
    crashed = [json.loads(line) for line in pooled if _item_locator(line) == victim]
    assert len(crashed) == 1
    assert crashed[0]["verdict"] == "error" and crashed[0]["error"]["code"] == "worker-crashed"
    others = [line for line in pooled if _item_locator(line) != victim]
    assert others == [line for line in inline if _item_locator(line) != victim]
    assert len(others) > 50
