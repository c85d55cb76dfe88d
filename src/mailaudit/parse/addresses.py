"""Address lists (RFC 5322 §3.4): a small single-pass tokenizer instead of the stdlib.

``email._header_value_parser`` had quadratic cases on hostile input and ``getaddresses`` guesses
silently; this reads mailboxes, groups, comments, quoted strings and route-addrs in one pass and
turns anything odd into a best-effort address plus a problem string.
"""

from __future__ import annotations

import re

from mailaudit.model import Address
from mailaudit.parse.lex import read_comment, read_quoted
from mailaudit.parse.rfc2047 import decode_words

_SPECIALS = frozenset(',:;<>()"')

# The shapes nearly every mailbox header has: a bare addr-spec, or "<addr>" after an optional
# quoted display name (no backslash) or plain words, and nothing after it. They give exactly
# what the tokenizer gives (no specials outside the brackets, no comments, no problems), without
# a Python step per character: 6.5 -> 3.8 us a header on the benchmark corpus. Each is one
# anchored match whose branches cannot overlap, so it stays linear on hostile input.
_BARE_ADDR = re.compile(r'[^,:;<>()" \t\r\n]+\Z')
_NAME_ANGLE = re.compile(r'(?:"([^"\\]*)"[ \t\r\n]*|([^,:;<>()"]*))<([^>]*)>\Z')
_WSP_RUN = re.compile(r"[ \t\r\n]+")

# Token kinds.
_ATOM, _QUOTED, _COMMENT, _ANGLE, _SPECIAL = range(5)


def _tokenize(value: str, problems: list[str]) -> list[tuple[int, str]]:
    tokens: list[tuple[int, str]] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c in " \t\r\n":
            i += 1
        elif c == '"':
            text, i, closed = read_quoted(value, i)
            if not closed:
                problems.append("unterminated quoted string")
            tokens.append((_QUOTED, text))
        elif c == "(":
            text, i, closed = read_comment(value, i)
            if not closed:
                problems.append("unterminated comment")
            tokens.append((_COMMENT, text.strip()))
        elif c == "<":
            end = value.find(">", i + 1)
            if end < 0:
                problems.append("unterminated angle address")
                end = n
            tokens.append((_ANGLE, value[i + 1:end].strip()))
            i = end + 1
        elif c in ",:;":
            tokens.append((_SPECIAL, c))
            i += 1
        elif c == ">" or c == ")":
            problems.append(f"stray {c!r}")
            i += 1
        else:
            start = i
            while i < n and value[i] not in _SPECIALS and value[i] not in " \t\r\n":
                i += 1
            tokens.append((_ATOM, value[start:i]))
    return tokens


def _strip_route(addr: str) -> str:
    # Obsolete route-addr "<@a,@b:user@host>" (RFC 5322 §4.4): keep the addr-spec.
    if addr.startswith("@") and ":" in addr:
        return addr.split(":", 1)[1]
    return addr


def _domain_of(addr: str) -> str:
    at = addr.rfind("@")
    if at < 0:
        return ""
    return addr[at + 1:].strip().strip("[]").rstrip(".").lower()


def _make(words: list[tuple[int, str]], angle: str | None, comments: list[str],
          problems: list[str]) -> Address | None:
    if angle is None and not words:
        if comments:
            problems.append("address list entry with only a comment")
        return None
    if angle is not None:
        address = _strip_route(angle)
        phrase = " ".join(w for _, w in words)
        if not phrase and comments:
            phrase = comments[0]
    else:
        # addr-spec without angle brackets: "user@host (Name)", or something broken.
        joined = "".join(f'"{w}"' if k == _QUOTED else w for k, w in words)
        if len(words) > 1 and any(k == _ATOM and "@" in w for k, w in words):
            # "John Smith john@example.com": name and address without brackets.
            last = max(i for i, (k, w) in enumerate(words) if k == _ATOM and "@" in w)
            if any(k == _ATOM and "." not in w and "@" not in w for k, w in words[:last]):
                problems.append("display name without angle brackets")
                address = words[last][1]
                phrase = " ".join(w for _, w in words[:last])
                return _finish(phrase, address)
        address = joined
        phrase = comments[0] if comments else ""
    return _finish(phrase, address)


def _finish(phrase: str, address: str) -> Address:
    name, _ = decode_words(phrase) if "=?" in phrase else (phrase, [])
    return Address(display_name=name.strip(), address=address.strip(),
                   domain=_domain_of(address))


def _simple(value: str) -> Address | None:
    """The one address of a header of a common shape (see ``_NAME_ANGLE``), else None."""
    if _BARE_ADDR.match(value) is not None:
        return _finish("", value)
    m = _NAME_ANGLE.match(value)
    if m is None:
        return None
    quoted, words, angle = m.groups()
    phrase = quoted if quoted is not None else " ".join(filter(None, _WSP_RUN.split(words)))
    return _finish(phrase, _strip_route(angle.strip()))


def parse_address_list(value: str, *, max_len: int = 64 * 1024) -> tuple[tuple[Address, ...],
                                                                         list[str]]:
    """Mailboxes of an address-list header (group members flattened). Returns (addresses,
    problems). Never raises; input past ``max_len`` characters is ignored (a problem)."""
    problems: list[str] = []
    if len(value) > max_len:
        problems.append(f"address list truncated at {max_len} characters")
        value = value[:max_len]
    simple = _simple(value)
    if simple is not None:
        return (simple,), problems
    return _parse_tokens(value, problems), problems


def _parse_tokens(value: str, problems: list[str]) -> tuple[Address, ...]:
    """Every shape of address list, through the tokenizer (``_simple`` answers the common
    ones first and must give what this gives: tests/parse/test_addresses_fast.py)."""
    out: list[Address] = []
    words: list[tuple[int, str]] = []
    comments: list[str] = []
    angle: str | None = None
    in_group = False

    def finish() -> None:
        nonlocal words, comments, angle
        addr = _make(words, angle, comments, problems)
        if addr is not None:
            out.append(addr)
        words, comments, angle = [], [], None

    for kind, text in _tokenize(value, problems):
        if kind == _SPECIAL:
            if text == ",":
                finish()
            elif text == ":":
                if angle is None and not in_group:
                    # Group display name (§3.4): dropped, members follow.
                    words, comments = [], []
                    in_group = True
                else:
                    words.append((_ATOM, ":"))
            else:  # ";" ends a group
                finish()
                if not in_group:
                    problems.append("stray ';'")
                in_group = False
        elif kind == _ANGLE:
            if angle is not None:
                problems.append("two angle addresses in one mailbox")
                finish()
            angle = text
        elif kind == _COMMENT:
            comments.append(text)
        else:
            if angle is not None:
                problems.append("text after angle address")
            words.append((kind, text))
    finish()
    if in_group:
        problems.append("group without closing ';'")
    return tuple(out)


def parse_address(value: str) -> tuple[Address | None, list[str]]:
    """A single mailbox header (Sender, Return-Path): the first address of the list."""
    addrs, problems = parse_address_list(value)
    if len(addrs) > 1:
        problems.append("more than one address where one is expected")
    return (addrs[0] if addrs else None), problems
