"""The machine-readable record, shared by json, jsonl and csv (schema ``mailaudit/1``).

The schema is documented in docs/schema.md; ``RECORD_KEYS`` is the contract a test checks every
format against. Add keys only at the end of a version; never rename or remove within one. This
is the only place that knows the JSON shape: the model is plain data.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mailaudit.model import (
    SCHEMA_VERSION,
    Address,
    ArcReport,
    AuditResult,
    CheckResult,
    Disagreement,
    Envelope,
    ErrorInfo,
    ExchangeVerdict,
    Finding,
    MessageRef,
    RecordedResult,
    Signal,
    SlotValue,
    TemplateMatch,
)
from mailaudit.report.text import json_escape_invisible

RECORD_KEYS = (
    "schema", "ref", "parent", "message_id", "date", "from", "to", "subject", "verdict",
    "reason", "auth", "template", "findings", "error",
)
AUTH_KEYS = ("recomputed", "recorded", "arc", "disagreements", "envelope", "recomputed_ran",
             "evaluated_at", "clock", "exchange")

CSV_COLUMNS = (
    "path", "locator", "parent_path", "parent_locator", "verdict", "reason", "from", "subject",
    "message_id", "date", "dkim", "spf", "dmarc", "arc", "template_id", "slots", "signals",
    "findings", "error", "from_name",
)

# RFC 8601 §2.7 (and RFC 8617 §4.1 for arc): the result keywords a method can report.
# "hardfail" is RFC 7001's name for SPF fail and is written as "fail".
RESULT_KEYWORDS = frozenset({"pass", "fail", "softfail", "neutral", "none", "temperror",
                             "permerror", "policy"})
_RESULT_ALIASES = {"hardfail": "fail"}
UNKNOWN = "unknown"  # a method token that is not a method name; the text is kept in method.raw
CANONICAL_HEADERS = {
    "authentication-results": "Authentication-Results",
    "arc-authentication-results": "ARC-Authentication-Results",
    "received-spf": "Received-SPF",
}
_METHOD = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:/[0-9]+)?")


def ref_json(ref: MessageRef | None) -> dict[str, str] | None:
    if ref is None:
        return None
    return {"path": ref.path, "locator": ref.locator}


def address_json(a: Address) -> dict[str, str]:
    return {"name": a.display_name, "address": a.address}


def _addresses(addrs: tuple[Address, ...]) -> list[dict[str, str]]:
    return [address_json(a) for a in addrs]


def is_result_keyword(token: str) -> bool:
    if token in RESULT_KEYWORDS:
        return True
    word = token.strip().lower()
    return _RESULT_ALIASES.get(word, word) in RESULT_KEYWORDS


def result_keyword(token: str) -> str:
    """The RFC 8601 keyword ``token`` spells (case-insensitive), else ``permerror``: a result
    that is not a keyword is a record that cannot be used (RFC 8601 §2.7)."""
    if token in RESULT_KEYWORDS:  # already one (nearly every result): nothing to normalise
        return token
    word = token.strip().lower()
    word = _RESULT_ALIASES.get(word, word)
    return word if word in RESULT_KEYWORDS else "permerror"


def method_name(token: str) -> str:
    """A method name as RFC 8601 §2.2 spells it (a Keyword, lower-cased), else ``unknown``."""
    if token in _METHOD_NAMES:
        return token
    word = token.strip().lower()
    return word if _METHOD.fullmatch(word) else UNKNOWN


# Names every record repeats, known to be what ``method_name`` returns for them.
_METHOD_NAMES = frozenset({"dkim", "spf", "dmarc", "arc", "iprev", "auth", "compauth",
                           "bimi", "smime", "dkim-atps", "x-tls"})


def check_json(c: CheckResult) -> dict[str, Any]:
    """One method's result. ``result`` is always an RFC 8601 keyword and ``method`` a method
    name (or ``unknown``); what the message wrote, when it was not one, is kept in ``props``
    as ``result.raw`` / ``method.raw`` (a non-keyword result is ``permerror``, as the parser
    judges it)."""
    # The common case (a keyword result, a known method name, few typed fields) is tested
    # here rather than in the helpers: 7 checks a record, each a few calls less (measured:
    # check_json 1.24 -> 0.98 us a check over corpus-2000's records).
    token = c.result
    result = token if token in RESULT_KEYWORDS else result_keyword(token)
    method = c.method
    name = method if method in _METHOD_NAMES else method_name(method)
    # The typed fields appear in the documented props (schema mailaudit/1 keeps its keys).
    props: dict[str, Any] = c.props_dict()
    failure = c.failure
    if failure:
        if method == "dkim" and failure == "key-not-captured":
            props["dkim.unverifiable"] = True
        props["dkim.failure"] = failure
    if c.body_hash:
        props["dkim.body_hash"] = c.body_hash
    if c.raw_result:
        props["result.raw"] = c.raw_result
    elif result is not token and not is_result_keyword(token):  # a keyword is kept as is
        props["result.raw"] = token
    if name != method:
        props["method.raw"] = method
    return {"method": name, "result": result, "reason": c.reason, "props": props}


def recorded_json(r: RecordedResult) -> dict[str, Any]:
    out = check_json(r.check)
    out["authserv_id"] = r.authserv_id  # set one by one: no dict made to be merged
    out["trusted"] = r.trusted
    out["header"] = CANONICAL_HEADERS.get(r.header.lower(), r.header)
    out["header_index"] = r.header_index
    out["contradicted"] = r.contradicted
    return out


def arc_json(a: ArcReport) -> dict[str, Any]:
    return {"cv": result_keyword(a.cv), "reason": a.reason, "instances": a.instances,
            "oldest_authserv_id": a.oldest_authserv_id,
            "oldest_aar": [check_json(r) for r in a.oldest_aar]}


def disagreement_json(d: Disagreement) -> dict[str, str]:
    return {"method": method_name(d.method),
            "recorded": result_keyword(d.recorded),
            "recomputed": result_keyword(d.recomputed),
            "explanation": d.explanation}


def envelope_json(env: Envelope | None) -> dict[str, Any]:
    """Always an object: every value null (``source`` ``"none"``) when no envelope was known."""
    if env is None:
        return {"ip": None, "helo": None, "mail_from": None, "source": "none"}
    return {"ip": env.ip, "helo": env.helo, "mail_from": env.mail_from,
            "source": env.source or "none"}


def signal_json(s: Signal) -> dict[str, str]:
    return {"kind": s.kind, "value": s.value, "where": s.where}


def slot_json(s: SlotValue) -> dict[str, Any]:
    return {"name": s.name, "type": s.type, "value": s.value, "valid": s.valid,
            "hostile": s.hostile, "problems": list(s.problems),
            "signals": [signal_json(g) for g in s.signals]}


def template_json(m: TemplateMatch) -> dict[str, Any]:
    return {"sender": m.sender, "template_id": m.template_id, "matched": m.matched,
            "score": round(m.score, 3), "slots": [slot_json(s) for s in m.slots],
            "off_template": list(m.off_template),
            "signals": [signal_json(g) for g in m.signals], "source": m.source,
            "missing": list(m.missing)}


def finding_json(f: Finding) -> dict[str, str]:
    return {"code": f.code, "severity": str(f.severity), "message": f.message,
            "evidence": f.evidence}


def error_json(e: ErrorInfo) -> dict[str, str]:
    return {"code": e.code, "message": e.message}


def exchange_json(ex: ExchangeVerdict | None) -> dict[str, Any] | None:
    if ex is None:
        return None
    return {"statements": list(ex.statements), "fields": dict(ex.fields),
            "sending_tenant": ex.sending_tenant, "spam": ex.spam}


def to_record(result: AuditResult) -> dict[str, Any]:
    auth = result.auth
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
            "recomputed": [check_json(r) for r in auth.recomputed],
            "recorded": [recorded_json(r) for r in auth.recorded],
            "arc": arc_json(auth.arc) if auth.arc else None,
            "disagreements": [disagreement_json(d) for d in auth.disagreements],
            "envelope": envelope_json(auth.envelope),
            "recomputed_ran": auth.recomputed_ran,
            "evaluated_at": auth.evaluated_at,
            "clock": auth.clock,
            "exchange": exchange_json(auth.exchange),
        },
        "template": template_json(result.template) if result.template else None,
        "findings": [finding_json(f) for f in result.findings],
        "error": error_json(result.error) if result.error else None,
    }
    return record


def to_json_line(result: AuditResult) -> str:
    return dumps(to_record(result))


def dumps(record: dict[str, Any], *, indent: int | None = None) -> str:
    """JSON that is always valid UTF-8 and one line per record.

    ensure_ascii=False keeps the file readable; every invisible or control character (C1,
    bidi, variation selectors, tag characters, U+2028/U+2029/U+0085) is still written as a
    ``\\uXXXX`` escape, so a terminal never interprets one and ``splitlines()`` never splits a
    JSONL record. A lone surrogate (a decoder given hostile
    bytes can produce one, e.g. a UTF-7 encoded word) cannot be written as UTF-8, so such a
    record is written with every non-ASCII character escaped instead: still valid JSON, still
    the same data.
    """
    if indent is None:
        text = json_escape_invisible(_LINE.encode(record))
    else:
        text = json_escape_invisible(json.dumps(record, ensure_ascii=False, indent=indent,
                                                separators=(",", ": ")))
    if text.isascii():  # nearly every record: nothing that could be a lone surrogate
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(record, ensure_ascii=True, indent=indent, separators=separators)
    return text


# The one-line encoder, built once (json.dumps builds one per call when given options).
# Records are trees built by ``to_record``: the circular-reference check has nothing to find.
_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def summarise_method(result: AuditResult, method: str) -> str:
    """One cell: the recomputed result(s) of a method, else the trusted recorded one(s)."""
    checks = result.auth.recomputed_of(method) or result.auth.trusted_of(method)
    if method == "arc" and result.auth.arc is not None:
        return result_keyword(result.auth.arc.cv)
    return " ".join(result_keyword(c.result) for c in checks)


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
        "from_name": ", ".join(a.display_name for a in result.from_ if a.display_name),
    }
