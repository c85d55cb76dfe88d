"""Input sources: command-line paths in, a stream of ``RawMessage`` / ``SourceError`` out.

One module per input form, each with a cheap ``detect(path)`` that looks at content (never at
the name alone) and an ``iter_...`` generator. A command-line path is read by the first of
``FORMS`` whose ``detect`` claims it (standard input, a refused non-regular file, a directory,
a regular file); a regular file's form is then decided from its first bytes:

======================  ============================================================
``stdin``               ``-``: standard input (one message, an mbox, or a .msg)
``directory``           recursive walk; see its docstring for what is read and skipped
``maildir``             ``cur/`` and ``new/`` of a Maildir folder; locator ``maildir:key=``
``msg``                 Outlook .msg (OLE2 signature); locator ``msg:attachment=<n>``
``pst``                 Outlook .pst/.ost (``!BDN``); locator ``pst:<folder path>#<index>``
``mbox``                first line starts ``From ``; locator ``mbox:offset=<byte>``
``eml``                 anything else whose header block has a header line: one message
======================  ============================================================

``iter_units`` gives the same messages for a process pool, except that a large mbox comes as
``MboxRange``s (byte ranges that start at a From_ line) for the workers to read themselves.

The dispatcher reads each file's first bytes once and decides with ``sniff.classify`` (the same
tests the ``detect`` functions make), so no file is opened twice. Everything streams: an mbox
is read in chunks and never held whole, messages over ``limits.max_message_bytes`` are cut and
flagged ``truncated``. Inputs are only ever read. Nothing here raises for bad input: every
problem is a ``SourceError`` whose message names the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import BinaryIO

from mailaudit.model import RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.records import record
from mailaudit.sources import directory, mbox
from mailaudit.sources import stdin as stdin_source
from mailaudit.sources.file import iter_file
from mailaudit.sources.sniff import (
    PST_MAGIC,
    list_dir,
    open_readonly,
    os_error,
    read_head,
    source_error,
)

__all__ = ["FORMS", "MboxRange", "Survey", "count_hint", "iter_messages", "iter_units", "survey"]

Item = RawMessage | SourceError
_COUNT_MBOX_LIMIT = 256 * 1024 * 1024  # counting From_ lines beyond this is no longer "cheap"
_COUNT_ENTRIES_LIMIT = 200_000
_MANY_BYTES = 2 * 1024 * 1024  # named files bigger than this together are worth a pool


class _Special:
    """A path that exists but is neither a regular file nor a directory (a named pipe, a
    device, a socket): refused with a sentence and never opened, because opening a pipe blocks
    until a writer comes, outside any time budget."""

    @staticmethod
    def detect(path: str) -> bool:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return False
        return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))

    @staticmethod
    def read(path: str, *, limits: Limits, stdin: BinaryIO | None) -> Iterator[Item]:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            yield os_error(path, exc, listed=True)
            return
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        yield source_error(path, "not-a-file",
                           f"{kind}, not a file; it was not opened. Save the mail to a file, "
                           "or pipe it to standard input: ... | mailaudit check -")


class _Stdin:
    detect = staticmethod(stdin_source.detect)

    @staticmethod
    def read(path: str, *, limits: Limits, stdin: BinaryIO | None) -> Iterator[Item]:
        return stdin_source.iter_stdin(stdin, limits=limits)


class _Directory:
    detect = staticmethod(directory.detect)

    @staticmethod
    def read(path: str, *, limits: Limits, stdin: BinaryIO | None) -> Iterator[Item]:
        return directory.iter_directory(path, limits=limits)


class _File:
    """A regular file: its form (.msg, mbox, one message) is decided by ``file.iter_file``
    from the first bytes, read once (the same tests ``msg``/``mbox``/``eml.detect`` make)."""

    @staticmethod
    def detect(path: str) -> bool:
        return os.path.isfile(path)

    @staticmethod
    def read(path: str, *, limits: Limits, stdin: BinaryIO | None) -> Iterator[Item]:
        return iter_file(path, limits=limits, listed=True)


# In the order a path is tested; the first whose detect() says yes reads it. A path none of
# them claims does not exist (or cannot be looked at): its error says which.
FORMS = (_Stdin, _Special, _Directory, _File)


def iter_messages(paths: Sequence[str], *, limits: Limits,
                  stdin: BinaryIO | None = None) -> Iterator[Item]:
    """Every message in ``paths``, in order; ``-`` reads ``stdin`` (default: sys.stdin)."""
    for path in paths:
        yield from guarded(path, _iter_path(path, limits=limits, stdin=stdin))


def guarded(path: str, items: Iterator[Item]) -> Iterator[Item]:
    """``items``, then a read-failed record for ``path`` if reading them raised: a reader bug
    must cost the rest of one input, not the batch or the records already read. Every engine
    reads through this."""
    try:
        yield from items
    except Exception as exc:
        yield _read_failed(path, exc)


def _read_failed(path: str, exc: Exception) -> SourceError:
    return source_error(path, "read-failed",
                        f"reading stopped on an unexpected {type(exc).__name__}; the rest of "
                        "this input was not read, please report this")


@record
class MboxRange:
    """Messages still to be read: the bytes [start, end) of the mbox at ``path`` (``end``
    None: to the end of the file), which start at a From_ line. Its ``items`` are the
    messages, refs and bytes that reading the whole file gives for that stretch."""

    path: str
    start: int
    end: int | None

    def items(self, *, limits: Limits) -> Iterator[Item]:
        return guarded(self.path, mbox.iter_mbox_range(self.path, self.start, self.end,
                                                       limits=limits))


def iter_units(paths: Sequence[str], *, limits: Limits, range_bytes: int,
               stdin: BinaryIO | None = None) -> Iterator[Item | MboxRange]:
    """``iter_messages``, except that an mbox file larger than ``range_bytes``, named on the
    command line or found in a directory, comes as ``MboxRange``s of about that size, for
    worker processes to read themselves: this process then reads a few KiB around each split
    point instead of every message (measured: reading, splitting and handing over the
    messages took a fifth of a core beside two workers)."""

    def ranges_or(path: str, read: Callable[[], Iterator[Item]]) -> Iterator[Item | MboxRange]:
        ranges = mbox.byte_ranges(path, range_bytes)
        if ranges is None:
            yield from read()
        else:
            yield from (MboxRange(path, start, end) for start, end in ranges)

    def read_file(path: str) -> Iterator[Item | MboxRange]:
        return ranges_or(path, partial(iter_file, path, limits=limits, member=True))

    for path in paths:
        read = partial(iter_messages, [path], limits=limits, stdin=stdin)
        if stdin_source.detect(path):
            yield from read()
            continue
        try:
            if directory.detect(path):
                yield from directory.iter_directory(path, limits=limits, read_file=read_file)
            elif os.path.isfile(path):
                yield from ranges_or(path, read)
            else:
                yield from read()
        except Exception as exc:  # as in iter_messages
            yield _read_failed(path, exc)


def _iter_path(path: str, *, limits: Limits, stdin: BinaryIO | None) -> Iterator[Item]:
    for form in FORMS:
        if form.detect(path):
            yield from form.read(path, limits=limits, stdin=stdin)
            return
    try:
        os.stat(path)
    except OSError as exc:
        yield os_error(path, exc)
        return
    yield source_error(path, "unreadable", "could not be looked at; check the path")


@record
class Survey:
    """The one early look at the command-line inputs, before any message is read.

    ``single``: exactly one message is expected (one regular file holding one message: an
    .eml, also one that starts with an mbox From_ line, or an Outlook .msg), so the report can
    show it in full. ``large``: enough input to be worth a process pool.
    """

    single: bool
    large: bool
    count: int | None = None  # how many records to expect (``count_hint``), when asked for


def survey(paths: Sequence[str], *, count: bool = False) -> Survey:
    """Look at the inputs once: stat every path, the first bytes of a lone file, and (only
    when ``count``) count what a progress bar needs."""
    expected = count_hint(paths) if count else None
    if len(paths) == 1 and stdin_source.detect(paths[0]):
        return Survey(single=True, large=False, count=expected)
    total = 0
    for path in paths:
        if stdin_source.detect(path):
            return Survey(single=False, large=True, count=expected)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            return Survey(single=False, large=True, count=expected)  # assume many messages
        total += st.st_size if stat.S_ISREG(st.st_mode) else 0
    single = len(paths) == 1 and _one_message(paths[0])
    return Survey(single=single, large=total > _MANY_BYTES, count=expected)


def _one_message(path: str) -> bool:
    try:
        with open_readonly(path) as stream:
            head = read_head(stream, 5)
    except OSError:
        return True  # one error record, shown like a single message
    if head.startswith(b"From "):
        return path.lower().endswith(".eml")  # an .eml is one message; otherwise an mbox
    return not head.startswith(PST_MAGIC)  # a .pst/.ost is a mailbox


def count_hint(paths: Sequence[str]) -> int | None:
    """A cheap estimate of how many records ``iter_messages`` will give (for a progress bar):
    files are counted, and From_ lines in mbox files named directly (up to 256 MB). None when
    it cannot be cheap: stdin, pipes, huge mboxes, or trees of more than 200,000 entries."""
    total = 0
    for path in paths:
        if stdin_source.detect(path):
            return None
        try:
            mode = os.stat(path).st_mode
        except OSError:
            total += 1  # one error record
            continue
        if stat.S_ISDIR(mode):
            files = _count_files(path)
            if files is None:
                return None
            total += files
        elif stat.S_ISREG(mode):
            count = _count_in_file(path)
            if count is None:
                return None
            total += count
        else:
            return None
    return total


def _count_files(root: str) -> int | None:
    """Files a directory walk will read as mail: the first bytes of each are looked at with
    the walk's own rule (``sniff.classify(strict=True)``), so READMEs, keys and snapshots
    beside the messages are not counted and a progress bar can complete. Listed without
    touching directory access times; an explicit stack, no recursion."""
    count = entries = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            names = list_dir(folder)
        except OSError:
            continue
        entries += len(names)
        if entries > _COUNT_ENTRIES_LIMIT:
            return None
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            if os.path.isdir(path):
                if name != "tmp" and not os.path.islink(path):
                    stack.append(path)
            elif _mail_like(path):
                count += 1
    return count


def _mail_like(path: str) -> bool:
    from mailaudit.sources.sniff import Form, classify

    if path.lower().endswith(".msg"):
        return True  # read (or reported) whatever it holds
    try:
        with open_readonly(path) as stream:
            head = stream.read(1024)
    except OSError:
        return True  # one error record
    return classify(head, strict=True) in (Form.EML, Form.MBOX, Form.MSG)


def _count_in_file(path: str) -> int | None:
    try:
        with open_readonly(path) as stream:
            head = read_head(stream, 5)
            if head.startswith(PST_MAGIC):
                return None  # counting a PST's messages means reading its whole index
            if head != b"From ":
                return 1
            if os.fstat(stream.fileno()).st_size > _COUNT_MBOX_LIMIT:
                return None
            count, carry = 1, b""
            while chunk := stream.read(mbox.CHUNK_BYTES):
                data = carry + chunk
                count += data.count(b"\nFrom ")
                carry = data[-5:]  # shorter than the pattern: no match is counted twice
            return count
    except OSError:
        return 1
