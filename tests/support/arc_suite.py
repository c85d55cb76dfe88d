"""The ValiMail ARC validation suite as cases, and a minimal parsed message for the ARC check."""

from __future__ import annotations

from typing import Any

from mailaudit.parse.message import Header, ParsedMessage
from support.paths import CORPORA

CORPORA = CORPORA


SUITE = CORPORA / "arc" / "arc-draft-validation-tests.yml"


def parsed(raw: bytes) -> ParsedMessage:
    """Headers enough for the ARC check (it reads names, values and raw bytes)."""
    headers: list[Header] = []
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            prev = headers[-1]
            headers[-1] = Header(prev.name, prev.lname, prev.value + " " + line.strip().decode(
                "utf-8", "replace"), prev.raw + b"\r\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            text = name.decode("utf-8", "replace")
            headers.append(Header(text, text.lower(), value.strip().decode("utf-8", "replace"),
                                  line))
    return ParsedMessage(raw=raw, headers=tuple(headers))


def _cases() -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    if not SUITE.is_file():
        return []
    import yaml

    out = []
    for doc in yaml.safe_load_all(SUITE.read_text(encoding="utf-8")):
        records = doc.get("txt-records") or {}
        for name, test in doc["tests"].items():
            out.append((f"{doc['description']}-{name}", test, records))
    return out


CASES = _cases()
