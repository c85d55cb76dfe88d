"""Human output for a tired analyst: verdict first, the reason in one line, evidence below.

Every string that came from a message, a snapshot, a template pack or the file system goes
through ``visible`` before it is put in the report, and the report is built from the plain
objects of ``report.layout``: drawn as plain lines to a pipe or a file, and through rich (with
markup, emoji and highlighting off, so nothing from outside is ever interpreted) only for
colour on a terminal. Colours come from the one table in ``report.styles``.

Evidence (DNS names, selectors, signal values, template lines) is wrapped, never cut: table
columns fold long words instead of ending them in "…", and the recorded/ARC/recomputed table
is stacked, one method under another, when the output is too narrow for its columns. Every
line is written without trailing spaces, so piped output diffs and greps cleanly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from mailaudit.model import AuditResult, CheckResult, RecordedResult, TemplateMatch, Verdict
from mailaudit.report.layout import Group, Node, Out, Padding, Table, Text
from mailaudit.report.styles import result_style, severity_style, verdict_style
from mailaudit.report.text import visible

# Characters of one message-derived value shown before "… [N more characters]". Generous on
# purpose: evidence is wrapped, not cut; the limit only stops a 50 MB header flooding the screen.
FIELD_LIMIT = 2000
STACK_BELOW = 100  # columns: narrower terminals get the auth table stacked


def badge(verdict: Verdict | str) -> Text:
    return Text(f" {str(verdict).upper()} ", style=verdict_style(str(verdict)))


def _t(value: str | None, style: str = "", *, limit: int = FIELD_LIMIT) -> Text:
    return Text(visible(value, limit=limit), style=style)


def _grid(*widths: int | None) -> Table:
    """Borderless columns whose long words fold onto the next line instead of being cut."""
    grid = Table.grid(padding=(0, 2))
    for i, width in enumerate(widths):
        grid.add_column(min_width=width, style="bold" if i == 0 and width is None else "")
    return grid


def _address_line(result: AuditResult) -> Text:
    parts = []
    for a in result.from_:
        parts.append(f"{a.display_name} <{a.address}>" if a.display_name else a.address)
    return _t(", ".join(parts) or "(no From)")


def _result_text(check: CheckResult) -> Text:
    text = Text(visible(check.result, limit=80), style=result_style(check.result))
    detail = _check_detail(check)
    if detail:
        text.append(" ")
        text.append(visible(detail, limit=FIELD_LIMIT), style="dim")
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


_DASH = "—"


def _auth_rows(result: AuditResult) -> tuple[list[str], list[tuple[str, dict[str, Text]]]]:
    """(column names, [(method key, {column: cell})]) of the recorded/ARC/recomputed table."""
    auth = result.auth
    trusted = [r for r in auth.recorded if r.trusted]
    ids = sorted({r.authserv_id or "Microsoft, no authserv-id" for r in trusted})
    columns = ["recorded" + (f" ({visible(', '.join(ids), limit=200)})" if ids else "")]
    if auth.arc is not None:
        columns.append("ARC first hop")
    columns.append("recomputed" if auth.recomputed_ran else "recomputed (not run)")

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
            cell(_method_key(c)).setdefault(
                "arc", Text(visible(c.result, limit=80), style=result_style(c.result)))
        cv = Text("cv=" + visible(auth.arc.cv, limit=80), style=result_style(auth.arc.cv))
        cell("arc")["arc"] = cv
        if auth.arc.reason:
            cv.append(" " + visible(auth.arc.reason, limit=FIELD_LIMIT), style="dim")
    names = ["recorded", *(["arc"] if auth.arc is not None else []), "recomputed"]
    out: list[tuple[str, dict[str, Text]]] = []
    for key in order:
        out.append((key, {col: rows[key].get(name, Text(_DASH, style="dim"))
                          for col, name in zip(columns, names, strict=True)}))
    return columns, out


def auth_table(result: AuditResult, *, width: int = 200) -> Node:
    columns, rows = _auth_rows(result)
    if width < STACK_BELOW:
        return _auth_stacked(columns, rows)
    table = Table(show_header=True, header_style="bold", pad_edge=False)
    table.add_column("method")
    for name in columns:
        table.add_column(name)
    for key, cells in rows:
        table.add_row(Text(visible(key, limit=300)), *(cells[c] for c in columns))
    return table


def _auth_stacked(columns: list[str], rows: list[tuple[str, dict[str, Text]]]) -> Node:
    """One block per method: its name, then one line per source, values wrapped beside their
    label (a narrow terminal cannot hold three columns of evidence side by side)."""
    parts: list[Node] = []
    labels = {c: c.split(" (", 1)[0] for c in columns}
    recorded_by = next((c for c in columns if c.startswith("recorded (")), None)
    if recorded_by is not None:
        parts.append(Text(recorded_by, style="dim"))
    for key, cells in rows:
        parts.append(Text(visible(key, limit=300), style="bold"))
        grid = _grid(12, None)
        for c in columns:
            grid.add_row(Text("  " + labels[c], style="dim"), cells[c])
        parts.append(grid)
    return Group(*parts)


def _untrusted(recorded: tuple[RecordedResult, ...]) -> Text | None:
    claims = [r for r in recorded if not r.trusted and r.header != "ARC-Authentication-Results"]
    if not claims:
        return None
    text = Text("Upstream claims (not trusted): ", style="dim")
    shown = [f"{r.check.method}={r.check.result} by {r.authserv_id or '?'}" for r in claims[:8]]
    text.append(visible("; ".join(shown), limit=FIELD_LIMIT), style="dim")
    if len(claims) > 8:
        text.append(f" … and {len(claims) - 8} more", style="dim")
    return text


def _labelled(label: str, value: Text, *, label_style: str = "", indent: int = 2) -> Table:
    """``label value`` with the value wrapped under itself (a hanging indent), never back at
    column 0."""
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(Text(" " * indent + label, style=label_style), value)
    return grid


def template_block(result: AuditResult) -> Node | None:
    m = result.template
    if m is None:
        return None
    lines: list[Node] = []
    head = Text("Template ", style="bold")
    head.append(visible(m.template_id or "none close", limit=300))
    head.append(f"  (sender {visible(m.sender, limit=300)}, {m.score:.0%} of fixed text found"
                f"{', on template' if m.matched else ', OFF TEMPLATE'})", style="dim")
    lines.append(head)
    rendered = _rendered(m)
    if rendered is not None:
        lines.append(Padding(rendered, 2))
    fine = [visible(s.name, limit=100) for s in m.slots if not s.hostile]
    if fine:
        lines.append(_labelled("slots that fit:", Text(", ".join(fine), style="green"),
                               label_style="green"))
    if any(s.hostile for s in m.slots):
        slots = Table(show_header=True, header_style="bold", pad_edge=False)
        slots.add_column("slot")
        slots.add_column("type")
        slots.add_column("value", ratio=1)
        slots.add_column("", ratio=1)
        for s in (s for s in m.slots if s.hostile):
            flag = Text("HOSTILE", style="bold red")
            why = "; ".join(list(s.problems) + [f"{g.kind}: {g.value}" for g in s.signals])
            if why:
                flag.append(" " + visible(why, limit=FIELD_LIMIT), style="red")
            slots.add_row(_t(s.name, limit=100), _t(s.type, limit=100), _t(s.value, "reverse"), flag)
        lines.append(Padding(slots, 2))
    for text in m.off_template[:5]:
        lines.append(_labelled("outside the template:", _t(text, "reverse red"),
                               label_style="red"))
    other = [g for g in m.signals if not g.where.startswith("slot:")]
    if other:
        lines.append(_labelled("signals:", _t("; ".join(f"{g.kind} {g.value} ({g.where})"
                                                        for g in other)), label_style="red"))
    if m.source:
        lines.append(_labelled("source:", _t(m.source, "dim"), label_style="dim"))
    return Group(*lines)


def _rendered(m: TemplateMatch, *, max_lines: int = 14) -> Text | None:
    """The template as this message filled it: fixed text dim, customer-written slot values
    highlighted (reverse red when hostile), so the analyst sees where the words came from."""
    if not m.filled:
        return None
    hostile = {s.name for s in m.slots if s.hostile}
    text = Text()
    for slot, piece in m.filled:
        shown = visible(piece, keep_newlines=not slot, limit=FIELD_LIMIT)
        if not slot:
            text.append(shown, style="dim")
        else:
            text.append(shown, style="bold reverse red" if slot in hostile else "bold")
    lines = list(text.split("\n"))
    if len(lines) > max_lines:
        more = len(lines) - max_lines
        lines = [*lines[:max_lines], Text(f"… {more} more lines", style="dim")]
    return Text("\n").join(lines)


def exchange_block(result: AuditResult) -> Node | None:
    """Exchange Online's own verdict, decoded; only present when Exchange Online was the
    trusted receiver (its headers mean nothing otherwise)."""
    ex = result.auth.exchange
    if ex is None:
        return None
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(no_wrap=True)
    grid.add_column()
    style = {True: "red", False: "green"}.get(ex.spam, "") if ex.spam is not None else ""
    for i, statement in enumerate(ex.statements):
        grid.add_row(Text(" "), _t(statement, style if i == 0 else ""))
    return Group(Text("Exchange Online (the receiver's own verdict)", style="bold"), grid)


# Findings said once per batch, in the summary, instead of under every message: on list mail
# they fire on every message and bury the ones that matter.
ONCE_PER_BATCH = frozenset({"ms-headers-untrusted"})


def _findings(result: AuditResult, quiet: frozenset[str] = frozenset()) -> Node | None:
    shown = [f for f in result.findings
             if not f.code.startswith("disagree-") and f.code not in quiet]
    if not shown:
        return None
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(no_wrap=True)
    grid.add_column()
    for f in shown:
        t = Text(visible(f.code, limit=100) + ": ", style="bold")
        t.append(visible(f.message, limit=FIELD_LIMIT))
        if f.evidence:
            t.append("  «" + visible(f.evidence, limit=FIELD_LIMIT) + "»", style="dim")
        grid.add_row(Text(f"  {f.severity.value:<7}", style=severity_style(f.severity)), t)
    return Group(Text("Findings", style="bold"), grid)


def render_detail(out: Out, result: AuditResult,
                  quiet: frozenset[str] = frozenset()) -> None:
    """The full report of one message; findings whose code is in ``quiet`` are left out
    (the summary counts them)."""
    if result.error is not None and result.parent is None:
        render_error(out, result)
        out.blank()
        return
    head = badge(result.verdict)
    head.append("  ")
    head.append(visible(result.ref.display(), limit=FIELD_LIMIT), style="bold")
    out.emit(head)
    out.emit(_t(result.reason))
    if result.parent is not None:
        out.emit(Text("attached inside " + visible(result.parent.display(), limit=FIELD_LIMIT),
                           style="dim"))
    if result.error is not None:
        out.emit(Text("error [" + visible(result.error.code, limit=100) + "]",
                           style=verdict_style("error")))
        out.blank()
        return
    info = _grid(None, None)
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
    out.emit(info)
    out.emit(auth_table(result, width=out.width))
    untrusted = _untrusted(result.auth.recorded)
    if untrusted is not None:
        out.emit(untrusted)
    for d in result.auth.disagreements:
        t = Text(f"{visible(d.method, limit=100)}: recorded {visible(d.recorded, limit=100)}, "
                 f"recomputed {visible(d.recomputed, limit=100)}: ", style="yellow")
        t.append(visible(d.explanation, limit=FIELD_LIMIT))
        out.emit(_labelled("≠", t, label_style="yellow"))
    for block in (exchange_block(result), template_block(result), _findings(result, quiet)):
        if block is not None:
            out.emit(block)
    out.blank()


def render_error(out: Out, result: AuditResult) -> None:
    """An error record: the same two lines in the detailed and the one-line layout."""
    line = badge(result.verdict)
    line.append(" ")
    line.append(visible(result.ref.display(), limit=FIELD_LIMIT), style="bold")
    out.emit(line)
    assert result.error is not None
    text = Text(visible(result.error.message or result.reason, limit=FIELD_LIMIT))
    text.append(" [" + visible(result.error.code, limit=100) + "]", style="dim")
    out.indented(text, 4)


def render_line(out: Out, result: AuditResult) -> None:
    if result.error is not None:
        render_error(out, result)
        return
    line = badge(result.verdict)
    line.append(" ")
    line.append(visible(result.ref.display(), limit=300), style="bold")
    line.append("  ")
    frm = result.from_[0].address if result.from_ else ""
    line.append(visible(frm, limit=100), style="cyan")
    line.append("  ")
    line.append(visible(result.subject or "", limit=200))
    line.rstrip()
    out.cut(line)
    out.indented(Text(visible(result.reason, limit=FIELD_LIMIT), style="dim"), 4)


def render_summary(out: Out, verdicts: Counter[Verdict], *, seconds: float,
                   flagged: Iterable[Verdict], notes: Sequence[str] = ()) -> None:
    table = Table(title="Summary", show_header=True, header_style="bold")
    table.add_column("verdict")
    table.add_column("messages", justify="right")
    flagged_set = {str(v) for v in flagged}
    for v, n in sorted(verdicts.items(), key=lambda kv: _verdict_order(kv[0])):
        if n:
            name = badge(v)
            if str(v) in flagged_set:
                name.append(" flagged", style="dim")
            table.add_row(name, str(n))
    total = sum(verdicts.values())
    table.add_row(Text("total", style="bold"), Text(str(total), style="bold"))
    out.emit(table)
    rate = total / seconds if seconds > 0 else 0.0
    out.emit(Text(f"{total} messages in {seconds:.2f} s ({rate:,.0f}/s)", style="dim"))
    for note in notes:
        out.emit(_labelled("note:", _t(note), label_style="dim", indent=0))


def _verdict_order(verdict: Verdict | str) -> int:
    names = [v.value for v in Verdict]
    return names.index(str(verdict)) if str(verdict) in names else len(names)
