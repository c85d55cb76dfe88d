"""Organisational domains: RFC 7489 §3.2 (Public Suffix List) and the DMARCbis DNS tree walk.

The two usually agree. They differ where the PSL's private section and published DMARC records
disagree (a hosting suffix with its own DMARC record, a public-suffix operator publishing
``psd=y``); the DMARC check shows both then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailaudit.dns.base import Resolver
from mailaudit.psl import psl

if TYPE_CHECKING:
    from mailaudit.checks.dmarc import DmarcRecord

# DMARCbis §4.10: a walk starting deeper than this jumps straight to 7 labels, so one walk is
# at most 8 queries whatever the attacker puts in the From domain.
_MAX_WALK_LABELS = 7

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


def org_domain_treewalk(domain: str, resolver: Resolver
                        ) -> tuple[str | None, DmarcRecord | None]:
    """DMARCbis §4.10.2: the organisational domain found by querying ``_dmarc.<name>`` from the
    domain upwards, and the DMARC record that decided it (None when no record was found, and
    the domain is then its own organisational domain).

    A temporary failure or a not-captured answer is raised (``TempFail``, ``NotCaptured``):
    the walk cannot conclude without it.
    """
    from mailaudit.checks.dmarc import fetch_dmarc_record

    return treewalk(domain, lambda name: fetch_dmarc_record(name, resolver)[0])


def walk_names(name: str) -> list[str]:
    """The names the DMARCbis tree walk queries, in order (§4.10, steps 1-8)."""
    labels = name.split(".")
    names = [name]
    if len(labels) > _MAX_WALK_LABELS + 1:
        labels = labels[-_MAX_WALK_LABELS:]
        names.append(".".join(labels))
    else:
        labels = labels[1:]
        if labels:
            names.append(".".join(labels))
    while len(labels) > 1:
        labels = labels[1:]
        names.append(".".join(labels))
    return names


def treewalk(domain: str, fetch: Callable[[str], DmarcRecord | None]
             ) -> tuple[str | None, DmarcRecord | None]:
    """The walk over any record source (the DMARC check shares its lookups through ``fetch``)."""
    name = normalise_domain(domain)
    if name is None:
        return None, None
    found: list[tuple[str, DmarcRecord]] = []
    for target in walk_names(name):
        record = fetch(target)
        if record is None:
            continue
        if record.psd == "n":
            return target, record
        if record.psd == "y" and target != name:
            # The organisational domain is the one just below the public suffix domain.
            below = name.split(".")[-(target.count(".") + 2):]
            return ".".join(below), record
        found.append((target, record))
    if found:
        target, record = min(found, key=lambda item: item[0].count("."))
        return target, record
    return name, None
