"""Output formats. Each writer takes results as they come and leaves a complete, valid file
even when the run is interrupted (``close`` is always called)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from enum import StrEnum
from typing import IO

from mailaudit.model import AuditResult, Verdict
from mailaudit.report.schema import CSV_COLUMNS, to_csv_row, to_json_line, to_record
from mailaudit.report.text import csv_safe


class OutputFormat(StrEnum):
    HUMAN = "human"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


class Writer:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.verdicts: Counter[Verdict] = Counter()

    def write(self, result: AuditResult) -> None:
        self.verdicts[result.verdict] += 1
        self._write(result)

    def write_group(self, results: list[AuditResult]) -> None:
        """A message and its attachments, written together and flushed (resume relies on it)."""
        for r in results:
            self.write(r)
        self.stream.flush()

    def _write(self, result: AuditResult) -> None:
        raise NotImplementedError

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        self.stream.flush()


class JsonlWriter(Writer):
    def _write(self, result: AuditResult) -> None:
        self.stream.write(to_json_line(result) + "\n")

    def write_group(self, results: list[AuditResult]) -> None:
        # One write per group: an interrupted run leaves at most one cut line (see resume.py).
        for r in results:
            self.verdicts[r.verdict] += 1
        self.stream.write("".join(to_json_line(r) + "\n" for r in results))
        self.stream.flush()


class JsonWriter(Writer):
    """A JSON array, streamed: opened on the first record, closed on close()."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.count = 0
        stream.write("[")

    def _write(self, result: AuditResult) -> None:
        # One write per record: Ctrl-C lands between Python statements, never inside a C-level
        # write, so the array can always be closed cleanly.
        text = json.dumps(to_record(result), ensure_ascii=False, indent=2)
        self.stream.write((",\n" if self.count else "\n") + text)
        self.count += 1

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
        super().close()


class CsvWriter(Writer):
    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.csv = csv.DictWriter(stream, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
        self.csv.writeheader()

    def _write(self, result: AuditResult) -> None:
        self.csv.writerow({k: csv_safe(v) for k, v in to_csv_row(result).items()})


class HumanWriter(Writer):
    """Details for each message when there are few (or ``detail``), else one line each and a
    summary table at the end."""

    def __init__(self, stream: IO[str], *, detail: bool, color: bool | None = None,
                 summary: bool = True) -> None:
        super().__init__(stream)
        from mailaudit.report.human import make_console

        self.console = make_console(stream, color=color)
        self.detail = detail
        self.summary = summary

    def _write(self, result: AuditResult) -> None:
        from mailaudit.report.human import render_detail, render_line

        if self.detail:
            render_detail(self.console, result)
        else:
            render_line(self.console, result)

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None:
        from mailaudit.report.human import render_summary

        if self.summary and sum(self.verdicts.values()) > 1:
            render_summary(self.console, self.verdicts, seconds=seconds, flagged=flagged)
        super().close()


def make_writer(fmt: OutputFormat, stream: IO[str], *, detail: bool = True,
                color: bool | None = None) -> Writer:
    if fmt is OutputFormat.JSONL:
        return JsonlWriter(stream)
    if fmt is OutputFormat.JSON:
        return JsonWriter(stream)
    if fmt is OutputFormat.CSV:
        return CsvWriter(stream)
    return HumanWriter(stream, detail=detail, color=color)
