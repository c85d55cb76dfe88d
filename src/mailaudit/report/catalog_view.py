"""What ``mailaudit templates list|show|test`` print.

Template packs are files anyone can hand an analyst: every string from a pack or a message goes
through ``visible`` into ``Text`` objects (no markup is ever parsed). Ids are what the next
command needs (``templates show ID``), so they are never cut: in a terminal the table folds long
values onto the next line; piped, ``list`` writes one tab-separated line per template, the shape
``cut`` and ``grep`` expect.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailaudit.model import TemplateMatch
from mailaudit.report.console import emit
from mailaudit.report.styles import result_style
from mailaudit.report.text import visible

LIMIT = 2000


def _v(text: str, style: str = "") -> Text:
    return Text(visible(text, limit=LIMIT), style=style)


def _slots_text(template: Any) -> str:
    return ", ".join(f"{n}:{spec.type}{'*' if spec.user_controlled else ''}"
                     for n, spec in template.slots.items())


def render_list(console: Console, catalog: Any) -> None:
    if not console.is_terminal:
        for s in catalog.senders:
            for t in s.templates:
                fields = [t.id, s.id, ", ".join(s.addresses), t.evidence, _slots_text(t)]
                # Written as is: rich would expand the tabs and cut the line to a width.
                console.file.write("\t".join(visible(f, limit=LIMIT) for f in fields) + "\n")
        return
    wide = console.width >= 120
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("template", overflow="fold", no_wrap=False)
    table.add_column("sender", overflow="fold")
    if wide:
        table.add_column("address", overflow="fold")
    table.add_column("evidence", overflow="fold")
    if wide:
        table.add_column("slots", overflow="fold")
    for s in catalog.senders:
        for t in s.templates:
            row = [_v(t.id, "bold"), _v(s.id)]
            if wide:
                row.append(_v(", ".join(s.addresses)))
            row.append(_v(t.evidence))
            if wide:
                row.append(_v(_slots_text(t)))
            table.add_row(*row)
    emit(console, table)
    emit(console, Text(f"{len(catalog.senders)} senders, {len(catalog.templates)} templates"
                       + (" (* = written by the customer)" if wide else
                          "; `templates show ID` for one, a wider terminal for addresses and slots"),
                       style="dim"))


def render_show(console: Console, catalog: Any, template: Any, pattern_text: Any) -> None:
    s = catalog.sender(template.sender_id)
    head = _v(template.id, "bold")
    head.append("  (")
    head.append(visible(s.id, limit=LIMIT))
    head.append(": " + visible(", ".join(s.addresses), limit=LIMIT) + ")")
    lines: list[Text] = [head]
    lines.append(Text(f"evidence: {visible(template.evidence, limit=80)}   wording: "
                      f"{visible(template.wording, limit=80)}   language: "
                      f"{visible(template.language, limit=80)}"))
    lines.append(Text("source: " + visible(template.source, limit=LIMIT)))
    if template.notes:
        lines.append(Text("notes: " + visible(template.notes, limit=LIMIT)))
    lines.append(Text(""))
    subject = Text("subject  ", style="bold")
    subject.append(visible(pattern_text(template.subject), limit=LIMIT))
    lines.append(subject)
    lines.append(Text("body", style="bold"))
    for line in template.body:
        t = Text("  " + visible(pattern_text(line.segments), limit=LIMIT))
        if line.optional:
            t.append("  (optional)", style="dim")
        lines.append(t)
    lines.append(Text("slots", style="bold"))
    for name, spec in template.slots.items():
        who = "customer" if spec.user_controlled else "platform"
        params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
        lines.append(Text(f"  {visible(name, limit=200)}: {visible(spec.type, limit=200)} ({who})"
                          + (f"  {visible(params, limit=LIMIT)}" if params else "")))
    dk = ", ".join(f"{d.domain}{'' if d.verified else ' (unverified)'}" for d in s.dkim) or "unknown"
    dkim = Text("DKIM  ", style="bold")
    dkim.append(visible(dk, limit=LIMIT))
    lines.append(dkim)
    for line_text in lines:
        emit(console, line_text)


def render_test(console: Console, where: str, claim: Any, match: TemplateMatch | None) -> None:
    emit(console, _v(where, "bold"))
    if claim is None:
        emit(console, Text("  not a catalogued sender"))
        return
    t = Text("  claims " + visible(claim.sender.id, limit=200) + " by "
             + visible(claim.kind, limit=50) + ": ")
    t.append(visible(claim.evidence, limit=LIMIT))
    emit(console, t)
    if match is None:
        return
    head = Text("  template " + visible(match.template_id or "-", limit=300)
                + f"  score {match.score:.2f}  ")
    head.append("on template" if match.matched else "off template",
                style=result_style("pass" if match.matched else "fail"))
    if match.hostile:
        head.append("  hostile content", style="red")
    emit(console, head)
    for s in match.slots:
        line = Text("   ")
        line.append("✗" if s.hostile else "✓", style="red" if s.hostile else "green")
        line.append(f" {visible(s.name, limit=100)} ({visible(s.type, limit=100)}): ")
        line.append(visible(s.value, limit=LIMIT))
        emit(console, line)
        for p in s.problems:
            emit(console, Text("       problem: " + visible(p, limit=LIMIT)))
        for g in s.signals:
            emit(console, Text(f"       {visible(g.kind, limit=50)}: "
                               + visible(g.value, limit=LIMIT)))
    for text in match.off_template:
        line = Text("   off-template: ", style="red")
        line.append(visible(text, limit=LIMIT), style="")
        emit(console, line)
    for g in match.signals:
        if not g.where.startswith("slot:"):
            line = Text("   " + visible(g.kind, limit=50), style="red")
            line.append(" in " + visible(g.where, limit=100) + ": " + visible(g.value, limit=LIMIT),
                        style="")
            emit(console, line)


def render_error(console: Console, where: str, message: str) -> None:
    emit(console, _v(where, "bold"))
    emit(console, Text("  " + visible(message, limit=LIMIT), style="magenta"))

