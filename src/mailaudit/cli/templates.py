"""``mailaudit templates``: list, show and try the notification template catalog.

Every string that came from a message or a user pack goes through ``display.markup_safe``
(invisible characters shown as escapes, rich markup escaped) before rich sees it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mailaudit.errors import CatalogError, MailauditError
from mailaudit.model import ExitCode

_TEMPLATES_OPTION = click.option(
    "--templates", "template_dirs", multiple=True, type=click.Path(path_type=Path),
    help="Folder of extra template files (same YAML format); may be repeated.")


def _catalog(dirs: tuple[Path, ...]) -> Any:
    from mailaudit.templates.matcher import load_catalog

    try:
        return load_catalog(dirs)
    except CatalogError as exc:
        click.echo(f"mailaudit: {exc.message}", err=True)
        sys.exit(int(exc.exit_code))


def _console() -> Any:
    from rich.console import Console

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=240)  # piped: do not wrap ids mid-word
    return con


@click.group("templates")
def templates_group() -> None:
    """The catalog of platform notification templates."""


@templates_group.command("list")
@_TEMPLATES_OPTION
def list_cmd(template_dirs: tuple[Path, ...]) -> None:
    """One row per template: sender, address, template id, slots."""
    from rich.table import Table

    from mailaudit.templates.display import markup_safe

    cat = _catalog(template_dirs)
    table = Table("sender", "address", "template", "evidence", "slots")
    for s in cat.senders:
        for t in s.templates:
            slots = ", ".join(f"{n}:{spec.type}{'*' if spec.user_controlled else ''}"
                              for n, spec in t.slots.items())
            table.add_row(markup_safe(s.id), markup_safe(", ".join(s.addresses)),
                          markup_safe(t.id), t.evidence, markup_safe(slots))
    con = _console()
    con.print(table)
    con.print(f"{len(cat.senders)} senders, {len(cat.templates)} templates "
              "(* = written by the customer)")


@templates_group.command("show")
@click.argument("template_id")
@_TEMPLATES_OPTION
def show_cmd(template_id: str, template_dirs: tuple[Path, ...]) -> None:
    """Subject pattern, body, slot types and source of one template."""
    from mailaudit.templates.display import markup_safe
    from mailaudit.templates.patterns import pattern_text

    cat = _catalog(template_dirs)
    try:
        t = cat.template(template_id)
    except KeyError:
        click.echo(f"mailaudit: no template '{template_id}'; `mailaudit templates list` "
                   "shows them all", err=True)
        sys.exit(int(ExitCode.USAGE))
    s = cat.sender(t.sender_id)
    con = _console()
    con.print(f"[bold]{markup_safe(t.id)}[/bold]  ({markup_safe(s.id)}: "
              f"{markup_safe(', '.join(s.addresses))})")
    con.print(f"evidence: {t.evidence}   wording: {t.wording}   language: {markup_safe(t.language)}")
    con.print(f"source: {markup_safe(t.source)}")
    if t.notes:
        con.print(f"notes: {markup_safe(t.notes)}")
    con.print(f"\n[bold]subject[/bold]  {markup_safe(pattern_text(t.subject))}")
    con.print("[bold]body[/bold]")
    for line in t.body:
        opt = "  (optional)" if line.optional else ""
        con.print(f"  {markup_safe(pattern_text(line.segments))}{opt}")
    con.print("[bold]slots[/bold]")
    for name, spec in t.slots.items():
        who = "customer" if spec.user_controlled else "platform"
        params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
        con.print(f"  {markup_safe(name)}: {spec.type} ({who}){'  ' + markup_safe(params) if params else ''}")
    dk = ", ".join(f"{d.domain}{'' if d.verified else ' (unverified)'}" for d in s.dkim) or "unknown"
    con.print(f"[bold]DKIM[/bold]  {markup_safe(dk)}")


@templates_group.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human",
              show_default=True)
@_TEMPLATES_OPTION
def test_cmd(files: tuple[Path, ...], fmt: str, template_dirs: tuple[Path, ...]) -> None:
    """Match message files against the catalog (no authentication checks)."""
    from mailaudit.parse import parse_message
    from mailaudit.templates.matcher import claim_of, match_message

    cat = _catalog(template_dirs)
    con = _console()
    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            click.echo(f"mailaudit: {path}: cannot read ({exc.strerror})", err=True)
            failed = True
            continue
        try:
            msg = parse_message(raw)
            claim = claim_of(msg, cat)
            match = match_message(msg, claim.sender, catalog=cat) \
                if claim is not None and claim.kind == "address" else None
        except MailauditError as exc:
            click.echo(f"mailaudit: {path}: {exc.message}", err=True)
            failed = True
            continue
        if fmt == "json":
            record: dict[str, Any] = {
                "path": str(path),
                "claim": None if claim is None else {"sender": claim.sender.id,
                                                     "kind": claim.kind,
                                                     "evidence": claim.evidence},
                "template": None if match is None else match.as_json(),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            _print_human(con, path, claim, match)
    if failed:
        sys.exit(int(ExitCode.INPUT))


def _print_human(con: Any, path: Path, claim: Any, match: Any) -> None:
    from mailaudit.templates.display import markup_safe

    con.print(f"[bold]{markup_safe(str(path))}[/bold]")
    if claim is None:
        con.print("  not a catalogued sender")
        return
    con.print(f"  claims {markup_safe(claim.sender.id)} by {claim.kind}: "
              f"{markup_safe(claim.evidence, limit=200)}")
    if match is None:
        return
    state = "[green]on template[/green]" if match.matched else "[red]off template[/red]"
    hostile = "  [red]hostile content[/red]" if match.hostile else ""
    con.print(f"  template {markup_safe(match.template_id or '-')}  score {match.score:.2f}  "
              f"{state}{hostile}")
    for s in match.slots:
        mark = "[red]✗[/red]" if s.hostile else "[green]✓[/green]"
        con.print(f"   {mark} {markup_safe(s.name)} ({s.type}): "
                  f"{markup_safe(s.value, limit=300)}")
        for p in s.problems:
            con.print(f"       problem: {markup_safe(p)}")
        for g in s.signals:
            con.print(f"       {g.kind}: {markup_safe(g.value, limit=120)}")
    for text in match.off_template:
        con.print(f"   [red]off-template:[/red] {markup_safe(text, limit=300)}")
    for g in match.signals:
        if not g.where.startswith("slot:"):
            con.print(f"   [red]{g.kind}[/red] in {markup_safe(g.where)}: "
                      f"{markup_safe(g.value, limit=120)}")
