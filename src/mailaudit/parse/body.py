"""MIME bodies: parsed only when something asks (``ParsedMessage.body()``).

The stdlib ``email`` package with the compat32 policy does the MIME work: measured by
``benchmarks/bench_parse.py`` it is several times faster than ``policy.default`` (which builds
rich header objects we never use) and it never raises on broken structure, it records defects.
It is fed only the MIME headers (Content-Type, Content-Transfer-Encoding, MIME-Version) and the
body, because every other header is already read by ``parse.headers`` and the stdlib header
parser is the slow part. The tree is then walked iteratively, with the depth, part and size
limits enforced here.
"""

from __future__ import annotations

import codecs
import functools
from typing import TYPE_CHECKING

from mailaudit.model import Finding, Link, Severity
from mailaudit.options import Limits
from mailaudit.parse.html_text import html_to_text_limited
from mailaudit.parse.links import MAX_LINKS, text_links_limited
from mailaudit.parse.message import Body, Header, Part

if TYPE_CHECKING:
    from email._policybase import Compat32
    from email.feedparser import FeedParser
    from email.message import Message

_MIME_HEADERS = ("content-type", "content-transfer-encoding", "mime-version")
# What the stdlib email package raises on hostile structure it does not record as a defect.
_EMAIL_ERRORS = (LookupError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                 UnicodeError, AssertionError)

_DEFAULT_LIMITS = Limits()


def _mime_source(raw: bytes, headers: tuple[Header, ...], body_offset: int) -> bytes:
    seen: set[str] = set()
    lines: list[bytes] = []
    for h in headers:
        if h.lname in _MIME_HEADERS and h.lname not in seen:
            seen.add(h.lname)
            lines.append(h.raw)
    lines.append(b"")
    return b"\n".join(lines) + b"\n" + raw[body_offset:]


def _codec(charset: str | None) -> tuple[str, bool]:
    if not charset:
        return "utf-8", True
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError):
        return "utf-8", False
    if not getattr(info, "_is_text_encoding", True):
        return "utf-8", False
    return info.name, True


def _enc(text: str) -> bytes:
    # compat32 keeps undecodable bytes as surrogates; this gives the original bytes back.
    return text.encode("utf-8", "surrogateescape")


