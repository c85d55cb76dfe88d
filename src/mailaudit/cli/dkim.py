"""``mailaudit dkim FILE``: every DKIM signature and the ARC chain of one message, for debugging."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mailaudit.model import CheckResult, ExitCode, Finding

_RESULT_STYLE = {"pass": "green", "fail": "red", "permerror": "red", "temperror": "yellow",
                 "none": "dim"}


def visible(text: str) -> str:
    """Control characters (bidi and zero-width included) made visible as \\uXXXX."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or ch in "\u200b\u200c\u200d\u2060\ufeff" \
                or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


@click.command("dkim")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dns-snapshot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Replay DNS answers from this snapshot instead of asking DNS.")
@click.option("--offline", is_flag=True, help="Never open a socket; keys not known are unverifiable.")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human",
              show_default=True)
def dkim_command(file: Path, dns_snapshot: Path | None, offline: bool, fmt: str) -> None:
    """Verify every DKIM signature (and the ARC chain) of one message FILE."""
    from mailaudit.checks.arc.check import check_arc
    from mailaudit.checks.dkim.check import check_dkim
    from mailaudit.dns import make_resolver
    from mailaudit.errors import MailauditError
    from mailaudit.parse import parse_message

    try:
        raw = file.read_bytes()
    except OSError as exc:
        click.echo(f"mailaudit: {file}: cannot read the message ({exc.strerror or exc}).", err=True)
        sys.exit(ExitCode.INPUT)
    try:
        resolver = make_resolver(snapshot=str(dns_snapshot) if dns_snapshot else None,
                                 offline=offline)
    except MailauditError as exc:
        click.echo(f"mailaudit: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    msg = parse_message(raw)
    results, findings = check_dkim(msg, resolver)
    arc = check_arc(msg, resolver) if any(h.lname == "arc-seal" for h in msg.headers) else None
    if fmt == "json":
        doc = {"dkim": [r.as_json() for r in results],
               "findings": [f.as_json() for f in findings],
               "arc": arc.as_json() if arc else None}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _human(results, findings, arc.cv if arc else None, arc.reason if arc else "")
    if any(r.result in ("fail", "permerror") for r in results):
        sys.exit(ExitCode.FLAGGED)


def _human(results: tuple[CheckResult, ...], findings: tuple[Finding, ...], cv: str | None,
           arc_reason: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, emoji=False)

    def safe(value: object) -> str:
        return escape(visible(str(value)))

    for r in results:
        style = _RESULT_STYLE.get(r.result, "bold")
        if r.result == "none":
            console.print(f"[{style}]dkim=none[/] {safe(r.reason)}")
            continue
        p = r.props
        head = (f"[bold]#{safe(p.get('dkim.index'))}[/] [{style}]dkim={safe(r.result)}[/] "
                f"d={safe(p.get('header.d'))} s={safe(p.get('header.s'))} "
                f"a={safe(p.get('header.a'))}")
        console.print(head + (f"  [{style}]{safe(r.reason)}[/]" if r.reason else ""))
        bits = p.get("dkim.key_bits")
        console.print(f"    key: {safe(bits) + ' bits' if bits else 'unknown'}"
                      f"   i={safe(p.get('header.i') or '')}   l= {'yes' if p.get('dkim.l') else 'no'}"
                      f"   h={safe(p.get('dkim.h'))}")
    for f in findings:
        console.print(f"  [yellow]! {safe(f.code)}[/] {safe(f.message)} [dim]({safe(f.evidence)})[/]")
    if cv is not None:
        style = _RESULT_STYLE.get(cv, "bold")
        console.print(f"[{style}]arc={safe(cv)}[/] {safe(arc_reason)}")
