"""``--resume FILE``: continue a JSONL report after an interruption.

Every record carries its ``ref`` (path + locator), stable across runs, so the messages already
written can be skipped. A message and its attachments (a group) are written with one write and
a flush (``JsonlWriter``), but a kill can still cut that write anywhere, also exactly at a line
end inside the group. So the last group in the file is always dropped (the file is truncated to
where it began) and audited again, whole: no record is lost and none is written twice.

Keys: a Maildir message is known by its folder and Maildir key alone, not by ``cur/`` or
``new/`` or its flags, which a mail client changes when the message is read (maildir(5)).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

from mailaudit.errors import InputError
from mailaudit.model import MessageRef

_MAILDIR_STEP = "maildir:key="
_ATTACHMENT_STEP = "attachment="


def resume_key(ref: MessageRef) -> str:
    """One string that identifies a message across runs."""
    path = ref.path
    if ref.locator.startswith(_MAILDIR_STEP):
        # <folder>/cur/<key>:2,<flags> and <folder>/new/<key> are the same message.
        path = os.path.dirname(os.path.dirname(path))
    return f"{path}\x00{ref.locator}"


def starts_group(locator: str) -> bool:
    """A record that begins a group: not an attached message audited with its carrier."""
    return not locator.rpartition(";")[2].startswith(_ATTACHMENT_STEP)


@dataclass
class Resumed:
    """What an earlier run already wrote: keys to skip, the verdicts of those records (the
    exit code covers the whole report) and the report opened for appending."""

    stream: IO[str]
    done: set[str] = field(default_factory=set)
    verdicts: Counter[str] = field(default_factory=Counter)
    redone: int = 0  # records of the last group, dropped to be audited again


def open_resume(path: str, *, buffering: int = -1) -> Resumed:
    """Read what the report at ``path`` already holds and open it to append the rest
    (``buffering``: as ``open`` takes it; the command line gives its report files' size)."""
    done: set[str] = set()
    verdicts: Counter[str] = Counter()
    redone = 0
    if os.path.exists(path):
        try:
            with open(path, "rb+") as fh:
                records = _records(path, fh.read())
                keep, kept = len(records), 0
                starts = [i for i, (_, ref, _) in enumerate(records) if starts_group(ref.locator)]
                if starts:
                    kept = starts[-1]
                    keep = records[kept][0]
                size = fh.seek(0, os.SEEK_END)
                if starts or size:
                    fh.truncate(keep if starts else 0)
                redone = len(records) - kept
        except OSError as exc:
            raise InputError(f"{path}: cannot reopen the report to resume ({exc.strerror}).") from exc
        for _, ref, verdict in records[:kept]:
            done.add(resume_key(ref))
            verdicts[verdict] += 1
    try:
        stream = open(path, "a", encoding="utf-8", newline="",  # noqa: SIM115
                      buffering=buffering)
    except OSError as exc:
        raise InputError(f"{path}: cannot append to the report ({exc.strerror}).") from exc
    return Resumed(stream=stream, done=done, verdicts=verdicts, redone=redone)


def _records(path: str, data: bytes) -> list[tuple[int, MessageRef, str]]:
    """(offset, ref, verdict) of every complete line; a cut last line is left out."""
    out: list[tuple[int, MessageRef, str]] = []
    end = data.rfind(b"\n") + 1
    pos = lineno = 0
    while pos < end:
        nl = data.index(b"\n", pos)
        lineno += 1
        line = data[pos:nl]
        if line.strip():
            ref, verdict = _record(path, lineno, line)
            out.append((pos, ref, verdict))
        pos = nl + 1
    return out


def _record(path: str, lineno: int, line: bytes) -> tuple[MessageRef, str]:
    try:
        record = json.loads(line)
        ref = record["ref"]
        verdict = record["verdict"]
        if not isinstance(ref["path"], str) or not isinstance(ref["locator"], str) \
                or not isinstance(verdict, str):
            raise TypeError
        return MessageRef(ref["path"], ref["locator"]), verdict
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}:{lineno}: not a mailaudit JSONL record; "
                         "--resume only continues a --format jsonl report.") from exc
