"""mbox files (mboxo and mboxrd, LF or CRLF), read as a stream of chunks.

A message starts at a line beginning ``From `` that is the first line of the file or follows a
blank line (the separator rule every mbox writer keeps, mbox(5)). Past the first line, the
From_ line must also carry a time of day (``hh:mm``), as every writer's ctime/asctime date
does; that keeps body prose such as "From here on..." after a blank line, which mboxo does not
escape, from splitting a message (mutt's ``is_from`` applies the same idea, more strictly).

The From_ line and the blank line before the next one are not part of the message. mboxrd
quoting is undone: one ``>`` is removed from every line matching ``^>+From `` (for mboxo files
this also restores the ``From `` lines the writer escaped; an original ``>From `` is
indistinguishable there).
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterable, Iterator
from typing import BinaryIO

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources.sniff import has_magic, open_readonly, os_error, read_head, source_error

CHUNK_BYTES = 1 << 20
# A line this long cannot be a From_ line; it is passed through as body text so that a file
# without line ends cannot make us buffer it whole.
_MAX_LINE = 1 << 20
_TIME_OF_DAY = re.compile(rb"\d:\d\d")
_RD_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)
_RD_QUOTED_START = re.compile(rb">+From ")

Item = RawMessage | SourceError


def detect(path: str) -> bool:
    """The file's first line starts with ``From `` (by content, never by name)."""
    return has_magic(path, b"From ")


def iter_mbox(path: str, *, limits: Limits) -> Iterator[Item]:
    try:
        with open_readonly(path) as stream:
            head = read_head(stream)
            if not head:
                yield source_error(path, "empty", "the file is empty; there is no message to audit")
                return
            yield from split_mbox(file_chunks(head, stream), path=path, limits=limits)
    except OSError as exc:
        yield os_error(path, exc, listed=True)


def file_chunks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """``head`` (already read) followed by the rest of ``stream`` in chunks."""
    yield head
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def split_mbox(chunks: Iterable[bytes], *, path: str, limits: Limits) -> Iterator[Item]:
    """Split an mbox, given as consecutive byte chunks from offset 0, into messages."""
    yield from _split(chunks, _Splitter(path, limits.max_message_bytes))


def _split(chunks: Iterable[bytes], splitter: _Splitter) -> Iterator[Item]:
    carry = b""
    for chunk in chunks:
        if not chunk:
            continue
        data = carry + chunk if carry else chunk
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) <= _MAX_LINE:
                carry = data
                continue
            splitter.pass_through(data)
            carry = b""
            continue
        yield from splitter.scan(data, end)
        carry = data[end:]
    if carry:
        yield from splitter.scan(carry, len(carry))
    yield from splitter.close()


class _Message:
    """One message being collected; keeps at most ``cap`` bytes and counts the rest away.

    What a message holds must not depend on where the reads cut the file: the blank line
    before the next From_ line may arrive (and pass the cap) before that From_ line is seen.
    So the bytes dropped at the cap are counted, and trimming the blank line takes them back
    first; the last three bytes added are kept for the blank-line test at end of file."""

    __slots__ = ("cap", "cut", "dropped", "offset", "parts", "quoted", "size", "tail",
                 "unfinished_from_line")

    def __init__(self, offset: int, cap: int) -> None:
        self.offset = offset
        self.cap = cap
        self.parts: list[bytes] = []
        self.size = 0
        self.cut = False
        self.dropped = 0  # bytes added past the cap
        self.tail = b""  # the last three bytes added, kept or not
        self.unfinished_from_line = False
        self.quoted = False  # a line of it matches ^>+From (mboxrd quoting to undo)

    def add(self, piece: bytes) -> None:
        if not piece:
            return
        self.tail = (self.tail + piece[-3:])[-3:]
        if self.cut:
            self.dropped += len(piece)
            return
        room = self.cap - self.size
        if len(piece) > room:
            self.dropped += len(piece) - room
            piece = piece[:room]
            self.cut = True
        if piece:
            self.parts.append(piece)
            self.size += len(piece)

    def trim(self, count: int) -> None:
        """Drop the last ``count`` bytes added (the separator's blank line), kept or not."""
        take = min(count, self.dropped)
        self.dropped -= take
        count -= take
        self.cut = self.dropped > 0
        while count > 0 and self.parts:
            last = self.parts.pop()
            keep = max(0, len(last) - count)
            count -= len(last) - keep
            self.size -= len(last) - keep
            if keep:
                self.parts.append(last[:keep])

    def ends_with_blank_line(self) -> int:
        """Length of a trailing blank line ("\\n" or "\\r\\n") after the last line end, else 0."""
        if self.tail.endswith(b"\n\n"):
            return 1
        if self.tail.endswith(b"\n\r\n"):
            return 2
        return 0

    def finish(self, path: str, *, at_eof_mid_line: bool) -> Item:
        ref = MessageRef(path, f"mbox:offset={self.offset}")
        if self.unfinished_from_line:
            return SourceError(ref, "truncated",
                               f"{path}: the mbox ends inside the From_ line at byte "
                               f"{self.offset}; the file was cut short, copy it again")
        data = b"".join(self.parts)
        if at_eof_mid_line and not self.cut and b"\n\n" not in data and b"\n\r\n" not in data:
            return SourceError(ref, "truncated",
                               f"{path}: the mbox ends in the middle of the message at byte "
                               f"{self.offset}, before its header section ends; the file was "
                               "cut short, copy it again")
        if not data or data.isspace():
            return SourceError(ref, "empty",
                               f"{path}: the mbox message at byte {self.offset} is empty")
        if self.quoted:
            data = _RD_QUOTED.sub(rb"\1", data)
        return RawMessage(ref, data, truncated=self.cut)


