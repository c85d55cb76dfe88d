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


@functools.cache
def psl() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


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
