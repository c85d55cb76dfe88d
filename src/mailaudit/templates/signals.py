"""Signals: the marks of a callback or refund scam inside text a customer controls.

A phone number, a money amount, another company's brand, a link off the template's
allow-list, a crypto wallet, an urgency phrase or a word spelled with look-alike letters has no
business in an organisation name or a team name. Finding one makes the slot hostile even when
its value fits the slot type.

Everything here is linear in the length of the text: the regexes are single character classes
with bounded repetition or alternations of literals (no nested quantifiers), and domain
candidates are grown by hand from each dot, each character visited a bounded number of times.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterator
from typing import Any

from mailaudit.model import Signal
from mailaudit.templates.normalise import (
    CONFUSABLE_CHARS,
    conf_key,
    digit_key,
    match_key,
    normalise,
    phrase_word_key,
    word_key,
)

MAX_PER_KIND = 20  # a 5 MB lure needs a handful of examples, not a million

# Phone numbers on the digit key (letters standing in for digits already folded). The digit
# count is checked afterwards: 10 to 15 digits is a subscriber number with area code (ITU-T
# E.164 allows at most 15); fewer is a date, an amount or an order number.
_PHONE = re.compile(r"(?<![\w+])\+?\(?[0-9][0-9 ().\-/]{6,24}[0-9](?![0-9])")
_CURRENCY_CODES = r"usd|eur|gbp|cad|aud|inr|jpy|chf|btc|eth|usdt|usdc|ltc|xrp|dollars?|euros?"
_MONEY = re.compile(
    r"[$€£¥₹₿]\s?[0-9][0-9,.]{0,15}"
    rf"|(?<![a-z])(?:{_CURRENCY_CODES})\s?[$]?[0-9][0-9,.]{{0,15}}"
    rf"|[0-9][0-9,.]{{0,15}}\s?(?:{_CURRENCY_CODES})(?![a-z])"
    r"|(?<![0-9.,])[0-9]{1,6}[.,][0-9]{2}(?![0-9]|[.,][0-9])"
)
_WALLET = re.compile(
    r"(?<![A-Za-z0-9])(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71}"
    r"|0x[0-9a-fA-F]{40})(?![A-Za-z0-9])"
)
# A dot followed by a letter: where every domain name has at least one. Grown to the full
# host by _grow_host; ordinary prose ("end. Next") has a space after its dots.
_DOT_LETTER = re.compile(r"\.[^\W\d_]")
_CONFUSABLE = re.compile("[" + "".join(sorted(CONFUSABLE_CHARS)) + "]")
_HOST_LIMIT = 253
_URL_LIMIT = 2048


_PHRASES_FORMAT = "mailaudit-signal-phrases/1"


@functools.cache
def _phrases() -> dict[str, list[str]]:
    """The brand and urgency phrases of ``_signals.yaml``, read once a message is matched
    against a template. Kept in the cache of derived data (``mailaudit.cache``, by the file's
    hash) like the compiled catalog: PyYAML costs more to import than the rest of a matched
    message's first audit."""
    from mailaudit import cache
    from mailaudit.templates import DATA_DIR

    raw = (DATA_DIR / "_signals.yaml").read_bytes()
    entry = cache.entry_path("signals", _PHRASES_FORMAT, raw)
    cached = cache.lookup(entry, _PHRASES_FORMAT, _phrase_lists)
    if cached is not None:
        return cached
    import yaml

    data: Any = yaml.safe_load(raw.decode("utf-8"))
    phrases = {"brands": [str(b) for b in data["brands"]],
               "urgency": [str(u) for u in data["urgency"]]}
    cache.store(entry, _PHRASES_FORMAT, phrases)
    return phrases


def _phrase_lists(plain: Any) -> dict[str, list[str]]:
    """A cached entry, only if it is exactly two lists of strings (else it is ignored)."""
    if not isinstance(plain, dict) or set(plain) != {"brands", "urgency"}:
        raise TypeError("not a phrase entry")
    out: dict[str, list[str]] = {}
    for key, values in plain.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TypeError("not a phrase entry")
        out[key] = values
    return out


def _alternation(phrases: Collection[str]) -> re.Pattern[str] | None:
    keys = sorted({phrase_word_key(p) for p in phrases if p.strip()}, key=len, reverse=True)
    if not keys:
        return None
    body = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


@functools.cache
def _brand_pattern(sender_brand: str) -> re.Pattern[str] | None:
    own = phrase_word_key(sender_brand)
    return _alternation([b for b in _phrases()["brands"] if phrase_word_key(b) != own])


@functools.cache
def _urgency_pattern() -> re.Pattern[str] | None:
    return _alternation(_phrases()["urgency"])


def _psl() -> Any:
    from mailaudit.parse.domains import psl

    return psl()


def is_known_tld_host(host: str) -> bool:
    """True when ``host`` ends in a suffix on the Public Suffix List (not just any word)."""
    if "." not in host:
        return False
    try:
        return _psl().publicsuffix(host, accept_unknown=False) is not None
    except Exception:
        return False


