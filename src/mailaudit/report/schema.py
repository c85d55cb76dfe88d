"""The machine-readable record, shared by json, jsonl and csv (schema ``mailaudit/1``).

The schema is documented in docs/schema.md; ``RECORD_KEYS`` is the contract a test checks every
format against. Add keys only at the end of a version; never rename or remove within one.
"""

from __future__ import annotations

import json
from typing import Any

from mailaudit.model import SCHEMA_VERSION, Address, AuditResult, MessageRef

RECORD_KEYS = (
    "schema", "ref", "parent", "message_id", "date", "from", "to", "subject", "verdict",
    "reason", "auth", "template", "findings", "error",
)
AUTH_KEYS = ("recomputed", "recorded", "arc", "disagreements", "envelope", "recomputed_ran",
             "evaluated_at", "clock")

CSV_COLUMNS = (
    "path", "locator", "parent_path", "parent_locator", "verdict", "reason", "from", "subject",
    "message_id", "date", "dkim", "spf", "dmarc", "arc", "template_id", "slots", "signals",
    "findings", "error",
)


def ref_json(ref: MessageRef | None) -> dict[str, str] | None:
    if ref is None:
        return None
    return {"path": ref.path, "locator": ref.locator}


def _addresses(addrs: tuple[Address, ...]) -> list[dict[str, str]]:
    return [a.as_json() for a in addrs]


def to_record(result: AuditResult) -> dict[str, Any]:
    auth = result.auth
    env = auth.envelope
    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "ref": ref_json(result.ref),
        "parent": ref_json(result.parent),
        "message_id": result.message_id,
        "date": result.date,
        "from": _addresses(result.from_),
        "to": _addresses(result.to),
        "subject": result.subject,
        "verdict": str(result.verdict),
        "reason": result.reason,
        "auth": {
            "recomputed": [r.as_json() for r in auth.recomputed],
            "recorded": [r.as_json() for r in auth.recorded],
            "arc": auth.arc.as_json() if auth.arc else None,
            "disagreements": [d.as_json() for d in auth.disagreements],
            "envelope": None if env is None else {
                "ip": env.ip, "helo": env.helo, "mail_from": env.mail_from, "source": env.source},
            "recomputed_ran": auth.recomputed_ran,
            "evaluated_at": auth.evaluated_at,
            "clock": auth.clock,
        },
        "template": result.template.as_json() if result.template else None,
        "findings": [f.as_json() for f in result.findings],
        "error": result.error.as_json() if result.error else None,
    }
    return record


def to_json_line(result: AuditResult) -> str:
    return dumps(to_record(result))


def dumps(record: dict[str, Any], *, indent: int | None = None) -> str:
    """JSON that is always valid UTF-8.

    ensure_ascii=False keeps the file readable. A lone surrogate (a decoder given hostile
    bytes can produce one, e.g. a UTF-7 encoded word) cannot be written as UTF-8, so such a
    record is written with every non-ASCII character escaped instead: still valid JSON, still
    the same data.
    """
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(record, ensure_ascii=False, indent=indent, separators=separators)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, indent=indent, separators=separators)
    return text


def summarise_method(result: AuditResult, method: str) -> str:
    """One cell: the recomputed result(s) of a method, else the trusted recorded one(s)."""
    checks = result.auth.recomputed_of(method) or result.auth.trusted_of(method)
    if method == "arc" and result.auth.arc is not None:
        return result.auth.arc.cv
    return " ".join(c.result for c in checks)


def to_csv_row(result: AuditResult) -> dict[str, str]:
    tmpl = result.template
    return {
        "path": result.ref.path,
        "locator": result.ref.locator,
        "parent_path": result.parent.path if result.parent else "",
        "parent_locator": result.parent.locator if result.parent else "",
        "verdict": str(result.verdict),
        "reason": result.reason,
        "from": ", ".join(a.address for a in result.from_),
        "subject": result.subject or "",
        "message_id": result.message_id or "",
        "date": result.date or "",
        "dkim": summarise_method(result, "dkim"),
        "spf": summarise_method(result, "spf"),
        "dmarc": summarise_method(result, "dmarc"),
        "arc": summarise_method(result, "arc"),
        "template_id": (tmpl.template_id or "") if tmpl else "",
        "slots": "; ".join(f"{s.name}={s.value}" for s in tmpl.slots) if tmpl else "",
        "signals": "; ".join(f"{s.kind}:{s.value}" for s in tmpl.signals) if tmpl else "",
        "findings": "; ".join(f.code for f in result.findings),
        "error": result.error.message if result.error else "",
    }
