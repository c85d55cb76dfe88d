"""``--resume FILE``: continue a JSONL report after an interruption.

Every record carries its ``ref`` (path + locator), stable across runs, so the messages already
written can be skipped. A run killed mid-write can leave a cut last line: it is dropped (the
file is truncated to the last complete line) and that message is audited again, so no record is
lost and none is written twice. A message and its attachments are written with one write and
a flush (``JsonlWriter._emit``), so a group is either whole or cut inside its last line.
"""

from __future__ import annotations

import json
import os
from typing import IO

from mailaudit.errors import InputError
from mailaudit.model import MessageRef


def open_resume(path: str) -> tuple[set[str], IO[str]]:
    """Return the keys already written and the file opened for appending."""
    done: set[str] = set()
    if os.path.exists(path):
        try:
            with open(path, "rb+") as fh:
                data = fh.read()
                end = data.rfind(b"\n") + 1
                if end < len(data):
                    fh.truncate(end)  # drop a cut last line
                data = data[:end]
        except OSError as exc:
            raise InputError(f"{path}: cannot reopen the report to resume ({exc.strerror}).") from exc
        for lineno, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                ref = record["ref"]
                key = MessageRef(ref["path"], ref["locator"]).key
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path}:{lineno}: not a mailaudit JSONL record; "
                                 "--resume only continues a --format jsonl report.") from exc
            done.add(key)
    try:
        stream = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{path}: cannot append to the report ({exc.strerror}).") from exc
    return done, stream
