"""Maildir folders: messages are the files in ``cur/`` and ``new/``; ``tmp/`` holds deliveries
in progress and is never read (maildir(5)).

The key is the file name up to its info part (``:2,<flags>``), which is what stays the same when
a mail client marks a message read. Files are only read: nothing is moved from ``new/`` to
``cur/`` and no flag changes (the stdlib ``mailbox.Maildir`` would move files on some calls).
Dotfiles in ``cur/`` and ``new/`` are skipped; any other file there is taken as a message, and
one that is empty or binary becomes an error naming it. Files elsewhere in a Maildir folder
(``dovecot-uidlist``, ``maildirfolder``, ...) are not messages; the directory walk reads those
that start like mail as plain files and skips the rest quietly.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import eml
from mailaudit.sources.sniff import (
    Form,
    classify,
    is_binary,
    list_dir,
    open_readonly,
    os_error,
    read_head,
)

Item = RawMessage | SourceError
MESSAGE_DIRS = ("cur", "new")


def detect(path: str) -> bool:
    """A directory with ``cur/`` or ``new/`` inside."""
    return any(os.path.isdir(os.path.join(path, sub)) for sub in MESSAGE_DIRS)


def key_of(name: str) -> str:
    # maildir(5): the unique name ends at the colon that starts the info part.
    return name.split(":", 1)[0]


def iter_maildir(path: str, *, limits: Limits) -> Iterator[Item]:
    """The messages of one Maildir folder (not of folders nested in it)."""
    for sub in MESSAGE_DIRS:
        folder = os.path.join(path, sub)
        try:
            names = list_dir(folder)
        except FileNotFoundError:
            continue
        except OSError as exc:
            yield os_error(folder, exc)
            continue
        for name in names:
            if not name.startswith("."):
                yield from _member(os.path.join(folder, name), key_of(name), limits)


def _member(path: str, key: str, limits: Limits) -> Iterator[Item]:
    locator = f"maildir:key={key}"
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return  # sub-directories, sockets and pipes in cur/ are not messages
        with open_readonly(path) as stream:
            head = read_head(stream)
            form = classify(head, strict=False)
            if form is Form.EMPTY:
                yield eml.empty_error(path, locator)
            elif form in (Form.NOT_MAIL, Form.MSG):
                yield eml.not_mail_error(path, locator, binary=form is Form.MSG or is_binary(head))
            else:
                head = eml.without_envelope(head)
                yield eml.read_message(MessageRef(path, locator), head, stream, limits=limits)
    except OSError as exc:
        error = os_error(path, exc, listed=True)
        yield SourceError(MessageRef(path, locator), error.code, error.message)
