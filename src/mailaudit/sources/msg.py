"""Outlook .msg files ([MS-OXMSG] over [MS-CFB]), read with olefile (the ``msg`` extra).

Outlook does not keep the message as it arrived. We rebuild RFC 5322 bytes: the transport
headers Outlook saved (PR_TRANSPORT_MESSAGE_HEADERS) when present, else headers made up from
the message properties, then a MIME body made from the stored plain and HTML bodies and file
attachments. Either way the body is not the one that was signed: the item is marked
``rebuilt`` (DKIM then takes a body-hash mismatch as neutral, not as tampering) and carries
the finding ``msg-body-rebuilt``; a header ``X-Mailaudit-Source: msg-transport-headers`` or
``msg-properties`` says which header section it has (the header is for the reader of the
bytes; checks never trust it, as the transport headers are the sender's text). Embedded messages (attachments that are messages) are
yielded as messages of their own, with locator ``msg:attachment=<n>`` and the carrier as parent.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import mapi
from mailaudit.sources.mapi import reason
from mailaudit.sources.sniff import (
    OLE_MAGIC,
    has_magic,
    open_readonly,
    os_error,
    source_error,
)

if TYPE_CHECKING:
    import olefile

Item = RawMessage | SourceError

REBUILT_CODE = "msg-body-rebuilt"
_REBUILT = mapi.rebuilt_finding(REBUILT_CODE, "the .msg file")

_PROPS = "__properties_version1.0"
_EMBEDDED = "__substg1.0_3701000D"
_RECIP = "__recip_version1.0_#"
_ATTACH = "__attach_version1.0_#"
# [MS-OXMSG] 2.4.1: the property stream header is 32 bytes for the top-level message, 24 for an
# embedded message, 8 for recipient and attachment objects; 16-byte entries follow.
_HEADER_TOP, _HEADER_EMBEDDED, _HEADER_OBJECT = 32, 24, 8
_MAX_PROPS_BYTES = 1 << 20

# Property ids ([MS-OXPROPS]).
_ATTACH_DATA = 0x3701
_TAG_RECIP_TYPE = 0x0C150003
_TAG_MESSAGE_CODEPAGE, _TAG_INTERNET_CPID, _TAG_LOCALE_ID = 0x3FFD0003, 0x3FDE0003, 0x3FF10003
_TAG_DELIVERY_TIME, _TAG_SUBMIT_TIME = 0x0E060040, 0x00390040

# MIME names for the Windows code pages Outlook records (PR_INTERNET_CPID).
_CODEPAGE_NAMES = {65001: "utf-8", 20127: "us-ascii", 1200: "utf-16le", 932: "shift_jis",
                   936: "gbk", 949: "euc-kr", 950: "big5", 50220: "iso-2022-jp",
                   50221: "iso-2022-jp", 50222: "iso-2022-jp", 51932: "euc-jp",
                   20866: "koi8-r", 21866: "koi8-u", 54936: "gb18030"}
# 8-bit ("ANSI", PT_STRING8) properties are in the Windows code page of the writer's locale,
# which the file rarely states (PR_MESSAGE_CODEPAGE); the locale id usually is. Keyed by the
# LCID's primary language ([MS-LCID]); Chinese is split by sub-language below.
_LANGUAGE_ANSI = {0x11: 932, 0x12: 949, 0x19: 1251, 0x22: 1251, 0x23: 1251, 0x02: 1251,
                  0x2F: 1251, 0x08: 1253, 0x1F: 1254, 0x0D: 1255, 0x01: 1256, 0x29: 1256,
                  0x20: 1256, 0x25: 1257, 0x26: 1257, 0x27: 1257, 0x2A: 1258, 0x1E: 874,
                  0x05: 1250, 0x15: 1250, 0x0E: 1250, 0x1B: 1250, 0x24: 1250, 0x18: 1250,
                  0x1C: 1250, 0x1A: 1250}
_CHINESE_TRADITIONAL = frozenset({0x0404, 0x0C04, 0x1404})
# Internet code pages whose Windows ANSI counterpart differs (iso-2022-jp mail is written by a
# Shift_JIS Outlook, and so on).
_INTERNET_TO_ANSI = {50220: 932, 50221: 932, 50222: 932, 51932: 932, 20932: 932, 52936: 936,
                     54936: 936, 51949: 949, 20866: 1251, 21866: 1251, 28595: 1251,
                     28592: 1250, 28597: 1253, 28599: 1254, 28598: 1255, 28596: 1256}
_ANSI_CODEPAGES = frozenset({874, 932, 936, 949, 950, *range(1250, 1259)})


def detect(path: str) -> bool:
    """The file starts with the OLE2 compound-file signature."""
    return has_magic(path, OLE_MAGIC)


def extra_missing_error(path: str) -> SourceError:
    return source_error(path, "msg-extra-missing",
                        "reading Outlook .msg files needs the optional extra: "
                        "pip install 'mailaudit[msg]'")


def iter_msg(path: str, *, limits: Limits, data: bytes | None = None) -> Iterator[Item]:
    """The message in the .msg at ``path`` (or in ``data``, e.g. read from stdin), then every
    message embedded in it."""
    try:
        import olefile
    except ImportError:
        yield extra_missing_error(path)
        return
    ref = MessageRef(path)
    stream: BinaryIO | None = None
    try:
        # olefile is handed a file object opened here (read-only, atime untouched) rather than
        # the path, which it would open itself; bytes go in as a file object too (olefile
        # takes bytes shorter than 1536 for a file name).
        stream = io.BytesIO(data) if data is not None else open_readonly(path)
        ole = olefile.OleFileIO(stream)
    except Exception as exc:  # olefile raises many kinds on a damaged file
        if stream is not None:
            stream.close()
        if isinstance(exc, OSError) and exc.errno is not None:  # the OS, not the content
            yield os_error(path, exc, listed=True)
            return
        yield source_error(path, "bad-msg", f"damaged OLE2 compound file ({reason(exc)}); "
                           "save the message from Outlook again")
        return
    try:
        if not ole.exists(_PROPS):
            yield source_error(path, "not-msg",
                               "an OLE2 compound file that is not an Outlook message (no "
                               "message property stream); it may be a Word or Excel file")
            return
        entries = ["/".join(parts) for parts in ole.listdir(streams=True, storages=True)]
        yield from _walk(_Store(ole, "", _HEADER_TOP, entries), ref, None, 0, limits)
    finally:
        ole.close()
        stream.close()


def _walk(store: _Store, ref: MessageRef, parent: MessageRef | None, depth: int,
          limits: Limits) -> Iterator[Item]:
    try:
        data, cut = _build(store, limits)
        yield RawMessage(ref, data, truncated=cut, parent=parent, findings=(_REBUILT,),
                         rebuilt=True)
    except Exception as exc:  # a damaged stream inside an otherwise readable file
        yield SourceError(ref, "bad-msg", f"{ref.display()}: damaged Outlook message "
                          f"({reason(exc)}); save the message from Outlook again")
        return
    if depth >= limits.max_mime_depth:
        return
    for number, prefix in store.children(_ATTACH)[: limits.max_mime_parts]:
        inner = prefix + _EMBEDDED + "/"
        if inner[:-1] in store.entry_set:
            yield from _walk(store.sub(inner, _HEADER_EMBEDDED), ref.child(
                f"msg:attachment={number}"), ref, depth + 1, limits)


class _Store:
    """One message object inside the compound file: its streams, properties and children."""

    def __init__(self, ole: olefile.OleFileIO, prefix: str, header_len: int,
                 entries: list[str], entry_set: frozenset[str] | None = None) -> None:
        self.ole = ole
        self.prefix = prefix
        self.entries = entries
        self.entry_set = entry_set if entry_set is not None else frozenset(entries)
        self.props = self._properties(header_len)
        self.fallback_codepage = 1252
        self._codec: str | None = None

    def sub(self, prefix: str, header_len: int) -> _Store:
        child = _Store(self.ole, prefix, header_len, self.entries, self.entry_set)
        child.fallback_codepage = self._ansi_codepage() or self.fallback_codepage
        return child

    def size(self, name: str) -> int:
        """Size of a stream, -1 when there is no such stream."""
        path = self.prefix + name
        if path not in self.entry_set or self.ole.get_type(path) != 2:  # 2 = STGTY_STREAM
            return -1
        return int(self.ole.get_size(path))

    def stream(self, name: str, cap: int = _MAX_PROPS_BYTES) -> bytes | None:
        size = self.size(name)
        if size < 0 or size > cap:
            return None
        path = self.prefix + name
        raw: Any = self.ole.openstream(path).read()
        return bytes(raw)

    def _properties(self, header_len: int) -> dict[int, bytes]:
        raw = self.stream(_PROPS) or b""
        return {int.from_bytes(raw[off:off + 4], "little"): raw[off + 8:off + 16]
                for off in range(header_len, len(raw) - 15, 16)}

    def integer(self, tag: int) -> int | None:
        value = self.props.get(tag)
        return int.from_bytes(value[:4], "little") if value else None

    def time(self, tag: int) -> datetime | None:
        value = self.props.get(tag)
        if not value:
            return None
        return mapi.filetime(value)

    def codec(self) -> str:
        """The code page of this object's 8-bit strings."""
        if self._codec is None:
            self._codec = python_codec(self._ansi_codepage() or self.fallback_codepage)
        return self._codec

    def _ansi_codepage(self) -> int | None:
        codepage = self.integer(_TAG_MESSAGE_CODEPAGE)
        if codepage:
            return codepage
        locale = self.integer(_TAG_LOCALE_ID)
        if locale:
            if locale & 0x3FF == 0x04:
                return 950 if locale & 0xFFFF in _CHINESE_TRADITIONAL else 936
            return _LANGUAGE_ANSI.get(locale & 0x3FF, 1252)
        internet = self.integer(_TAG_INTERNET_CPID)
        if internet:
            internet = _INTERNET_TO_ANSI.get(internet, internet)
            return internet if internet in _ANSI_CODEPAGES else None
        return None

    def string(self, pid: int, cap: int = _MAX_PROPS_BYTES) -> str | None:
        raw = self.stream(f"__substg1.0_{pid:04X}001F", cap)
        if raw is not None:
            return raw.decode("utf-16-le", "replace").rstrip("\x00")
        raw = self.stream(f"__substg1.0_{pid:04X}001E", cap)
        if raw is not None:
            return raw.decode(self.codec(), "replace").rstrip("\x00")
        return None

    def binary(self, pid: int, cap: int = _MAX_PROPS_BYTES) -> bytes | None:
        return self.stream(f"__substg1.0_{pid:04X}0102", cap)

    def children(self, kind: str) -> list[tuple[int, str]]:
        """(number, prefix) of the direct recipient or attachment storages, in number order."""
        found = []
        depth = self.prefix.count("/")
        for entry in self.entries:
            if entry.startswith(self.prefix + kind) and entry.count("/") == depth:
                try:
                    found.append((int(entry[len(self.prefix) + len(kind):], 16), entry + "/"))
                except ValueError:
                    continue
        return sorted(found)