class _Splitter:
    """State carried between chunks. Every chunk handed to ``scan`` ends at a line end (or at
    end of file), so a From_ line is never split across two scans."""

    def __init__(self, path: str, cap: int, base: int = 0) -> None:
        self.path = path
        self.cap = cap
        self.base = base  # file offset of data[0] in the current scan
        self.start = base
        self.line_start = True  # data[0] begins a line
        self.prev_blank = True  # the line before data[0] is blank (file start counts as one)
        self.prev_blank_len = 0  # its length with the line end: 1 ("\n") or 2 ("\r\n")
        self.current: _Message | None = None
        self.ended_mid_line = False

    def _line_blank(self, data: bytes, nl: int) -> bool:
        """Is the line that ends with the "\\n" at ``data[nl]`` empty (or a lone "\\r")?"""
        if nl == 0:
            return self.line_start
        before = data[nl - 1]
        if before == 0x0A:
            return True
        if before == 0x0D:
            return self.line_start if nl == 1 else data[nl - 2] == 0x0A
        return False

    def _is_from_line(self, data: bytes, at: int, end: int) -> bool:
        if self.current is None and at == 0 and self.base == self.start:
            # The first line of the file (detection already saw "From "), or of a byte range,
            # which starts at a From_ line by construction (split_points).
            return True
        eol = data.find(b"\n", at, end)
        return _TIME_OF_DAY.search(data, at, eol if eol >= 0 else end) is not None

    def _quoted_line(self, data: bytes, at: int) -> bool:
        """Does the line holding ``data[at]`` ("From ", after a ">") start with ">+From "?
        Walks back over the ">" run only; once a message is known to be quoted, not at all,
        so the work stays linear in the data whatever it holds."""
        if self.current is not None and self.current.quoted:
            return False
        i = at - 1
        while i >= 0 and data[i] == 0x3E:
            i -= 1
        return data[i] == 0x0A if i >= 0 else self.line_start

    def pass_through(self, data: bytes) -> None:
        message = self._message(0)
        if self.line_start and _RD_QUOTED_START.match(data):
            message.quoted = True
        message.add(data)
        self.base += len(data)
        self.line_start = False
        self.prev_blank = False
        self.ended_mid_line = True

    def _message(self, pos: int) -> _Message:
        if self.current is None:  # text before any From_ line: keep it as a message anyway
            self.current = _Message(self.base + pos, self.cap)
        return self.current

    def scan(self, data: bytes, end: int) -> Iterator[Item]:
        pos = 0
        if (self.line_start and self.prev_blank and data.startswith(b"From ")
                and self._is_from_line(data, 0, end)):
            pos = yield from self._boundary(data, pos, 0, end)
        # One search finds both From_ separators ("From " after a line end) and mboxrd-quoted
        # lines (">From ", ">>From ", ...): each search over the data costs about as much as
        # every other read of it in this module together.
        at = data.find(b"From ", 1, end)
        while at >= 0:
            before = data[at - 1]
            if before == 0x0A:
                if (at >= pos and self._line_blank(data, at - 1)
                        and self._is_from_line(data, at, end)):
                    pos = yield from self._boundary(data, pos, at, end)
            elif before == 0x3E and self._quoted_line(data, at):
                self._message(pos).quoted = True
            at = data.find(b"From ", at + 1, end)
        if pos < end:
            self._message(pos).add(data[pos:end])
        ends_line = data[end - 1] == 0x0A
        self.prev_blank = ends_line and self._line_blank(data, end - 1)
        self.prev_blank_len = 2 if end >= 2 and data[end - 2] == 0x0D else 1
        self.line_start = True
        self.ended_mid_line = not ends_line
        self.base += end

    def _blank_len(self, data: bytes, at: int) -> int:
        """Length of the blank line that ends just before ``data[at]``."""
        if at == 0:
            return self.prev_blank_len
        return 2 if at >= 2 and data[at - 2] == 0x0D else 1

    def _boundary(self, data: bytes, pos: int, at: int,
                  end: int) -> Generator[Item, None, int]:
        """A From_ line starts at ``data[at]``: finish the message before it, start the next.
        Returns where the new message's bytes begin (after the From_ line)."""
        current = self.current
        if current is not None:
            blank = self._blank_len(data, at)
            cut = max(pos, at - blank)
            current.add(data[pos:cut])
            current.trim(blank - (at - cut))
            yield current.finish(self.path, at_eof_mid_line=False)
        elif at > pos:
            self._message(pos).add(data[pos:at])
            assert self.current is not None
            yield self.current.finish(self.path, at_eof_mid_line=False)
        self.current = _Message(self.base + at, self.cap)
        eol = data.find(b"\n", at, end)
        if eol < 0:
            self.current.unfinished_from_line = True
            return end
        return eol + 1

    def close(self) -> Iterator[Item]:
        current = self.current
        if current is None:
            return
        self.current = None
        if not self.ended_mid_line:
            current.trim(current.ends_with_blank_line())
        yield current.finish(self.path, at_eof_mid_line=self.ended_mid_line)


