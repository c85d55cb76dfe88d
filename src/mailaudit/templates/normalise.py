"""Normalise hostile text before matching, and build folded keys for finding signals.

``normalise`` gives the text an analyst is shown: Unicode NFKC (full-width digits and letters
become ASCII, compatibility forms fold), invisible and bidi control characters removed, stray
combining marks removed, whitespace collapsed to single spaces.

The keys are for *finding* things, never for display. Every key is the same length as the
normalised text it came from, character for character, so an offset found in a key is an
offset in the normalised text and the analyst sees exactly what was there:

* ``match_key``: lower case (fixed template phrases are searched in this);
* ``conf_key``: also Cyrillic/Greek look-alikes folded to Latin;
* ``word_key``: also ``i l 1 | !`` folded to ``l`` and ``0`` to ``o`` ("CanceI" → "cancel",
  "c0ntact" → "contact"), for brand and urgency phrases, which are folded the same way;
* ``digit_key``: also ``o`` → ``0`` and ``i l |`` → ``1`` inside runs that hold a digit
  ("+1 (8OO) 555-0I99" → "+1 (800) 555-0199"), for phone numbers and amounts.

All of it is str.translate / str.lower / one character-class regex: linear in the input.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from mailaudit.charclass import INVISIBLE_RANGES

# Removed outright: they are invisible or reorder text (CVE-2021-42574, "Trojan Source"), and
# scam senders put them between digits so that "802\u200b538" does not look like a number.
# Combining marks left over after NFKC composed what it could: "PayPa\u0332l" must still read
# as PayPal. Legitimate accented letters are precomposed by NFKC and survive.
_COMBINING_RANGES = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
                     (0xFE20, 0xFE2F))
_INVISIBLE_RANGES = (*INVISIBLE_RANGES, *_COMBINING_RANGES)
# One flat character class: a C-speed scan, faster than str.translate over a big table.
_INVISIBLE = re.compile("[" + "".join(
    f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" if hi > lo else re.escape(chr(lo))
    for lo, hi in _INVISIBLE_RANGES) + "]")
_WHITESPACE = re.compile(r"\s+")
# A lone surrogate is no character: decoders hand them on (UTF-7 "+2AA-" is U+D800, and
# "surrogateescape" makes them of undecodable bytes), and no YAML or UTF-8 writer takes one.
_SURROGATE = re.compile("[\ud800-\udfff]")

# Cyrillic and Greek letters that render like Latin ones (Unicode confusables, the subset seen
# in brand lures). Applied after lower-casing, so only lower-case forms are listed.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ӏ": "l", "һ": "h", "ո": "n", "ս": "u", "ᴠ": "v",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ℓ": "l", "ǀ": "l",
}
CONFUSABLE_CHARS = frozenset(_CONFUSABLES)


class _LowerTable(dict[int, int | str]):
    """A translate table that lower-cases one character into exactly one character.

    ``str.lower`` can change length ("İ" → "i̇"), which would break offset mapping; such
    characters are kept as they are. Entries are computed once per character and cached.
    """

    def __init__(self, extra: dict[str, str]) -> None:
        super().__init__()
        self._extra = extra

    def __missing__(self, cp: int) -> int | str:
        ch = chr(cp)
        low = ch.lower()
        if len(low) != 1:
            low = ch
        low = self._extra.get(low, low)
        self[cp] = low
        return low


_LOWER = _LowerTable({})
_CONF = str.maketrans(_CONFUSABLES)
_HAS_CONFUSABLE = re.compile("[" + "".join(sorted(_CONFUSABLES)) + "]")
_WORD_FOLD = str.maketrans({"i": "l", "1": "l", "|": "l", "!": "l", "0": "o"})
_DIGIT_RUN = re.compile(r"[0-9oil|]{2,}")
_DIGIT_FOLD = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1"})
_ANY_DIGIT = re.compile(r"[0-9]")


# ``re.sub`` keeps every piece of its output in a list until it joins them: on a 20 MB body
# with millions of matches that list was over 300 MB. Texts past _SUB_CHUNK characters are
# substituted a chunk at a time, each cut where no match can span it (``cut`` finds it).
_SUB_CHUNK = 1 << 20
_RUN_END = re.compile(r"\s(?=\S)")  # the cut goes after the last space of a run
_NOT_DIGIT_RUN = re.compile(r"[^0-9oil|]")  # the cut goes before a character runs never hold


def _sub_chunked(pattern: re.Pattern[str], repl: Any, text: str, cut: re.Pattern[str]) -> str:
    if len(text) <= _SUB_CHUNK:
        return pattern.sub(repl, text)
    out: list[str] = []
    pos, n = 0, len(text)
    while pos < n:
        m = cut.search(text, pos + _SUB_CHUNK) if pos + _SUB_CHUNK < n else None
        end = n if m is None else (m.end() if cut is _RUN_END else m.start())
        out.append(pattern.sub(repl, text[pos:end]))
        pos = end
    return "".join(out)


def normalise(text: str) -> str:
    """The display form: NFKC, invisibles removed, whitespace collapsed, stripped."""
    if not text:
        return ""
    if not text.isascii():
        text = without_surrogates(text)
        text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)))
    elif not text.isprintable():
        text = _INVISIBLE.sub("", text)
    return _sub_chunked(_WHITESPACE, " ", text, _RUN_END).strip()


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, the replacement character."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def match_key(norm: str) -> str:
    """Lower case, same length as ``norm``."""
    low = norm.lower()
    # Lower-casing never shortens a character, so equal length means one-to-one.
    return low if len(low) == len(norm) else norm.translate(_LOWER)


def conf_key(norm: str) -> str:
    """Lower case with look-alike letters folded to Latin, same length as ``norm``."""
    low = match_key(norm)
    if norm.isascii() or not _HAS_CONFUSABLE.search(low):
        return low
    return low.translate(_CONF)


def word_key(conf: str) -> str:
    """From a ``conf_key``: I/l/1 and O/0 folded, for brand and phrase search."""
    return conf.translate(_WORD_FOLD)


def _fold_digit_run(m: re.Match[str]) -> str:
    run = m.group()
    if _ANY_DIGIT.search(run):
        return run.translate(_DIGIT_FOLD)
    return run


def digit_key(conf: str) -> str:
    """From a ``conf_key``: letters that stand in for digits inside numbers become digits."""
    if not _ANY_DIGIT.search(conf):
        return conf
    return _sub_chunked(_DIGIT_RUN, _fold_digit_run, conf, _NOT_DIGIT_RUN)


def phrase_word_key(phrase: str) -> str:
    """The ``word_key`` of a catalog phrase (brand name, urgency phrase)."""
    return word_key(conf_key(normalise(phrase)))


def has_confusable(norm: str) -> bool:
    return not norm.isascii() and any(ch in CONFUSABLE_CHARS for ch in norm.lower())
