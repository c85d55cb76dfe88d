"""Split the header block of a message into fields, keeping where each field's bytes are.

The one header splitter (``split_header_block``): ``parse_message`` reads its fields, and the DKIM and ARC checks build
their canonical header list from the same field spans (``FieldSpan``) over the message bytes,
so a message is split once and DKIM still sees every field exactly as sent.

Hand-written rather than ``email.parser``: DKIM canonicalisation needs every field's raw bytes
(the stdlib re-folds and loses them), and the stdlib feed parser costs tens of microseconds per
header. Field boundaries are found by one regex search per *field*, never a bytes object per
*line*: one header folded over 12 million continuation lines used to cost 12 million objects
(over a gigabyte) before ``max_header_bytes`` applied. Memory is the message plus at most
``max_headers`` fields of at most ``max_header_bytes`` each; time is linear in the message.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mailaudit.model import Finding, Severity
from mailaudit.options import Limits
from mailaudit.parse.message import FieldSpan, Header

_DEFAULT_LIMITS = Limits()
# Fields the verdict reads (sender claims, signatures, recorded results, the receiver's hops,
# what the template match reads): kept whatever max_headers cuts.
VERDICT_HEADERS = frozenset({
    b"from", b"sender", b"reply-to", b"dkim-signature", b"authentication-results",
    b"arc-seal", b"arc-message-signature", b"arc-authentication-results", b"received",
    b"return-path", b"received-spf", b"subject", b"to", b"content-type",
    b"content-transfer-encoding", b"mime-version", b"date", b"message-id",
})

# A field ends at the LF that is not followed by SP or HTAB (RFC 5322 §2.2.3 unfolding), or at
# the end of the block. Single lookahead, no quantifier: linear, and it runs in C.
_FIELD_END = re.compile(rb"\n(?![ \t])")
# The header block ends at the first empty line, CRLF or LF.
_BLANK_LINE = re.compile(rb"\n\r?\n")

# Field names as written -> (name, lower-case name): a mailbox uses a few dozen names, so
# they are decoded once per process. Bounded, so that hostile invented names cannot grow it.
_NAMES: dict[bytes, tuple[str, str]] = {}
_MAX_NAMES = 2048

# DKIM and ARC see every field of the block, not only the first ``max_headers`` (a signature
# hashes fields bottom-up, and trace fields are prepended above the signed ones), but not
# without bound: past this many times ``max_headers`` the view is marked incomplete and no
# signature is verified (each span costs ~100 bytes; 50 MB of "a:b" lines are 12 million).
SPANS_PER_HEADER_LIMIT = 10


class HeaderSplit(NamedTuple):
    headers: tuple[Header, ...]  # top first, at most max_headers
    body_offset: int
    findings: list[Finding]
    spans: tuple[FieldSpan, ...]  # every field of the block, in order (see SPANS_PER_HEADER_LIMIT)
    spans_complete: bool  # False when the block had more fields than ``spans`` holds


def header_block_start(raw: bytes) -> int:
    """Where the first header field starts: after an mbox envelope line (RFC 4155), which is
    not a header, else 0."""
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        return len(raw) if nl < 0 else nl + 1
    return 0


def header_block_end(raw: bytes, start: int) -> tuple[int, int]:
    """(end of the header block, start of the body). The block ends at the first empty line,
    CRLF or LF; a message without one is all headers and has an empty body."""
    if raw.startswith(b"\n", start):
        return start, start + 1
    if raw.startswith(b"\r\n", start):
        return start, start + 2
    # The search stops at the first blank line, so it reads the header block, not the body.
    m = _BLANK_LINE.search(raw, start)
    if m is None:
        return len(raw), len(raw)
    return m.start() + 1, m.end()


def _decode(data: bytes) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def _fields_after(raw: bytes, pos: int, end: int) -> int:
    """How many fields start in raw[pos:end], counted in C (no per-line objects)."""
    if pos >= end:
        return 0
    starts = (raw.count(b"\n", pos, end) - raw.count(b"\n ", pos, end)
              - raw.count(b"\n\t", pos, end))
    if raw[end - 1] == 10:  # the LF that ends the block starts no field
        starts -= 1
    return 1 + starts


def split_headers(raw: bytes, *, limits: Limits = _DEFAULT_LIMITS
                  ) -> tuple[tuple[Header, ...], int, list[Finding]]:
    """Return (headers top first, body offset, findings)."""
    split = split_header_block(raw, limits=limits)
    return split.headers, split.body_offset, split.findings


def split_header_block(raw: bytes, *, limits: Limits = _DEFAULT_LIMITS) -> HeaderSplit:
    """The fields (top first), the body offset, findings and the span of every field."""
    findings: list[Finding] = []
    start = header_block_start(raw)
    if b"\n" not in raw and b"\r" in raw:
        findings.append(Finding("bare-cr", Severity.WARNING,
                                "message uses bare CR line ends; read as one header line"))
    end, body_offset = header_block_end(raw, start)

    headers: list[Header] = []
    spans: list[FieldSpan] = []
    max_headers = limits.max_headers
    max_spans = max_headers * SPANS_PER_HEADER_LIMIT
    max_bytes = limits.max_header_bytes
    no_colon = 0
    no_colon_first = b""
    dropped = 0
    dropped_needed = 0
    spans_complete = True
    search = _FIELD_END.search
    new_tuple = tuple.__new__  # FieldSpan(...) and Header(...) without their Python __new__
    pos = start
    while pos < end:
        if len(spans) >= max_spans:
            spans_complete = False
            # Counted in C, not read: which of them the verdict would have read is unknown,
            # so they count as needed (the verdict must not rest on a block it did not read).
            more = _fields_after(raw, pos, end)
            dropped += more
            dropped_needed += more
            break
        m = search(raw, pos, end)
        field_end = m.start() if m is not None else end
        first_nl = raw.find(b"\n", pos, field_end)
        first_end = field_end if first_nl < 0 else first_nl
        colon = raw.find(b":", pos, first_end)
        spans.append(new_tuple(FieldSpan, (pos, colon, field_end)))
        here, pos = pos, field_end + 1
        name_bytes = raw[here:colon].rstrip(b" \t") if colon > here else b""
        if len(headers) >= max_headers:
            # Padding must not push out what the verdict reads: those fields are kept past
            # the limit, up to as many again (a bound on memory all the same).
            needed = name_bytes.lower() in VERDICT_HEADERS
            if not needed or len(headers) >= 2 * max_headers:
                dropped += 1
                dropped_needed += needed
                continue
        if not name_bytes or b" " in name_bytes or b"\t" in name_bytes:
            # A line without a field name (a leading continuation line, or prose): skipped,
            # with its continuation lines.
            no_colon += 1 + raw.count(b"\n", here, field_end)
            no_colon_first = no_colon_first or raw[here:min(first_end, here + 200)]
            continue
        cut = field_end - here > max_bytes
        raw_field = raw[here:here + max_bytes] if cut else raw[here:field_end]
        if raw_field.endswith(b"\r"):
            raw_field = raw_field[:-1]
        names = _NAMES.get(name_bytes)
        if names is None:
            name = name_bytes.decode("ascii", "replace")
            names = (name, name.lower())
            if len(_NAMES) < _MAX_NAMES:
                _NAMES[name_bytes] = names
        value_bytes = raw_field[colon - here + 1:]
        if first_nl >= 0:
            # Unfolding removes the line breaks only, not the whitespace after them (§2.2.3).
            value_bytes = value_bytes.replace(b"\r\n", b"").replace(b"\n", b"")
        value = _decode(value_bytes).strip(" \t\r")
        if cut:
            findings.append(Finding(
                "limit-header-bytes", Severity.WARNING,
                f"header {names[0][:60]!r} truncated at {max_bytes} bytes (limit max_header_bytes)",
                evidence=names[0][:60]))
        headers.append(new_tuple(Header, (*names, value, raw_field)))

    if no_colon:
        findings.append(Finding(
            "header-malformed", Severity.WARNING,
            f"{no_colon} header line(s) without a field name skipped",
            evidence=_decode(no_colon_first[:200])))
    if dropped_needed:
        findings.append(Finding(
            "limit-headers-needed", Severity.WARNING,
            f"headers truncated at {limits.max_headers} fields (limit max_headers); "
            f"{dropped_needed} of the {dropped} ignored are (or may be) fields the verdict "
            "reads"))
    if dropped:
        findings.append(Finding(
            "limit-headers", Severity.WARNING,
            f"headers truncated at {max_headers} fields (limit max_headers); "
            f"{dropped} more ignored"))
    return HeaderSplit(tuple(headers), body_offset, findings, tuple(spans), spans_complete)
