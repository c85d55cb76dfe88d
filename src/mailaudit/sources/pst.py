"""Outlook PST and OST files ([MS-PST]), read with libpff-python (``pypff``, the ``pst`` extra).

A PST keeps MAPI properties, not the message as it arrived. For each message we rebuild
RFC 5322 bytes the same way as for a .msg (``sources.mapi``): the transport headers Exchange
saved (PR_TRANSPORT_MESSAGE_HEADERS), then a MIME body made from the stored plain, HTML or RTF
body and the file attachments. A header ``X-Mailaudit-Source: pst-transport-headers`` marks
the result. Messages created locally (drafts, items imported without headers, most ANSI PSTs)
have no transport headers: their header section is made up from the message properties, the
record carries the finding ``pst-no-transport-headers`` and the verdict says what could not be
checked.

Locators name the folder path from the root and the message's index in its folder,
``pst:Top of Personal Folders/Inbox#17``: stable for the same file, so ``--resume`` works and
an analyst can find the item again. A folder name is attacker text: ``%``, ``/``, ``;``, ``#``,
``~`` and control characters in it are percent-encoded, and a name that repeats among siblings
gets ``~2``, ``~3``... so that every locator names one item. Attachments that are messages are
yielded as messages of their own (``pst:attachment=<n>``, the carrier as parent).

Items that are not messages (appointments, contacts, distribution lists, tasks, notes, journal
entries) are skipped and counted (``skipped_summary``). A file libpff cannot open (cut short,
damaged, not a PST) is one error naming the file; a damaged folder or message is one error
record for that folder or message, and the rest of the file is read.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from mailaudit.model import Finding, MessageRef, RawMessage, Severity, SourceError
from mailaudit.options import Limits
from mailaudit.sources import mapi
from mailaudit.sources.mapi import reason
from mailaudit.sources.msg import python_codec
from mailaudit.sources.sniff import PST_MAGIC, has_magic, open_readonly, os_error, source_error

Item = RawMessage | SourceError

EXTRA_HINT = "pip install 'mailaudit[pst]'"
NO_HEADERS_CODE = "pst-no-transport-headers"
REBUILT_CODE = "pst-body-rebuilt"
NO_HEADERS_CAVEAT = ("transport headers missing (item created locally or saved without them): "
                     "DKIM, SPF, DMARC, ARC and recorded results could not be checked")

# Property ids ([MS-OXPROPS]).
_MESSAGE_CLASS = 0x001A
_DELIVERY_TIME, _SUBMIT_TIME = 0x0E06, 0x0039
_MESSAGE_CODEPAGE, _INTERNET_CPID = 0x3FFD, 0x3FDE
_RECIP_TYPE = 0x0C15
_ATTACH_METHOD = 0x3705
_ATTACH_EMBEDDED_MSG = 5  # PR_ATTACH_METHOD afEmbeddedMessage ([MS-OXCMSG] 2.2.2.9)
_ATTACH_BY_VALUE = frozenset({1, 6})  # afByValue, afOle: the bytes are in the file
_STRING8, _UNICODE = 0x001E, 0x001F

# Message classes that are not mail ([MS-OXOCAL], [MS-OXOCNTC], [MS-OXOTASK], [MS-OXONOTE],
# [MS-OXOJRNL]); IPM.Schedule.Meeting.* requests and replies are mail and are audited.
_NOT_MAIL = {"ipm.appointment": "appointment", "ipm.contact": "contact",
             "ipm.distlist": "distribution list", "ipm.task": "task",
             "ipm.taskrequest": "task request", "ipm.stickynote": "note",
             "ipm.activity": "journal entry", "ipm.configuration": "configuration item",
             "ipm.microsoft": "configuration item"}
_LOCATOR_UNSAFE = re.compile(r"[\x00-\x1f\x7f%/;#~]")
_MAX_FOLDERS = 100_000  # a damaged index can loop; a real mailbox has far fewer folders

# (path, kind) -> items skipped in this process, for the run summary.
_SKIPPED: Counter[tuple[str, str]] = Counter()


def detect(path: str) -> bool:
    """The file starts with the PST/OST header magic (by content, never by name)."""
    return has_magic(path, PST_MAGIC)


def extra_missing_error(path: str) -> SourceError:
    return source_error(path, "pst-extra-missing",
                        f"reading Outlook .pst/.ost files needs the optional extra: {EXTRA_HINT}")


def skipped_counts() -> dict[tuple[str, str], int]:
    """Items skipped so far in this process because they are not messages."""
    return dict(_SKIPPED)


def add_skipped(counts: dict[tuple[str, str], int]) -> None:
    """Merge counts taken in another process (a worker that read a PST)."""
    _SKIPPED.update(counts)


def reset_skipped() -> None:
    _SKIPPED.clear()


def skipped_summary(counts: dict[tuple[str, str], int] | None = None) -> list[str]:
    """One line per file: how many items were skipped because they are not messages."""
    by_path: dict[str, list[tuple[str, int]]] = {}
    for (path, kind), n in sorted((counts if counts is not None else _SKIPPED).items()):
        by_path.setdefault(path, []).append((kind, n))
    lines = []
    for path, kinds in by_path.items():
        total = sum(n for _, n in kinds)
        detail = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in kinds)
        lines.append(f"{path}: skipped {total} item{'s' if total > 1 else ''} that "
                     f"{'are' if total > 1 else 'is'} not mail ({detail})")
    return lines


def iter_pst(path: str, *, limits: Limits) -> Iterator[Item]:
    """Every message in every folder of the PST/OST at ``path``, depth first in folder order."""
    try:
        import pypff
    except ImportError:
        yield extra_missing_error(path)
        return
    try:
        raw = open_readonly(path)
    except OSError as exc:
        yield os_error(path, exc, listed=True)
        return
    with raw, io.BufferedReader(raw, 1 << 16) as stream:  # type: ignore[type-var]
        pff = pypff.file()
        try:
            pff.open_file_object(stream)
        except Exception as exc:  # libpff raises OSError for every kind of damage
            yield source_error(path, "bad-pst", "not a readable PST/OST file (libpff: "
                               f"{_libpff_reason(exc)}); it may be cut short, damaged or "
                               "not a PST; copy it again or repair it with Outlook's scanpst")
            return
        try:
            reader = _Reader(path, limits, _file_codepage(pff))
            found = False
            for item in reader.walk(pff):
                found = True
                yield item
            if not found:
                skipped = reader.skipped
                yield source_error(path, "no-mail", "no messages in this PST/OST file ("
                                   f"{reader.folders} folder{'s' if reader.folders != 1 else ''}"
                                   " read" + (f", {skipped} item{'s' if skipped > 1 else ''} that "
                                              f"{'are' if skipped > 1 else 'is'} not mail "
                                              "skipped" if skipped else "")
                                   + ")")
        finally:
            pff.close()


def _libpff_reason(exc: Exception) -> str:
    # libpff chains its call stack into one message; the first and last links say enough.
    parts = [p.strip() for p in str(exc).replace("\n", ". ").split(". ") if p.strip()]
    text = parts[-1] if parts else ""
    return reason(Exception(text[:200])) if text else type(exc).__name__


def _file_codepage(pff: Any) -> str:
    try:
        raw = pff.ascii_codepage
        return python_codec(int(raw[2:])) if isinstance(raw, bytes) and raw[:2] == b"cp" else "cp1252"
    except Exception:
        return "cp1252"


def locator_name(name: str) -> str:
    """A folder name as one locator step: unsafe characters percent-encoded."""
    return _LOCATOR_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)


class _Reader:
    def __init__(self, path: str, limits: Limits, codepage: str) -> None:
        self.path = path
        self.limits = limits
        self.codepage = codepage
        self.folders = 0
        self.skipped = 0

    def walk(self, pff: Any) -> Iterator[Item]:
        try:
            root = pff.get_root_folder()
        except Exception as exc:
            yield source_error(self.path, "bad-pst", "the folder tree cannot be read (libpff: "
                               f"{_libpff_reason(exc)}); the file may be cut short or damaged")
            return
        # An explicit stack: no recursion limit for deep folder trees.
        stack: list[tuple[Any, str]] = [(root, "")]
        while stack and self.folders < _MAX_FOLDERS:
            folder, where = stack.pop()
            self.folders += 1
            try:
                messages = folder.number_of_sub_messages
                subfolders = folder.number_of_sub_folders
            except Exception as exc:
                yield self._folder_error(where, exc)
                continue
            for index in range(messages):
                yield from self._message(folder, where, index)
            children: list[tuple[Any, str]] = []
            seen: Counter[str] = Counter()
            for index in range(subfolders):
                try:
                    sub = folder.get_sub_folder(index)
                    name = locator_name(sub.name or "")
                except Exception as exc:
                    yield self._folder_error(f"{where}/#folder{index}" if where
                                             else f"#folder{index}", exc)
                    continue
                seen[name] += 1
                step = name if seen[name] == 1 else f"{name}~{seen[name]}"
                children.append((sub, f"{where}/{step}" if where else step))
            stack.extend(reversed(children))  # visit sub-folders in their stored order

    def _folder_error(self, where: str, exc: Exception) -> SourceError:
        ref = MessageRef(self.path, f"pst:{where}")
        return SourceError(ref, "bad-pst", f"{ref.display()}: this folder cannot be read "
                           f"(libpff: {_libpff_reason(exc)}); the rest of the file was read")

    def _message(self, folder: Any, where: str, index: int) -> Iterator[Item]:
        ref = MessageRef(self.path, f"pst:{where}#{index}")
        try:
            item = folder.get_sub_message(index)
            props = _properties(item)
            kind = _not_mail_kind(props)
        except Exception as exc:
            yield _damaged(ref, exc)
            return
        if kind is not None:
            _SKIPPED[(self.path, kind)] += 1
            self.skipped += 1
            return
        yield from self._walk(item, props, ref, None, 0)

    def _walk(self, item: Any, props: dict[int, Any], ref: MessageRef,
              parent: MessageRef | None, depth: int) -> Iterator[Item]:
        try:
            message = build_message(item, props, self.limits, self.codepage)
            yield RawMessage(ref, message.data, truncated=message.truncated, parent=parent,
                             findings=message.findings, caveat=message.caveat, rebuilt=True)
        except Exception as exc:  # a damaged page inside an otherwise readable file
            yield _damaged(ref, exc)
            return
        if depth >= self.limits.max_mime_depth:
            return
        for number, embedded in _embedded_messages(item, self.limits):
            child = ref.child(f"pst:attachment={number}")
            if isinstance(embedded, _NoAccess):
                yield SourceError(child, "pst-embedded-unreadable",
                                  f"{child.display()}: this attachment is an Outlook item (an "
                                  "attached message) that libpff-python gives no access to; "
                                  "it was not audited: open the carrier in Outlook and save "
                                  "the attachment as .msg to audit it")
                continue
            if isinstance(embedded, Exception):
                yield _damaged(child, embedded)
                continue
            try:
                inner_props = _properties(embedded)
            except Exception as exc:
                yield _damaged(child, exc)
                continue
            yield from self._walk(embedded, inner_props, child, ref, depth + 1)


class _NoAccess(Exception):
    """An attached Outlook item the bindings do not expose (no sub-item under the attachment)."""


def _damaged(ref: MessageRef, exc: Exception) -> SourceError:
    return SourceError(ref, "bad-pst", f"{ref.display()}: this item of the PST/OST is damaged "
                       f"(libpff: {_libpff_reason(exc)}); the rest of the file was read")


class Built:
    """A rebuilt message and what the rebuild could not keep."""

    __slots__ = ("caveat", "data", "findings", "truncated")

    def __init__(self, data: bytes, truncated: bool, findings: tuple[Finding, ...],
                 caveat: str) -> None:
        self.data = data
        self.truncated = truncated
        self.findings = findings
        self.caveat = caveat


def _properties(item: Any) -> dict[int, Any]:
    """The item's first record set as {property id: entry}."""
    if not item.number_of_record_sets:
        return {}
    return {entry.entry_type: entry for entry in item.get_record_set(0).entries}


