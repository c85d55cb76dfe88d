"""Template patterns: fixed text with typed slots, ``"{tenant:org_name} account email verification code"``.

``{name}`` refers to a slot declared in the template's ``slots:``; ``{name:type}`` also names
its type (required where there is no ``slots:`` section, as in display names). ``{{`` and
``}}`` are literal braces. Parsing is a single pass over catalog text, never message text.
"""

from __future__ import annotations

from mailaudit.records import record
from mailaudit.templates.normalise import match_key, normalise


@record
class Segment:
    """One piece of a pattern: fixed text (``slot`` empty) or a slot (``text`` empty)."""

    text: str = ""  # fixed text, normalised (display form)
    key: str = ""  # fixed text as searched: normalised, lower case
    slot: str = ""  # slot name
    slot_type: str = ""  # inline type, "" when the pattern left it to ``slots:``
    optional: bool = False  # fixed text that a genuine message may leave out

    @property
    def is_slot(self) -> bool:
        return bool(self.slot)


class PatternError(ValueError):
    pass


def _is_name(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] == "_") and all(
        c.isalnum() or c == "_" for c in name) and name.isascii()


def parse_pattern(pattern: str, *, optional: bool = False) -> tuple[Segment, ...]:
    """Split a pattern into fixed and slot segments; raise PatternError on bad syntax."""
    out: list[Segment] = []
    buf: list[str] = []
    i = 0
    n = len(pattern)

    def flush() -> None:
        raw = "".join(buf)
        text = normalise(raw)
        buf.clear()
        if text:
            # Next to a slot, the space is part of the phrase: " on " must not match inside
            # "production".
            key = match_key(text)
            if out and out[-1].is_slot and raw[:1].isspace():
                key = " " + key
            out.append(Segment(text=text, key=key, optional=optional))

    while i < n:
        ch = pattern[i]
        if ch == "{" and pattern.startswith("{{", i):
            buf.append("{")
            i += 2
        elif ch == "}" and pattern.startswith("}}", i):
            buf.append("}")
            i += 2
        elif ch == "{":
            end = pattern.find("}", i)
            if end < 0:
                raise PatternError(f"unclosed '{{' at position {i} in {pattern!r}")
            inner = pattern[i + 1:end].strip()
            name, _, stype = (s.strip() for s in inner.partition(":"))
            if not _is_name(name):
                raise PatternError(f"bad slot name {name!r} in {pattern!r} (letters, digits, _)")
            tail_space = bool(buf) and buf[-1].isspace()
            flush()
            if out and not out[-1].is_slot and tail_space:
                last = out[-1]
                out[-1] = Segment(text=last.text, key=last.key + " ", optional=last.optional)
            if out and out[-1].is_slot:
                raise PatternError(f"slots {out[-1].slot!r} and {name!r} touch in {pattern!r}; "
                                   "put fixed text between them so the matcher can tell "
                                   "where one ends")
            out.append(Segment(slot=name, slot_type=stype))
            i = end + 1
        elif ch == "}":
            raise PatternError(f"unmatched '}}' at position {i} in {pattern!r}")
        else:
            buf.append(ch)
            i += 1
    flush()
    return tuple(out)


def gap_before(segments: tuple[Segment, ...], i: int) -> str:
    """The space the pattern had before segment ``i``, or "": ``Hi {name},`` has none between
    the slot and the comma. Normalised text lost its edge spaces; the search keys kept them."""
    if i == 0:
        return ""
    seg, prev = segments[i], segments[i - 1]
    if seg.is_slot:
        return " " if prev.key.endswith(" ") else ""
    if prev.is_slot:
        return " " if seg.key.startswith(" ") else ""
    return " "


def pattern_text(segments: tuple[Segment, ...]) -> str:
    """The pattern written back, with ``{slot}`` markers (for ``templates show``)."""
    return "".join(gap_before(segments, i) + (f"{{{s.slot}}}" if s.is_slot else s.text)
                   for i, s in enumerate(segments))