def domain_allowed(host: str, allowed: Collection[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowed)


def _is_host_char(ch: str) -> bool:
    return ch.isalnum() or ch in ".-_"


def _grow_host(key: str, dot: int) -> tuple[int, int]:
    start = dot
    floor = max(0, dot - _HOST_LIMIT)
    while start > floor and _is_host_char(key[start - 1]):
        start -= 1
    end = dot + 1
    ceil = min(len(key), dot + _HOST_LIMIT)
    while end < ceil and _is_host_char(key[end]):
        end += 1
    while end > start and key[end - 1] in ".-_":
        end -= 1
    while start < end and key[start] in ".-_":
        start += 1
    return start, end


def _links(norm: str, key: str, where: str, allowed: Collection[str]) -> Iterator[Signal]:
    consumed = 0
    found = 0
    for m in _DOT_LETTER.finditer(key):
        if m.start() < consumed:
            continue
        start, end = _grow_host(key, m.start())
        consumed = max(end, m.end())
        host = key[start:end]
        if not is_known_tld_host(host):
            continue
        kind = "link"
        vstart, vend = start, end
        if key[max(0, start - 3):start] == "://":
            vstart = start - 3
            while vstart > max(0, start - 16) and key[vstart - 1].isalpha():
                vstart -= 1
            while vend < min(len(key), start + _URL_LIMIT) and not key[vend].isspace():
                vend += 1
            consumed = max(consumed, vend)
        elif start > 0 and key[start - 1] == "@":
            kind = "email"
            vstart = start - 1
            while vstart > max(0, start - 65) and (key[vstart - 1].isalnum()
                                                    or key[vstart - 1] in "._%+-"):
                vstart -= 1
        if domain_allowed(host, allowed):
            continue
        yield Signal(kind, norm[vstart:vend], where)
        found += 1
        if found >= MAX_PER_KIND:
            return


def _phones(norm: str, dkey: str, where: str) -> Iterator[Signal]:
    found = 0
    for m in _PHONE.finditer(dkey):
        digits = sum(c.isdigit() for c in m.group())
        if 10 <= digits <= 15:
            yield Signal("phone", norm[m.start():m.end()], where)
            found += 1
            if found >= MAX_PER_KIND:
                return


def _regex_signals(pattern: re.Pattern[str] | None, kind: str, norm: str, key: str,
                   where: str) -> Iterator[Signal]:
    if pattern is None:
        return
    for i, m in enumerate(pattern.finditer(key)):
        if i >= MAX_PER_KIND:
            return
        yield Signal(kind, norm[m.start():m.end()], where)


def _wallets(norm: str, where: str) -> Iterator[Signal]:
    for i, m in enumerate(_WALLET.finditer(norm)):
        if i >= MAX_PER_KIND:
            return
        value = m.group()
        # Base58 candidates are also long ordinary tokens; a real address mixes digits and
        # upper- and lower-case letters.
        if value[0] in "13" and not (any(c.isdigit() for c in value[1:])
                                     and any(c.isupper() for c in value)
                                     and any(c.islower() for c in value)):
            continue
        yield Signal("wallet", value, where)


def _confusables(norm: str, where: str) -> Iterator[Signal]:
    if norm.isascii():
        return
    low = norm.lower()
    consumed = 0
    found = 0
    for m in _CONFUSABLE.finditer(low):
        if m.start() < consumed:
            continue
        start = m.start()
        while start > max(0, m.start() - 64) and low[start - 1].isalnum():
            start -= 1
        end = m.end()
        while end < min(len(low), m.end() + 64) and low[end].isalnum():
            end += 1
        consumed = end
        word = low[start:end]
        # A word that mixes Latin letters with Cyrillic/Greek look-alikes is written to fool
        # the eye ("Ρаypal"); a word wholly in Cyrillic or Greek is just another language.
        if any("a" <= c <= "z" for c in word):
            yield Signal("confusable", norm[start:end], where)
            found += 1
            if found >= MAX_PER_KIND:
                return


def find_signals(text: str, *, where: str, allowed_domains: Collection[str] = (),
                 sender_brand: str = "Microsoft", skip: Collection[str] = ()) -> tuple[Signal, ...]:
    """Every signal in ``text`` (normalised here; normalising twice is harmless).

    ``allowed_domains``: link hosts (and their subdomains) that belong to the template.
    ``sender_brand``: the sender's own brand is not "another brand". ``skip``: signal kinds
    the caller expects in this text (a money slot holds money).
    """
    return find_signals_normalised(normalise(text), where=where, allowed_domains=allowed_domains,
                                   sender_brand=sender_brand, skip=skip)


def find_signals_normalised(norm: str, *, where: str, allowed_domains: Collection[str] = (),
                            sender_brand: str = "Microsoft",
                            skip: Collection[str] = ()) -> tuple[Signal, ...]:
    if not norm:
        return ()
    allowed = allowed_domains  # the catalog stores them lower-case
    ckey = conf_key(norm)
    dkey = digit_key(ckey)
    wkey = word_key(ckey)
    found: list[Signal] = []
    if "phone" not in skip:
        found.extend(_phones(norm, dkey, where))
    if "money" not in skip:
        found.extend(_regex_signals(_MONEY, "money", norm, dkey, where))
    if "brand" not in skip:
        found.extend(_regex_signals(_brand_pattern(sender_brand), "brand", norm, wkey, where))
    if "urgency" not in skip:
        found.extend(_regex_signals(_urgency_pattern(), "urgency", norm, wkey, where))
    if "wallet" not in skip:
        found.extend(_wallets(norm, where))
    if "link" not in skip:
        found.extend(_links(norm, match_key(norm), where, allowed))
    if "confusable" not in skip:
        found.extend(_confusables(norm, where))
    seen: set[tuple[str, str]] = set()
    out: list[Signal] = []
    for s in found:
        if (s.kind, s.value) not in seen:
            seen.add((s.kind, s.value))
            out.append(s)
    return tuple(out)