# --- byte ranges, for engines that shard one large mbox over many workers -------------------

_SEPARATOR_WINDOW = 1 << 16


def split_points(path: str, every: int) -> list[int]:
    """Offsets of From_ lines roughly ``every`` bytes apart, 0 first: the starts of byte ranges
    that ``iter_mbox_range`` reads as whole messages. Only a window after each target offset
    is read, never the file. A point is a line starting ``From `` after a blank line, with a
    time of day: the separator rule of ``split_mbox``, so every range splits the same way the
    whole file does.

    Towards the end the ranges shrink, to an eighth of what is left (never under a sixteenth
    of ``every``): workers take ranges as they finish the last, so the final ones are small
    and no core waits long for one that is still working through a full range (measured, 2
    workers, 2,000 messages in 16 ranges: the last range ended 0.1 s after the one before)."""
    points = [0]
    floor = max(1, every // 16)
    with open_readonly(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        target = every
        while target < size:
            found = _next_separator(stream, target, size)
            if found is None:
                break
            if found > points[-1]:
                points.append(found)
            target = max(found, target) + min(every, max(floor, (size - found) // 8))
    return points


def byte_ranges(path: str, every: int) -> list[tuple[int, int | None]] | None:
    """The byte ranges [start, end) that the mbox file at ``path`` splits into, about
    ``every`` bytes each, for readers that each read their own (``iter_mbox_range``; the last
    end is None: to the end of the file). None when ``path`` is not an mbox larger than
    ``every`` (an .eml, which is one message even when it starts with a From_ line, a small
    mbox, another form), or cannot be read: its ordinary reader then says why."""
    try:
        # A stat first: most files of a directory walk are small, and are not opened here.
        if os.stat(path).st_size <= every or path.lower().endswith(".eml"):
            return None
        with open_readonly(path) as stream:
            head = read_head(stream, 5)
            size = os.fstat(stream.fileno()).st_size
        if head != b"From " or size <= every:
            return None
        points = split_points(path, every)
    except OSError:
        return None
    ends: list[int | None] = [*points[1:], None]
    return list(zip(points, ends, strict=True))


def _next_separator(stream: BinaryIO, offset: int, size: int) -> int | None:
    """The first From_ separator at or after ``offset`` (its "F"), None when there is none."""
    start = max(0, offset - 3)  # the blank line before may straddle the target
    while start < size:
        stream.seek(start)
        data = read_head(stream, _SEPARATOR_WINDOW + 8)
        if not data:
            return None
        nl = data.find(b"\nFrom ")
        while nl >= 0:
            at = nl + 1
            blank = nl >= 1 and (data[nl - 1] == 0x0A or (
                data[nl - 1] == 0x0D and nl >= 2 and data[nl - 2] == 0x0A))
            eol = data.find(b"\n", at)
            if eol < 0 and start + len(data) < size:
                break  # the From_ line is cut by the window: read again from its line start
            line_end = eol if eol >= 0 else len(data)
            if (blank and start + at >= offset
                    and _TIME_OF_DAY.search(data, at, line_end) is not None):
                return start + at
            nl = data.find(b"\nFrom ", at)
        if len(data) <= 8:
            return None
        # Read on from the cut From_ line, or with an overlap: a separator may straddle windows.
        start += nl if nl > 0 else len(data) - 8
    return None


def iter_mbox_range(path: str, start: int, end: int | None, *, limits: Limits) -> Iterator[Item]:
    """The messages of the byte range [start, end) of an mbox (``end`` None: to the end of
    file), with the same refs (absolute offsets) as reading the whole file. ``start`` must be
    0 or a point given by ``split_points``."""
    try:
        with open_readonly(path) as stream:
            stream.seek(start)
            remaining = None if end is None else end - start

            def chunks() -> Iterator[bytes]:
                nonlocal remaining
                while remaining is None or remaining > 0:
                    size = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                    chunk = stream.read(size)
                    if not chunk:
                        return
                    if remaining is not None:
                        remaining -= len(chunk)
                    yield chunk

            splitter = _Splitter(path, limits.max_message_bytes, base=start)
            yield from _split(chunks(), splitter)
    except OSError as exc:
        yield os_error(path, exc, listed=True)
