"""Run-wide memos for results that depend on DNS answers alone (SPF evaluations, DMARC policy
discovery): with answers that cannot change during a run (a snapshot, offline), a mailbox's many
messages from one sender share one result per resolver instead of recomputing it per message.
Live answers can change, so live DNS gets no memo. Each check decides what it keeps; a reuse is
charged to the message's lookup budget with ``BudgetResolver.reuse``, and refused where a fresh
evaluation would have been.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from mailaudit.dns.base import Resolver
from mailaudit.dns.budget import BudgetResolver
from mailaudit.dns.offline import OfflineResolver
from mailaudit.dns.snapshot import SnapshotResolver

K = TypeVar("K")
V = TypeVar("V")


def run_memo(memos: WeakKeyDictionary[Any, OrderedDict[K, V]], resolver: Resolver
             ) -> tuple[BudgetResolver | None, OrderedDict[K, V] | None]:
    """The message's lookup budget (None when ``resolver`` has none) and the memo ``memos``
    keeps for the fixed answers under it, or None when they may change (live DNS) or the
    resolver cannot be weakly referenced."""
    budget = resolver if isinstance(resolver, BudgetResolver) else None
    source = budget.inner if budget is not None else resolver
    if not isinstance(source, (SnapshotResolver, OfflineResolver)):
        return budget, None
    try:
        memo = memos.get(source)
        if memo is None:
            memo = memos[source] = OrderedDict()
    except TypeError:  # a resolver that cannot be weakly referenced gets no memo
        return budget, None
    return budget, memo


def remember(memo: OrderedDict[K, V], key: K, value: V, size: int) -> None:
    """Keep ``value`` as the newest entry, the oldest one going past ``size`` entries."""
    memo[key] = value
    if len(memo) > size:
        memo.popitem(last=False)
