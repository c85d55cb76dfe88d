"""``mailaudit templates``: list, show and try the notification template catalog.

What is printed is built in ``report.catalog_view``: every string from a pack or a message is
made visible there before rich sees it.
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


def _say(message: str) -> None:
    from mailaudit.report.text import visible

    click.echo(f"mailaudit: {visible(message)}", err=True)


def _catalog(dirs: tuple[Path, ...]) -> Any:
    from mailaudit.templates.matcher import load_catalog

    try:
        return load_catalog(dirs)
    except CatalogError as exc:
        _say(exc.message)
        sys.exit(int(exc.exit_code))


def _console() -> Any:
    from mailaudit.report.human import make_console

    return make_console()


@click.group("templates")
def templates_group() -> None:
    """The catalog of platform notification templates."""


@templates_group.command("list")
@_TEMPLATES_OPTION
def list_cmd(template_dirs: tuple[Path, ...]) -> None:
    """One row per template: id, sender, address, evidence, slots (* = written by the
    customer). Piped, one tab-separated line per template."""
    from mailaudit.report.catalog_view import render_list

    render_list(_console(), _catalog(template_dirs))


@templates_group.command("show")
@click.argument("template_id")
@_TEMPLATES_OPTION
def show_cmd(template_id: str, template_dirs: tuple[Path, ...]) -> None:
    """Subject pattern, body, slot types and source of one template."""
    from mailaudit.report.catalog_view import render_show
    from mailaudit.templates.patterns import pattern_text

    cat = _catalog(template_dirs)
    try:
        t = cat.template(template_id)
    except KeyError:
        _say(f"no template '{template_id}'; `mailaudit templates list` shows them all")
        sys.exit(int(ExitCode.USAGE))
    render_show(_console(), cat, t, pattern_text)


@templates_group.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human",
              show_default=True)
@_TEMPLATES_OPTION
def test_cmd(files: tuple[Path, ...], fmt: str, template_dirs: tuple[Path, ...]) -> None:
    """Match messages against the catalog (no authentication checks). FILES may be message
    files, mbox files, Maildirs or directories, like `mailaudit check`: every message in them
    is tested."""
    from mailaudit.model import SourceError
    from mailaudit.options import Limits
    from mailaudit.parse import parse_message
    from mailaudit.report.catalog_view import render_error, render_test
    from mailaudit.report.schema import ref_json, template_json
    from mailaudit.sources import iter_messages
    from mailaudit.templates.matcher import claim_of, match_message

    cat = _catalog(template_dirs)
    con = _console()
    failed = False
    for item in iter_messages([str(f) for f in files], limits=Limits()):
        where = item.ref.display()
        if isinstance(item, SourceError):
            failed = True
            if fmt == "json":
                click.echo(json.dumps({"ref": ref_json(item.ref), "error": {
                    "code": item.code, "message": item.message}}, ensure_ascii=True))
            else:
                render_error(con, where, item.message)
            _say(item.message)
            continue
        try:
            msg = parse_message(item.data)
            claim = claim_of(msg, cat)
            match = match_message(msg, claim.sender, catalog=cat) \
                if claim is not None and claim.kind == "address" else None
        except MailauditError as exc:
            _say(f"{where}: {exc.message}")
            failed = True
            continue
        if fmt == "json":
            from mailaudit.report.schema import dumps

            record: dict[str, Any] = {
                "path": item.ref.path,
                "ref": ref_json(item.ref),
                "claim": None if claim is None else {"sender": claim.sender.id,
                                                     "kind": claim.kind,
                                                     "evidence": claim.evidence},
                "template": None if match is None else template_json(match),
            }
            click.echo(dumps(record))
        else:
            render_test(con, where, claim, match)
    if failed:
        sys.exit(int(ExitCode.INPUT))
