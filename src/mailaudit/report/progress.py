"""The batch progress line on standard error: count, elapsed time and ETA first.

One line, composed for the width it gets: what an analyst needs to decide whether to wait
(how many done of how many, how long so far, how long to go) is always shown; the rate, the bar
and the verdict counts fill what is left, and the verdict counts go first when the terminal is
narrow. When the run ends the line shows the final count, so it completes even when the
estimate of the total was off.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mailaudit.report.styles import verdict_style
from mailaudit.report.text import visible

if TYPE_CHECKING:
    # rich is imported only once a bar is drawn: machine formats never need it.
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.text import Text

_BAR_MIN = 10


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "-:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class ProgressLine:
    """A renderable: ``auditing ━━━━╸━━━ 120/1500 0:00:04 ETA 0:00:46 30/s authentic=100 ...``."""

    def __init__(self, total: int | None, *, clock: Any = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.clock = clock
        self.started = clock()
        self.finished: float | None = None

    def advance(self, verdicts: Iterable[str]) -> None:
        """One input item done (a message and its attachments: ``verdicts`` of each)."""
        self.done += 1
        self.counts.update(str(v) for v in verdicts)
        if self.total is not None and self.done > self.total:
            self.total = self.done  # the estimate was low: never show 31/27

    def finish(self) -> None:
        self.finished = self.clock()
        self.total = self.done

    def _parts(self) -> tuple[str, str, str, str]:
        now = self.finished if self.finished is not None else self.clock()
        elapsed = max(0.0, now - self.started)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        eta: float | None = None
        if self.total is not None and rate > 0:
            eta = (self.total - self.done) / rate
        return count, _clock(elapsed), "ETA " + _clock(eta), f"{rate:,.0f}/s"

    def render(self, width: int) -> Text:
        from rich.text import Text

        count, elapsed, eta, rate = self._parts()
        head = "auditing "
        essential = f" {count} {elapsed} {eta}"
        counts = Text()
        for verdict, n in sorted(self.counts.items()):
            counts.append(" ")
            counts.append(f"{visible(verdict, limit=40)}={n}", style=verdict_style(verdict))
        room = width - len(head) - len(essential)
        show_rate = room - len(rate) - 1 >= _BAR_MIN
        if show_rate:
            room -= len(rate) + 1
        show_counts = room - counts.cell_len >= _BAR_MIN
        if show_counts:
            room -= counts.cell_len
        line = Text(head, style="bold")
        if room >= 3:
            bar = min(room, 40)
            filled = bar if self.total in (None, 0) and self.finished else (
                0 if not self.total else int(bar * min(self.done, self.total) / self.total))
            line.append("━" * filled, style="green")
            line.append("━" * (bar - filled), style="grey37")
        line.append(essential)
        if show_rate:
            line.append(" " + rate, style="dim")
        if show_counts:
            line.append_text(counts)
        line.truncate(width)
        return line

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.render(options.max_width)


class Progress:
    """The progress line on standard error, or nothing when ``enabled`` is false.

    Drawn by hand with a carriage return rather than rich's live display: rich consoles write
    to the real standard output even while a live display redirects it, so report lines and
    the bar tore each other. Here the line is cleared before anything is written to a
    terminal standard output (``paused``) and drawn again after.
    """

    def __init__(self, total: int | None, *, enabled: bool, interval: float = 0.25) -> None:
        self.enabled = enabled
        self.line = ProgressLine(total)
        self.interval = interval
        self.console: Console | None = None
        self.drawn = False
        self.last = 0.0
        self.shared = False  # standard output is the same kind of thing: a terminal

    def __enter__(self) -> Progress:
        if self.enabled:
            import sys

            from rich.console import Console

            self.console = Console(stderr=True, markup=False, highlight=False, emoji=False)
            self.shared = sys.stdout.isatty()
            if self.console.is_terminal:
                self.console.file.write("\x1b[?25l")
            self._draw()
        return self

    def _draw(self) -> None:
        assert self.console is not None
        out = self.console.file
        out.write("\r\x1b[2K" if self.console.is_terminal else "")
        self.console.print(self.line.render(self.console.width - 1), end="", soft_wrap=True)
        if not self.console.is_terminal:
            out.write("\n")  # a log file gets one line per update, never carriage returns
        out.flush()
        self.drawn = True
        self.last = time.monotonic()

    def _clear(self) -> None:
        if self.console is not None and self.drawn and self.console.is_terminal:
            self.console.file.write("\r\x1b[2K")
            self.console.file.flush()
            self.drawn = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Around a write to standard output: the line is cleared first when both share a
        terminal, so the report never lands in the middle of the bar."""
        if self.shared:
            self._clear()
        yield

    def advance(self, group: Iterable[Any]) -> None:
        """``group``: the (verdict, payload) pairs of one input item."""
        if self.console is None:
            return
        self.line.advance(verdict for verdict, _ in group)
        if not self.drawn or time.monotonic() - self.last >= self.interval:
            self._draw()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.console is None:
            return
        self.line.finish()
        self._draw()
        if self.console.is_terminal:
            self.console.file.write("\n\x1b[?25h")
        self.console.file.flush()
