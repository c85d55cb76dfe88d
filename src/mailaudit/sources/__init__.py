"""Input sources: command-line paths in, a stream of ``RawMessage`` / ``SourceError`` out.

One module per input form, each with a cheap ``detect(path)`` that looks at content (never at
the name alone) and an ``iter_...`` generator:

======================  ============================================================
``stdin``               ``-``: standard input (one message, an mbox, or a .msg)
``directory``           recursive walk; see its docstring for what is read and skipped
``maildir``             ``cur/`` and ``new/`` of a Maildir folder; locator ``maildir:key=``
``msg``                 Outlook .msg (OLE2 signature); locator ``msg:attachment=<n>``
``pst``                 Outlook .pst/.ost (``!BDN``); locator ``pst:<folder path>#<index>``
``mbox``                first line starts ``From ``; locator ``mbox:offset=<byte>``
``eml``                 anything else that is not binary: one message per file
======================  ============================================================

The dispatcher reads each file's first bytes once and decides with ``sniff.classify`` (the same
tests the ``detect`` functions make), so no file is opened twice. Everything streams: an mbox
is read in chunks and never held whole, messages over ``limits.max_message_bytes`` are cut and
flagged ``truncated``. Inputs are only ever read. Nothing here raises for bad input: every
problem is a ``SourceError`` whose message names the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from mailaudit.model import RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import directory, eml, maildir, mbox, msg, pst
from mailaudit.sources import stdin as stdin_source
from mailaudit.sources.file import iter_file
from mailaudit.sources.sniff import PST_MAGIC, open_readonly, os_error, read_head, source_error

__all__ = ["FORMS", "count_hint", "iter_messages"]

Item = RawMessage | SourceError
# In the order a path is tested; the first whose detect() says yes reads it.
FORMS = (stdin_source, maildir, directory, msg, pst, mbox, eml)
_COUNT_MBOX_LIMIT = 256 * 1024 * 1024  # counting From_ lines beyond this is no longer "cheap"
_COUNT_ENTRIES_LIMIT = 200_000


def iter_messages(paths: Sequence[str], *, limits: Limits,
                  stdin: BinaryIO | None = None) -> Iterator[Item]:
    """Every message in ``paths``, in order; ``-`` reads ``stdin`` (default: sys.stdin)."""
    for path in paths:
        try:
            yield from _iter_path(path, limits=limits, stdin=stdin)
        except Exception as exc:  # a reader bug must cost one input, not the batch
            yield source_error(path, "read-failed",
                               f"reading stopped on an unexpected {type(exc).__name__}; the "
                               "rest of this input was not read, please report this")


def _iter_path(path: str, *, limits: Limits, stdin: BinaryIO | None) -> Iterator[Item]:
    if stdin_source.detect(path):
        yield from stdin_source.iter_stdin(stdin, limits=limits)
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        yield os_error(path, exc)
        return
    if stat.S_ISDIR(mode):
        yield from directory.iter_directory(path, limits=limits)
    elif stat.S_ISREG(mode):
        yield from iter_file(path, limits=limits, listed=True)
    else:  # a named pipe or device, e.g. bash's <(zcat mail.mbox.gz)
        try:
            with open_readonly(path) as stream:
                yield from stdin_source.iter_stream(stream, path=path, limits=limits)
        except OSError as exc:
            yield os_error(path, exc, listed=True)


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
    beside the messages are not counted and a progress bar can complete."""
    count = entries = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "tmp"]
        entries += len(dirnames) + len(filenames)
        count += sum(1 for name in filenames
                     if not name.startswith(".") and _mail_like(os.path.join(dirpath, name)))
        if entries > _COUNT_ENTRIES_LIMIT:
            return None
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
