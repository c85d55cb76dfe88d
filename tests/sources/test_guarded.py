"""sources.guarded: every engine reads through it, so a reader that raises part-way costs the
rest of one input, never the records already read or the batch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.sources import Item, guarded


def _reader(good: int, error: BaseException | None) -> Iterator[Item]:
    for n in range(good):
        yield RawMessage(MessageRef("box.mbox", f"mbox:offset={n}"), b"Subject: %d\r\n\r\n" % n)
    if error is not None:
        raise error


def test_records_read_before_the_failure_are_kept() -> None:
    items = list(guarded("box.mbox", _reader(3, ValueError("reader bug"))))
    assert [i.ref.locator for i in items[:3]] == [f"mbox:offset={n}" for n in range(3)]
    [failed] = items[3:]
    assert isinstance(failed, SourceError)
    assert failed.code == "read-failed" and failed.ref.path == "box.mbox"
    assert "ValueError" in failed.message and "rest of this input was not read" in failed.message


def test_a_reader_that_does_not_fail_is_passed_through() -> None:
    assert [i.ref.locator for i in guarded("box.mbox", _reader(2, None))] == [
        "mbox:offset=0", "mbox:offset=1"]


def test_stopping_is_not_a_read_failure() -> None:
    # Ctrl-C and the audit's time budget are BaseExceptions: they stop the run, not one input.
    with pytest.raises(KeyboardInterrupt):
        list(guarded("box.mbox", _reader(1, KeyboardInterrupt())))
