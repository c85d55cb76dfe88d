"""Make hostile text safe to show.

Every string that comes from a message (subject, names, addresses, slot values) is written by
an attacker. On a terminal it could carry ANSI/OSC escape sequences (recolour the screen, set
the window title, write a hyperlink), bidi overrides that reverse what the analyst reads
(U+202E, CVE-2021-42574 "Trojan Source"), or zero-width characters that hide text. In rich it
could carry markup (``[bold red]``, ``[link=…]``). In a spreadsheet a cell starting with ``=``
is a formula.

``visible`` turns all invisible and control characters into ``\\uXXXX``-style escapes so the
analyst sees that they are there; callers put the result into ``rich.text.Text`` objects, which
never interpret markup.
"""

from __future__ import annotations

import unicodedata

# Characters that change how surrounding text is displayed, or are invisible.
_FORMAT_CHARS = frozenset([
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0,
    *range(0x200B, 0x2010),  # zero-width space/joiners, LRM, RLM
    *range(0x2028, 0x202F),  # line/paragraph separators, bidi embeddings and overrides
    *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
    *range(0xFE00, 0xFE10),  # variation selectors
    *range(0xFFF9, 0xFFFC),  # interlinear annotation
    *range(0xE0000, 0xE0080),  # tag characters
])


def _escape_char(ch: str) -> str:
    cp = ord(ch)
    if cp == 0x1B:
        return "\\e"
    if cp < 0x20 or cp == 0x7F:
        return {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x00: "\\0"}.get(cp, f"\\x{cp:02x}")
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _needs_escape(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp <= 0x9F:
        return True
    if cp in _FORMAT_CHARS:
        return True
    if cp < 0x300:
        return False
    cat = unicodedata.category(ch)
    # Cc control, Cf format, Co private use, Cs lone surrogate, Cn unassigned, Zl/Zp separators
    return cat in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")


def visible(text: str | None, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """Return ``text`` with every control, format and invisible character shown as an escape.

    ``limit`` cuts long values (a 50 MB subject must not flood the terminal) and says so.
    """
    if not text:
        return ""
    cut = ""
    if limit is not None and len(text) > limit:
        cut = f"… [{len(text) - limit} more characters]"
        text = text[:limit]
    if text.isascii() and text.isprintable():
        return text + cut
    out = []
    for ch in text:
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif _needs_escape(ch):
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return "".join(out) + cut


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_safe(cell: str) -> str:
    """Neutralise spreadsheet formula injection (OWASP "CSV injection").

    A cell starting with = + - @ (or a tab/CR that some spreadsheets skip) is prefixed with an
    apostrophe, which spreadsheets show as text. Control characters are made visible too.
    """
    shown = visible(cell)
    if shown.startswith(_FORMULA_START) or cell.lstrip(" \t\r\n").startswith(_FORMULA_START):
        return "'" + shown
    return shown
