"""Directories, walked recursively in a deterministic order.

What is read: every file that starts like mail (a header line, an mbox From_ line, or the OLE2
signature of an Outlook .msg), every Maildir folder met on the way (``cur/`` and ``new/``, with
Maildir keys), and files named ``*.msg`` (reported when they are not messages). What is skipped
quietly: dotfiles and dot-directories (``.git``, ``.DS_Store``; a dot-directory that is a
Maildir++ folder such as ``.Sent`` is read), Maildir ``tmp/``, files that do not start like
mail, empty files, and anything that is not a regular file or directory (a named pipe would
block the batch). Entries are visited in sorted name order, depth first, so the same tree gives
the same refs on every run. Symbolic links are followed, but a directory already visited (same
device and inode) is not entered again, which ends symlink loops. The walk keeps its own stack:
no recursion limit for deep trees.
"""

from __future__ import annotations

import os
import stat as _stat
from collections.abc import Callable, Iterator
from typing import TypeVar

from mailaudit.model import RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import maildir
from mailaudit.sources.file import iter_file
from mailaudit.sources.sniff import list_dir, os_error, source_error

Item = RawMessage | SourceError
T = TypeVar("T")
NO_MAIL = ("no mail found in this directory (looked for message files, mbox files, Maildir "
           "folders, Outlook .msg and .pst files; dotfiles are skipped)")


def detect(path: str) -> bool:
    return os.path.isdir(path)


def iter_directory(path: str, *, limits: Limits,
                   read_file: Callable[[str], Iterator[T]] | None = None) -> Iterator[Item | T]:
    """Every message under ``path``; one "no-mail" error when there is none at all.
    ``read_file``: what a file found in the walk gives (default: its messages, read here;
    ``sources.iter_units`` hands a large mbox to other processes as byte ranges instead)."""
    found = False
    for item in _walk(path, limits, read_file):
        found = True
        yield item
    if not found:
        yield source_error(path, "no-mail", NO_MAIL)


class _Entry:
    """A directory entry by path; the listing itself is read with ``list_dir`` (atime kept),
    and each entry is looked at with ``stat``, which never touches access times."""

    __slots__ = ("_stat", "name", "path")

    def __init__(self, parent: str, name: str) -> None:
        self.name = name
        self.path = os.path.join(parent, name)
        self._stat: os.stat_result | None = None

    def stat(self) -> os.stat_result:
        if self._stat is None:
            self._stat = os.stat(self.path)
        return self._stat

    def is_dir(self) -> bool:
        try:
            return _stat.S_ISDIR(self.stat().st_mode)
        except OSError:
            return False

    def is_file(self) -> bool:
        try:
            return _stat.S_ISREG(self.stat().st_mode)
        except FileNotFoundError:
            # Listed a moment ago and gone now (unless it is a dangling link): reading it
            # reports that it vanished.
            return not os.path.islink(self.path)
        except OSError:
            return False

    def is_symlink(self) -> bool:
        return os.path.islink(self.path)


def _listing(path: str) -> tuple[list[_Entry], SourceError | None]:
    try:
        return [_Entry(path, name) for name in list_dir(path)], None
    except OSError as exc:
        return [], os_error(path, exc, listed=True)


def walk_units(root: str) -> Iterator[tuple[str, str] | SourceError]:
    """What a scan of ``root`` reads, in order: ``("maildir", path)`` for a Maildir's own
    messages, ``("file", path)`` for every other file, or an error. The one walk behind local
    runs and the Dask engine's shards, so both see the same messages in the same order."""
    try:
        top = os.stat(root)
    except OSError as exc:
        yield os_error(root, exc)
        return
    visited = {(top.st_dev, top.st_ino)}
    stack: list[Iterator[_Entry]] = []
    yield from _enter(root, stack)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith(".") and not _is_maildir_folder(entry):
            continue
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            try:
                info = entry.stat()
            except OSError as exc:
                yield os_error(entry.path, exc, listed=True)
                continue
            if (info.st_dev, info.st_ino) not in visited:
                visited.add((info.st_dev, info.st_ino))
                yield from _enter(entry.path, stack)
        elif is_file:
            yield ("file", entry.path)
        elif entry.is_symlink() and not os.path.exists(entry.path):
            yield source_error(entry.path, "not-found",
                               "symbolic link to a file that does not exist; fix or remove it")


def _walk(root: str, limits: Limits,
          read_file: Callable[[str], Iterator[T]] | None) -> Iterator[Item | T]:
    for unit in walk_units(root):
        if isinstance(unit, SourceError):
            yield unit
        elif unit[0] == "maildir":
            yield from maildir.iter_maildir(unit[1], limits=limits)
        elif read_file is not None:
            yield from read_file(unit[1])
        else:
            yield from iter_file(unit[1], limits=limits, member=True)


def _enter(path: str, stack: list[Iterator[_Entry]]) -> Iterator[tuple[str, str] | SourceError]:
    """Name a directory's own Maildir messages now and queue the rest of its entries."""
    entries, error = _listing(path)
    if error is not None:
        yield error
        return
    names = {entry.name for entry in entries}
    if any(sub in names for sub in maildir.MESSAGE_DIRS) and maildir.detect(path):
        yield ("maildir", path)
        skip = {*maildir.MESSAGE_DIRS, "tmp"}
        entries = [entry for entry in entries if entry.name not in skip]
    stack.append(iter(entries))


def _is_maildir_folder(entry: _Entry) -> bool:
    """Maildir++ keeps sub-folders as dot-directories (``.Sent``, ``.Archive.2024``)."""
    try:
        return entry.is_dir() and maildir.detect(entry.path)
    except OSError:
        return False
