"""Tolerant readers for Authentication-Results (RFC 8601), ARC-Authentication-Results (RFC 8617
§4.1.1) and Received-SPF (RFC 7208 §9.1).

Hand-written for every header, not ``authres`` with a fallback: authres raises on the shapes
Exchange Online writes (no authserv-id; the authserv-id repeated after each result; IPv6 values
unquoted), drops properties that are not ``ptype.property`` (``action=none``, Microsoft's
``compauth ... reason=``), and ignores comments, where Microsoft puts the sender IP. One parser
for all of them gives every header the same semantics. It is one linear pass over the value: a
tokenizer (one regex match per word, a depth counter for nested comments), then a loop over
tokens. Anything it has to
read leniently is listed in ``problems``; it never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailaudit.model import CheckResult, PropValue
from mailaudit.parse.lex import read_comment, read_quoted
from mailaudit.records import record

_MAX_LEN = 64 * 1024
_MAX_RESULTS = 200

# Token kinds.
WORD, QUOTED, COMMENT, SEMI, EQ = range(5)
Token = tuple[int, str, bool]  # (kind, text, preceded by whitespace)

# Methods in the IANA registry and common private ones: a bare "<method>=" after a result
# without a ";" in between starts a new result (seen from broken milters).
KNOWN_METHODS = frozenset({
    "auth", "dkim", "domainkeys", "sender-id", "senderid", "spf", "iprev", "dkim-adsp", "vbr",
    "dmarc", "rrvs", "smime", "arc", "dkim-atps", "bimi", "compauth", "dnswl", "x-tls",
})
# RFC 2045 tspecials that cannot appear in an unquoted value. "/" and "=" are left out (they are
# in base64 header.b values everybody writes unquoted), "@" too (RFC 8601 local-part@domain).
_NOT_IN_TOKEN = frozenset('()<>,;:\\"[]?')
_NOT_IN_TOKEN_RE = re.compile("[" + re.escape("".join(sorted(_NOT_IN_TOKEN))) + "]")
_SPF_RESULTS = frozenset({"pass", "fail", "softfail", "neutral", "none", "temperror",
                          "permerror", "error", "unknown"})


_SPACE_RUN = re.compile(r"[ \t\r\n]+")
_WORD_RUN = re.compile(r'[^ \t\r\n;=()"]+')


def tokenize(value: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(value)
    space = True
    skip, word = _SPACE_RUN.match, _WORD_RUN.match
    while i < n:
        c = value[i]
        if c in " \t\r\n":
            space = True
            i = skip(value, i).end()  # type: ignore[union-attr]  # value[i] is in the class
            continue
        if c == "(":
            text, i, _ = read_comment(value, i)
            out.append((COMMENT, " ".join(text.split()), space))
            space = True
            continue
        if c == '"':
            text, i, _ = read_quoted(value, i)
            out.append((QUOTED, text, space))
        elif c == ";":
            out.append((SEMI, c, space))
            i += 1
        elif c == "=":
            out.append((EQ, c, space))
            i += 1
        elif c == ")":
            i += 1  # unbalanced: nothing to close
            continue
        else:
            # One search per word, not one test per character (header.b values are long).
            m = word(value, i)
            assert m is not None  # value[i] is not a delimiter
            out.append((WORD, m.group(), space))
            i = m.end()
        space = False
    return out


def _segments(tokens: list[Token]) -> list[list[Token]]:
    segs: list[list[Token]] = [[]]
    for tok in tokens:
        if tok[0] == SEMI:
            segs.append([])
        else:
            segs[-1].append(tok)
    return segs


def _value(seg: list[Token], i: int) -> tuple[str, bool, int]:
    """(value, was quoted, next index) after a key's "="."""
    n = len(seg)
    if i < n:
        kind, text, _ = seg[i]
        if kind == QUOTED:
            if i + 1 < n and seg[i + 1][0] == WORD and not seg[i + 1][2]:
                # Quoted local-part: "first last"@example.com (RFC 8601 §2.3 pvalue).
                return f'"{text}"{seg[i + 1][1]}', True, i + 2
            return text, True, i + 1
        if kind == WORD and (i + 1 == n or seg[i + 1][2] or seg[i + 1][0] not in (WORD, EQ)):
            # Nearly every value: one word, then whitespace, a comment or the segment's end.
            # Answered without the loop that joins the parts of a value split by "=" (measured:
            # reading the corpus-2000 Authentication-Results 62.2 -> 59.1 us a message).
            return text, False, i + 1
    return _joined_value(seg, i)