def _not_mail_kind(props: dict[int, Any]) -> str | None:
    entry = props.get(_MESSAGE_CLASS)
    if entry is None or entry.data is None:
        return None
    raw: bytes = entry.data
    text = raw.decode("utf-16-le", "replace") if entry.value_type == _UNICODE else raw.decode(
        "latin-1")
    klass = text.rstrip("\x00").strip().lower()
    base = ".".join(klass.split(".")[:2])
    return _NOT_MAIL.get(base)


class _Props:
    """Typed reads of one item's properties."""

    def __init__(self, props: dict[int, Any], codepage: str) -> None:
        self.props = props
        cp = self.integer(_MESSAGE_CODEPAGE)
        self.codepage = python_codec(cp) if cp else codepage

    def raw(self, pid: int) -> bytes | None:
        entry = self.props.get(pid)
        if entry is None:
            return None
        data = entry.data
        return bytes(data) if data is not None else None

    def string(self, pid: int) -> str | None:
        entry = self.props.get(pid)
        if entry is None or entry.data is None:
            return None
        data: bytes = entry.data
        if entry.value_type == _UNICODE:
            return data.decode("utf-16-le", "replace").rstrip("\x00")
        if entry.value_type == _STRING8:
            return data.decode(self.codepage, "replace").rstrip("\x00")
        return None

    def integer(self, pid: int) -> int | None:
        data = self.raw(pid)
        return int.from_bytes(data[:4], "little") if data and len(data) >= 4 else None

    def time(self, pid: int) -> datetime | None:
        data = self.raw(pid)
        return mapi.filetime(data) if data else None


