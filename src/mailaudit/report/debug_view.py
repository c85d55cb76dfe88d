"""What the debug verbs (``mailaudit dkim``, ``spf``, ``dmarc``) print.

DNS answers and message headers are someone else's text: everything goes through ``visible``
into ``Text`` objects, with the colours of ``report.styles``, as in ``check``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from mailaudit.model import ArcReport, CheckResult, Finding
from mailaudit.report.console import emit
from mailaudit.report.styles import result_style, severity_style
from mailaudit.report.text import visible

LIMIT = 2000


def _v(value: object, style: str = "") -> Text:
    return Text(visible("" if value is None else str(value), limit=LIMIT), style=style)


def _result_head(method: str, result: str) -> Text:
    return Text(f"{method}={visible(result, limit=80)}", style="bold " + result_style(result))


def render_check(console: Console, result: CheckResult,
                 extra: Mapping[str, object] | None = None) -> None:
    """One result: ``method=result reason``, then its properties one per line."""
    head = _result_head(result.method, result.result)
    if result.reason:
        head.append(" ")
        head.append(visible(result.reason, limit=LIMIT))
    emit(console, head)
    for key, value in {**result.props, **(extra or {})}.items():
        if value not in (None, ""):
            line = Text("  " + visible(key, limit=200) + ": ", style="bold")
            line.append(visible(str(value), limit=LIMIT), style="")
            emit(console, line)


def render_dkim(console: Console, results: Sequence[CheckResult], findings: Sequence[Finding],
                arc: ArcReport | None, *, where: str = "") -> None:
    if where:
        emit(console, _v(where, "bold"))
    for r in results:
        style = result_style(r.result)
        if r.result == "none":
            head = _result_head("dkim", "none")
            head.append(" " + visible(r.reason, limit=LIMIT))
            emit(console, head)
            continue
        p = r.props
        head = Text(f"#{visible(str(p.get('dkim.index', '')), limit=20)} ", style="bold")
        head.append(_result_head("dkim", r.result))
        head.append(f" d={visible(str(p.get('header.d') or ''), limit=LIMIT)}"
                    f" s={visible(str(p.get('header.s') or ''), limit=LIMIT)}"
                    f" a={visible(str(p.get('header.a') or ''), limit=200)}")
        if r.reason:
            head.append("  " + visible(r.reason, limit=LIMIT), style=style)
        emit(console, head)
        bits = p.get("dkim.key_bits")
        emit(console, Text(
            f"    key: {visible(str(bits), limit=20) + ' bits' if bits else 'unknown'}"
            f"   i={visible(str(p.get('header.i') or ''), limit=LIMIT)}"
            f"   l= {'yes' if p.get('dkim.l') else 'no'}"
            f"   h={visible(str(p.get('dkim.h') or ''), limit=LIMIT)}"))
    for f in findings:
        line = Text(f"  {f.severity.value} ", style=severity_style(f.severity))
        line.append(visible(f.code, limit=100) + ": ", style="bold")
        line.append(visible(f.message, limit=LIMIT))
        if f.evidence:
            line.append(" «" + visible(f.evidence, limit=LIMIT) + "»", style="dim")
        emit(console, line)
    if arc is not None:
        head = _result_head("arc", arc.cv)
        if arc.reason:
            head.append(" " + visible(arc.reason, limit=LIMIT))
        emit(console, head)


def render_dmarc(console: Console, report: Mapping[str, Any]) -> None:
    """``mailaudit dmarc``: the record that governs the domain, or a line saying there is none."""
    for note in report.get("notes_before", ()):
        emit(console, Text(visible(note, limit=LIMIT), style="dim"))
    state = report["result"]
    if state == "none":
        what = "no DMARC policy" if report.get("record") else "no DMARC record"
        line = Text(f"{what} for {visible(report['domain'], limit=300)}",
                    style="bold " + result_style("none"))
        if report.get("reason"):
            line.append(": " + visible(report["reason"], limit=LIMIT))
        emit(console, line)
    elif state in ("temperror", "permerror"):
        head = _result_head("dmarc", state)
        head.append(" " + visible(report.get("reason", ""), limit=LIMIT))
        emit(console, head)
    for key, value in report.items():
        if key in ("result", "notes_before") or value in (None, "", [], ()):
            continue
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        line = Text(visible(key, limit=100) + ": ", style="bold")
        line.append(visible(str(value), limit=LIMIT), style="")
        emit(console, line)
