"""The fast DKIM path against dkimpy on a generated corpus of signed (and then mangled) mail.

``generate_corpus`` signs messages with dkimpy using freshly generated keys (RSA-1024, RSA-2048,
RSA-512 and Ed25519), both canonicalisations, l=, over-signing, absent headers in h=, folded
and duplicate headers, 8-bit bodies, LF-only and CRLF line ends, then mangles some of them the
way mail gets mangled in transit (or by an attacker). The benchmark reuses it.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.dkimgen import (
    GenMessage,
    generate_corpus,
)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[GenMessage], dict[str, Any]]:
    return generate_corpus()


def _dkimpy_verdicts(raw: bytes, count: int, fetch: Any) -> list[bool]:
    import dkim

    try:
        d = dkim.DKIM(raw, minkey=1024)
    except Exception:
        return [False] * count
    verdicts = []
    for idx in range(count):
        try:
            verdicts.append(bool(d.verify(idx=idx, dnsfunc=fetch)))
        except Exception:
            verdicts.append(False)
    return verdicts


@pytest.mark.slow
def test_fast_path_matches_dkimpy_on_generated_corpus(
        corpus: tuple[list[GenMessage], dict[str, Any]]) -> None:
    from mailaudit.checks.dkim import fast
    from mailaudit.checks.dkim.check import KeyFetcher
    from mailaudit.dns.snapshot import SnapshotResolver

    messages, records = corpus
    resolver = SnapshotResolver(records)
    keys = fast.KeyCache()
    mismatches: list[str] = []
    passes = fails = signatures = 0
    for i, m in enumerate(messages):
        view = fast.split_message(m.raw)
        # Counted apart from the parser under test, so unparsable messages are compared too.
        count = sum(1 for line in m.raw.split(b"\n") if line.lower().startswith(b"dkim-signature:"))
        want = _dkimpy_verdicts(m.raw, count, KeyFetcher(resolver))
        fetch = KeyFetcher(resolver)
        for idx in range(count):
            signatures += 1
            got = fast.verify(view, idx, fetch, keys=keys).status == "pass"
            passes += got
            fails += not got
            if got != want[idx]:
                mismatches.append(f"message {i} sig {idx} ({m.note}): fast={got} dkimpy={want[idx]}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert signatures >= 2000
    # The corpus must exercise both outcomes in quantity, or the comparison proves little.
    assert passes > 500 and fails > 300, (passes, fails)
