"""RFC 5322 §3.2 lexical pieces shared by the address and Authentication-Results readers.

Both walk attacker-written header values character by character; these helpers keep that
linear (a depth counter, never recursion or backtracking) and never raise.
"""

from __future__ import annotations


def read_comment(value: str, i: int) -> tuple[str, int, bool]:
    """The comment that opens at ``value[i] == "("``: (its text, the index after it, closed?).

    Comments nest (§3.2.2) and a backslash quotes the next character.
    """
    n = len(value)
    depth, buf = 1, []
    i += 1
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n:
            buf.append(value[i + 1])
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if not depth:
                return "".join(buf), i + 1, True
        buf.append(ch)
        i += 1
    return "".join(buf), n + 1, False


def read_quoted(value: str, i: int) -> tuple[str, int, bool]:
    """The quoted string that opens at ``value[i] == '"'``: (its text, the index after it,
    closed?)."""
    n = len(value)
    buf = []
    i += 1
    while i < n and value[i] != '"':
        if value[i] == "\\" and i + 1 < n:
            i += 1
        buf.append(value[i])
        i += 1
    return "".join(buf), i + 1, i < n
