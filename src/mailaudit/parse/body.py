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
from typing import TYPE_CHECKING

from mailaudit.model import Finding, Link, Severity
from mailaudit.options import Limits
from mailaudit.parse.html_text import html_to_text
from mailaudit.parse.links import text_links
from mailaudit.parse.message import Body, Header, Part

if TYPE_CHECKING:
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

    def note(self, code: str, message: str, severity: Severity = Severity.WARNING) -> None:
        if code.startswith("limit-") and any(f.code == code for f in self.findings):
            return  # one finding per limit is enough
        if len(self.findings) < 50:
            self.findings.append(Finding(code, severity, message))

    def take(self, data: bytes) -> bytes | None:
        if self.decoded + len(data) > self.limits.max_decoded_body_bytes:
            if not self.size_hit:
                self.size_hit = True
                self.note("limit-body-bytes", "body truncated at "
                          f"{self.limits.max_decoded_body_bytes} decoded bytes "
                          "(limit max_decoded_body_bytes)")
            room = self.limits.max_decoded_body_bytes - self.decoded
            if room <= 0:
                return None
            data = data[:room]
        self.decoded += len(data)
        return data

    def leaf(self, part: Message, path: str) -> None:
        ctype = part.get_content_type()
        filename = part.get_filename() or ""
        disposition = (part.get("content-disposition") or "").split(";", 1)[0].strip().lower()
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        data = self.take(data) or b""
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            codec, known = _codec(part.get_content_charset())
            if not known:
                self.note("unknown-charset", f"part {path}: unknown charset "
                          f"{str(part.get_content_charset())[:40]!r}; read as UTF-8")
            text = data.decode(codec, "replace")
            if ctype == "text/plain":
                self.texts.append(text)
                self.links.extend(text_links(text))
            else:
                html_text, links = html_to_text(text)
                self.htmls.append(html_text)
                self.links.extend(links)
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
                    self.leaf(part, path or "1")
            except RecursionError:
                self.note("mime-too-deep", f"part {path or '1'}: nested too deeply to read")
            except _EMAIL_ERRORS as exc:
                self.note("mime-part-error", f"part {path or '1'}: unreadable "
                          f"({type(exc).__name__})")


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
    import email
    from email import policy

    walk = _Walk(limits)
    src = _mime_source(raw, headers, body_offset)
    cut = _part_limit_cut(src, limits.max_mime_parts)
    if cut is not None:
        # The feed parser builds every part before the walk can count them; 80,000 tiny parts
        # took seconds. Cut the source after twice the allowed number of delimiter lines.
        src = src[:cut]
        walk.note("limit-mime-parts", f"MIME source cut after {2 * limits.max_mime_parts} "
                  "boundary lines (limit max_mime_parts)")
    try:
        root = email.message_from_bytes(src, policy=policy.compat32)
    except RecursionError:
        # The stdlib feed parser recurses once per nesting level.
        walk.note("mime-too-deep", "MIME structure nested too deeply to parse; body not read")
        return Body("", "", (), (), (), tuple(walk.findings))
    except _EMAIL_ERRORS as exc:
        walk.note("mime-unreadable", f"MIME structure unreadable ({type(exc).__name__})")
        return Body("", "", (), (), (), tuple(walk.findings))
    defects = len(root.defects)
    walk.walk(root)
    if defects:
        walk.note("mime-defects", f"{defects} MIME defect(s): "
                  + ", ".join(sorted({type(d).__name__ for d in root.defects}))[:300],
                  Severity.INFO)
    return Body(
        text="\n".join(walk.texts),
        html_text="\n".join(walk.htmls),
        links=tuple(walk.links),
        attachments=tuple(walk.attachments),
        messages=tuple(walk.messages),
        findings=tuple(walk.findings),
    )
