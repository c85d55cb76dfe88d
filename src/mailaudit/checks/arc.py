"""ARC chain validation (RFC 8617) with dkimpy, and what the first ARC-aware hop recorded.

dkimpy's ``ARC.verify`` passes all 171 cases of the ValiMail validation suite; what it cannot
say is *why* a key was missing, so the same ``KeyFetcher`` as DKIM watches the lookups: a chain
that fails while a key was not captured (or DNS failed) is "temperror", never "fail".
"""

from __future__ import annotations

import logging

from mailaudit.checks.dkim import KeyFetcher
from mailaudit.checks.dkimtags import parse_tags
from mailaudit.dns.base import Resolver
from mailaudit.model import ArcReport, CheckResult, PropValue
from mailaudit.parse.message import ParsedMessage

log = logging.getLogger(__name__)

ARC_HEADERS = ("arc-seal", "arc-message-signature", "arc-authentication-results")


def check_arc(msg: ParsedMessage, resolver: Resolver) -> ArcReport:
    arc = [h for h in msg.headers if h.lname in ARC_HEADERS]
    if not arc:
        return ArcReport("none", "message is not ARC signed", 0)
    instances = _instance_count(msg)
    oldest_id, oldest = oldest_aar(msg)
    fetcher = KeyFetcher(resolver)
    cv, reason = _validate(msg.raw, fetcher)
    if cv == "fail" and fetcher.unavailable():
        cv, reason = "temperror", f"{fetcher.unavailable()[0]}; chain could not be validated"
    return ArcReport(cv, reason, instances, oldest, oldest_id)


def _validate(raw: bytes, fetcher: KeyFetcher) -> tuple[str, str]:
    import dkim

    try:
        cv, _results, reason = dkim.ARC(raw, minkey=1024).verify(dnsfunc=fetcher)
    except Exception as exc:  # dkimpy raises assorted errors on hostile chains
        return "fail", f"ARC headers could not be processed ({str(exc)[:160] or type(exc).__name__})"
    if cv is None:
        # dkimpy ends the chain without a status when a seal says cv=fail; RFC 8617 section
        # 5.2 step 2 makes that a failed chain.
        return "fail", f"chain terminated: {reason}"
    text = cv.decode("ascii", "replace").lower() if isinstance(cv, bytes) else str(cv).lower()
    return text, "" if text == "pass" else str(reason)


def _instance_count(msg: ParsedMessage) -> int:
    seen: set[int] = set()
    for h in msg.headers:
        if h.lname == "arc-seal":
            i = parse_tags(h.value.encode("utf-8", "replace")).tags.get(b"i", b"")
            if i.isdigit() and len(i) < 6:
                seen.add(int(i))
    return len(seen)


def oldest_aar(msg: ParsedMessage) -> tuple[str, tuple[CheckResult, ...]]:
    """(authserv-id, results) of the ARC-Authentication-Results with the lowest i=."""
    best: tuple[int, str] | None = None
    for h in msg.headers:
        if h.lname != "arc-authentication-results":
            continue
        instance, rest = _split_instance(h.value)
        if instance is not None and (best is None or instance < best[0]):
            best = (instance, rest)
    if best is None:
        return "", ()
    return parse_results(best[1])


def _split_instance(value: str) -> tuple[int | None, str]:
    head, sep, rest = value.partition(";")
    key, eq, num = head.partition("=")
    num = num.strip()
    if not sep or not eq or key.strip().lower() != "i" or not num.isdigit() or len(num) > 5:
        return None, value
    return int(num), rest


def parse_results(text: str) -> tuple[str, tuple[CheckResult, ...]]:
    """A tolerant reading of ``authserv-id; method=result (comment) ptype.prop=value; ...``
    (RFC 8601 section 2.2). Comments are dropped; the first one of a result becomes its reason
    when there is no ``reason=``. Never raises; what it cannot read it leaves out."""
    parts = _split_outside_comments(text)
    if not parts:
        return "", ()
    authserv_id = _strip_comments(parts[0])[0].strip().split(" ")[0]
    results: list[CheckResult] = []
    for part in parts[1:]:
        clean, comment = _strip_comments(part)
        words = _words(clean)
        if not words or "=" not in words[0]:
            continue
        method, _, result = words[0].partition("=")
        method = method.split("/")[0].strip().lower()
        props: dict[str, PropValue] = {}
        reason = comment
        for word in words[1:]:
            key, eq, val = word.partition("=")
            if not eq:
                continue
            val = val.strip('"')
            if key.lower() == "reason":
                reason = val
            else:
                props[key.lower()] = val
        if method and method != "none":
            results.append(CheckResult(method, result.strip().lower(), reason, props))
    return authserv_id, tuple(results)


def _words(text: str) -> list[str]:
    """Whitespace-separated words; a quoted string keeps its spaces."""
    words: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            buf.append(ch)
        elif ch.isspace() and not quoted:
            if buf:
                words.append("".join(buf))
                buf = []
        else:
            buf.append(ch)
    if buf:
        words.append("".join(buf))
    return words


def _split_outside_comments(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if quoted:
            quoted = ch != '"'
        elif ch == '"' and depth == 0:
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _strip_comments(text: str) -> tuple[str, str]:
    """(text without comments, the first comment)."""
    out: list[str] = []
    first = ""
    depth = 0
    buf: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
            if depth == 1:
                buf = []
                continue
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                if not first:
                    first = "".join(buf).strip()
                out.append(" ")
                continue
        if depth:
            buf.append(ch)
        else:
            out.append(ch)
    return "".join(out), first