def _joined_value(seg: list[Token], i: int) -> tuple[str, bool, int]:
    """A value read as the parts up to whitespace, joined: ``a=b@example.com`` after
    ``smtp.mailfrom=`` is three tokens. ``_value``'s one-word answer must equal this."""
    parts: list[str] = []
    while i < len(seg) and seg[i][0] in (WORD, EQ) and (not parts or not seg[i][2]):
        if not parts and seg[i][0] == EQ and seg[i][2]:
            break
        parts.append(seg[i][1])
        i += 1
    return "".join(parts), False, i


@dataclass(slots=True)
class _Building:
    method: str
    result: str
    reason: str = ""
    props: dict[str, PropValue] | None = None
    comments: list[str] | None = None

    def finish(self) -> CheckResult:
        props = self.props or {}
        if self.comments:
            props["comment"] = "; ".join(self.comments)[:1000]
        if not is_keyword(self.result):
            # RFC 8601 §2.2: a result is a Keyword (ldh-str). Anything else is kept as written,
            # in its own field, and counts as nothing a verdict could rest on.
            return CheckResult(self.method, "permerror", "recorded result is not an RFC 8601 "
                               "keyword", props, raw_result=self.result[:200])
        return CheckResult(self.method, self.result, self.reason, props)


_KEYWORD = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def is_keyword(text: str) -> bool:
    """RFC 8601 §2.2 Keyword: ldh-str (RFC 5321), ASCII letters, digits and inner hyphens,
    starting with a letter."""
    if text.isalpha() and text.isascii():
        # The result words written in practice (pass, fail, none, ...), each asked about twice
        # a result: two C tests instead of a regex match (measured: reading the corpus-2000
        # Authentication-Results 59.3 -> 57.1 us a message; 460 -> 140 ns a call).
        return len(text) <= 64
    return len(text) <= 64 and _KEYWORD.fullmatch(text) is not None


def _pairs(seg: list[Token], problems: list[str]) -> list[tuple[str, str, bool] | str]:
    """A segment as key=value pairs (key, value, quoted) and comments (bare str)."""
    out: list[tuple[str, str, bool] | str] = []
    i, n = 0, len(seg)
    while i < n:
        kind, text, _ = seg[i]
        if kind == COMMENT:
            out.append(text)
            i += 1
        elif kind == WORD and i + 1 < n and seg[i + 1][0] == EQ:
            value, quoted, i = _value(seg, i + 2)
            out.append((text, value, quoted))
        elif kind == WORD:
            out.append(("", text, False))
            i += 1
        else:
            problems.append(f"stray {text!r}")
            i += 1
    return out


@record
class ParsedResults:
    authserv_id: str | None  # None: Exchange Online's id-less form
    version: str
    results: tuple[CheckResult, ...]
    problems: tuple[str, ...]


