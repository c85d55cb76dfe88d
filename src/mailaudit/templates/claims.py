"""Which catalogued sender a message's From claims to be, and how.

Three ways, strongest first: the exact address; a display name that reads like one of the
brand's notification names, on a domain that is not the brand's; a domain that imitates the
brand's (one or two edits away, look-alike letters, the brand name with extra words). A person
writing from the brand's own domain (jane.doe@microsoft.com) claims nothing: that is ordinary
mail from the brand, judged by authentication alone.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.templates.catalog import Brand, Sender
from mailaudit.templates.normalise import conf_key, normalise, word_key


@dataclass(frozen=True, slots=True)
class SenderClaim:
    sender: Sender
    kind: str  # see verdict.Claim
    evidence: str
    domains: tuple[str, ...] = ()  # the domains a header claim names (Return-Path, d=)


@functools.lru_cache(maxsize=4096)
def _fold_catalog_text(text: str) -> str:
    """``fold_name`` for catalog strings (display names, brand words, labels): a small fixed
    set folded once per process instead of once per message."""
    return fold_name(text)


@functools.lru_cache(maxsize=4096)
def _fold_catalog_label(label: str) -> str:
    return fold_label(label)


def fold_name(text: str) -> str:
    """Letters and digits only, look-alikes and I/l/1, O/0 folded: "Micros0ft  Teams" → "mlcrosoftteams"."""
    key = word_key(conf_key(normalise(text)))
    return "".join(c for c in key if c.isalnum())


def fold_label(label: str) -> str:
    """A domain label folded the way a reader's eye folds it (rn→m, vv→w, 0→o, 1/i→l)."""
    if label.startswith("xn--"):
        with contextlib.suppress(UnicodeError):
            label = label.encode("ascii").decode("idna")
    key = word_key(conf_key(normalise(label)))
    key = key.replace("rn", "m").replace("vv", "w").replace("cl", "d")
    return "".join(c for c in key if c.isalnum())


def edit_distance_at_most(a: str, b: str, limit: int) -> int | None:
    """Damerau–Levenshtein (adjacent transpositions) when it is at most ``limit``, else None."""
    if abs(len(a) - len(b)) > limit:
        return None
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return None
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else None


@functools.cache
def _psl() -> object:
    from mailaudit.parse.domains import psl

    return psl()


def registrable(domain: str) -> str:
    """The organisational domain (Public Suffix List); the domain itself when the list has none."""
    from publicsuffixlist import PublicSuffixList

    psl = _psl()
    assert isinstance(psl, PublicSuffixList)
    try:
        return str(psl.privatesuffix(domain) or domain)
    except Exception:
        return domain


def on_domains(domain: str, domains: Iterable[str]) -> str | None:
    for d in domains:
        if domain == d or domain.endswith("." + d):
            return d
    return None


def lookalike(domain: str, brand: Brand) -> str | None:
    """Why ``domain`` imitates ``brand``, or None."""
    if on_domains(domain, brand.domains) or on_domains(domain, brand.tenant_domains):
        return None
    # The brand's own domain used as a subdomain: microsoft.com.account-verify.net
    for d in brand.domains:
        if domain.startswith(d + ".") or f".{d}." in domain:
            return f"{domain} starts with the brand's domain {d}"
    org = registrable(domain)
    label = org.split(".")[0]
    folded = fold_label(label)
    if not folded:
        return None
    for want in brand.lookalike_labels:
        fwant = _fold_catalog_label(want)
        if label == want:
            return f"{org} uses the label '{want}' under another suffix"
        if folded == fwant:
            return f"{org} reads as '{want}' (look-alike letters)"
        if len(fwant) >= 6 and fwant in folded:
            return f"{org} contains '{want}' with extra words"
        if len(fwant) >= 6:
            dist = edit_distance_at_most(folded, fwant, 2)
            if dist is not None and dist > 0:
                return f"{org} is {dist} edit{'s' if dist > 1 else ''} from '{want}'"
    return None


def display_name_claim(name: str, brand: Brand, senders: Iterable[Sender]) -> Sender | None:
    """The sender whose notification name ``name`` imitates, if any.

    Exact (folded) match of a catalogued display name or its fixed prefix first; then any name
    that contains the brand's name as a word: people are not called "Microsoft".
    """
    folded = fold_name(name)
    if not folded:
        return None
    fallback: Sender | None = None
    for s in senders:
        for dn in s.display_names:
            fixed = [seg for seg in dn.segments if not seg.is_slot]
            if not fixed:
                continue
            head = _fold_catalog_text(fixed[0].text)
            if dn.segments[0].is_slot:
                continue
            whole = len(dn.segments) == 1
            if (whole and folded == head) or (not whole and folded.startswith(head)):
                return s
        if fallback is None and s.brand == brand.name:
            fallback = s
    for generic in (brand.name, *brand.display_names):
        g = _fold_catalog_text(generic)
        if g and (folded == g or (len(g) >= 5 and g in folded)):
            return fallback
    return None


def tenant_brand(display_name: str, domain: str, brands: Iterable[Brand]) -> str | None:
    """The brand a From display name names when the address is on a shared customer-tenant
    domain (``*.onmicrosoft.com``): anyone can open such a tenant in minutes, so "Ledger" or
    "Microsoft Security" there is a brand's name on a throw-away address. None otherwise."""
    domain = domain.lower().rstrip(".")
    brands = tuple(brands)
    if not display_name or not any(
            domain != t and on_domains(domain, (t,)) for b in brands for t in b.tenant_domains):
        return None
    from mailaudit.templates.signals import find_signals_normalised

    norm = normalise(display_name)
    for g in find_signals_normalised(norm, where="display-name", sender_brand="",
                                     skip=("phone", "money", "urgency", "wallet", "link",
                                           "confusable")):
        return g.value
    folded = fold_name(display_name)
    for b in brands:
        for name in (b.name, *b.display_names):
            key = _fold_catalog_text(name)
            if key and len(key) >= 5 and key in folded:
                return b.name
    return None