def python_codec(codepage: int) -> str:
    import codecs

    name = _CODEPAGE_NAMES.get(codepage, f"cp{codepage}")
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


def _build(store: _Store, limits: Limits) -> tuple[bytes, bool]:
    transport = store.string(mapi.TRANSPORT_HEADERS)
    head = (mapi.transport_head(transport, "msg-transport-headers")
            if transport and transport.strip() else b"")
    if not head:
        head = mapi.properties_head(
            store.string, _recipients(store, limits), subject=store.string(mapi.SUBJECT) or "",
            when=store.time(_TAG_DELIVERY_TIME) or store.time(_TAG_SUBMIT_TIME),
            source="msg-properties")
    budget = max(0, limits.max_message_bytes - len(head))
    body, cut = _mime_body(store, budget, limits)
    data = head + body
    if len(data) > limits.max_message_bytes:
        return data[: limits.max_message_bytes], True
    return data, cut


def _recipients(store: _Store, limits: Limits) -> Iterator[mapi.Recipient]:
    for _number, prefix in store.children(_RECIP)[: limits.max_headers]:
        recip = store.sub(prefix, _HEADER_OBJECT)
        yield mapi.Recipient(recip.integer(_TAG_RECIP_TYPE), recip.string(mapi.RECIP_NAME),
                             recip.string(mapi.RECIP_SMTP) or recip.string(mapi.RECIP_EMAIL))


