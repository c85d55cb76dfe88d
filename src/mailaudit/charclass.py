"""The one table of characters that are invisible or change how text around them reads.

Two rules use it, each in its own place: ``report.text.visible`` shows these characters as
escapes (what the analyst sees), ``templates.normalise`` removes them before matching (what a
scam hides between the letters of "PayPal" or the digits of a phone number). One table, so the
two can never disagree about what is invisible. (U+2028 and U+2029 are not here: they are
white space to the matcher, and ``visible`` escapes them by their category, Zl/Zp.)
"""

from __future__ import annotations

INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0008), (0x000E, 0x001F), (0x007F, 0x009F),  # C0/C1 controls (not whitespace)
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160), (0x17B4, 0x17B5), (0x3164, 0x3164), (0xFFA0, 0xFFA0),  # fillers
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero-width space/non-joiner/joiner, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated formats
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # byte-order mark / zero-width no-break space
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement ("M\U000e0139icrosoft")
)

INVISIBLE: frozenset[int] = frozenset(
    cp for lo, hi in INVISIBLE_RANGES for cp in range(lo, hi + 1))