def parse_authentication_results(value: str) -> ParsedResults:
    """Read one Authentication-Results value (without the field name). Never raises."""
    problems: list[str] = []
    if len(value) > _MAX_LEN:
        problems.append(f"value truncated at {_MAX_LEN} characters")
        value = value[:_MAX_LEN]
    segs = _segments(tokenize(value))
    head = segs[0]
    authserv_id: str | None = None
    version = ""
    if any(t[0] == EQ for t in head):
        # Exchange Online starts with the first result: no authserv-id at all.
        start = 0
    else:
        words = [t[1] for t in head if t[0] in (WORD, QUOTED)]
        if not words:
            problems.append("missing authserv-id")
            authserv_id = ""
        else:
            authserv_id = words[0]
            rest = words[1:]
            if rest and rest[0].isascii() and rest[0].isdigit():
                version = rest.pop(0)
            if rest and rest != ["none"]:
                problems.append(f"unexpected text after authserv-id: {' '.join(rest)[:80]!r}")
        start = 1

    results: list[CheckResult] = []
    current: _Building | None = None
    for seg in segs[start:]:
        if current is not None:
            results.append(current.finish())
            current = None
        for item in _pairs(seg, problems):
            if isinstance(item, str):
                if current is not None:
                    current.comments = [*(current.comments or []), item]
                continue
            key, val, quoted = item
            lkey = key.lower()
            if not key:
                low = val.lower()
                if low == "none" and current is None:
                    continue  # RFC 8601 no-result
                if authserv_id is not None and low == authserv_id.lower() and current is None:
                    # Exchange/Hotmail repeat the authserv-id after each result.
                    problems.append("authserv-id repeated inside the header (Exchange form)")
                    continue
                problems.append(f"stray word {val[:80]!r}")
                continue
            if current is None or (lkey in KNOWN_METHODS and "." not in lkey):
                if current is not None:
                    problems.append(f"missing ';' before {key[:40]!r}")
                    results.append(current.finish())
                if len(results) >= _MAX_RESULTS:
                    problems.append(f"results truncated at {_MAX_RESULTS}")
                    break
                method = lkey.split("/", 1)[0].strip()
                current = _Building(method=method, result=val.lower().strip())
                if val.strip() and not is_keyword(val.strip()):
                    problems.append(f"{method[:40]}: result {val.strip()[:40]!r} is not a "
                                    "keyword (RFC 8601 §2.2)")
                if not val:
                    problems.append(f"{method}: empty result")
                continue
            if lkey == "reason" and not current.reason:
                current.reason = val
                continue
            if not quoted and _NOT_IN_TOKEN_RE.search(val) is not None:
                problems.append(f"{key[:40]}: value {val[:60]!r} is not a token; read as written")
            if current.props is None:
                current.props = {}
            current.props.setdefault(lkey, val)
    if current is not None:
        results.append(current.finish())
    return ParsedResults(authserv_id, version, tuple(results), tuple(dict.fromkeys(problems)))


def split_arc_instance(value: str) -> tuple[str, str]:
    """ARC-Authentication-Results: ("N", rest) with the leading ``i=N;`` tag removed."""
    semi = value.find(";")
    if semi < 0:
        return "", value
    head = value[:semi].strip()
    if head[:2].lower() == "i=" or (head[:1].lower() == "i" and "=" in head):
        return head.split("=", 1)[1].strip(), value[semi + 1:]
    return "", value


def parse_received_spf(value: str) -> tuple[CheckResult, list[str]]:
    """Received-SPF (RFC 7208 §9.1): result word, optional comment, key=value list."""
    problems: list[str] = []
    tokens = tokenize(value[:_MAX_LEN])
    result = ""
    props: dict[str, PropValue] = {}
    comments: list[str] = []
    flat: list[Token] = [t for t in tokens if t[0] != SEMI]
    i = 0
    if flat and flat[0][0] == WORD and (len(flat) < 2 or flat[1][0] != EQ):
        result = flat[0][1].lower()
        i = 1
    if result not in _SPF_RESULTS:
        problems.append(f"unknown SPF result {result[:40]!r}")
    for item in _pairs(flat[i:], problems):
        if isinstance(item, str):
            comments.append(item)
        elif item[0]:
            props.setdefault(item[0].lower(), item[1])
        else:
            problems.append(f"stray word {item[1][:80]!r}")
    if "envelope-from" in props:
        props["smtp.mailfrom"] = props["envelope-from"]
    if "helo" in props:
        props["smtp.helo"] = props["helo"]
    if comments:
        props["comment"] = "; ".join(comments)[:1000]
    return CheckResult("spf", result or "none", "", props), problems
