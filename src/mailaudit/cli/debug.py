"""Debug verbs: ``mailaudit spf`` and ``mailaudit dmarc`` show one check on its own.

They call the code ``check`` uses (``checks.spf.check_spf``, ``checks.dmarc.discover_policy``)
and print through ``report.debug_view``. One exit-code rule for every verb: 0 the check passed
(DMARC: a policy was found), 1 it did not, 2 usage, 3 input unreadable.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any, NoReturn

import click

from mailaudit.model import CheckResult, ExitCode

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def say(message: str) -> None:
    """A sentence on stderr, hostile text made visible."""
    from mailaudit.report.text import visible

    click.echo(f"mailaudit: {visible(message)}", err=True)


def stop(message: str, code: ExitCode) -> NoReturn:
    say(message)
    sys.exit(int(code))


def make_resolver(snapshot: str | None, offline: bool, nameservers: tuple[str, ...]) -> Any:
    from mailaudit.dns import make_resolver as make

    # An unreadable snapshot or unusable nameserver is a MailauditError: cli.main says it.
    return make(snapshot=snapshot, offline=offline, nameservers=nameservers or None)


def passed(results: list[CheckResult] | tuple[CheckResult, ...]) -> ExitCode:
    """0 when every result passed, else 1 (none, neutral, softfail, fail, temperror and
    permerror are all "did not pass")."""
    return ExitCode.OK if results and all(r.result == "pass" for r in results) \
        else ExitCode.FLAGGED


def _console() -> Any:
    from mailaudit.report.console import make_console

    return make_console()


def _print_json(doc: Any) -> None:
    from mailaudit.report.schema import dumps

    sys.stdout.write(dumps(doc, indent=2) + "\n")


_dns_options = [
    click.option("--dns-snapshot", type=click.Path(dir_okay=False),
                 help="Replay DNS answers from this snapshot (format mailaudit-dns/1)."),
    click.option("--offline", is_flag=True,
                 help="Never open a network socket; answers come only from --dns-snapshot."),
    click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
                 help="Ask this DNS server (repeatable) instead of the system's."),
]


def with_dns_options(func: Any) -> Any:
    for option in reversed(_dns_options):
        func = option(func)
    return func


def _ip(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an IPv4 or IPv6 address") from None


@click.command("spf", context_settings=CONTEXT)
@click.option("--ip", required=True, callback=_ip, help="The connecting client's IP address.")
@click.option("--helo", default="", help="The name the client gave in HELO/EHLO.")
@click.option("--mail-from", default="", help="The SMTP MAIL FROM address (empty: null sender).")
@with_dns_options
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human")
def spf_command(ip: str, helo: str, mail_from: str, dns_snapshot: str | None, offline: bool,
                nameservers: tuple[str, ...], fmt: str) -> None:
    """Evaluate SPF (RFC 7208) for one envelope and explain the result.

    Exit code 0 when SPF passes, 1 when it does not, 2 usage, 3 unreadable snapshot."""
    from mailaudit.checks.spf.check import check_spf
    from mailaudit.model import Envelope

    resolver = make_resolver(dns_snapshot, offline, nameservers)
    result = check_spf(Envelope(ip=ip, helo=helo or None, mail_from=mail_from,
                                source="options"), resolver)
    if fmt == "json":
        from mailaudit.report.schema import check_json

        _print_json(check_json(result))
    else:
        from mailaudit.report.debug_view import render_check

        render_check(_console(), result)
    sys.exit(int(passed([result])))


def _domain_argument(value: str) -> str:
    """A domain name; an address stands for its domain, and the user is told so."""
    from mailaudit.parse.domains import normalise_domain

    text = value.strip()
    if "@" in text:
        domain = text.rsplit("@", 1)[1].strip().strip(">")
        say(f"{text} is an address; showing the DMARC policy of its domain {domain}")
        text = domain
    name = normalise_domain(text)
    if name is None or any(c.isspace() or c in "/\\:;,<>()[]\"'" for c in name) \
            or "." not in name.strip("."):
        raise click.BadParameter(f"{value!r} is not a domain name", param_hint="DOMAIN")
    return name


@click.command("dmarc", context_settings=CONTEXT)
@click.argument("domain")
@with_dns_options
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human")
def dmarc_command(domain: str, dns_snapshot: str | None, offline: bool,
                  nameservers: tuple[str, ...], fmt: str) -> None:
    """Show the DMARC policy that governs DOMAIN and both organisational domains
    (Public Suffix List, RFC 7489; DNS tree walk, DMARCbis), found as `check` finds it.

    An address (user@example.com) stands for its domain. Exit code 0 when a policy governs
    the domain, 1 when none does (or DNS could not tell), 2 usage, 3 unreadable snapshot."""
    from mailaudit.checks.dmarc.check import discover_policy

    name = _domain_argument(domain)
    found = discover_policy(name, make_resolver(dns_snapshot, offline, nameservers))
    report = dmarc_report(found)
    if fmt == "json":
        _print_json(report)
    else:
        from mailaudit.report.debug_view import render_dmarc

        render_dmarc(_console(), report)
    sys.exit(int(ExitCode.OK if report["result"] == "found" else ExitCode.FLAGGED))


def dmarc_report(found: Any) -> dict[str, Any]:
    """The discovery as a flat record (``--format json``). ``result``: ``found`` (a policy
    governs the domain), ``none`` (no record), ``permerror`` (a broken record) or
    ``temperror`` (DNS could not tell)."""
    record = found.record
    report: dict[str, Any] = {"domain": found.domain, "result": "found",
                              "org_domain_psl": found.org_domain_psl or None,
                              "org_domain_treewalk": found.org_domain_treewalk or None,
                              "record_domain": None, "record": None, "source": found.source or None,
                              "policy": found.policy or None,
                              "policy_from": found.policy_from or None,
                              "problems": [], "errors": list(found.notes)}
    if found.unknown is not None:
        report.update({"result": "temperror", "reason": found.unknown.reason})
        return report
    if record is None:
        report["result"] = "none"
        if found.no_policy:
            report["reason"] = found.no_policy
        return report
    report.update({"record_domain": record.domain, "record": record.raw,
                   "p": record.p, "sp": record.sp, "np": record.np, "pct": record.pct,
                   "t": "y" if record.t else "n", "adkim": record.adkim,
                   "aspf": record.aspf, "psd": record.psd,
                   "problems": [*record.problems, *([record.error] if record.error else [])]})
    if record.error:
        report.update({"result": "permerror", "reason": record.error})
    elif record.p is None and not record.rua:
        report.update({"result": "none", "reason": "the record has no valid p= tag"})
    return report
