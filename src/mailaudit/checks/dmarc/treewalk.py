"""The DMARCbis (RFC 9989 §4.10) DNS tree walk for the organisational domain.

The two usually agree. They differ where the PSL's private section and published DMARC records
disagree (a hosting suffix with its own DMARC record, a public-suffix operator publishing
``psd=y``); the DMARC check shows both then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from mailaudit.parse.domains import normalise_domain


class _Record(Protocol):
    """What the walk reads of a DMARC record (RFC 9989 §4.10: the psd tag)."""

    @property
    def psd(self) -> str: ...


R = TypeVar("R", bound=_Record)

# DMARCbis §4.10: a walk starting deeper than this jumps straight to 7 labels, so one walk is
# at most 8 queries whatever the attacker puts in the From domain.
_MAX_WALK_LABELS = 7

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


def treewalk(domain: str, fetch: Callable[[str], R | None]) -> tuple[str | None, R | None]:
    """The walk over any record source (the DMARC check shares its lookups through ``fetch``)."""
    name = normalise_domain(domain)
    if name is None:
        return None, None
    found: list[tuple[str, R]] = []
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
