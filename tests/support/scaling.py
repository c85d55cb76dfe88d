"""Linear-time checks that hold on a loaded machine and still fail on quadratic code.

An absolute wall-time bound fails when other processes take the CPU, and passes quadratic code
on a fast machine. Here the same work is timed at size n and at 4n in the same run, in CPU time
of this process (``time.process_time``: what other processes do is not counted), best of a few
runs; the ratio is what matters. Linear code gives about 4 (less, with fixed costs), quadratic
code 16 or more: the bound of 10 is generous for noise and still far below quadratic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

FACTOR = 4
MAX_RATIO = 10.0
MIN_SECONDS = 0.02  # below this a timing is mostly noise: the small run counts as this long


def cpu_seconds(work: Callable[[T], object], arg: T, *, repeat: int = 3) -> float:
    """The least CPU time (this process, all threads) of ``repeat`` runs of ``work(arg)``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work(arg)
        best = min(best, time.process_time() - started)
    return best


def growth(work: Callable[[T], object], make: Callable[[int], T], n: int, *,
           repeat: int = 3) -> tuple[float, float]:
    """CPU seconds of ``work`` on ``make(n)`` and on ``make(FACTOR * n)``."""
    small_input, big_input = make(n), make(FACTOR * n)
    return cpu_seconds(work, small_input, repeat=repeat), cpu_seconds(work, big_input,
                                                                      repeat=repeat)


def assert_linear(work: Callable[[T], object], make: Callable[[int], T], n: int, *,
                  repeat: int = 3, what: str = "") -> None:
    """``work`` on an input ``FACTOR`` times larger takes at most ``MAX_RATIO`` times longer.
    ``n`` must be large enough that linear work on ``make(n)`` takes ``MIN_SECONDS`` or more,
    else quadratic work could hide under the floor."""
    small, big = growth(work, make, n, repeat=repeat)
    ratio = big / max(small, MIN_SECONDS)
    assert ratio <= MAX_RATIO, (
        f"{what or getattr(work, '__name__', 'work')}: {FACTOR}x the input took {ratio:.1f}x "
        f"the CPU time ({small:.3f} s -> {big:.3f} s); linear is about {FACTOR}x")