_STDLIB_DECODE_BYTES = 1 << 20  # parts up to this size are decoded by the stdlib, as before
_CHUNK = 1 << 20
# Bytes that are not base64 alphabet or padding; base64 ignores them (RFC 2045 §6.8).
_NOT_B64 = bytes(sorted(set(range(256)) - set(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")))
_IDENTITY_CTES = frozenset({"", "7bit", "8bit", "binary"})
_STREAMED_CTES = _IDENTITY_CTES | {"base64", "quoted-printable"}
# The stdlib feed parser holds every line of a multipart body as a str (~60 bytes each); past
# this many lines the source is cut (a finding). Real mail has ~14,000 lines per MB of base64.
_MAX_FEED_LINES = 1_000_000

# The stdlib reads MIME parameters (email.message._parseparam, behind get_boundary,
# get_filename, get_content_charset) by re-slicing the rest of the field after every ";" and
# recounting quotes from its start: quadratic in the field's length. One part's 4 MB
# Content-Type of 200,000 parameters held an audit for minutes. Every field the stdlib parser
# reads (the message's MIME fields and each part's) is cut at this length as it is parsed,
# where a field costs the reader at most a few milliseconds; real ones, RFC 2231 file names
# included, are a few hundred bytes.
MAX_MIME_FIELD_CHARS = 8 * 1024


@functools.cache
def _bounded_policy_class() -> type[Compat32]:
    # The class email.policy re-exports, from where it is defined: email.policy itself imports
    # the header registry and content manager, a third of the email package's import cost,
    # for policies the parser here never uses.
    from email._policybase import Compat32

    class BoundedFields(Compat32):
        """compat32, with every header field cut at ``MAX_MIME_FIELD_CHARS`` when parsed; each
        cut is counted in ``cuts`` (a list the parser's copies of the policy share)."""

        cuts: list[str] | None = None

        def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
            name, value = super().header_source_parse(sourcelines)
            if len(value) > MAX_MIME_FIELD_CHARS:
                value = value[:MAX_MIME_FIELD_CHARS]
                if self.cuts is not None:
                    self.cuts.append(name)
            return name, value

    return BoundedFields


def _parse_mime(src: bytes, cuts: list[str]) -> Message:
    policy = _bounded_policy_class()()
    object.__setattr__(policy, "cuts", cuts)  # what Policy.clone does; policies are read-only
    # What email.message_from_bytes does (BytesParser -> Parser.parse), with the parser below.
    text = src.decode("ascii", errors="surrogateescape")
    parser = _feed_parser_class()(policy=policy)
    for i in range(0, len(text), 8192):
        parser.feed(text[i:i + 8192])
    return parser.close()


# The multipart boundary pattern the stdlib FeedParser compiles, around re.escape(separator).
_SEP_OPEN = "(?P<sep>"
_SEP_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"


@functools.cache
def _feed_parser_class() -> type[FeedParser]:
    """The stdlib ``FeedParser``, but for how it tests lines for a multipart boundary.

    ``FeedParser`` compiles a regular expression for every multipart boundary it meets, and
    boundaries are unique per message, so ``re``'s cache never helps: 0.36 ms per multipart
    message, measured, which was a third of what auditing a Microsoft notification costs.
    Here ``_parsegen`` runs as the stdlib wrote it, but sees an ``re`` whose ``compile`` turns
    that one pattern into an equivalent matcher (a prefix test, then one tail pattern compiled
    once). Any other pattern, or a stdlib whose pattern differs, goes to ``re.compile``: this
    can be slower, never different (tests/parse/test_body_boundaries.py holds it to the
    stdlib's parse).
    """
    import email.feedparser as feedparser
    import re
    import types

    tail = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
    unescape = re.compile(r"\\(.)", re.DOTALL)

    class Boundary:
        __slots__ = ("separator",)

        def __init__(self, separator: str) -> None:
            self.separator = separator

        def match(self, line: str) -> re.Match[str] | None:
            if not line.startswith(self.separator):
                return None
            return tail.match(line, len(self.separator))

    class BoundaryRe:
        """The ``re`` module as ``_parsegen`` sees it."""

        def __getattr__(self, name: str) -> object:
            return getattr(re, name)

        @staticmethod
        def compile(pattern: str, flags: int = 0) -> object:
            if (flags == 0 and isinstance(pattern, str) and pattern.startswith(_SEP_OPEN)
                    and pattern.endswith(_SEP_TAIL)):
                escaped = pattern[len(_SEP_OPEN):-len(_SEP_TAIL)]
                separator = unescape.sub(r"\1", escaped)
                if re.escape(separator) == escaped:
                    return Boundary(separator)
            return re.compile(pattern, flags)

    original = getattr(feedparser.FeedParser, "_parsegen", None)
    if not isinstance(original, types.FunctionType):  # a stdlib written otherwise
        return feedparser.FeedParser
    names = dict(vars(feedparser), re=BoundaryRe())
    parsegen = types.FunctionType(original.__code__, names, original.__name__,
                                  original.__defaults__, original.__closure__)

    class FastBoundaries(feedparser.FeedParser):
        _parsegen = parsegen

    return FastBoundaries


def _chunk(payload: bytes | str, i: int, j: int) -> bytes:
    piece = payload[i:j]
    return _enc(piece) if isinstance(piece, str) else piece


def _line_end(payload: bytes | str, i: int) -> int:
    """Index just after the first line end at or after ``i`` (or the end of the payload)."""
    nl = payload.find("\n", i) if isinstance(payload, str) else payload.find(b"\n", i)
    return len(payload) if nl < 0 else nl + 1


def decode_transfer(cte: str, payload: bytes | str, room: int, start: int = 0
                    ) -> tuple[bytes, bool] | None:
    """Undo a large part's transfer encoding, producing at most ``room`` bytes: (data, cut).

    ``payload[start:]`` is the part body as sent (bytes, or the stdlib's surrogate-escaped
    str; for a one-part message, the message itself and the body offset); it is read in chunks, so memory is ``room`` plus one chunk whatever the encoded size: 48 MB of
    quoted-printable soft line breaks decode to nothing and used to cost 1.6 GB. None for a
    transfer encoding decoded by the stdlib (x-uuencode; its output is never larger).
    """
    import binascii

    n = len(payload)
    if cte in _IDENTITY_CTES:
        return _chunk(payload, start, start + room), n - start > room
    if cte == "base64":
        # Non-strict a2b_base64 over a prefix that holds enough alphabet characters for
        # ``room`` bytes: it skips line ends and junk and stops at completed padding, as the
        # stdlib's lenient path does (email._encoded_words.decode_b, validate=False).
        need = (room // 3 + 2) * 4
        kept: list[bytes] = []
        have, end = 0, start
        while end < n and have < need:
            begin, end = end, min(n, end + _CHUNK)
            kept.append(_chunk(payload, begin, end).translate(None, _NOT_B64))
            have += len(kept[-1])
        clean = b"".join(kept)
        del kept
        if end < n:  # a prefix: whole quads only, so it decodes as the same bytes of the whole
            clean = clean[:len(clean) // 4 * 4]
        try:
            data = binascii.a2b_base64(clean)
        except binascii.Error:  # a lone last character: the stdlib keeps the bytes as sent
            data = _chunk(payload, start, min(n, start + room))
        return data[:room], len(data) > room or end < n
    if cte == "quoted-printable":
        # Line by line in chunks that end at a line end: a2b_qp is line-local (a soft break
        # joins a line to the next by dropping "=" and the break), so chunking changes nothing.
        out: list[bytes] = []
        size, i = 0, start
        while i < n and size <= room:
            j = _line_end(payload, min(n, i + _CHUNK))
            piece = binascii.a2b_qp(_chunk(payload, i, j))
            out.append(piece)
            size += len(piece)
            i = j
        data = b"".join(out)
        return data[:room], size > room or i < n
    return None


def _message_bytes(part: Message, max_depth: int) -> tuple[bytes, bool]:
    """Bytes of an attached message rebuilt from the parsed tree, and whether it nests deeper
    than ``max_depth``.

    Not ``email.generator``: it re-folds every header, and its header splitter is quadratic in
    the length of a long header (a 60 KB To: field took 9 s), and it recurses per level. Here
    headers are written as they were read (compat32 keeps their folding) and parts are joined
    with their boundaries, using an explicit stack.
    """
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if inner is None or isinstance(inner, str):
        data = part.get_payload(decode=True)
        return (data if isinstance(data, bytes) else b""), False
    out: list[bytes] = []
    too_deep = False
    stack: list[tuple[Message | bytes, int]] = [(inner, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        too_deep = too_deep or depth > max_depth
        # The stored header list and payload, not items()/get_payload(): those replace the
        # 8-bit bytes compat32 keeps as surrogates, and the bytes must stay as sent.
        for name, value in getattr(item, "_headers", ()):
            out.append(_enc(f"{name}: {value}\r\n"))
        out.append(b"\r\n")
        body = getattr(item, "_payload", None)
        if not isinstance(body, list):
            out.append(_enc(body) if isinstance(body, str) else b"")
            continue
        children = [c for c in body if not isinstance(c, str)]
        if item.get_content_maintype() == "message":
            stack.extend((c, depth + 1) for c in reversed(children))
            continue
        boundary = _enc(item.get_boundary() or "")
        tail: list[tuple[Message | bytes, int]] = []
        if item.preamble:
            tail.append((_enc(item.preamble) + b"\r\n", depth))
        for child in children:
            tail += [(b"--" + boundary + b"\r\n", depth), (child, depth + 1),
                     (b"\r\n", depth)]
        tail.append((b"--" + boundary + b"--\r\n", depth))
        if item.epilogue:
            tail.append((_enc(item.epilogue), depth))
        stack.extend(reversed(tail))
    return b"".join(out), too_deep


class _Walk:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.findings: list[Finding] = []
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.links: list[Link] = []
        self.attachments: list[Part] = []
        self.messages: list[Part] = []
        self.decoded = 0
        self.size_hit = False
        self.root_body: tuple[bytes, int] | None = None  # (message, body offset) of a one-part message

    def note(self, code: str, message: str, severity: Severity = Severity.WARNING) -> None:
        if code.startswith("limit-") and any(f.code == code for f in self.findings):
            return  # one finding per limit is enough
        if len(self.findings) < 50:
            self.findings.append(Finding(code, severity, message))

    def take(self, data: bytes) -> bytes | None:
        if self.decoded + len(data) > self.limits.max_decoded_body_bytes:
            self.cut()
            room = self.limits.max_decoded_body_bytes - self.decoded
            if room <= 0:
                return None
            data = data[:room]
        self.decoded += len(data)
        return data

    def body(self) -> Body:
        return Body(
            text="\n".join(self.texts),
            html_text="\n".join(self.htmls),
            links=tuple(self.links),
            attachments=tuple(self.attachments),
            messages=tuple(self.messages),
            findings=tuple(self.findings),
        )

    def add_links(self, links: list[Link]) -> None:
        room = MAX_LINKS - len(self.links)
        if len(links) > room:
            self.note("limit-links", f"links past the first {MAX_LINKS} of the message not kept")
            links = links[:max(0, room)]
        self.links.extend(links)

    def cut(self) -> None:
        if not self.size_hit:
            self.size_hit = True
            self.note("limit-body-bytes", "body truncated at "
                      f"{self.limits.max_decoded_body_bytes} decoded bytes "
                      "(limit max_decoded_body_bytes)")

    def decode(self, part: Message, body: tuple[bytes, int] | None) -> bytes:
        """The part's decoded payload, decoding no further than the room left under
        max_decoded_body_bytes. ``body``: the part's bytes when the stdlib did not read them."""
        room = max(0, self.limits.max_decoded_body_bytes - self.decoded)
        payload, start = body if body is not None else (part.get_payload(), 0)
        if not isinstance(payload, (bytes, str)):
            return b""
        cte = str(part.get("content-transfer-encoding", "")).strip().lower()
        small = len(payload) - start <= _STDLIB_DECODE_BYTES
        decoded = None if small else decode_transfer(cte, payload, room, start)
        if decoded is None:
            data = part.get_payload(decode=True)
            return self.take(data if isinstance(data, bytes) else b"") or b""
        data, was_cut = decoded
        if was_cut:
            self.cut()
        self.decoded += len(data)
        return data

    def leaf(self, part: Message, path: str, body: tuple[bytes, int] | None = None) -> None:
        ctype = part.get_content_type()
        filename = part.get_filename() or ""
        disposition = (part.get("content-disposition") or "").split(";", 1)[0].strip().lower()
        data = self.decode(part, body)
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            codec, known = _codec(part.get_content_charset())
            if not known:
                self.note("unknown-charset", f"part {path}: unknown charset "
                          f"{str(part.get_content_charset())[:40]!r}; read as UTF-8")
            text = data.decode(codec, "replace")
            if ctype == "text/plain":
                self.texts.append(text)
                links, more = text_links_limited(text)
                if more:
                    self.note("limit-links", f"part {path}: {more} links past the first "
                              f"{MAX_LINKS} not kept")
            else:
                html_text, links, cuts = html_to_text_limited(text)
                for what in cuts:
                    self.note("limit-html", f"part {path}: HTML {what}")
                self.htmls.append(html_text)
            self.add_links(links)
            return
        self.attachments.append(Part(path, ctype, filename, data))

    def walk(self, root: Message) -> None:
        limits = self.limits
        count = 0
        # Explicit stack, so a deep tree cannot exhaust the interpreter stack here.
        stack: list[tuple[Message, str, int]] = [(root, "", 0)]
        while stack:
            part, path, depth = stack.pop()
            count += 1
            if count > limits.max_mime_parts:
                self.note("limit-mime-parts", f"MIME walk truncated at {limits.max_mime_parts} "
                          "parts (limit max_mime_parts)")
                return
            try:
                ctype = part.get_content_type()
                if part.is_multipart() and ctype != "message/rfc822":
                    if depth >= limits.max_mime_depth:
                        self.note("limit-mime-depth", f"MIME tree truncated at depth "
                                  f"{limits.max_mime_depth} (limit max_mime_depth)")
                        continue
                    children = part.get_payload()
                    assert isinstance(children, list)
                    prefix = f"{path}." if path else ""
                    for k in range(len(children) - 1, -1, -1):
                        child = children[k]
                        if not isinstance(child, str):
                            stack.append((child, f"{prefix}{k + 1}", depth + 1))
                elif ctype == "message/rfc822":
                    data, too_deep = _message_bytes(part, limits.max_mime_depth - depth)
                    if too_deep:
                        self.note("mime-too-deep", f"part {path or '1'}: attached message nests "
                                  f"deeper than {limits.max_mime_depth} levels "
                                  "(limit max_mime_depth)")
                    data = self.take(data) or b""
                    self.messages.append(Part(path or "1", ctype, part.get_filename() or "",
                                              data))
                else:
                    self.leaf(part, path or "1", self.root_body if part is root else None)
            except RecursionError:
                self.note("mime-too-deep", f"part {path or '1'}: nested too deeply to read")
            except _EMAIL_ERRORS as exc:
                self.note("mime-part-error", f"part {path or '1'}: unreadable "
                          f"({type(exc).__name__})")


def _line_limit_cut(src: bytes) -> int | None:
    """Offset just after line _MAX_FEED_LINES, or None when there are fewer; counted in C,
    a chunk at a time."""
    if src.count(b"\n") <= _MAX_FEED_LINES:
        return None
    seen = pos = 0
    while True:
        in_chunk = src.count(b"\n", pos, pos + _CHUNK)
        if seen + in_chunk >= _MAX_FEED_LINES:
            break
        seen += in_chunk
        pos += _CHUNK
    while seen < _MAX_FEED_LINES:
        pos = src.find(b"\n", pos) + 1
        seen += 1
    return pos


def _part_limit_cut(src: bytes, max_parts: int) -> int | None:
    """Offset of the delimiter line past 2 * max_parts, or None when there are fewer."""
    allowed = 2 * max_parts
    if src.count(b"\n--") <= allowed:
        return None
    pos = 0
    for _ in range(allowed + 1):
        pos = src.find(b"\n--", pos) + 1
    return pos


def load_body(raw: bytes, headers: tuple[Header, ...], body_offset: int,
              limits: Limits = _DEFAULT_LIMITS) -> Body:
    """Walk the MIME tree of a message. Never raises; problems become findings."""
    walk = _Walk(limits)
    cuts: list[str] = []
    if len(raw) - body_offset > _STDLIB_DECODE_BYTES:
        # A large body: when it is one part, the stdlib parser is given the MIME headers only
        # and the body is decoded from the message bytes with the limits (``_Walk.decode``).
        # The feed parser keeps a str per line: 16 million short lines were over a gigabyte.
        head = _mime_source(raw, headers, len(raw))
        try:
            root = _parse_mime(head, cuts)
        except _EMAIL_ERRORS:
            root = None
        cte = "" if root is None else str(root.get("content-transfer-encoding", "")).strip().lower()
        if (root is not None and root.get_content_maintype() not in ("multipart", "message")
                and cte in _STREAMED_CTES):
            walk.root_body = (raw, body_offset)
            walk.walk(root)
            _note_cuts(walk, cuts)
            return walk.body()
        cuts.clear()
    src = _mime_source(raw, headers, body_offset)
    line_cut = _line_limit_cut(src)
    if line_cut is not None:
        src = src[:line_cut]
        walk.note("limit-mime-lines", f"MIME source cut after {_MAX_FEED_LINES:,} lines (the "
                  "stdlib parser holds each line as an object; limit of mailaudit.parse.body)")
    cut = _part_limit_cut(src, limits.max_mime_parts)
    if cut is not None:
        # The feed parser builds every part before the walk can count them; 80,000 tiny parts
        # took seconds. Cut the source after twice the allowed number of delimiter lines.
        src = src[:cut]
        walk.note("limit-mime-parts", f"MIME source cut after {2 * limits.max_mime_parts} "
                  "boundary lines (limit max_mime_parts)")
    try:
        root = _parse_mime(src, cuts)
    except RecursionError:
        # The stdlib feed parser recurses once per nesting level.
        walk.note("mime-too-deep", "MIME structure nested too deeply to parse; body not read")
        return Body("", "", (), (), (), tuple(walk.findings))
    except _EMAIL_ERRORS as exc:
        walk.note("mime-unreadable", f"MIME structure unreadable ({type(exc).__name__})")
        return Body("", "", (), (), (), tuple(walk.findings))
    defects = len(root.defects)
    walk.walk(root)
    _note_cuts(walk, cuts)
    if defects:
        walk.note("mime-defects", f"{defects} MIME defect(s): "
                  + ", ".join(sorted({type(d).__name__ for d in root.defects}))[:300],
                  Severity.INFO)
    return walk.body()


def _note_cuts(walk: _Walk, cuts: list[str]) -> None:
    if cuts:
        names = ", ".join(sorted({n.lower()[:40] for n in cuts})[:5])
        walk.note("limit-mime-field", f"{len(cuts)} MIME header field(s) ({names}) cut at "
                  f"{MAX_MIME_FIELD_CHARS:,} characters (the stdlib's parameter reader is "
                  "quadratic in a field's length; limit of mailaudit.parse.body)")