def _mime_body(store: _Store, budget: int, limits: Limits) -> tuple[bytes, bool]:
    cut = False
    alternatives: list[bytes] = []
    text = store.string(mapi.BODY, budget)
    if text is not None:
        alternatives.append(mapi.leaf('text/plain; charset="utf-8"', text.encode("utf-8")))
    html = store.binary(mapi.HTML, budget)
    if html is not None:
        charset = python_codec(store.integer(_TAG_INTERNET_CPID) or 65001)
        alternatives.append(mapi.leaf(f'text/html; charset="{charset}"', html))
    elif (html_text := store.string(mapi.HTML, budget)) is not None:
        alternatives.append(mapi.leaf('text/html; charset="utf-8"', html_text.encode("utf-8")))
    if not alternatives:
        alternatives.append(mapi.leaf('text/plain; charset="utf-8"', b""))
    body = mapi.alternatives(alternatives)
    used = len(body)
    attachments: list[bytes] = []
    for _number, prefix in store.children(_ATTACH)[: limits.max_mime_parts]:
        if prefix + _EMBEDDED in store.entry_set:
            continue  # yielded as a message of its own
        attach = store.sub(prefix, _HEADER_OBJECT)
        data = attach.binary(_ATTACH_DATA, max(0, budget - used))
        if data is None:  # attached by reference, or over the size limit
            cut = cut or attach.size(f"__substg1.0_{_ATTACH_DATA:04X}0102") > 0
            continue
        part = mapi.attachment_part(attach.string, data)
        used += len(part)
        attachments.append(part)
    return mapi.mime_message(body, attachments), cut
