"""Learn a sender's templates from its genuine mail: samples in, template pack data out.

A SOC holds months of genuine notifications; what is the same in every one of them is the
sender's own wording, what varies is a slot. ``learn`` turns samples (messages that already
authenticated, see ``sample_of``) into packs in the catalog's own format
(``mailaudit-templates/1``), which ``check --templates DIR`` loads unchanged.

* Samples are grouped by sender address, then by template: subject and body word overlap with
  the group's first sample (a multiset count, linear in the tokens).
* Token sequences are aligned pairwise with anchors (tokens unique in both ranges, longest
  increasing run of their positions, then the same inside each gap: "patience" alignment),
  with a small exact LCS only for short gaps and a work budget per pair, so hostile text costs
  near-linear time and never more than the budget. Every text is capped at ``MAX_TOKENS``.
* Fixed text is what all samples (subject; body text and HTML alternatives, normalised exactly
  as the matcher normalises them) share; a gap that holds text in every sample is a slot,
  typed from the values seen; text present in some samples only is an optional line, which
  must start with fixed text (that is how the matcher finds it), and must be seen in at least
  two messages: text one message alone carries is that message's oddity, not the template.

Nothing here reads files or the network; the CLI (``mailaudit templates learn``) does that.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mailaudit.parse.domains import org_domain_or_self
from mailaudit.records import record
from mailaudit.templates.normalise import match_key, normalise, without_surrogates
from mailaudit.templates.signals import domain_allowed, find_signals_normalised
from mailaudit.templates.slots import SLOT_TYPES, check_slot

MAX_TOKENS = 4000  # per text (subject, or one body alternative); longer samples are left out
MAX_TEXT_CHARS = 200_000  # per normalised text, checked before tokenising
MAX_SAMPLES = 500  # per sender address; the rest are counted and left out
MIN_FIXED_SHARE = 0.25  # of a template's characters; below it the "template" is mostly slots
MAX_SLOTS = 40
EXAMPLES = 3
_PAIR_BUDGET = 40  # tokens of work per token of input, per pairwise alignment
_DP_CELLS = 4096  # exact LCS only for gaps this small (cells of the table)

_OPENERS = "([{\"'“‘«<"
_CLOSERS = ".,;:!?)]}\"'”’»>"


# ---------------------------------------------------------------------------------------------
# Samples


@record
class Sample:
    """What learning needs of one genuine message (all text normalised as the matcher does)."""

    ref: str
    address: str  # From address, lower case
    display_name: str
    subject: str
    texts: tuple[str, ...]  # body alternatives as the matcher walks them (text, HTML text)
    link_hosts: tuple[str, ...] = ()
    dkim: tuple[tuple[str, str], ...] = ()  # (d=, s=) of passing DKIM signatures
    envelope_domain: str = ""
    language: str = "und"


def body_texts(subject: str, text: str, html_text: str) -> tuple[str, ...]:
    """The body alternatives exactly as ``templates.matcher`` walks them: normalised, the
    subject dropped from the head of the HTML text (its <title>), duplicates once."""
    texts: list[str] = []
    for raw in (text, html_text):
        norm = normalise(raw)
        if subject and match_key(norm[:len(subject)]) == match_key(subject):
            norm = norm[len(subject):].lstrip()
        if norm and norm not in texts:
            texts.append(norm)
    return tuple(texts) or ("",)


def genuine_reason(auth: Any, from_domain: str) -> str | None:
    """None when the message authenticates as its From domain, else why not.

    Genuine means DMARC identifier alignment passes (``verdict.auth_status``, the same
    judgement ``check`` makes), or a DKIM signature of the From domain's organisation verifies.
    """
    from mailaudit.verdict import auth_status

    status = auth_status(auth)
    if status.state == "pass":
        return None
    org = org_domain_or_self(from_domain)
    if any(d == org or d.endswith("." + org) for d in status.dkim_domains if org):
        return None
    return status.detail or "does not authenticate"


def passing_dkim(auth: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for c in auth.recomputed:
        if c.method == "dkim" and c.result == "pass" and c.props.get("header.d"):
            pair = (str(c.props.get("header.d")).lower(), str(c.props.get("header.s") or ""))
            if pair not in out:
                out.append(pair)
    return tuple(out)


def too_long(sample: Sample) -> str | None:
    """Why a sample is too big to learn from (None when it is not)."""
    for what, text in (("subject", sample.subject), *(("body", t) for t in sample.texts)):
        if len(text) > MAX_TEXT_CHARS:
            return f"{what} has {len(text)} characters (limit {MAX_TEXT_CHARS})"
        n = _count_tokens(text)
        if n > MAX_TOKENS:
            return f"{what} has {n} words (limit {MAX_TOKENS})"
    return None


# ---------------------------------------------------------------------------------------------
# Tokens and alignment


@record
class _Tok:
    key: str
    start: int
    end: int


_WORD = re.compile(r"\S+")


def _count_tokens(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def tokens(text: str) -> list[_Tok]:
    """Words, with opening and closing punctuation split off ("Lee," is "Lee" and ","), so a
    slot value does not carry the sentence's comma. Keys are the matcher's ``match_key``."""
    key = match_key(text)
    out: list[_Tok] = []
    for m in _WORD.finditer(text):
        s, e = m.start(), m.end()
        head: list[_Tok] = []
        tail: list[_Tok] = []
        while s < e - 1 and text[s] in _OPENERS:
            head.append(_Tok(key[s], s, s + 1))
            s += 1
        while e - 1 > s and text[e - 1] in _CLOSERS:
            tail.append(_Tok(key[e - 1], e - 1, e))
            e -= 1
        out.extend(head)
        out.append(_Tok(key[s:e], s, e))
        out.extend(reversed(tail))
        if len(out) > MAX_TOKENS:
            break
    return out


def _lis(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest run of pairs increasing in both coordinates (pairs sorted by the first)."""
    tails: list[int] = []
    tail_idx: list[int] = []
    back: list[int] = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_idx.append(k)
        else:
            tails[pos] = j
            tail_idx[pos] = k
        back[k] = tail_idx[pos - 1] if pos else -1
    out: list[tuple[int, int]] = []
    k = tail_idx[-1] if tail_idx else -1
    while k >= 0:
        out.append(pairs[k])
        k = back[k]
    return out[::-1]


