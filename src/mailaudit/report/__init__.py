"""Output formats. Each writer takes results as they come and leaves a complete, valid file
even when the run is interrupted (``close`` is always called).

Work is split in two so that a process pool scales: ``prepare`` turns an ``AuditResult`` into
what the format writes (a JSON line, a CSV row) and runs in the worker; ``emit`` only writes it,
in the parent. Sending a finished string between processes costs a fraction of pickling the
nested result objects, and the parent stays free to feed the workers.
"""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import IO, Any

from mailaudit.model import AuditResult, Verdict
from mailaudit.report.schema import CSV_COLUMNS, dumps, to_csv_row, to_json_line, to_record
from mailaudit.report.text import csv_safe


class OutputFormat(StrEnum):
    HUMAN = "human"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


# (verdict, payload): the verdict for counting and exit codes, the payload for the writer.
Prepared = tuple[Verdict, Any]


def _json_pretty(result: AuditResult) -> str:
    return dumps(to_record(result), indent=2)


def _csv_row(result: AuditResult) -> dict[str, str]:
    return {k: csv_safe(v) for k, v in to_csv_row(result).items()}


def _identity(result: AuditResult) -> AuditResult:
    return result


PREPARERS: dict[OutputFormat, Callable[[AuditResult], Any]] = {
    OutputFormat.JSONL: to_json_line,
    OutputFormat.JSON: _json_pretty,
    OutputFormat.CSV: _csv_row,
    OutputFormat.HUMAN: _identity,
}


def prepare(fmt: OutputFormat, results: Sequence[AuditResult]) -> list[Prepared]:
    make = PREPARERS[fmt]
    return [(r.verdict, make(r)) for r in results]


MAX_ERRORS_KEPT = 10


def error_message(payload: Any) -> str:
    """The error sentence of a prepared error record, whatever the format prepared."""
    if isinstance(payload, AuditResult):
        return payload.error.message if payload.error else payload.reason
    if isinstance(payload, dict):
        return str(payload.get("error", ""))
    try:
        import json

        record = json.loads(payload)
        return str((record.get("error") or {}).get("message", "")) or str(record.get("reason"))
    except (ValueError, TypeError, AttributeError):
        return ""


# A report written to a regular file is flushed at most this often (and when it is closed);
# to a terminal or a pipe, after every message, for whoever reads it as it comes.
FILE_FLUSH_SECONDS = 0.5
# The buffer of a report file (-o, standard output redirected to a file, --resume): it goes
# to the OS in pieces this large instead of every 8 KB. Fewer system calls, each of which
# costs more than itself (it leaves the caches colder): 2-3 % of a run, measured.
REPORT_FILE_BUFFER = 1 << 20


def is_regular_file(stream: IO[str]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # io.StringIO and the like
        return False


class Writer:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.verdicts: Counter[Verdict] = Counter()
        # The first error sentences, for the run's closing words on standard error.
        self.errors: list[str] = []
        # A flush per message is most of what writing a record costs (about 9 us of 14 us,
        # measured on 20,000 JSONL records); to a file nobody needs it: a kill can cut the
        # file anywhere either way, and --resume re-audits from the last whole group.
        self._flush_every = FILE_FLUSH_SECONDS if is_regular_file(stream) else 0.0
        self._flushed = time.monotonic()

    def write_group(self, group: Sequence[Prepared]) -> None:
        """A message and its attachments, written together (resume relies on it)."""
        for verdict, payload in group:
            self.verdicts[verdict] += 1
            if verdict is Verdict.ERROR and len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(error_message(payload))
        self._emit(group)
        if self._flush_every:
            now = time.monotonic()
            if now - self._flushed < self._flush_every:
                return
            self._flushed = now
        self.stream.flush()

    def _emit(self, group: Sequence[Prepared]) -> None:
        raise NotImplementedError

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        self.stream.flush()


class JsonlWriter(Writer):
    def _emit(self, group: Sequence[Prepared]) -> None:
        # One write per group: an interrupted run leaves at most one cut line (see resume.py).
        self.stream.write("".join(line + "\n" for _, line in group))


class JsonWriter(Writer):
    """A JSON array, streamed: opened at once, closed on close()."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.count = 0
        stream.write("[")

    def _emit(self, group: Sequence[Prepared]) -> None:
        # One write per group: Ctrl-C lands between Python statements, never inside a C-level
        # write, so the array can always be closed cleanly.
        parts = []
        for _, text in group:
            parts.append((",\n" if self.count else "\n") + text)
            self.count += 1
        self.stream.write("".join(parts))

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
        super().close()


class CsvWriter(Writer):
    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        import csv  # only for this format

        self.csv = csv.DictWriter(stream, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
        self.csv.writeheader()

    def _emit(self, group: Sequence[Prepared]) -> None:
        self.csv.writerows(row for _, row in group)


class HumanWriter(Writer):
    """Details for each message when there are few (or ``detail``), else one line each and a
    summary table at the end. Plain lines unless colour is asked for or the output is a
    terminal; rich draws only the colour (``report.layout``)."""

    def __init__(self, stream: IO[str] | None, *, detail: bool, color: bool | None = None,
                 summary: bool = True) -> None:
        import sys

        from mailaudit.report.layout import Out, PlainOut

        super().__init__(stream or sys.stdout)
        self.out: Out
        if color if color is not None else _colour_terminal(stream or sys.stdout):
            from mailaudit.report.console import make_console
            from mailaudit.report.layout import RichOut

            # stream None: follow sys.stdout as it is at print time.
            self.out = RichOut(make_console(stream, color=color))
        else:
            self.out = PlainOut(stream)
        self.detail = detail
        self.summary = summary
        self.once: Counter[str] = Counter()  # findings said once, in the summary

    def _emit(self, group: Sequence[Prepared]) -> None:
        from mailaudit.report.human import ONCE_PER_BATCH, render_detail, render_line

        for _, result in group:
            codes = {f.code for f in result.findings} & ONCE_PER_BATCH
            # The first message shows it where it applies; later ones leave it to the summary.
            quiet = frozenset(c for c in codes if self.once[c])
            self.once.update(codes)
            if self.detail:
                render_detail(self.out, result, quiet=quiet)
            else:
                render_line(self.out, result)

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        from mailaudit.report.human import render_summary

        if self.summary and sum(self.verdicts.values()) > 1:
            notes = []
            if self.once["ms-headers-untrusted"]:
                notes.append(f"{self.once['ms-headers-untrusted']} messages carry "
                             "X-Forefront-Antispam-Report but were not received by Exchange "
                             "Online; those headers were ignored (ms-headers-untrusted)")
            render_summary(self.out, self.verdicts, seconds=seconds, flagged=flagged,
                           notes=notes)
        super().close()


def _colour_terminal(stream: IO[str]) -> bool:
    """Whether rich would draw colour here: a terminal, or ``FORCE_COLOR`` set."""
    import os

    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def make_writer(fmt: OutputFormat, stream: IO[str] | None, *, detail: bool = True,
                color: bool | None = None) -> Writer:
    """``stream`` None means standard output."""
    if fmt is OutputFormat.HUMAN:
        return HumanWriter(stream, detail=detail, color=color)
    import sys

    out = stream or sys.stdout
    if fmt is OutputFormat.JSONL:
        return JsonlWriter(out)
    if fmt is OutputFormat.JSON:
        return JsonWriter(out)
    return CsvWriter(out)
