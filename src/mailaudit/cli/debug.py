"""Debug verbs: ``mailaudit spf`` and ``mailaudit dmarc`` show one check on its own.

Everything printed from DNS is someone else's text: control characters are made visible and
rich markup is escaped before it reaches the terminal.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from mailaudit.model import CheckResult

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_COLOURS = {"pass": "green", "fail": "red", "softfail": "yellow", "neutral": "yellow",
            "none": "bright_black", "temperror": "magenta", "permerror": "magenta"}


def _safe(value: object, limit: int = 2000) -> str:
    from rich.markup import escape

    from mailaudit.report.text import visible

    return escape(visible(str(value), limit=limit))


def _resolver(snapshot: str | None, offline: bool, nameservers: tuple[str, ...]) -> Any:
    from mailaudit.dns import make_resolver

    return make_resolver(mode="offline" if offline else "live", snapshot=snapshot, record=None,
                         offline=offline, nameservers=nameservers or None)


def _print_result(result: CheckResult, extra: dict[str, object] | None = None) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    colour = _COLOURS.get(result.result, "white")
    console.print(f"[bold {colour}]{result.method}={_safe(result.result)}[/] {_safe(result.reason)}")
    for key, value in {**result.props, **(extra or {})}.items():
        if value not in (None, ""):
            console.print(f"  [bold]{_safe(key)}[/]: {_safe(value)}")


_dns_options = [
    click.option("--dns-snapshot", type=click.Path(dir_okay=False),
                 help="Replay DNS answers from this snapshot (format mailaudit-dns/1)."),
    click.option("--offline", is_flag=True,
                 help="Never open a network socket; answers come only from --dns-snapshot."),
    click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
                 help="Ask this DNS server (repeatable) instead of the system's."),
]


def _with_dns_options(func: Any) -> Any:
    for option in reversed(_dns_options):
        func = option(func)
    return func


@click.command("spf", context_settings=CONTEXT)
@click.option("--ip", required=True, help="The connecting client's IP address.")
@click.option("--helo", default="", help="The name the client gave in HELO/EHLO.")
@click.option("--mail-from", default="", help="The SMTP MAIL FROM address (empty: null sender).")
@_with_dns_options
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human")
def spf_command(ip: str, helo: str, mail_from: str, dns_snapshot: str | None, offline: bool,
                nameservers: tuple[str, ...], fmt: str) -> None:
    """Evaluate SPF (RFC 7208) for one envelope and explain the result."""
    from mailaudit.checks.spf.check import check_spf
    from mailaudit.model import Envelope

    resolver = _resolver(dns_snapshot, offline, nameservers)
    result = check_spf(Envelope(ip=ip, helo=helo or None, mail_from=mail_from,
                                source="options"), resolver)
    if fmt == "json":
        json.dump(result.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_result(result)


@click.command("dmarc", context_settings=CONTEXT)
@click.argument("domain")
@_with_dns_options
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human")
def dmarc_command(domain: str, dns_snapshot: str | None, offline: bool,
                  nameservers: tuple[str, ...], fmt: str) -> None:
    """Show the DMARC policy that governs DOMAIN and both organisational domains
    (Public Suffix List, RFC 7489; DNS tree walk, DMARCbis)."""
    report = discover_policy(domain, _resolver(dns_snapshot, offline, nameservers))
    if fmt == "json":
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    for key, value in report.items():
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        if value not in (None, ""):
            console.print(f"[bold]{_safe(key)}[/]: {_safe(value)}")


def discover_policy(domain: str, resolver: Any) -> dict[str, Any]:
    """The record at the domain, else at its organisational domain, else found by the tree
    walk, with both organisational domains. DNS failures are reported, not raised."""
    from mailaudit.checks.dmarc.check import fetch_dmarc_record
    from mailaudit.checks.dmarc.treewalk import treewalk
    from mailaudit.dns.base import DnsOutcome
    from mailaudit.parse.domains import normalise_domain, org_domain_psl

    name = normalise_domain(domain)
    report: dict[str, Any] = {"domain": domain, "org_domain_psl": None,
                              "org_domain_treewalk": None, "record_domain": None,
                              "record": None, "problems": [], "errors": []}
    if name is None:
        report["errors"].append("not a domain name")
        return report
    report["org_domain_psl"] = org_domain_psl(name)
    notes: list[str] = []

    def fetch(target: str) -> Any:
        record, note = fetch_dmarc_record(target, resolver)
        if note:
            notes.append(note)
        return record

    try:
        tw_org, tw_record = treewalk(name, fetch)
        report["org_domain_treewalk"] = tw_org
    except DnsOutcome as exc:
        tw_record = None
        report["errors"].append(f"tree walk: {exc}")
    record = None
    for target in dict.fromkeys([name, report["org_domain_psl"]]):
        if target is None:
            continue
        try:
            record = fetch(target)
        except DnsOutcome as exc:
            report["errors"].append(str(exc))
            break
        if record is not None:
            break
    record = record or tw_record
    if record is not None:
        report.update({"record_domain": record.domain, "record": record.raw,
                       "p": record.p, "sp": record.sp, "np": record.np, "pct": record.pct,
                       "t": "y" if record.t else "n", "adkim": record.adkim,
                       "aspf": record.aspf, "psd": record.psd,
                       "problems": [*record.problems, *([record.error] if record.error else [])]})
    report["errors"].extend(dict.fromkeys(notes))
    return report
