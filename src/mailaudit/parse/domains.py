"""Domain names and organisational domains (RFC 7489 §3.2): the Public Suffix List, built once per
process, and the one organisational-domain function.

Parsing the bundled list costs about 0.15 s; organisational domains (RFC 7489 §3.2), claimed
brands and hostname signals all read the same list, so they share one instance. The list bundled
with publicsuffixlist is used: offline and reproducible (no download).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList


_PSL_FORMAT = "mailaudit-psl-rules/1"


@functools.cache
def psl() -> PublicSuffixList:
    """The bundled list, as ``PublicSuffixList()`` reads it.

    Most of reading it is turning its IDN rules into A-labels (the idna codec, in Python); that
    is done once per list and release and kept in the cache (``mailaudit.cache``) as the
    expanded rule lines, which the library then reads as given (``accept_encoded_idn=False``):
    the same rules, a fraction of the start-up of a one-message audit.
    """
    import publicsuffixlist
    from publicsuffixlist import PublicSuffixList

    from mailaudit import cache

    try:
        with open(publicsuffixlist.PSLFILE, "rb") as fh:
            data = fh.read()
    except OSError:
        return PublicSuffixList()
    entry = cache.entry_path("psl", publicsuffixlist.__version__.encode(), data)
    rules = cache.lookup(entry, _PSL_FORMAT, _rule_lines)
    if rules is None:
        rules = expanded_rules(data)
        cache.store(entry, _PSL_FORMAT, rules)
    return PublicSuffixList(source=rules, accept_encoded_idn=False)


def _rule_lines(plain: object) -> list[str]:
    if not isinstance(plain, list) or not all(isinstance(r, str) for r in plain):
        raise TypeError("not a rule list")
    return plain


def expanded_rules(data: bytes) -> list[str]:
    """Every rule of the list and, for IDN rules, its A-label form: the rule set
    publicsuffixlist builds with ``accept_encoded_idn=True``, as lines it reads unchanged."""
    from publicsuffixlist import encode_idn

    rules: dict[str, None] = {}
    for raw in data.split(b"\n"):  # as the library reads its file: by line, UTF-8
        rule = raw.decode("utf-8", "surrogateescape").lower().split(" ")[0].rstrip()
        if not rule or rule.startswith("//"):
            continue
        rules[rule] = None
        encoded = encode_idn(rule.lstrip("!"))
        rules["!" + encoded if rule.startswith("!") else encoded] = None
    return list(rules)


def normalise_domain(domain: str) -> str | None:
    """Lower-case, no trailing dot; None for what cannot be a domain name."""
    name = domain.strip().rstrip(".").lower()
    if not name or len(name) > 253 or name.startswith("."):
        return None
    if any(not label or len(label) > 63 for label in name.split(".")):
        return None
    return name


def org_domain_psl(domain: str) -> str | None:
    """RFC 7489 §3.2: the public suffix plus one label; None when ``domain`` is itself a public
    suffix (or no domain at all)."""
    if len(domain) > 260:  # never a valid name (253 at most, plus dot and spaces)
        return None
    return _org_domain_of(domain)


def org_domain_or_self(domain: str) -> str:
    """``org_domain_psl``, or the name itself (lower-cased) where the list gives none: a public
    suffix, a single label, something that is not a domain name."""
    name = domain.strip().rstrip(".").lower()
    return (org_domain_psl(name) if name else None) or name


# A batch sees the same few hundred From and d= domains again and again, and the answer is a
# pure function of the bundled list. Keys are at most 260 characters and the cache is bounded,
# so hostile names cannot make it grow.
@functools.lru_cache(maxsize=8192)
def _org_domain_of(domain: str) -> str | None:
    name = normalise_domain(domain)
    if name is None:
        return None
    result = psl().privatesuffix(name)
    return str(result) if result else None
