"""The Public Suffix List, built once per process.

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
