"""One path that is a file: decide its form by content and hand it to that form's reader."""

from __future__ import annotations

from collections.abc import Iterator

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import eml, mbox
from mailaudit.sources.sniff import (
    Form,
    classify,
    is_binary,
    open_readonly,
    os_error,
    read_head,
    source_error,
)

Item = RawMessage | SourceError


def iter_file(path: str, *, limits: Limits, member: bool = False,
              listed: bool = False) -> Iterator[Item]:
    """Messages in the file at ``path``.

    ``member``: the file was found by walking a directory, not named by the user; then files
    that do not start like mail (READMEs, indexes, images, empty markers) are skipped quietly
    instead of being reported. ``listed``: the file was seen a moment ago, so "not found"
    means it vanished.
    """
    form = Form.EMPTY
    head = b""
    named_msg = path.lower().endswith(".msg")
    try:
        with open_readonly(path) as stream:
            head = read_head(stream)
            form = classify(head, strict=member or named_msg)
            if form is Form.MBOX and path.lower().endswith(".eml"):
                # An .eml is one message by definition; its From_ line is an envelope line,
                # and a later "From " line is a body line (e.g. an attached git patch).
                form = Form.EML
                head = eml.without_envelope(head)
            if form is Form.MBOX:
                yield from mbox.split_mbox(mbox.file_chunks(head, stream), path=path,
                                           limits=limits)
                return
            if form is Form.EML:
                yield eml.read_message(MessageRef(path), head, stream, limits=limits)
                return
    except OSError as exc:
        yield os_error(path, exc, listed=listed or member)
        return
    # The Outlook readers are imported only for their files: most runs read none.
    if form is Form.MSG:
        from mailaudit.sources import msg

        yield from msg.iter_msg(path, limits=limits)
    elif form is Form.PST:
        from mailaudit.sources import pst

        yield from pst.iter_pst(path, limits=limits)
    elif named_msg:
        yield source_error(path, "not-msg",
                           "named .msg but neither an Outlook message (no OLE2 signature) "
                           "nor RFC 5322 mail; check that the file was saved completely")
    elif member:
        return
    elif form is Form.EMPTY:
        yield eml.empty_error(path)
    else:
        yield eml.not_mail_error(path, binary=is_binary(head))
