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
from collections.abc import Iterator

from mailaudit.model import RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import maildir
from mailaudit.sources.file import iter_file
from mailaudit.sources.sniff import os_error, source_error

Item = RawMessage | SourceError
NO_MAIL = ("no mail found in this directory (looked for message files, mbox files, Maildir "
           "folders, Outlook .msg and .pst files; dotfiles are skipped)")


def detect(path: str) -> bool:
    return os.path.isdir(path)


def iter_directory(path: str, *, limits: Limits) -> Iterator[Item]:
    """Every message under ``path``; one "no-mail" error when there is none at all."""
    found = False
    for item in _walk(path, limits):
        found = True
        yield item
    if not found:
        yield source_error(path, "no-mail", NO_MAIL)


def _listing(path: str) -> tuple[list[os.DirEntry[str]], SourceError | None]:
    try:
        with os.scandir(path) as scan:
            return sorted(scan, key=lambda entry: entry.name), None
    except OSError as exc:
        return [], os_error(path, exc, listed=True)


def _walk(root: str, limits: Limits) -> Iterator[Item]:
    try:
        top = os.stat(root)
    except OSError as exc:
        yield os_error(root, exc)
        return
    visited = {(top.st_dev, top.st_ino)}
    stack: list[Iterator[os.DirEntry[str]]] = []
    yield from _enter(root, stack, limits)
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
                yield from _enter(entry.path, stack, limits)
        elif is_file:
            yield from iter_file(entry.path, limits=limits, member=True)
        elif entry.is_symlink() and not os.path.exists(entry.path):
            yield source_error(entry.path, "not-found",
                               "symbolic link to a file that does not exist; fix or remove it")


def _enter(path: str, stack: list[Iterator[os.DirEntry[str]]],
           limits: Limits) -> Iterator[Item]:
    """Read a directory's own Maildir messages now and queue the rest of its entries."""
    entries, error = _listing(path)
    if error is not None:
        yield error
        return
    names = {entry.name for entry in entries}
    if any(sub in names for sub in maildir.MESSAGE_DIRS) and maildir.detect(path):
        yield from maildir.iter_maildir(path, limits=limits)
        skip = {*maildir.MESSAGE_DIRS, "tmp"}
        entries = [entry for entry in entries if entry.name not in skip]
    stack.append(iter(entries))


def _is_maildir_folder(entry: os.DirEntry[str]) -> bool:
    """Maildir++ keeps sub-folders as dot-directories (``.Sent``, ``.Archive.2024``)."""
    try:
        return entry.is_dir() and maildir.detect(entry.path)
    except OSError:
        return False