def _anchors(a: Sequence[str], a0: int, a1: int, b: Sequence[str], b0: int, b1: int
             ) -> list[tuple[int, int]]:
    ca = Counter(a[a0:a1])
    cb = Counter(b[b0:b1])
    # Unique in both first (patience); else tokens that occur equally often (at most 4 times)
    # in both, paired in order.
    for limit in (1, 4):
        wanted = {t for t, n in ca.items() if n <= limit and cb.get(t) == n}
        if not wanted:
            continue
        seen: dict[str, list[int]] = {}
        for j in range(b0, b1):
            if b[j] in wanted:
                seen.setdefault(b[j], []).append(j)
        used: Counter[str] = Counter()
        pairs: list[tuple[int, int]] = []
        for i in range(a0, a1):
            t = a[i]
            if t in wanted:
                pairs.append((i, seen[t][used[t]]))
                used[t] += 1
        found = _lis(pairs)
        if found:
            return found
    return []


def _lcs(a: Sequence[str], a0: int, a1: int, b: Sequence[str], b0: int, b1: int
         ) -> list[tuple[int, int]]:
    n, m = a1 - a0, b1 - b0
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[a0 + i] == b[b0 + j] else max(below[j], row[j + 1])
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if a[a0 + i] == b[b0 + j]:
            out.append((a0 + i, b0 + j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def align(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of equal tokens, increasing in both sequences (a common subsequence).

    Not always the longest one: anchors first, exact LCS only in small gaps, and a work budget
    of ``_PAIR_BUDGET`` per input token, so the cost stays near-linear whatever the text.
    """
    out: list[tuple[int, int]] = []
    budget = _PAIR_BUDGET * (len(a) + len(b)) + 1000
    stack = [(0, len(a), 0, len(b))]
    while stack:
        a0, a1, b0, b1 = stack.pop()
        while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
            out.append((a0, b0))
            a0 += 1
            b0 += 1
        while a1 > a0 and b1 > b0 and a[a1 - 1] == b[b1 - 1]:
            a1 -= 1
            b1 -= 1
            out.append((a1, b1))
        if a0 >= a1 or b0 >= b1:
            continue
        budget -= (a1 - a0) + (b1 - b0)
        if budget < 0:
            continue  # left unmatched: the gap becomes variable text
        if (a1 - a0) * (b1 - b0) <= _DP_CELLS:
            out.extend(_lcs(a, a0, a1, b, b0, b1))
            continue
        found = _anchors(a, a0, a1, b, b0, b1)
        if not found:
            continue
        pi, pj = a0, b0
        for i, j in found:
            out.append((i, j))
            stack.append((pi, i, pj, j))
            pi, pj = i + 1, j + 1
        stack.append((pi, a1, pj, b1))
    out.sort()
    return out


def consensus(seqs: Sequence[Sequence[str]]) -> tuple[list[str], list[list[int]]] | None:
    """Tokens every sequence holds, in order, and where each sequence holds them.

    None when the alignment did not settle (each round can only shrink the consensus, so this
    takes at most a few rounds).
    """
    common = list(seqs[0])
    for _ in range(6):
        positions: list[list[int]] = []
        stable = True
        for s in seqs:
            pairs = align(common, s)
            if len(pairs) < len(common):
                common = [common[i] for i, _ in pairs]
                stable = False
            positions.append([j for _, j in pairs])
        if stable:
            return common, positions
    return None


# ---------------------------------------------------------------------------------------------
# Patterns: fixed text, slots, optional lines


@dataclass(slots=True)
class _Slot:
    values: list[tuple[int, str]]  # (sequence index, value)
    before: str  # fixed text just before the slot (for its name)
    name: str = ""


@dataclass(slots=True)
class _Elem:
    kind: str  # "fixed", "slot", "optional", "break"
    text: str = ""
    slot: _Slot | None = None
    inner: list[_Elem] = field(default_factory=list)
    holders: tuple[int, ...] = ()  # optional: the sequences that hold it


class LearnError(ValueError):
    """The samples do not make one template (the message says why, in one sentence)."""


class _Odd(LearnError):
    def __init__(self, owners: set[int]) -> None:
        super().__init__("samples with text no other sample has")
        self.owners = owners


@dataclass(slots=True)
class _Seq:
    text: str
    toks: list[_Tok]

    def span(self, lo: int, hi: int) -> str:
        return self.text[self.toks[lo].start:self.toks[hi - 1].end] if hi > lo else ""

    def sep(self, i: int) -> str:
        """What separates token i from token i+1 ("" or " ")."""
        return self.text[self.toks[i].end:self.toks[i + 1].start]


def _structure(seqs: list[_Seq], ids: Sequence[int], *, allow_optional: bool,
               depth: int = 0) -> list[_Elem]:
    keyed = [[t.key for t in s.toks] for s in seqs]
    found = consensus(keyed)
    if found is None:
        raise LearnError("the samples do not align into one template")
    common, positions = found
    out: list[_Elem] = []
    run: list[str] = []  # fixed text being gathered

    def close() -> None:
        if run:
            out.append(_Elem("fixed", "".join(run)))
            run.clear()

    n = len(common)
    for g in range(n + 1):
        ranges = []
        for s, pos in zip(seqs, positions, strict=True):
            lo = pos[g - 1] + 1 if g > 0 else 0
            hi = pos[g] if g < n else len(s.toks)
            ranges.append((lo, hi))
        filled = [hi > lo for lo, hi in ranges]
        first = seqs[0]
        if not any(filled):
            if 0 < g < n:
                seps = {s.sep(pos[g - 1]) for s, pos in zip(seqs, positions, strict=True)}
                if len(seps) == 1:
                    run.append(seps.pop())
                else:  # spacing differs between samples: two phrases, not one
                    close()
                    out.append(_Elem("break"))
        elif all(filled):
            before = "".join(run)
            if not any(c.isalpha() for c in before) and out and out[-1].kind == "slot":
                # "Note from {name}: {note}": the label is the text before the last slot.
                prev = out[-2].text if len(out) > 1 and out[-2].kind == "fixed" else ""
                before = prev + before
            close()
            values = [(ids[k], s.span(lo, hi)) for k, (s, (lo, hi))
                      in enumerate(zip(seqs, ranges, strict=True))]
            lead = first.text[first.toks[positions[0][g - 1]].end:first.toks[ranges[0][0]].start] \
                if g > 0 else ""
            trail = first.text[first.toks[ranges[0][1] - 1].end:first.toks[positions[0][g]].start] \
                if g < n else ""
            out.append(_Elem("slot", lead, _Slot(values, before)))
            if trail:
                run.append(trail)
        else:
            if not allow_optional or depth > 0:
                raise LearnError("some samples have text here that others do not: "
                                 f"{_near(first, positions[0], g)}")
            close()
            holders = [k for k, f in enumerate(filled) if f]
            sub = [_Seq(seqs[k].text, seqs[k].toks[ranges[k][0]:ranges[k][1]]) for k in holders]
            hid = tuple(ids[k] for k in holders)
            try:
                inner = _structure(sub, hid, allow_optional=False, depth=depth + 1)
                if not inner or inner[0].kind != "fixed":
                    raise LearnError("text that only some samples have starts with a variable "
                                     f"part ({_near(first, positions[0], g)}); an optional line "
                                     "must start with fixed text")
            except LearnError:
                # Text here that one message alone has is that message's oddity: leave it
                # out and try again, rather than give up on the template.
                owners: dict[tuple[str, ...], set[int]] = {}
                for k, q in zip(holders, sub, strict=True):
                    owners.setdefault(tuple(t.key for t in q.toks), set()).add(ids[k])
                lone = {next(iter(o)) for o in owners.values() if len(o) == 1}
                if lone:
                    raise _Odd(lone) from None
                raise
            lead = ""
            if g > 0:
                s0 = seqs[holders[0]]
                lo0 = ranges[holders[0]][0]
                lead = s0.text[s0.toks[lo0 - 1].end:s0.toks[lo0].start]
            out.append(_Elem("optional", lead, inner=inner, holders=hid))
        if g < n:
            tok = first.toks[positions[0][g]]
            run.append(first.text[tok.start:tok.end])
    close()
    return out


def _near(seq: _Seq, pos: list[int], g: int) -> str:
    if not pos:
        return "at the start"
    i = pos[g - 1] if g > 0 else pos[0]
    lo = max(0, i - 3)
    return f"near {normalise(seq.span(lo, min(len(seq.toks), i + 1)))[:60]!r}"


# ---------------------------------------------------------------------------------------------
# Slot types


def _valid(type_name: str, value: str, params: Mapping[str, object]) -> bool:
    return not SLOT_TYPES[type_name].validate(value, params)


_ORG_WORDS = frozenset(["inc", "ltd", "llc", "gmbh", "co", "corp", "corporation", "company",
                        "plc", "ag", "sa", "bv", "group", "limited", "team", "foundation",
                        "association", "club", "school", "university", "bank", "services"])


def _is_person(value: str) -> bool:
    words = value.replace("-", " ").split()
    if not 1 <= len(words) <= 4 or len(value) > 48:
        return False
    for w in words:
        w = w.strip(".,'’")
        if not w or not w[0].isupper() or not all(c.isalpha() or c in ".'’" for c in w):
            return False
        if w.lower() in _ORG_WORDS:
            return False
    return True


def _is_title(value: str) -> bool:
    """Reads as a name: at most six words, each capitalised (or a number, or "&")."""
    words = value.split()
    return 1 <= len(words) <= 6 and all(w[0].isupper() or w[0].isdigit() or w in ("&", "of", "and",
                                                                                  "the", "de")
                                        for w in words)


def infer_type(values: Sequence[str], hosts: Sequence[str]) -> tuple[str, dict[str, object]]:
    """The narrowest slot type every value fits, with its parameters and a length bound."""
    vals = [v for v in values if v]
    longest = max((len(v) for v in vals), default=1)
    if vals and all(v.isascii() and v.isdigit() for v in vals):
        lo, hi = min(len(v) for v in vals), max(len(v) for v in vals)
        return "code", {"digits": [lo, hi] if lo != hi else lo}
    for name in ("amount", "date", "email", "guid"):
        if vals and all(any(c.isdigit() for c in v) or name in ("email", "guid") for v in vals) \
                and all(_valid(name, v, {}) for v in vals):
            return name, {}
    if vals and all(v.lower().startswith("https://") for v in vals):
        seen = sorted({_host(v) for v in vals} - {""})
        if seen and all(_valid("url", v, {"allowed_domains": seen}) for v in vals):
            return "url", {"allowed_domains": seen}
    bound = {"max_len": min(10_000, max(2 * longest, longest + 32))}
    if vals and all(_is_person(v) for v in vals):
        return "person_name", {"user_controlled": True, **bound}
    if vals and all(_valid("org_name", v, {}) and _is_title(v) for v in vals):
        return "org_name", {"user_controlled": True, **bound}
    if vals and all(_valid("short_text", v, {}) for v in vals):
        return "short_text", {"user_controlled": True, **bound}
    return "free_text", {"user_controlled": True, **bound}


def _host(url: str) -> str:
    rest = url[8:] if url.lower().startswith("https://") else url
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    return rest.rpartition("@")[2].split(":")[0].lower()


_NAME_BY_TYPE = {"code": "code", "amount": "amount", "date": "date", "email": "email",
                 "url": "link", "guid": "id", "person_name": "name", "org_name": "organisation",
                 "short_text": "text", "free_text": "message"}


_LINK_WORDS = frozenset(["from", "to", "by", "for", "of", "on", "at", "in", "with", "via",
                         "your", "the", "a", "an", "is", "are", "was", "this", "our", "my"])


def _slot_name(before: str, type_name: str, taken: set[str]) -> str:
    base = ""
    label = before.rstrip()
    if label.endswith(":"):
        clause = re.split(r"[.!?,;:()]", label[:-1])[-1]
        words = re.findall(r"[a-z0-9]+", clause.lower().encode("ascii", "ignore").decode())
        words = [w for w in words if w not in _LINK_WORDS]  # "Note from {name}: {note}"
        base = "_".join(words[-2:])
    if not base or not base[0].isalpha():
        base = _NAME_BY_TYPE.get(type_name, "value")
    return _unique(base[:32], taken, sep="_")


# ---------------------------------------------------------------------------------------------
# One template


@record
class LearnedTemplate:
    id: str
    subject: str
    body: tuple[str | dict[str, object], ...]
    slots: Mapping[str, Mapping[str, object]]
    examples: tuple[Mapping[str, str], ...]
    link_domains: tuple[str, ...]
    refs: tuple[str, ...]
    language: str
    fixed_chars: int
    slot_chars: int


@record
class Skipped:
    """A template (or sender) that was not written, and why."""

    sender: str
    what: str  # "template 'Subject …' (4 samples)"
    reason: str
    refs: tuple[str, ...] = ()


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _lines(elems: list[_Elem], slot_names: dict[int, str]) -> list[str | dict[str, object]]:
    """Body lines: a new line at each optional line, at a break, and after a sentence once a
    line is long, so ``templates show`` reads like the mail."""
    out: list[str | dict[str, object]] = []
    cur: list[str] = []

    def flush() -> None:
        text = "".join(cur).strip()
        if text:
            out.append(text)
        cur.clear()

    for e in elems:
        if e.kind == "fixed":
            parts = re.split(r"(?<=[.!?])\s", e.text)
            for i, p in enumerate(parts):
                cur.append(_escape(p) if i == 0 else " " + _escape(p))
                if i < len(parts) - 1 and len("".join(cur)) >= 60:
                    flush()
        elif e.kind == "slot":
            assert e.slot is not None
            cur.append(e.text + "{" + slot_names[id(e.slot)] + "}")
        elif e.kind == "break":
            flush()
        elif e.kind == "optional":
            flush()
            inner = _lines(e.inner, slot_names)
            text = " ".join(str(x) for x in inner)
            out.append({"text": text, "optional": True})
    flush()
    return out


def _collect_slots(elems: Iterable[_Elem]) -> list[_Slot]:
    found: list[_Slot] = []
    for e in elems:
        if e.kind == "slot" and e.slot is not None:
            found.append(e.slot)
        elif e.kind == "optional":
            found.extend(_collect_slots(e.inner))
    return found


def _fixed_chars(elems: Iterable[_Elem]) -> int:
    return sum(len(e.text) if e.kind == "fixed" else _fixed_chars(e.inner)
               for e in elems if e.kind in ("fixed", "optional"))


def _optional_holders(elems: Iterable[_Elem]) -> list[tuple[_Elem, tuple[int, ...]]]:
    return [(e, e.holders) for e in elems if e.kind == "optional"]


def learn_template(samples: Sequence[Sample], *, template_id: str, sender_links: Sequence[str],
                   brand: str) -> tuple[LearnedTemplate, list[int]]:
    """One template from samples of one sender and one template.

    Returns the template and the indexes of samples left out as outliers (text no other
    sample has). Raises LearnError when the samples do not make a template.
    """
    keep = list(range(len(samples)))
    dropped: list[int] = []
    for _ in range(4):
        chosen = [samples[i] for i in keep]
        subject_seqs = [_Seq(s.subject, tokens(s.subject)) for s in chosen]
        body_seqs: list[_Seq] = []
        owner: list[int] = []
        for k, s in enumerate(chosen):
            for t in s.texts:
                body_seqs.append(_Seq(t, tokens(t)))
                owner.append(k)
        subject = _structure(subject_seqs, list(range(len(chosen))), allow_optional=False)
        # Text that a single message carries is that message's oddity (an appended lure, a
        # one-off notice): leave the message out rather than teach the text as genuine.
        odd: set[int] = set()
        try:
            body = _structure(body_seqs, owner, allow_optional=True)
        except _Odd as exc:
            body = []
            odd = set(exc.owners)
        links = [*sender_links, *{h for s in chosen for h in s.link_hosts}]
        for e, holders in _optional_holders(body):
            owners = set(holders)
            text = " ".join(x.text for x in e.inner if x.kind == "fixed")
            hostile = find_signals_normalised(normalise(text), where="optional",
                                              allowed_domains=links, sender_brand=brand)
            if len(owners) == 1 or hostile:
                odd.update(owners)
        if not odd:
            break
        if len(keep) - len(odd) < 2:
            raise LearnError("too much variation: most samples carry text no other sample has")
        dropped.extend(keep[k] for k in sorted(odd))
        keep = [i for k, i in enumerate(keep) if k not in odd]
    else:
        raise LearnError("too much variation: the samples keep differing after leaving out "
                         "the odd ones")
    chosen = [samples[i] for i in keep]
    hosts = sorted({h for s in chosen for h in s.link_hosts})
    all_links = [*sender_links, *hosts]
    subject_slots = _collect_slots(subject)
    body_slots = _collect_slots(body)
    if len(subject_slots) + len(body_slots) > MAX_SLOTS:
        raise LearnError(f"too much variation: {len(subject_slots) + len(body_slots)} varying "
                         f"parts (limit {MAX_SLOTS})")
    # Slots that carry the same value in every sample are one slot ("{name} sent you ..." in
    # the subject, "{name} has requested" and "Note from {name}:" in the body).
    groups: list[tuple[dict[int, str], list[_Slot]]] = []
    for sl in [*body_slots, *subject_slots]:
        per: dict[int, str] = {}
        for k, v in sl.values:
            per.setdefault(k, v)
        for key, members in groups:
            if key == per:
                members.append(sl)
                break
        else:
            groups.append((per, [sl]))
    taken: set[str] = set()
    specs: dict[str, dict[str, object]] = {}
    names: dict[int, str] = {}
    values_by_name: dict[str, dict[int, str]] = {}
    for per, members in groups:
        vals = [v for sl in members for _, v in sl.values]
        stype, params = infer_type(vals, hosts)
        name = _slot_name(next((m.before for m in members if m.before.rstrip().endswith(":")),
                               members[0].before), stype, taken)
        specs[name] = {"type": stype, **params}
        values_by_name[name] = per
        for sl in members:
            names[id(sl)] = name
    subject_text = " ".join(str(x) for x in _lines(subject, names))
    if not _fixed_chars(subject):
        raise LearnError("the subject is different in every sample")
    body_lines = _lines(body, names)
    fixed = _fixed_chars(subject) + _fixed_chars(body)
    slot_chars = sum(len(v) for sl in [*subject_slots, *body_slots] for _, v in sl.values) \
        // max(1, len(chosen))
    if fixed < MIN_FIXED_SHARE * (fixed + slot_chars):
        raise LearnError(f"too much variation: only {fixed} characters are the same in every "
                         f"sample, against {slot_chars} that vary")
    examples = _examples(specs, values_by_name, len(chosen), all_links, brand)
    return LearnedTemplate(
        id=template_id, subject=subject_text, body=tuple(body_lines),
        slots={k: dict(v) for k, v in specs.items()}, examples=examples,
        link_domains=tuple(hosts), refs=tuple(s.ref for s in chosen),
        language=Counter(s.language for s in chosen).most_common(1)[0][0],
        fixed_chars=fixed, slot_chars=slot_chars,
    ), dropped


def _examples(specs: Mapping[str, Mapping[str, object]], values: Mapping[str, Mapping[int, str]],
              n: int, links: Sequence[str], brand: str) -> tuple[Mapping[str, str], ...]:
    """A few genuine slot values (short ones first), each one that the loader accepts: the
    catalog checks every example value as if a customer wrote it."""

    def ok(name: str, value: str) -> bool:
        spec = specs[name]
        params = {k: v for k, v in spec.items() if k not in ("type", "user_controlled")}
        return len(value) <= 200 and not check_slot(
            name, str(spec["type"]), value, params, user_controlled=True, link_domains=links,
            sender_brand=brand).hostile

    good: dict[str, list[str]] = {}
    for name in specs:
        seen = list(dict.fromkeys(values.get(name, {}).values()))
        good[name] = sorted((v for v in seen if ok(name, v)), key=len)
        if not good[name]:
            raise LearnError(f"no value of slot '{name}' looks genuine enough to serve as an "
                             "example (the samples' own values carry scam signals)")
    out: list[dict[str, str]] = []
    for i in range(min(EXAMPLES, max(len(v) for v in good.values()))):
        out.append({name: vals[min(i, len(vals) - 1)] for name, vals in good.items()})
    unique = list({tuple(sorted(e.items())): e for e in out}.values())
    return tuple(unique[:EXAMPLES])


# ---------------------------------------------------------------------------------------------
# Grouping and packs


def _overlap(a: Counter[str], b: Counter[str]) -> float:
    if not a and not b:
        return 1.0
    inter = sum((a & b).values())
    return inter / max(sum(a.values()), sum(b.values()))


@dataclass(slots=True)
class _Group:
    first: tuple[Counter[str], Counter[str]]
    members: list[int]


def group_templates(samples: Sequence[Sample]) -> list[list[int]]:
    """Indexes of samples that share a template: subject and body word overlap with a
    group's first sample (multiset counts: linear, and blind to word order)."""
    groups: list[_Group] = []
    for i, s in enumerate(samples):
        subj = Counter(t.key for t in tokens(s.subject))
        body = Counter(t.key for t in tokens(s.texts[0]))
        for g in groups:
            if _overlap(subj, g.first[0]) >= 0.5 and _overlap(body, g.first[1]) >= 0.6:
                g.members.append(i)
                break
        else:
            groups.append(_Group((subj, body), [i]))
    return [g.members for g in groups]


@record
class Pack:
    family: str
    filename: str
    data: Mapping[str, Any]  # the YAML document
    templates: tuple[LearnedTemplate, ...]
    senders: tuple[str, ...]
    builtin_senders: tuple[str, ...] = ()  # addresses the built-in catalog already has


@record
class LearnResult:
    packs: tuple[Pack, ...]
    skipped: tuple[Skipped, ...]


def _safe_id(text: str) -> str:
    out = re.sub(r"[^a-z0-9@._-]+", "-", text.lower()).strip("-.")
    return out[:80] or "sender"


def _slug(subject: str) -> str:
    words = re.findall(r"[a-z0-9]+", re.sub(r"\{[^}]*\}", " ", subject.lower())
                       .encode("ascii", "ignore").decode())
    return "-".join(words[:5]) or "template"


def _brandish(name: str, org: str) -> bool:
    """A display name that names the domain's brand ("Northwind Traders" on
    northwind-traders.example), as opposed to a generic one ("Notifications")."""
    label = org.split(".")[0]
    folded = re.sub(r"[^a-z0-9]", "", name.lower())
    words = [w for w in re.split(r"[^a-z0-9]+", label) if len(w) >= 4]
    return bool(folded) and (re.sub(r"[^a-z0-9]", "", label) in folded
                             or any(w in folded for w in words))


def learn(samples: Sequence[Sample], *, min_samples: int = 3,
          builtin_brands: Mapping[str, Sequence[str]] | None = None,
          builtin_addresses: Mapping[str, str] | None = None) -> LearnResult:
    """Packs from genuine samples: one per sender family (organisational domain).

    ``builtin_brands``: brand name -> its domains in the built-in catalog (a sender on them is
    filed under that brand); ``builtin_addresses``: address -> built-in sender id.
    """
    brands = dict(builtin_brands or {})
    known = dict(builtin_addresses or {})
    by_addr: dict[str, list[Sample]] = {}
    skipped: list[Skipped] = []
    for s in samples:
        by_addr.setdefault(s.address, []).append(s)
    families: dict[str, list[str]] = {}
    for addr in by_addr:
        families.setdefault(org_domain_or_self(addr.rpartition("@")[2]), []).append(addr)
    packs: list[Pack] = []
    used_ids: set[str] = set()
    for org, addrs in sorted(families.items()):
        brand = next((b for b, ds in brands.items()
                      if any(domain_allowed(org, [d]) or d == org for d in ds)), None)
        declared: dict[str, Any] | None = None
        if brand is None:
            names = Counter(s.display_name for a in addrs for s in by_addr[a] if s.display_name)
            named = sorted((n for n in names if _brandish(n, org) and "{" not in n),
                           key=lambda n: (len(n), n))
            taken = {b.lower() for b in brands}
            brand = next((n for n in named if n.lower() not in taken), org)
            brands[brand] = [org]  # names are unique across the packs of one run too
            declared = {"name": brand, "domains": [org]}
            if brand != org:
                declared["display_names"] = [brand]
        senders: list[dict[str, Any]] = []
        learned: list[LearnedTemplate] = []
        for addr in sorted(addrs):
            mail = by_addr[addr]
            if len(mail) > MAX_SAMPLES:
                skipped.append(Skipped(addr, f"{len(mail) - MAX_SAMPLES} samples",
                                       f"left out: only the first {MAX_SAMPLES} samples of a "
                                       "sender are used"))
                mail = mail[:MAX_SAMPLES]
            sender, temps = _learn_sender(addr, org, brand, mail, min_samples, used_ids, skipped)
            if sender is not None:
                senders.append(sender)
                learned.extend(temps)
        if not senders:
            continue
        data: dict[str, Any] = {"format": "mailaudit-templates/1", "family": _safe_id(org)}
        if declared is not None:
            data["brands"] = [declared]
        data["senders"] = senders
        packs.append(Pack(family=_safe_id(org), filename=_safe_id(org) + ".yaml", data=data,
                          templates=tuple(learned),
                          senders=tuple(s["addresses"][0] for s in senders),
                          builtin_senders=tuple(s["addresses"][0] for s in senders
                                                if s["addresses"][0] in known)))
    return LearnResult(tuple(packs), tuple(skipped))


def _learn_sender(addr: str, org: str, brand: str, mail: list[Sample], min_samples: int,
                  used_ids: set[str], skipped: list[Skipped]
                  ) -> tuple[dict[str, Any] | None, list[LearnedTemplate]]:
    sid = _safe_id(addr)
    sender_links = [org]
    templates: list[LearnedTemplate] = []
    used_refs: list[Sample] = []
    groups = group_templates(mail)
    big = [Counter(t.key for t in tokens(mail[g[0]].subject)) for g in groups
           if len(g) >= min_samples]
    for members in groups:
        group = [mail[i] for i in members]
        label = f"template {normalise(group[0].subject)[:60]!r} ({len(group)} samples)"
        if len(group) < min_samples:
            subj = Counter(t.key for t in tokens(group[0].subject))
            if any(_overlap(subj, b) >= 0.5 for b in big):
                why = ("its subject is like a learned template's but its body is not: it "
                       "carries text the others do not (an appended lure looks like this)")
            else:
                why = f"too few samples: {len(group)}, need {min_samples} (--min-samples)"
            skipped.append(Skipped(addr, label, why, tuple(s.ref for s in group)))
            continue
        try:
            t, dropped = learn_template(group, template_id="", sender_links=sender_links,
                                        brand=brand)
        except LearnError as exc:
            skipped.append(Skipped(addr, label, str(exc), tuple(s.ref for s in group)))
            continue
        if dropped:
            skipped.append(Skipped(addr, f"{len(dropped)} of the samples of {label}",
                                   "left out: they carry text no other sample has (an appended "
                                   "lure looks like this)", tuple(group[i].ref for i in dropped)))
        if len(t.refs) < min_samples:
            skipped.append(Skipped(addr, label, f"too few samples once the odd ones are left out:"
                                   f" {len(t.refs)}, need {min_samples}", t.refs))
            continue
        templates.append(replace(t, id=_unique(f"{sid}/{_slug(t.subject)}", used_ids)))
        used_refs.extend(s for s in group if s.ref in set(t.refs))
    if not templates:
        return None, []
    return _sender_data(addr, sid, org, brand, used_refs, templates), templates


def _unique(base: str, used: set[str], *, sep: str = "-") -> str:
    """``base``, or ``base`` + ``sep`` + the first count from 2 not in ``used``; kept in it."""
    name, k = base, 2
    while name in used:
        name = f"{base}{sep}{k}"
        k += 1
    used.add(name)
    return name


def _source(refs: Sequence[str]) -> str:
    shown = ", ".join(refs[:5])
    more = f" and {len(refs) - 5} more" if len(refs) > 5 else ""
    return f"learned from {len(refs)} genuine messages: {shown}{more}"


def _sender_data(addr: str, sid: str, org: str, brand: str, mail: Sequence[Sample],
                 templates: Sequence[LearnedTemplate]) -> dict[str, Any]:
    n = len(mail)
    dkim_count: Counter[str] = Counter()
    selectors: dict[str, list[str]] = {}
    for s in mail:
        for d in dict.fromkeys(d for d, _ in s.dkim):
            dkim_count[d] += 1
        for d, sel in s.dkim:
            if sel and sel not in selectors.setdefault(d, []):
                selectors[d].append(sel)
    dkim: list[dict[str, Any]] = []
    for d, k in sorted(dkim_count.items(), key=lambda x: (-x[1], x[0])):
        entry: dict[str, Any] = {"domain": d}
        if selectors.get(d):
            entry["selectors"] = selectors[d]
        if k < n:  # not in every sample: recorded, not demanded
            entry["verified"] = False
            entry["note"] = f"a passing signature in {k} of {n} learned messages"
        dkim.append(entry)
    names = sorted({s.display_name for s in mail if s.display_name and _brandish(s.display_name, org)})
    envelope = sorted({s.envelope_domain for s in mail if s.envelope_domain})
    out: dict[str, Any] = {
        "id": sid, "brand": brand, "product": f"mail from {addr} (learned)",
        "addresses": [addr],
        "link_domains": [org],
    }
    if names:
        out["display_names"] = display_patterns(
            [s.display_name for s in mail if s.display_name in set(names)])
    if dkim:
        out["dkim"] = dkim
    if envelope:
        out["envelope_domains"] = envelope
    out["source"] = _source([s.ref for s in mail])
    out["evidence"] = "LEARNED"
    others = sorted({s.display_name for s in mail if s.display_name} - set(names))
    if others:
        out["notes"] = ("Display names seen but not claimed for this sender (they do not name "
                        f"the brand): {', '.join(others[:5])}")
    out["templates"] = [_template_data(t) for t in templates]
    return out


def display_patterns(names: Sequence[str]) -> list[str]:
    """Display-name patterns from the names seen: the names themselves when a few recur
    ("Northwind Pay"), else one pattern with a typed slot ("{name:person_name} via Northwind
    Pay") when they share fixed text, so that one person's name is not taken for the brand's."""
    counts = Counter(names)
    if len(counts) <= 3:
        return [_escape(n) for n in sorted(counts)]
    try:
        elems = _structure([_Seq(n, tokens(n)) for n in names], list(range(len(names))),
                           allow_optional=False)
    except LearnError:
        elems = []
    found = _collect_slots(elems)
    if elems and _fixed_chars(elems) and len(found) <= 2:
        slot_names = {}
        for i, sl in enumerate(found):
            stype, _params = infer_type([v for _, v in sl.values], [])
            slot_names[id(sl)] = f"{'name' if i == 0 else f'name_{i + 1}'}:{stype}"
        return [" ".join(str(x) for x in _lines(elems, slot_names))]
    # No common shape: only the names that recur (a name seen once says little).
    return [_escape(n) for n, k in counts.most_common(5) if k > 1]


def _template_data(t: LearnedTemplate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": t.id, "language": t.language, "source": _source(t.refs), "evidence": "LEARNED",
        # Every line of the mail was seen: anything else in a message is off-template.
        "wording": "exact",
        "notes": (f"Learned by mailaudit templates learn from {len(t.refs)} messages: "
                  f"{t.fixed_chars} characters fixed, about {t.slot_chars} varying per message."),
        "subject": t.subject,
        "slots": {k: dict(v) for k, v in t.slots.items()} or None,
        "body": list(t.body),
    }
    if t.link_domains:
        out["link_domains"] = list(t.link_domains)
    out["examples"] = [dict(e) for e in t.examples] or [{}]
    return out


def pack_yaml(pack: Pack) -> str:
    """The pack as YAML text (block style; every string quoted as YAML needs)."""
    import yaml

    head = ("# Learned by `mailaudit templates learn` from genuine mail. Review before use: the\n"
            "# fixed text is what every sample shared; slots are what varied.\n")
    return head + yaml.safe_dump(_storable(dict(pack.data)), sort_keys=False,
                                 allow_unicode=True, width=100, default_flow_style=False)


def _storable(value: Any) -> Any:
    """``value`` with no lone surrogate in any string: PyYAML writes one as an escape
    ("\\uD800") that its own reader refuses, so the pack would not load."""
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Diff: what a learned pack says that the built-in catalog lacks or has wrong


@record
class Difference:
    sender: str  # the learned sender's address
    kind: str  # "new-sender", "new-template", "phrase-missing", "phrase-new", "language",
    #            "dkim", "envelope", "display-name", "not-seen"
    message: str


def _fixed_keys(t: Any) -> list[str]:
    keys = [s.key.strip() for s in t.subject if not s.is_slot]
    keys += [s.key.strip() for ln in t.body for s in ln.segments if not s.is_slot]
    return [k for k in keys if k]


def _likeness(learned: Any, known: Any) -> float:
    """Share of the catalog template's fixed phrases that the learned template holds."""
    text = " ".join(_fixed_keys(learned))
    keys = _fixed_keys(known)
    if not keys:
        return 0.0
    return sum(len(k) for k in keys if k in text) / sum(len(k) for k in keys)


def diff_senders(learned: Sequence[Any], catalog: Any) -> list[Difference]:
    """Compare learned senders (``catalog.Sender``) with the catalog's entries for the same
    addresses: new senders and templates, phrases the catalog has that the mail does not (or
    the reverse), another language, DKIM, envelope and display names the catalog lacks."""
    out: list[Difference] = []
    for s in learned:
        addr = s.addresses[0]
        known = next((k for k in (catalog.by_address(a) for a in s.addresses) if k), None)
        if known is None:
            out.append(Difference(addr, "new-sender",
                                  f"the catalog has no sender {addr}; {len(s.templates)} "
                                  "templates learned"))
            continue
        kd = {d.domain: d for d in known.dkim}
        for d in s.dkim:
            if d.domain not in kd:
                out.append(Difference(addr, "dkim", f"signed by d={d.domain} "
                                      f"(s={', '.join(d.selectors) or '?'}); the catalog "
                                      f"lists {', '.join(kd) or 'no DKIM domain'}"))
                continue
            new_sel = [x for x in d.selectors if kd[d.domain].selectors
                       and x not in kd[d.domain].selectors]
            if new_sel:
                out.append(Difference(addr, "dkim", f"d={d.domain} selectors "
                                      f"{', '.join(new_sel)} seen; the catalog lists "
                                      f"{', '.join(kd[d.domain].selectors)}"))
            if not kd[d.domain].verified and d.verified:
                out.append(Difference(addr, "dkim", f"d={d.domain} signed every learned "
                                      "message; the catalog marks it unverified"))
        seen = {d.domain for d in s.dkim}
        for d in known.dkim:
            if d.verified and d.domain not in seen:
                out.append(Difference(addr, "dkim", f"the catalog expects a DKIM signature "
                                      f"from {d.domain}; none in the learned mail"))
        for e in s.envelope_domains:
            if known.envelope_domains and not any(domain_allowed(e, [k]) for k in
                                                  known.envelope_domains):
                out.append(Difference(addr, "envelope", f"envelope domain {e}; the catalog "
                                      f"lists {', '.join(known.envelope_domains)}"))
        for dn in s.display_names:
            name = " ".join(x.text for x in dn.segments if not x.is_slot)
            if not any(_display_fits(name, k) for k in known.display_names):
                out.append(Difference(addr, "display-name", f"display name {name!r} is not "
                                      "one the catalog lists"))
        matched: set[str] = set()
        for t in s.templates:
            best = max(known.templates, key=lambda k: _likeness(t, k), default=None)
            score = _likeness(t, best) if best is not None else 0.0
            if best is None or score < 0.5:
                out.append(Difference(addr, "new-template",
                                      f"{t.id}: subject {_pattern(t.subject)!r}: no catalog "
                                      f"template of {known.id} is like it"
                                      + (f" (closest {best.id}, {score:.0%})" if best else "")))
                continue
            matched.add(best.id)
            text = " ".join(_fixed_keys(t))
            for k in dict.fromkeys(_fixed_keys(best)):
                if k not in text:
                    out.append(Difference(addr, "phrase-missing",
                                          f"{best.id}: catalog phrase {k!r} is not in the "
                                          f"learned mail ({t.id})"))
            ktext = " ".join(_fixed_keys(best))
            for k in dict.fromkeys(_fixed_keys(t)):
                if k not in ktext and len(k) >= 8:
                    out.append(Difference(addr, "phrase-new",
                                          f"{best.id}: learned phrase {k!r} is not in the "
                                          "catalog"))
            if t.language not in ("und", best.language):
                out.append(Difference(addr, "language", f"{best.id}: learned mail is in "
                                      f"{t.language!r}, the catalog template in "
                                      f"{best.language!r}"))
        for k in known.templates:
            if k.id not in matched:
                out.append(Difference(addr, "not-seen", f"{k.id}: no learned template like "
                                      "it (not in the mail learned from)"))
    return out


def _pattern(segments: Any) -> str:
    return " ".join(f"{{{x.slot}}}" if x.is_slot else x.text for x in segments)


def _display_fits(name: str, dn: Any) -> bool:
    fixed = [x.key.strip() for x in dn.segments if not x.is_slot]
    key = match_key(normalise(name))
    return all(f in key for f in fixed if f)
