"""Slot types: what may fill a gap in a template, each with its own validation.

A slot value is checked twice. Its *type* says what shape it must have (an organisation name is
short, one line, letters and a little punctuation; a code is digits). Its *signals* (see
``signals.py``) say whether it carries a scam's marks; a value can fit its type and still be
hostile. ``check_slot`` does both and returns a ``model.SlotValue``.

Values are normalised text (``normalise.normalise``). No regex here runs on unbounded input:
every check first looks at the length, and the patterns are flat character classes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import field

from mailaudit.model import Signal, SlotValue
from mailaudit.records import record
from mailaudit.templates.signals import domain_allowed, find_signals_normalised

SlotParams = Mapping[str, object]
Validator = Callable[[str, SlotParams], list[str]]


@record
class SlotType:
    name: str
    validate: Validator
    params: frozenset[str]  # parameters this type accepts besides the common ones
    expected_signals: frozenset[str] = field(default_factory=frozenset)  # kinds the type holds
    default_max_len: int = 256
    description: str = ""


def _count_sentences(value: str) -> int:
    """Sentence ends followed by a capitalised word. A period after a short capitalised
    word is an abbreviation, not an end: "St. Mary's", "Dr. Raman", "Co. KG", "J. Smith"."""
    ends = 0
    for i, ch in enumerate(value[:-1]):
        if ch not in ".!?" or value[i + 1] != " " or i + 2 >= len(value):
            continue
        if not value[i + 2].isupper():
            continue
        if ch == ".":
            start = i
            while start > 0 and value[start - 1].isalpha():
                start -= 1
            word = value[start:i]
            if len(word) <= 3 and word[:1].isupper():
                continue
        ends += 1
    return ends + 1


def _char_problems(value: str, extra_ok: str, what: str) -> list[str]:
    bad: list[str] = []
    for ch in value:
        if ch.isalnum() or ch == " " or ch in extra_ok:
            continue
        cat = unicodedata.category(ch)
        if cat.startswith(("L", "M", "N")):
            continue
        if ch not in bad:
            bad.append(ch)
        if len(bad) >= 5:
            break
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return [f"{what} holds characters a name does not need: {shown}"]
    return []


_NAME_PUNCT = "&.,'’-–—()/+!:#_"  # en and em dashes are common in real team and org names


def _soft_limit(value: str, params: SlotParams, default: int, what: str) -> list[str]:
    soft = int(str(params.get("suspicious_len", default)))
    if len(value) > soft:
        return [f"{len(value)} characters; a genuine {what} is rarely longer than {soft}"]
    return []


def _org_name(value: str, params: SlotParams) -> list[str]:
    # Entra allows 256 characters in a tenant display name, but the lures fill it with 60+
    # characters so the fixed subject text scrolls out of view (Abnormal, 2026-01): a real
    # organisation name is short and one sentence at most.
    problems = _soft_limit(value, params, 64, "organisation name")
    if _count_sentences(value) > 1:
        problems.append("more than one sentence")
    problems += _char_problems(value, _NAME_PUNCT, "name")
    return problems


def _team_name(value: str, params: SlotParams) -> list[str]:
    problems = _soft_limit(value, params, 80, "team name")
    if _count_sentences(value) > 1:
        problems.append("more than one sentence")
    problems += _char_problems(value, _NAME_PUNCT + "[]|", "team name")
    return problems


def _person_name(value: str, params: SlotParams) -> list[str]:
    problems = _soft_limit(value, params, 64, "person's name")
    digits = sum(c.isdigit() for c in value)
    if digits > 2:
        problems.append(f"{digits} digits in a person's name")
    problems += _char_problems(value, ".,'’-()", "person's name")
    return problems


def _short_text(value: str, params: SlotParams) -> list[str]:
    problems = _soft_limit(value, params, 80, "label")
    if _count_sentences(value) > 2:
        problems.append("reads as prose, not a label")
    return problems


def _free_text(value: str, params: SlotParams) -> list[str]:
    return []


def _product_name(value: str, params: SlotParams) -> list[str]:
    problems = _soft_limit(value, params, 80, "product name")
    problems += _char_problems(value, "()+-&.,'’:/", "product name")
    return problems


_EMAIL_LOCAL_OK = frozenset("!#$%&'*+-/=?^_`{|}~.")


def _email(value: str, params: SlotParams) -> list[str]:
    if len(value) > 254:
        return [f"{len(value)} characters; an address has at most 254 (RFC 5321 §4.5.3.1)"]
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        return ["not an email address"]
    if " " in value:
        return ["an email address holds no spaces"]
    if not all(c.isalnum() or c in _EMAIL_LOCAL_OK for c in local):
        return ["odd characters in the address's local part"]
    if "." not in domain or not all(c.isalnum() or c in ".-" for c in domain):
        return ["the address's domain is not a domain name"]
    return []


def _code(value: str, params: SlotParams) -> list[str]:
    lo, hi = _digits_range(params)
    if not value.isascii() or not value.isdigit():
        return ["a code is digits only"]
    if not lo <= len(value) <= hi:
        return [f"{len(value)} digits; this code has {lo}-{hi}"]
    return []


def _digits_range(params: SlotParams) -> tuple[int, int]:
    raw = params.get("digits", [4, 10])
    if isinstance(raw, int):
        return raw, raw
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return int(raw[0]), int(raw[1])
    return 4, 10


def _url(value: str, params: SlotParams) -> list[str]:
    if len(value) > 2048:
        return [f"{len(value)} characters; too long for a link in a notification"]
    if not value.lower().startswith("https://"):
        return ["not an https link"]
    rest = value[8:]
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i >= 0:
            end = min(end, i)
    authority = rest[:end]
    if "@" in authority:
        return ["link carries a user name before the host (a classic disguise)"]
    host = authority.rpartition(":")[0] if authority.count(":") == 1 else authority
    host = host.lower()
    allowed = [str(d) for d in _as_list(params.get("allowed_domains"))]
    if not host or not all(c.isalnum() or c in ".-" for c in host):
        return ["link has no usable host name"]
    if allowed and not domain_allowed(host, allowed):
        return [f"link to {host}, not one of {', '.join(allowed)}"]
    return []


def _as_list(raw: object) -> list[object]:
    if isinstance(raw, list | tuple):
        return list(raw)
    return []


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _date(value: str, params: SlotParams) -> list[str]:
    if len(value) > 48:
        return [f"{len(value)} characters; too long for a date"]
    if not any(c.isdigit() for c in value):
        return ["a date holds digits"]
    if not all(c.isalnum() or c in " ,:/.-+()" for c in value):
        return ["odd characters for a date"]
    words = [w for w in re.split(r"[^a-zA-Z]", value.lower()) if len(w) > 2]
    odd = [w for w in words if not w.startswith(_MONTHS) and w not in _DATE_WORDS]
    if odd:
        return [f"words that are not part of a date: {', '.join(odd[:3])}"]
    return []


_DATE_WORDS = frozenset(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "utc", "gmt", "pst", "pdt", "est", "edt", "cst", "cdt", "mst", "mdt", "cet", "cest", "bst"]
)

_CURRENCY_PREFIX = ("$", "€", "£", "¥", "usd", "eur", "gbp", "cad", "aud", "us$")


def _amount(value: str, params: SlotParams) -> list[str]:
    if len(value) > 32:
        return [f"{len(value)} characters; too long for an amount"]
    v = value.lower().strip()
    for p in _CURRENCY_PREFIX:
        if v.startswith(p):
            v = v[len(p):].strip()
            break
    for p in _CURRENCY_PREFIX:
        if v.endswith(p):
            v = v[: -len(p)].strip()
            break
    if not v or not v[0].isdigit() or not all(c.isdigit() or c in ",. " for c in v):
        return ["not an amount of money"]
    return []


def _guid(value: str, params: SlotParams) -> list[str]:
    parts = value.split("-")
    if [len(p) for p in parts] != [8, 4, 4, 4, 12] or not all(
            c in "0123456789abcdefABCDEF" for p in parts for c in p):
        return ["not a GUID"]
    return []


def _domain(value: str, params: SlotParams) -> list[str]:
    if len(value) > 253 or "." not in value:
        return ["not a domain name"]
    if not all(c.isalnum() or c in ".-" for c in value):
        return ["not a domain name"]
    return []


_COMMON = frozenset({"type", "user_controlled", "max_len", "suspicious_len", "note", "signals"})
SIGNAL_KINDS = ("phone", "money", "brand", "urgency", "wallet", "link", "email", "confusable")

SLOT_TYPES: dict[str, SlotType] = {t.name: t for t in (
    SlotType("org_name", _org_name, frozenset(), description="organisation / tenant name"),
    SlotType("team_name", _team_name, frozenset(), description="Teams team or group name"),
    SlotType("person_name", _person_name, frozenset(), description="a person's display name"),
    SlotType("email", _email, frozenset(), frozenset({"link", "email", "brand"}), 254,
             "an email address"),
    SlotType("code", _code, frozenset({"digits"}), frozenset(), 16, "numeric one-time code"),
    SlotType("url", _url, frozenset({"allowed_domains"}), frozenset({"link"}), 2048,
             "https link to an allowed domain"),
    SlotType("date", _date, frozenset(), frozenset({"phone", "money"}), 48, "date and time"),
    SlotType("amount", _amount, frozenset(), frozenset({"money"}), 32, "money amount"),
    SlotType("product_name", _product_name, frozenset(), frozenset({"brand"}), 128,
             "a product or plan name chosen by the platform"),
    SlotType("short_text", _short_text, frozenset(), default_max_len=512,
             description="a short customer-chosen label (rule, app or package name)"),
    SlotType("free_text", _free_text, frozenset(), default_max_len=10_000,
             description="prose the platform lets a customer write (still scanned for signals)"),
    SlotType("guid", _guid, frozenset(), frozenset({"phone"}), 36, "a GUID"),
    SlotType("domain", _domain, frozenset(), frozenset({"link"}), 253, "a domain name"),
)}


def allowed_params(type_name: str) -> frozenset[str]:
    return _COMMON | SLOT_TYPES[type_name].params


def check_slot(name: str, type_name: str, value: str, params: SlotParams, *,
               user_controlled: bool, link_domains: Collection[str] = (),
               sender_brand: str = "Microsoft") -> SlotValue:
    """Validate one slot value (already normalised) and scan it for signals.

    Signals are looked for in slots a customer controls; a slot the platform fills itself
    (a code, the recipient's address) is held to its type, which is strict enough. A slot's
    ``signals`` parameter names the kinds to look for instead (for a catch-all slot over
    platform text whose wording is unknown, only the unmistakable ones: phone, wallet).
    """
    stype = SLOT_TYPES[type_name]
    problems: list[str] = []
    if not value:
        problems.append("empty")
    else:
        hard = int(str(params.get("max_len", stype.default_max_len)))
        if len(value) > hard:
            problems.append(f"{len(value)} characters; the platform allows at most {hard}")
            check_value = value[:hard * 2]  # keep validating, on a bounded prefix
        else:
            check_value = value
        problems += stype.validate(check_value, params)
    signals: tuple[Signal, ...] = ()
    kinds = _as_list(params.get("signals")) if "signals" in params else (
        list(SIGNAL_KINDS) if user_controlled else [])
    if kinds and value:
        allowed = list(link_domains) + [str(d) for d in _as_list(params.get("allowed_domains"))]
        skip = set(stype.expected_signals) | (set(SIGNAL_KINDS) - {str(k) for k in kinds})
        signals = find_signals_normalised(value, where=f"slot:{name}", allowed_domains=allowed,
                                          sender_brand=sender_brand, skip=skip)
    return SlotValue(name=name, type=type_name, value=value, valid=not problems,
                     problems=tuple(problems), signals=signals)
