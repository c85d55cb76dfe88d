"""Human output for a tired analyst: verdict first, the reason in one line, evidence below.

Every string from a message goes through ``visible`` into ``rich.text.Text`` objects, and the
console is built with markup, emoji and highlighting off, so nothing from the message is ever
interpreted. Colours mean the same thing everywhere (see ``VERDICT_STYLE``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import IO

from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from mailaudit.model import (
    AuditResult,
    CheckResult,
    RecordedResult,
    Severity,
    TemplateMatch,
    Verdict,
)
from mailaudit.report.text import visible

VERDICT_STYLE = {
    Verdict.AUTHENTIC: "bold green",
    Verdict.ABUSED: "bold white on red",
    Verdict.SPOOFED: "bold red",
    Verdict.UNRECOGNIZED: "bold blue",
    Verdict.UNAUTHENTICATED: "bold yellow",
    Verdict.UNKNOWN_SENDER: "cyan",
    Verdict.ERROR: "bold magenta",
}
RESULT_STYLE = {
    "pass": "green", "fail": "red", "softfail": "yellow", "neutral": "yellow", "none": "dim",
    "temperror": "magenta", "permerror": "red", "policy": "yellow",
}
SEVERITY_STYLE = {Severity.HIGH: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
FIELD_LIMIT = 300  # characters of one message-derived value shown before "… [N more]"


def make_console(file: IO[str] | None = None, *, color: bool | None = None,
                 width: int | None = None) -> Console:
    return Console(file=file, markup=False, emoji=False, highlight=False,
                   force_terminal=color, no_color=(color is False), width=width,
                   soft_wrap=False)


def badge(verdict: Verdict) -> Text:
    return Text(f" {verdict.value.upper()} ", style=VERDICT_STYLE[verdict])


def _t(value: str | None, style: str = "", *, limit: int = FIELD_LIMIT) -> Text:
    return Text(visible(value, limit=limit), style=style)


def _address_line(result: AuditResult) -> Text:
    parts = []
    for a in result.from_:
        parts.append(f"{a.display_name} <{a.address}>" if a.display_name else a.address)
    return _t(", ".join(parts) or "(no From)")


def _result_text(check: CheckResult) -> Text:
    text = Text(check.result, style=RESULT_STYLE.get(check.result, ""))
    detail = _check_detail(check)
    if detail:
        text.append(" ")
        text.append(visible(detail, limit=160), style="dim")
    return text


def _check_detail(check: CheckResult) -> str:
    p = check.props
    bits: list[str] = []
    if check.method == "dkim":
        for key, label in (("header.s", "s="), ("header.a", "a=")):
            if p.get(key):
                bits.append(f"{label}{p[key]}")
        if p.get("dkim.key_bits"):
            bits.append(f"{p['dkim.key_bits']} bits")
        if p.get("dkim.l"):
            bits.append("l= present")
    elif check.method == "spf":
        if p.get("client-ip"):
            bits.append(f"ip {p['client-ip']}")
        if p.get("envelope.source"):
            bits.append(f"from {p['envelope.source']}")
    elif check.method == "dmarc":
        if p.get("policy"):
            bits.append(f"p={p['policy']}")
        if p.get("policy.applied-disposition"):
            bits.append(f"disposition {p['policy.applied-disposition']}")
    if check.reason:
        bits.append(check.reason)
    return ", ".join(str(b) for b in bits)


def _method_key(check: CheckResult) -> str:
    if check.method == "dkim" and check.props.get("header.d"):
        return f"dkim {check.props['header.d']}"
    return check.method


def auth_table(result: AuditResult) -> Table:
    auth = result.auth
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    trusted = [r for r in auth.recorded if r.trusted]
    ids = sorted({r.authserv_id or "Microsoft, no authserv-id" for r in trusted})
    table.add_column("method")
    table.add_column("recorded" + (f" ({visible(', '.join(ids), limit=60)})" if ids else ""))
    if auth.arc is not None:
        table.add_column("ARC first hop")
    table.add_column("recomputed" if auth.recomputed_ran else "recomputed (not run)")

    rows: dict[str, dict[str, Text]] = {}
    order: list[str] = []

    def cell(key: str) -> dict[str, Text]:
        if key not in rows:
            rows[key] = {}
            order.append(key)
        return rows[key]

    for c in auth.recomputed:
        cell(_method_key(c))["recomputed"] = _result_text(c)
    for r in trusted:
        c = r.check
        key = _method_key(c)
        if key not in rows and c.method == "dkim":
            key = next((k for k in order if k.startswith("dkim")), key)
        cell(key).setdefault("recorded", _result_text(c))
    if auth.arc is not None:
        for c in auth.arc.oldest_aar:
            cell(_method_key(c)).setdefault("arc", Text(c.result, style=RESULT_STYLE.get(c.result, "")))
        cv = Text(f"cv={auth.arc.cv}", style=RESULT_STYLE.get(auth.arc.cv, ""))
        cell("arc")["arc"] = cv
        if auth.arc.reason:
            cv.append(" " + visible(auth.arc.reason, limit=120), style="dim")
    for key in order:
        row = rows[key]
        values = [Text(visible(key, limit=60)), row.get("recorded", Text("—", style="dim"))]
        if auth.arc is not None:
            values.append(row.get("arc", Text("—", style="dim")))
        values.append(row.get("recomputed", Text("—", style="dim")))
        table.add_row(*values)
    return table


def _untrusted(recorded: tuple[RecordedResult, ...]) -> Text | None:
    claims = [r for r in recorded if not r.trusted and r.header != "ARC-Authentication-Results"]
    if not claims:
        return None
    text = Text("Upstream claims (not trusted): ", style="dim")
    shown = [f"{r.check.method}={r.check.result} by {r.authserv_id or '?'}" for r in claims[:8]]
    text.append(visible("; ".join(shown), limit=400), style="dim")
    if len(claims) > 8:
        text.append(f" … and {len(claims) - 8} more", style="dim")
    return text


def template_block(result: AuditResult) -> Group | None:
    m = result.template
    if m is None:
        return None
    lines: list[Text | Table | Padding] = []
    head = Text("Template ", style="bold")
    head.append(visible(m.template_id or "none close", limit=80))
    head.append(f"  (sender {visible(m.sender, limit=60)}, {m.score:.0%} of fixed text found"
                f"{', on template' if m.matched else ', OFF TEMPLATE'})", style="dim")
    lines.append(head)
    if m.rendered:
        lines.append(Padding(_rendered(m), (0, 0, 0, 2)))
    fine = [s.name for s in m.slots if not s.hostile]
    if fine:
        lines.append(Text("  slots that fit: " + ", ".join(fine), style="green"))
    if any(s.hostile for s in m.slots):
        slots = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        slots.add_column("slot")
        slots.add_column("type")
        slots.add_column("value")
        slots.add_column("")
        for s in (s for s in m.slots if s.hostile):
            flag = Text("HOSTILE", style="bold red")
            why = "; ".join(list(s.problems) + [f"{g.kind}: {g.value}" for g in s.signals])
            if why:
                flag.append(" " + visible(why, limit=200), style="red")
            slots.add_row(Text(s.name), Text(s.type),
                          _t(s.value, "reverse" if s.hostile else "bold"), flag)
        lines.append(Padding(slots, (0, 0, 0, 2)))
    for text in m.off_template[:5]:
        t = Text("  outside the template: ", style="red")
        t.append(visible(text, limit=200), style="reverse red")
        lines.append(t)
    other = [g for g in m.signals if not g.where.startswith("slot:")]
    if other:
        t = Text("  signals: ", style="red")
        t.append(visible("; ".join(f"{g.kind} {g.value} ({g.where})" for g in other), limit=400))
        lines.append(t)
    if m.source:
        lines.append(Text("  source: " + visible(m.source, limit=200), style="dim"))
    return Group(*lines)


def _rendered(m: TemplateMatch, *, max_lines: int = 14) -> Text:
    """The template as this message filled it: fixed text dim, customer-written slot values
    highlighted (reverse red when hostile), so the analyst sees where the words came from."""
    from mailaudit.templates.display import rendered_pieces

    hostile = {s.name for s in m.slots if s.hostile}
    text = Text()
    for slot, piece in rendered_pieces(m.rendered):
        shown = visible(piece, keep_newlines=slot is None, limit=400)
        if slot is None:
            text.append(shown, style="dim")
        else:
            text.append(shown, style="bold reverse red" if slot in hostile else "bold")
    lines = list(text.split("\n"))
    if len(lines) > max_lines:
        more = len(lines) - max_lines
        lines = [*lines[:max_lines], Text(f"… {more} more lines", style="dim")]
    return Text("\n").join(lines)


def render_detail(console: Console, result: AuditResult) -> None:
    head = badge(result.verdict)
    head.append("  ")
    head.append(visible(result.ref.display(), limit=200), style="bold")
    console.print(head)
    console.print(_t(result.reason, limit=600))
    if result.parent is not None:
        console.print(Text("attached inside " + visible(result.parent.display(), limit=200), style="dim"))
    if result.error is not None:
        console.print(Text(f"error [{result.error.code}]", style="magenta"))
        console.print()
        return
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("From", _address_line(result))
    info.add_row("Subject", _t(result.subject or "(none)"))
    if result.date:
        info.add_row("Date", _t(result.date))
    if result.auth.envelope is not None and result.auth.envelope.ip:
        env = result.auth.envelope
        info.add_row("Sender IP", _t(f"{env.ip} (from {env.source})"))
    if result.auth.evaluated_at is not None:
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(result.auth.evaluated_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        basis = {"live": "now", "snapshot": "the snapshot's captured_at",
                 "--at": "--at"}.get(result.auth.clock, result.auth.clock)
        info.add_row("Judged at", _t(f"{when} ({basis})"))
    console.print(info)
    console.print(auth_table(result))
    untrusted = _untrusted(result.auth.recorded)
    if untrusted is not None:
        console.print(untrusted)
    for d in result.auth.disagreements:
        t = Text("  ≠ ", style="yellow")
        t.append(f"{d.method}: recorded {d.recorded}, recomputed {d.recomputed}: ", style="yellow")
        t.append(visible(d.explanation, limit=300))
        console.print(t)
    block = template_block(result)
    if block is not None:
        console.print(block)
    shown = [f for f in result.findings if not f.code.startswith("disagree-")]
    if shown:
        console.print(Text("Findings", style="bold"))
        for f in shown:
            t = Text(f"  {f.severity.value:<7} ", style=SEVERITY_STYLE.get(f.severity, ""))
            t.append(f"{f.code}: ", style="bold")
            t.append(visible(f.message, limit=300))
            if f.evidence:
                t.append("  «" + visible(f.evidence, limit=200) + "»", style="dim")
            console.print(t)
    console.print()


def render_line(console: Console, result: AuditResult) -> None:
    line = badge(result.verdict)
    line.append(" ")
    line.append(visible(result.ref.display(), limit=120), style="bold")
    line.append("  ")
    frm = result.from_[0].address if result.from_ else ""
    line.append(visible(frm, limit=60), style="cyan")
    line.append("  ")
    line.append(visible(result.subject or "", limit=70))
    console.print(line, overflow="ellipsis", no_wrap=True, crop=True)
    _print_indented(console, Text(visible(result.reason, limit=400), style="dim"), 4)


def _print_indented(console: Console, text: Text, indent: int) -> None:
    """Wrapped and indented, without the trailing spaces rich's Padding adds to every line."""
    for piece in text.wrap(console, max(20, console.width - indent)):
        piece.rstrip()
        console.print(Text(" " * indent) + piece, soft_wrap=True)


def render_summary(console: Console, verdicts: Counter[Verdict], *, seconds: float,
                   flagged: Iterable[Verdict]) -> None:
    table = Table(title="Summary", box=None, show_header=True, header_style="bold")
    table.add_column("verdict")
    table.add_column("messages", justify="right")
    flagged_set = set(flagged)
    for v in Verdict:
        if verdicts.get(v):
            name = badge(v)
            if v in flagged_set:
                name.append(" flagged", style="dim")
            table.add_row(name, str(verdicts[v]))
    total = sum(verdicts.values())
    table.add_row(Text("total", style="bold"), Text(str(total), style="bold"))
    console.print(table)
    rate = total / seconds if seconds > 0 else 0.0
    console.print(Text(f"{total} messages in {seconds:.2f} s ({rate:,.0f}/s)", style="dim"))
