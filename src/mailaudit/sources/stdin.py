"""Standard input (``-``), or any stream such as a named pipe given on the command line
(``<(zcat archive.mbox.gz)``): one message, an mbox, or an Outlook .msg, told apart by content.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import BinaryIO

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import eml, mbox
from mailaudit.sources.sniff import Form, classify, is_binary, read_head, source_error

Item = RawMessage | SourceError
STDIN_PATH = "-"


def detect(path: str) -> bool:
    return path == STDIN_PATH


def iter_stdin(stdin: BinaryIO | None = None, *, limits: Limits) -> Iterator[Item]:
    yield from iter_stream(stdin if stdin is not None else sys.stdin.buffer,
                           path=STDIN_PATH, limits=limits)


def iter_stream(stream: BinaryIO, *, path: str, limits: Limits) -> Iterator[Item]:
    try:
        head = read_head(stream)
        form = classify(head, strict=False)
        if form is Form.EMPTY:
            yield source_error(path, "empty", "the input is empty; there is no message to audit")
        elif form is Form.MBOX:
            yield from mbox.split_mbox(mbox.file_chunks(head, stream), path=path, limits=limits)
        elif form is Form.EML:
            yield eml.read_message(MessageRef(path), head, stream, limits=limits)
        elif form is Form.MSG:
            # olefile needs random access: the stream is read whole, within the size limit.
            data = head + read_head(stream, limits.max_message_bytes - len(head) + 1)
            if len(data) > limits.max_message_bytes:
                yield source_error(path, "too-large",
                                   f"Outlook message larger than {limits.max_message_bytes} "
                                   "bytes (limit max_message_bytes); save it to a file first")
            else:
                from mailaudit.sources import msg  # only for Outlook input

                yield from msg.iter_msg(path, limits=limits, data=data)
        elif form is Form.PST:
            # libpff needs random access to the whole file; a stream cannot give it.
            yield source_error(path, "pst-not-seekable",
                               "an Outlook .pst/.ost cannot be read from a stream; give its "
                               "file path instead")
        else:
            yield eml.not_mail_error(path, binary=is_binary(head))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        yield source_error(path, "unreadable", f"could not be read ({reason})")
