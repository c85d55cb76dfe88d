"""RFC 5322 §3.2 lexical pieces shared by the address and Authentication-Results readers.

Both walk attacker-written header values; these helpers keep that linear (a depth counter and
single-character-class searches, never recursion or backtracking) and never raise.
"""

from __future__ import annotations

import re

# Where a comment or quoted string can change state: the text between two of these is copied
# as one slice (a character loop in Python cost more than the rest of reading the header).
_COMMENT_STOP = re.compile(r"[()\\]")
_QUOTED_STOP = re.compile(r'["\\]')


def read_comment(value: str, i: int) -> tuple[str, int, bool]:
    """The comment that opens at ``value[i] == "("``: (its text, the index after it, closed?).

    Comments nest (§3.2.2) and a backslash quotes the next character.
    """
    return _read_until_closed(value, i, _COMMENT_STOP, "(", ")")


def read_quoted(value: str, i: int) -> tuple[str, int, bool]:
    """The quoted string that opens at ``value[i] == '"'``: (its text, the index after it,
    closed?). A backslash quotes the next character."""
    return _read_until_closed(value, i, _QUOTED_STOP, '"', '"')


def _read_until_closed(value: str, i: int, stop: re.Pattern[str], opener: str,
                       closer: str) -> tuple[str, int, bool]:
    """What follows the ``opener`` at ``value[i]`` up to its ``closer`` (nested pairs kept in
    the text when the two differ), with backslash quoting: (text, index after it, closed?)."""
    n = len(value)
    depth, buf = 1, []
    i += 1
    search = stop.search
    while True:
        m = search(value, i)
        if m is None:
            buf.append(value[i:])
            return "".join(buf), n + 1, False
        j = m.start()
        ch = value[j]
        if ch == "\\":
            if j + 1 >= n:  # a backslash that ends the value quotes nothing: kept as text
                buf.append(value[i:])
                return "".join(buf), n + 1, False
            buf.append(value[i:j])
            buf.append(value[j + 1])
            i = j + 2
            continue
        if ch == closer:
            depth -= 1
            if not depth:
                buf.append(value[i:j])
                return "".join(buf), j + 1, True
        else:  # a nested opener (comments only)
            depth += 1
        buf.append(value[i:j + 1])
        i = j + 1
