"""Byte ranges of an mbox (sources/mbox.py split_points, iter_mbox_range): read range by range,
a file gives exactly the messages, refs and bytes of reading it whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailaudit.options import Limits
from mailaudit.sources import iter_messages, mbox

LIMITS = Limits()


def _message(n: int, body_lines: int) -> bytes:
    body = b"".join(b"line %d of message %d\n" % (i, n) for i in range(body_lines))
    return (b"From sender%d@example.org Mon Jun  3 10:00:%02d 2024\n" % (n, n % 60)
            + b"From: a%d@example.org\nTo: b@example.com\nSubject: number %d\n\n" % (n, n)
            + body
            # Body prose mboxo does not escape, after a blank line: not a separator.
            + b"\nFrom here on, nothing splits.\n"
            + b">From the quoted line (mboxrd)\n\n")


def _mbox(tmp_path: Path, count: int = 120, crlf: bool = False) -> Path:
    data = b"".join(_message(n, 1 + (n * 7) % 40) for n in range(count))
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    path = tmp_path / ("crlf.mbox" if crlf else "lf.mbox")
    path.write_bytes(data)
    return path


def _by_ranges(path: Path, every: int) -> list[object]:
    points = mbox.split_points(str(path), every)
    ends: list[int | None] = [*points[1:], None]
    out: list[object] = []
    for start, end in zip(points, ends, strict=True):
        out.extend(mbox.iter_mbox_range(str(path), start, end, limits=LIMITS))
    return out


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("every", [1, 997, 5000, 1 << 20])
def test_ranges_give_the_whole_file_messages(tmp_path: Path, crlf: bool, every: int) -> None:
    path = _mbox(tmp_path, crlf=crlf)
    whole = list(iter_messages([str(path)], limits=LIMITS))
    assert len(whole) == 120
    assert _by_ranges(path, every) == whole


def test_split_points_are_from_lines(tmp_path: Path) -> None:
    path = _mbox(tmp_path)
    data = path.read_bytes()
    points = mbox.split_points(str(path), 2000)
    assert points[0] == 0 and len(points) > 10
    assert points == sorted(set(points))
    for at in points[1:]:
        assert data[at - 2:at + 5] == b"\n\nFrom " and data[at:at + 12] != b"From here on"


def test_a_file_without_separators_past_the_start_is_one_range(tmp_path: Path) -> None:
    path = tmp_path / "one.mbox"
    path.write_bytes(_message(1, 5000))
    assert mbox.split_points(str(path), 100) == [0]


def test_ranges_shrink_towards_the_end(tmp_path: Path) -> None:
    """The last ranges are smaller than ``every`` (an eighth of what is left, at least a
    sixteenth of ``every``), so the final ones leave no worker waiting long."""
    path = _mbox(tmp_path, count=600)
    size = path.stat().st_size
    every = size // 10
    points = mbox.split_points(str(path), every)
    sizes = [b - a for a, b in zip(points, [*points[1:], size], strict=True)]
    assert max(sizes) <= every + 2000  # a range ends at the first separator past its target
    assert sizes[0] >= every  # a full range while much is left
    tail = sizes[-4:]
    assert all(s < every // 2 for s in tail), sizes
    assert all(s >= every // 16 for s in sizes[:-1]), sizes
    assert len(points) > 10  # more ranges than a split into equal ones