def build_message(item: Any, props: dict[int, Any], limits: Limits,
                  codepage: str = "cp1252") -> Built:
    """RFC 5322 bytes for one PST message (a ``pypff.message``)."""
    p = _Props(props, codepage)
    transport = p.string(mapi.TRANSPORT_HEADERS)
    head = (mapi.transport_head(transport, "pst-transport-headers")
            if transport and transport.strip() else b"")
    findings: tuple[Finding, ...] = (mapi.rebuilt_finding(REBUILT_CODE, "the PST"),)
    caveat = ""
    if not head:
        head = mapi.properties_head(p.string, _recipients(item, p, limits),
                                    subject=_subject(item, p),
                                    when=p.time(_DELIVERY_TIME) or p.time(_SUBMIT_TIME),
                                    source="pst-properties")
        findings = (*findings, Finding(NO_HEADERS_CODE, Severity.WARNING,
                            "the PST holds no transport headers for this item; its header "
                            "section was made up from the message properties, so nothing "
                            "about its delivery can be verified"),)
        caveat = NO_HEADERS_CAVEAT
    budget = max(0, limits.max_message_bytes - len(head))
    body, cut = _mime_body(item, p, budget, limits)
    data = head + body
    if len(data) > limits.max_message_bytes:
        return Built(data[: limits.max_message_bytes], True, findings, caveat)
    return Built(data, cut, findings, caveat)


