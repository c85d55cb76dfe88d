"""RFC 2047 encoded-word decoding, tolerant and linear.

Hand-written because ``email.header.decode_header`` drops text between words inconsistently,
raises on unknown charsets and (before 3.12) had quadratic paths on long runs of encoded words.
Decoding is done once: an encoded word that decodes to another encoded word is shown as such,
since that is what the sender wrote.
"""

from __future__ import annotations

import binascii
import codecs

_MAX_CHARSET = 40
_CHARSET_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:*+")


def _decode_q(text: str) -> bytes:
    # RFC 2047 §4.2: "_" is SP; "=XX" a byte. Malformed "=" sequences are kept literally.
    out = bytearray()
    data = text.replace("_", " ").encode("ascii", "replace")
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c == 61 and i + 3 <= n:
            pair = data[i + 1:i + 3]
            try:
                out.append(int(pair, 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(c)
        i += 1
    return bytes(out)


def _decode_b(text: str) -> bytes | None:
    data = text.strip().encode("ascii", "replace")
    data += b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return None


# Python codecs that turn bytes into text but are not character sets a mail can be written in
# (RFC 2978): IDNA and punycode map host names, the escape codecs interpret backslashes,
# "undefined" always raises. Such a "charset" is shown as written, with a finding.
_NOT_CHARSETS = frozenset({"idna", "punycode", "raw-unicode-escape", "raw_unicode_escape",
                           "unicode-escape", "unicode_escape", "undefined", "escape_codec",
                           "mbcs", "oem", "palmos"})
UNKNOWN, KNOWN, NOT_TEXT = range(3)


def _charset_of(word_charset: str) -> tuple[str, int]:
    """(codec name, status). RFC 2231 §5 allows "charset*lang"; unknown charsets fall back to
    UTF-8 so the text is still shown (with replacement characters); a codec that is not a text
    charset (``NOT_TEXT``) is not used at all."""
    cs = word_charset.split("*", 1)[0].strip().lower()
    if not cs or len(cs) > _MAX_CHARSET or not set(cs) <= _CHARSET_OK:
        return "utf-8", UNKNOWN
    try:
        info = codecs.lookup(cs)
    except LookupError:
        return "utf-8", UNKNOWN
    if (not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS
            or cs in _NOT_CHARSETS):
        return "utf-8", NOT_TEXT
    return info.name, KNOWN


def _text(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, "replace")
    except (LookupError, UnicodeError, ValueError):  # a codec without "replace" support
        return data.decode("utf-8", "replace")


def decode_words(value: str) -> tuple[str, list[str]]:
    """Decode every encoded word in ``value``. Returns (text, problems); problems name unknown
    charsets and undecodable words. Never raises."""
    if "=?" not in value:
        return value, []
    problems: list[str] = []
    out: list[str] = []
    pending: bytearray = bytearray()  # bytes of adjacent words in the same charset
    pending_cs = ""
    i = 0
    n = len(value)
    last_was_word = False

    def flush_pending() -> None:
        nonlocal pending, pending_cs
        if pending:
            out.append(_text(bytes(pending), pending_cs))
            pending = bytearray()

    while i < n:
        j = value.find("=?", i)
        if j < 0:
            break
        q1 = value.find("?", j + 2)
        q2 = value.find("?", q1 + 1) if q1 >= 0 else -1
        # The text ends at the next "?" (neither B nor Q text may contain one); searching for
        # "?=" instead would rescan the rest of the value for every "=?" (quadratic).
        q3 = value.find("?", q2 + 1) if q2 >= 0 else -1
        if q3 >= 0 and not value.startswith("=", q3 + 1):
            q3 = -1
        enc = value[q1 + 1:q2] if q2 >= 0 else ""
        charset = value[j + 2:q1] if q1 >= 0 else ""
        if q3 < 0 or enc.lower() not in ("b", "q") or " " in charset:
            # Not an encoded word: keep the "=?" literally and move on.
            flush_pending()
            out.append(value[i:j + 2])
            i = j + 2
            last_was_word = False
            continue
        gap = value[i:j]
        # RFC 2047 §6.2: whitespace between adjacent encoded words is not displayed.
        if not (last_was_word and gap.strip(" \t\r\n") == ""):
            flush_pending()
            out.append(gap)
        text = value[q2 + 1:q3]
        data = _decode_b(text) if enc.lower() == "b" else _decode_q(text)
        codec, status = _charset_of(charset)
        if status == UNKNOWN:
            problems.append(f"unknown charset {charset[:_MAX_CHARSET]!r}")
        if status == NOT_TEXT:
            problems.append(f"charset {charset[:_MAX_CHARSET]!r} is a codec, not a text "
                            "charset; the encoded word is shown as written")
            flush_pending()
            out.append(value[j:q3 + 2])
        elif data is None:
            problems.append("undecodable base64 encoded word")
            flush_pending()
            out.append(value[j:q3 + 2])
        else:
            if pending and codec != pending_cs:
                flush_pending()
            pending_cs = codec
            pending += data
        i = q3 + 2
        last_was_word = True
    flush_pending()
    out.append(value[i:])
    return "".join(out), problems
