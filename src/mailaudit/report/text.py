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

import re
import unicodedata

from mailaudit.charclass import INVISIBLE

# Characters that change how surrounding text is displayed, or are invisible: the one table
# (templates.normalise removes the same ones before matching).
_FORMAT_CHARS = INVISIBLE


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


def needs_escape(ch: str) -> bool:
    """True for a character ``visible`` shows as an escape (control, format, invisible)."""
    return _needs_escape(ch)


def json_escape_invisible(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with every character
    ``visible`` would escape written as a JSON ``\\uXXXX`` escape instead of raw.

    The data is unchanged for a JSON reader. What changes is what reaches a terminal or a
    line-oriented tool: no C1 control, bidi override, variation selector or tag character is
    written raw, and U+2028, U+2029 and U+0085 (which ``str.splitlines()`` and some JavaScript
    parsers take for line ends) never split a JSONL record.
    """
    if text.isascii():
        return text
    # Only the non-ASCII runs are looked at, each character once per process (measured: a
    # loop over every character of a 1.8 KB record cost 64 us, four times its encoding).
    return _NON_ASCII_RUN.sub(_json_run, text)


_NON_ASCII_RUN = re.compile("[^\x00-\x7f]+")
_JSON_CHARS: dict[str, str] = {}  # a non-ASCII character -> how it is written
_MAX_JSON_CHARS = 8192


def _json_run(m: re.Match[str]) -> str:
    return "".join([_JSON_CHARS.get(ch) or _json_char(ch) for ch in m.group()])


def _json_char(ch: str) -> str:
    out = ch
    if _needs_escape(ch):
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            out = f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
        else:
            out = f"\\u{cp:04x}"
    if len(_JSON_CHARS) < _MAX_JSON_CHARS:
        _JSON_CHARS[ch] = out
    return out


_FORMULA_START = frozenset("=+-@\t\r\n")


def _formula_char(ch: str) -> bool:
    # Spreadsheets fold compatibility forms: a full-width "\uff1d" or a small "\ufe66" starts
    # a formula like "=" does (NFKC maps each to its ASCII form).
    return ch in _FORMULA_START or unicodedata.normalize("NFKC", ch) in _FORMULA_START


def csv_safe(cell: str) -> str:
    """Neutralise spreadsheet formula injection (OWASP "CSV injection").

    A cell whose first character other than white space (any Unicode space: NBSP, U+3000, ...)
    is = + - @ or a compatibility form of one (full-width, small), or that starts with a tab or
    CR that some spreadsheets skip, is prefixed with an apostrophe, which spreadsheets show as
    text. Control characters are made visible too.
    """
    shown = visible(cell)
    first = next((ch for ch in cell if not ch.isspace()), "")
    if (shown[:1] and _formula_char(shown[0])) or (cell[:1] and _formula_char(cell[0])) \
            or (first and _formula_char(first)):
        return "'" + shown
    return shown


def markup_safe(text: str, *, limit: int | None = None) -> str:
    """For rich markup strings: ``visible``, then markup-escaped."""
    from rich.markup import escape

    return escape(visible(text, limit=limit))