def _recipients(item: Any, p: _Props, limits: Limits) -> Iterator[mapi.Recipient]:
    try:
        recipients = item.recipients
        count = recipients.number_of_record_sets if recipients is not None else 0
    except Exception:  # a damaged recipient table leaves the header without recipients
        recipients, count = None, 0
    for index in range(min(count, limits.max_headers)):
        assert recipients is not None
        recip = _Props({e.entry_type: e for e in recipients.get_record_set(index).entries},
                       p.codepage)
        yield mapi.Recipient(recip.integer(_RECIP_TYPE), recip.string(mapi.RECIP_NAME),
                             recip.string(mapi.RECIP_SMTP) or recip.string(mapi.RECIP_EMAIL))


def _subject(item: Any, p: _Props) -> str:
    try:
        subject = item.subject  # libpff strips the [MS-OXCMSG] 2.2.1.46 prefix marker
    except Exception:
        subject = None
    if isinstance(subject, str):
        return subject
    raw = p.string(mapi.SUBJECT) or ""
    return raw[2:] if raw.startswith("\x01") else raw


def _mime_body(item: Any, p: _Props, budget: int, limits: Limits) -> tuple[bytes, bool]:
    cut = False
    alternatives: list[bytes] = []
    text = p.string(mapi.BODY)
    if text is not None:
        alternatives.append(mapi.leaf('text/plain; charset="utf-8"', text.encode("utf-8")))
    html_entry = p.props.get(mapi.HTML)
    if html_entry is not None and html_entry.data is not None:
        if html_entry.value_type in (_UNICODE, _STRING8):
            html_text = p.string(mapi.HTML) or ""
            alternatives.append(mapi.leaf('text/html; charset="utf-8"', html_text.encode("utf-8")))
        else:
            charset = python_codec(p.integer(_INTERNET_CPID) or 65001)
            alternatives.append(mapi.leaf(f'text/html; charset="{charset}"', bytes(html_entry.data)))
    if not alternatives:
        try:
            rtf = item.rtf_body  # libpff decompresses PR_RTF_COMPRESSED ([MS-OXRTFCP])
        except Exception:
            rtf = None
        alternatives.append(mapi.leaf("text/rtf", bytes(rtf)) if rtf else mapi.leaf(
            'text/plain; charset="utf-8"', b""))
    body = mapi.alternatives(alternatives)
    if len(body) > budget:
        cut = True
    used = len(body)
    attachments: list[bytes] = []
    for attach, a in _attachments(item, limits, p.codepage):
        method = a.integer(_ATTACH_METHOD)
        if method == _ATTACH_EMBEDDED_MSG:
            continue  # yielded as a message of its own
        if method not in _ATTACH_BY_VALUE and method is not None:
            continue  # attached by reference: the bytes are not in the file
        size = int(attach.size or 0)
        if size > max(0, budget - used):
            cut = cut or size > 0
            continue
        data = bytes(attach.read_buffer(size)) if size else b""
        part = mapi.attachment_part(a.string, data)
        used += len(part)
        attachments.append(part)
    return mapi.mime_message(body, attachments), cut


def _attachments(item: Any, limits: Limits, codepage: str) -> Iterator[tuple[Any, _Props]]:
    count = item.number_of_attachments
    for index in range(min(count, limits.max_mime_parts)):
        attach = item.get_attachment(index)
        yield attach, _Props(_properties(attach), codepage)


def _embedded_messages(item: Any, limits: Limits) -> Iterator[tuple[int, Any]]:
    """(attachment number, message item or the error that stopped reading it)."""
    try:
        count = item.number_of_attachments
    except Exception as exc:
        yield 0, exc
        return
    for index in range(min(count, limits.max_mime_parts)):
        try:
            attach = item.get_attachment(index)
            if _Props(_properties(attach), "cp1252").integer(_ATTACH_METHOD) != _ATTACH_EMBEDDED_MSG:
                continue
            # libpff keeps the attached message as the attachment's one sub-item.
            if not attach.number_of_sub_items:
                raise _NoAccess()
            yield index, attach.get_sub_item(0)
        except Exception as exc:
            yield index, exc
