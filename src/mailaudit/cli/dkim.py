"""``mailaudit dkim FILE``: every DKIM signature and the ARC chain of one message, for debugging.

The message is read as ``check`` reads it (``-`` is standard input; a file that is not mail is
the ``not-mail`` error; an mbox or Maildir gives each of its messages), verified by the same
checks under the same per-message DNS budget, and printed through ``report.debug_view``.
Exit code: 0 every signature passed, 1 one did not (or the message is not signed), 2 usage,
3 input unreadable or not mail.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from mailaudit.cli.debug import CONTEXT, make_resolver, say, with_dns_options
from mailaudit.model import CheckResult, ExitCode, Finding


@click.command("dkim", context_settings=CONTEXT)
@click.argument("file", metavar="FILE")
@with_dns_options
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human",
              show_default=True)
@click.option("--limit", "limit_values", multiple=True, metavar="NAME=VALUE",
              help="Override a resource limit, as for `mailaudit check`.")
def dkim_command(file: str, dns_snapshot: str | None, offline: bool,
                 nameservers: tuple[str, ...], fmt: str, limit_values: tuple[str, ...]) -> None:
    """Verify every DKIM signature (and the ARC chain) of the message in FILE (- for
    standard input)."""
    from mailaudit.cli.check import parse_limits as _parse_limits
    from mailaudit.model import SourceError
    from mailaudit.options import Limits
    from mailaudit.sources import iter_messages

    limits = Limits(**_parse_limits(limit_values))  # type: ignore[arg-type]
    resolver = make_resolver(dns_snapshot, offline, nameservers)
    code = ExitCode.OK
    items = list(iter_messages([file], limits=limits))
    many = len(items) > 1
    docs: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, SourceError):
            say(item.message)
            code = ExitCode.INPUT
            if fmt == "json":
                from mailaudit.report.schema import ref_json

                docs.append({"ref": ref_json(item.ref),
                             "error": {"code": item.code, "message": item.message}})
            continue
        results, findings, arc = _verify(item.data, resolver, limits)
        if code is ExitCode.OK and not (results and all(r.result == "pass" for r in results)):
            code = ExitCode.FLAGGED
        if fmt == "json":
            from mailaudit.report.schema import arc_json, check_json, finding_json, ref_json

            docs.append({"ref": ref_json(item.ref),
                         "dkim": [check_json(r) for r in results],
                         "findings": [finding_json(f) for f in findings],
                         "arc": arc_json(arc) if arc else None})
        else:
            from mailaudit.report.console import make_console
            from mailaudit.report.debug_view import render_dkim

            render_dkim(make_console(), results, findings, arc,
                        where=item.ref.display() if many else "")
    if fmt == "json":
        from mailaudit.report.schema import dumps

        out: Any = docs[0] if len(docs) == 1 and not many else docs
        sys.stdout.write(dumps(out, indent=2) + "\n")
    sys.exit(int(code))


def _verify(raw: bytes, resolver: Any, limits: Any
            ) -> tuple[tuple[CheckResult, ...], tuple[Finding, ...], Any]:
    from mailaudit.checks.arc.check import check_arc
    from mailaudit.checks.dkim.check import check_dkim
    from mailaudit.dns.budget import BudgetResolver
    from mailaudit.model import Severity
    from mailaudit.parse import parse_message

    msg = parse_message(raw, limits=limits)
    # The per-message budget `check` applies (checks.authenticate): a hostile message must not
    # make a debug verb send thousands of queries either.
    budgeted = BudgetResolver(resolver, limits.max_dns_lookups, seconds=limits.max_seconds / 2)
    results, found = check_dkim(msg, budgeted, max_signatures=limits.max_signatures)
    arc = check_arc(msg, budgeted) if any(h.lname == "arc-seal" for h in msg.headers) else None
    findings = list(found)
    if budgeted.refused:
        findings.append(Finding("limit-dns-lookups", Severity.WARNING,
                                f"DNS lookups stopped at {budgeted.limit} (limit "
                                f"max_dns_lookups); {budgeted.refused} more were needed; "
                                "results that needed them are temperror"))
    return results, tuple(findings), arc
