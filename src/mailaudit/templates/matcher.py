"""Match a message from a catalogued sender against that sender's templates.

The template's fixed phrases are located in order with ``str.find`` on the normalised,
lower-cased text: each search starts where the previous phrase ended, so the whole match is a
bounded number of linear scans (no regex is ever built from catalog or message text). What lies
between two phrases is the slot declared there, or text the template does not list. Text the
template does not list is ``off_template`` when the template's wording is ``exact`` (copied
from a real message), and is scanned for signals when it is ``partial`` (only some phrases are
known, so unknown platform wording must not condemn a genuine message, but a phone number in
it still does).

``TemplateMatch.filled`` is the subject, a blank line, then the body lines, as (slot name,
text) pieces, so a report can show which words the customer wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from mailaudit.model import Signal, SlotValue, TemplateMatch
from mailaudit.parse.message import ParsedMessage
from mailaudit.records import record
from mailaudit.templates.catalog import (
    Catalog,
    Sender,
    SlotSpec,
    Template,
)
from mailaudit.templates.normalise import match_key, normalise
from mailaudit.templates.patterns import Segment, gap_before
from mailaudit.templates.render import Rendered, example_values, render
from mailaudit.templates.signals import domain_allowed, find_signals_normalised
from mailaudit.templates.slots import check_slot

__all__ = ["Rendered", "example_values", "match_message", "render"]

SNIPPET = 300  # characters of off-template text kept per gap
# Mail systems on the way tag subjects; such a tag is not the sender's text.
_SUBJECT_TAGS = ("[external]", "[ext]", "external:", "[external email]", "[spam]",
                 "[suspicious]", "[warning]", "*external*", "[caution]")
_PARTIAL_SKIP = frozenset({"money", "brand", "urgency", "link", "email", "confusable"})
_TRIVIAL = frozenset(" .,;:|-–—•·>()[]*_!?/")
_SCAN_SLOT = 64 * 1024  # characters of a misfilled platform slot scanned for signals
# Characters of one passage of unlisted text scanned for signals: a catalogued platform's own
# mail holds no megabytes of text a customer wrote (customer fields are bounded slots), and
# scanning a 20 MB body for phone numbers costs seconds.
_SCAN_TEXT = 256 * 1024
_FIT = 0.5  # share of fixed text below which a template is only "the closest", not a fit


@dataclass(slots=True)
class _Found:
    """What one text (subject, or one body alternative) yields against one pattern."""

    fixed_total: int = 0
    fixed_found: int = 0
    missing: int = 0
    slots: list[tuple[str, str]] | None = None  # (slot name, value) in order
    unlisted: list[str] | None = None  # text the pattern does not list (non-trivial)
    missing_text: list[str] | None = None  # fixed phrases not found, as the template has them

    def __post_init__(self) -> None:
        self.slots = []
        self.unlisted = []
        self.missing_text = []


def _nontrivial(text: str, allowed: Sequence[str]) -> bool:
    """Text that says something: not just punctuation, and not just links to the template's
    own domains (the text alternative prints its links after the phrases)."""
    if len(text) > 4096:
        return True
    for token in text.split():
        if token.lower().startswith(("https://", "http://")):
            host = token[token.index("//") + 2:].split("/")[0].split("?")[0].split("#")[0]
            if allowed and domain_allowed(host.lower(), allowed):
                continue
            return True
        if any(c not in _TRIVIAL for c in token):
            return True
    return False


Line = tuple[tuple[Segment, ...], bool]  # (segments, optional)


class _Walker:
    """One left-to-right pass: each fixed phrase is searched from where the last one ended.

    Align, don't slide: a slot's value is the text between its two fixed neighbours, and only
    when both were found. A slot next to a missing phrase is not read (its text, if any, is
    kept as unlisted text, so signals in it still count): otherwise the slot swallows
    whatever lies up to the next phrase that happens to be found, e.g. a date slot taking the
    URL after a missing optional-looking line, or a code slot taking a whole foreign-language
    body.
    """

    def __init__(self, norm: str, allowed: Sequence[str]) -> None:
        self.norm = norm
        self.key = match_key(norm)
        self.allowed = allowed
        self.pos = 0
        self.pending: str | None = None
        self.anchored = True  # the last fixed phrase (or the start of the text) was found
        self.out = _Found()

    def commit(self, seg: Segment, idx: int) -> None:
        assert self.out.slots is not None and self.out.unlisted is not None
        gap = self.norm[self.pos:idx].strip()
        if self.pending is not None:
            self.out.slots.append((self.pending, gap))
            self.pending = None
        elif gap and _nontrivial(gap, self.allowed):
            self.out.unlisted.append(gap)
        if not seg.optional:
            self.out.fixed_found += len(seg.key)
        self.pos = idx + len(seg.key)
        self.anchored = True

    def slot(self, name: str | None) -> None:
        # Two slots in a row share one gap: only the first is read (the catalog avoids this).
        if self.anchored and self.pending is None:
            self.pending = name

    def lost(self, seg: Segment) -> None:
        assert self.out.missing_text is not None
        self.out.missing += 1
        self.out.missing_text.append(seg.text)
        self.pending = None  # the slot before a missing phrase has no right-hand anchor
        self.anchored = False

    def line(self, segments: Sequence[Segment], optional: bool) -> None:
        if optional:
            # All of an optional line's fixed text, in order, or none of it.
            p = self.pos
            spots: list[tuple[Segment, int]] = []
            for seg in segments:
                if seg.is_slot:
                    spots.append((seg, -1))
                    continue
                idx = self.key.find(seg.key, p)
                if idx < 0:
                    return
                spots.append((seg, idx))
                p = idx + len(seg.key)
            for seg, idx in spots:
                if seg.is_slot:
                    self.slot(seg.slot)
                else:
                    self.commit(seg, idx)
            return
        for seg in segments:
            if seg.is_slot:
                self.slot(seg.slot)
                continue
            self.out.fixed_total += len(seg.key)
            idx = self.key.find(seg.key, self.pos)
            if idx < 0:
                self.lost(seg)
                continue
            self.commit(seg, idx)

    def finish(self) -> _Found:
        assert self.out.slots is not None and self.out.unlisted is not None
        tail = self.norm[self.pos:].strip()
        if self.pending is not None:
            self.out.slots.append((self.pending, tail))
        elif tail and _nontrivial(tail, self.allowed):
            self.out.unlisted.append(tail)
        return self.out


def _walk(norm: str, lines: Sequence[Line], allowed: Sequence[str] = ()) -> _Found:
    walker = _Walker(norm, allowed)
    for segments, optional in lines:
        walker.line(segments, optional)
    return walker.finish()


def _subject_found(template: Template, subject: str) -> _Found:
    found = _walk(subject, [(template.subject, False)])
    assert found.unlisted is not None
    found.unlisted = [u for u in found.unlisted if u.lower() not in _SUBJECT_TAGS]
    return found


def _body_texts(msg: ParsedMessage, subject: str) -> list[str]:
    body = msg.body()
    texts: list[str] = []
    for raw in (body.text, body.html_text):
        norm = normalise(raw)
        # HTML mail repeats the subject in <title>; it is not part of the body's wording.
        if subject and match_key(norm[:len(subject)]) == match_key(subject):
            norm = norm[len(subject):].lstrip()
        if norm and norm not in texts:
            texts.append(norm)
    return texts or [""]


def _score(subject: _Found, bodies: list[_Found]) -> float:
    total = subject.fixed_total + max(b.fixed_total for b in bodies)
    found = subject.fixed_found + min(b.fixed_found for b in bodies)
    return found / total if total else 1.0


@record
class _Context:
    sender: Sender
    brand: str
    links: tuple[str, ...]


def _links_for(sender: Sender, template: Template) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*sender.link_domains, *template.link_domains)))


def _check(spec: SlotSpec, value: str, ctx: _Context) -> SlotValue:
    sv = check_slot(spec.name, spec.type, value, spec.params,
                    user_controlled=spec.user_controlled, link_domains=ctx.links,
                    sender_brand=ctx.brand)
    return replace(sv, user_controlled=spec.user_controlled)


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET] + f"… [{len(text) - SNIPPET} more]"


def match_message(msg: ParsedMessage, sender: Sender, *, catalog: Catalog | None = None
                  ) -> TemplateMatch:
    """Compare ``msg`` with every template of ``sender`` and describe the closest one.

    ``catalog`` is accepted for symmetry and not needed: a loaded sender carries its brand's
    link domains.
    """
    if not sender.templates:
        # No wording known at all: only the unmistakable marks count (phone, wallet), as for
        # partial templates, so that a catalogued sender without templates is judged on
        # positive evidence too.
        subject = normalise(msg.subject or "")
        ctx = _Context(sender, sender.brand, tuple(sender.link_domains))
        found: list[Signal] = []
        for where, text in (("subject", subject), *(("body", t) for t in _body_texts(msg, subject))):
            found.extend(find_signals_normalised(text[:_SCAN_TEXT], where=where,
                                                 allowed_domains=ctx.links,
                                                 sender_brand=ctx.brand, skip=_PARTIAL_SKIP))
        found.extend(_link_signals(msg, ctx))
        return TemplateMatch(sender=sender.id, template_id=None, matched=False, score=0.0,
                             signals=tuple(dict.fromkeys(_not_recipient(found, msg))),
                             source=sender.source)
    subject = normalise(msg.subject or "")
    texts = _body_texts(msg, subject)
    best: tuple[tuple[float, int], Template, _Found, list[_Found], _Context] | None = None
    for template in sender.templates:
        ctx = _Context(sender, sender.brand, _links_for(sender, template))
        sub = _subject_found(template, subject)
        lines = [(ln.segments, ln.optional) for ln in template.body]
        bodies = [_walk(t, lines, ctx.links) for t in texts]
        # Ties go to the template with more fixed text: a catch-all fits everything.
        rank = (_score(sub, bodies), sub.fixed_total + max(b.fixed_total for b in bodies))
        if best is None or rank > best[0]:
            best = (rank, template, sub, bodies, ctx)
    assert best is not None
    (score, _), template, sub, bodies, ctx = best
    return _describe(msg, template, score, sub, bodies, ctx)


def _describe(msg: ParsedMessage, template: Template, score: float, sub: _Found,
              bodies: list[_Found], ctx: _Context) -> TemplateMatch:
    assert sub.slots is not None and sub.unlisted is not None
    slot_values: list[SlotValue] = []
    seen: set[tuple[str, str]] = set()
    first_value: dict[str, str] = {}
    signals: list[Signal] = []
    off: list[str] = []
    # A template that does not really fit (under half its fixed text) says nothing about
    # which words are the platform's: its unlisted text is scanned like unknown wording.
    exact = template.wording == "exact" and score >= _FIT

    def add_slot(name: str, value: str, spec: SlotSpec) -> None:
        first_value.setdefault(name, value)
        if (name, value) in seen:
            return
        seen.add((name, value))
        sv = _check(spec, value, ctx)
        slot_values.append(sv)
        signals.extend(sv.signals)
        if not sv.valid and not spec.user_controlled:
            # A platform-filled slot that does not fit its type holds text the template does
            # not list (a trailing slot takes the rest of the body): scan it as such.
            signals.extend(find_signals_normalised(
                value[:_SCAN_SLOT], where="off-template", allowed_domains=ctx.links,
                sender_brand=ctx.brand, skip=() if exact else _PARTIAL_SKIP))

    for name, value in sub.slots:
        add_slot(name, value, template.slots[name])
    off.extend(f"subject: {_snippet(u)}" for u in sub.unlisted)
    for u in sub.unlisted:
        signals.extend(find_signals_normalised(u, where="subject", allowed_domains=ctx.links,
                                               sender_brand=ctx.brand))
    for found in bodies:
        assert found.slots is not None and found.unlisted is not None
        for name, value in found.slots:
            add_slot(name, value, template.slots[name])
        for u in found.unlisted:
            if exact:
                off.append(_snippet(u))
                signals.extend(find_signals_normalised(
                    u[:_SCAN_TEXT], where="off-template", allowed_domains=ctx.links,
                    sender_brand=ctx.brand))
            else:
                # Unknown platform wording: only the unmistakable marks count, because genuine
                # notifications do say "suspicious activity" or show an amount.
                signals.extend(find_signals_normalised(
                    u[:_SCAN_TEXT], where="body", allowed_domains=ctx.links,
                    sender_brand=ctx.brand, skip=_PARTIAL_SKIP))
    _display_name_slots(msg, ctx, add_slot, signals)
    signals.extend(_link_signals(msg, ctx))
    matched = sub.missing == 0 and not sub.unlisted and all(b.missing == 0 for b in bodies)
    missing: list[str] = []
    for found in (sub, *bodies):
        missing.extend(found.missing_text or ())
    return TemplateMatch(
        sender=ctx.sender.id, template_id=template.id, matched=matched, score=score,
        slots=tuple(slot_values), off_template=tuple(dict.fromkeys(off)),
        signals=tuple(dict.fromkeys(_not_recipient(signals, msg))),
        source=f"{template.source} [{template.evidence}]",
        filled=_filled(template, first_value),
        missing=tuple(dict.fromkeys(missing)),
    )


def _not_recipient(signals: Sequence[Signal], msg: ParsedMessage) -> list[Signal]:
    """Drop e-mail signals that are the recipient's own address, plain or masked
    ("al***@contoso.example"): genuine account mail names the account it writes to."""
    recipients = [a.address.lower() for a in msg.to if a.address]
    if not recipients:
        return list(signals)
    return [g for g in signals
            if not (g.kind == "email" and _is_recipient(g.value, recipients))]


def _is_recipient(value: str, recipients: Sequence[str]) -> bool:
    addr = value.strip().lower()
    if addr.startswith("mailto:"):
        addr = addr[7:]
    addr = addr.split("?")[0].strip(" <>()[],;.")
    if "@" not in addr or len(addr) > 320:
        return False
    return any(_masked_equal(addr, r) for r in recipients)


def _masked_equal(shown: str, real: str) -> bool:
    """``shown`` is ``real`` with some characters replaced by runs of ``*`` (or unmasked)."""
    parts = shown.split("*")
    if len(parts) == 1:
        return shown == real
    head, *middle, last = parts
    if not real.startswith(head) or not real.endswith(last) or len(head) + len(last) > len(real):
        return False
    pos = len(head)
    end = len(real) - len(last)
    for piece in middle:
        if not piece:
            continue
        at = real.find(piece, pos, end)
        if at < 0:
            return False
        pos = at + len(piece)
    # Something must be visible on both sides of the "@", or anything would match.
    return "@" in shown and bool(head or last)


def _display_name_slots(msg: ParsedMessage, ctx: _Context,
                        add_slot: Callable[[str, str, SlotSpec], None],
                        signals: list[Signal]) -> None:
    """Slots in the From display name ("Microsoft on behalf of {tenant}") are checked too."""
    if not msg.from_ or not msg.from_[0].display_name or not ctx.sender.display_names:
        return
    name = normalise(msg.from_[0].display_name)
    for dn in ctx.sender.display_names:
        found = _walk(name, [(dn.segments, False)])
        assert found.slots is not None and found.unlisted is not None
        if found.missing == 0 and not found.unlisted:
            for slot, value in found.slots:
                add_slot(slot, value, dn.slots[slot])
            return
    # A name the catalog does not know: not proof of anything, but scan it.
    signals.extend(find_signals_normalised(name, where="display-name",
                                           allowed_domains=ctx.links, sender_brand=ctx.brand))


def _link_signals(msg: ParsedMessage, ctx: _Context) -> list[Signal]:
    out: list[Signal] = []
    for link in msg.body().links:
        host = link.domain.lower()
        scheme = link.url.split(":", 1)[0].strip().lower()
        if scheme == "tel":
            out.append(Signal("phone", normalise(link.url)[:SNIPPET], "link"))
            continue
        if scheme == "mailto":
            mhost = link.url.split("@")[-1].split("?")[0].strip().lower()
            if not domain_allowed(mhost, ctx.links):
                out.append(Signal("email", normalise(link.url)[:SNIPPET], "link"))
            continue
        if not host:
            if link.url.lower().startswith(("http:", "https:")):
                out.append(Signal("link", normalise(link.url)[:SNIPPET], "link"))
            continue
        if not domain_allowed(host, ctx.links):
            out.append(Signal("link", normalise(link.url)[:SNIPPET], "link"))
        if len(out) >= 20:
            break
    return out


def _filled(template: Template, values: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    pieces: list[tuple[str, str]] = []

    def fixed(text: str) -> None:
        if pieces and not pieces[-1][0]:
            pieces[-1] = ("", pieces[-1][1] + text)
        elif text:
            pieces.append(("", text))

    def line(segments: tuple[Segment, ...]) -> None:
        for i, s in enumerate(segments):
            fixed(gap_before(segments, i))
            if s.is_slot:
                pieces.append((s.slot, values.get(s.slot, "")))
            else:
                fixed(s.text)

    line(template.subject)
    fixed("\n\n")
    for n, ln in enumerate(template.body):
        if n:
            fixed("\n")
        line(ln.segments)
    return tuple(pieces)
