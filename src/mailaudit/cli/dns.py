"""``mailaudit dns record``, and the DNS plumbing ``check`` shares with it: the nameserver
probe and saving a recording (one way to record DNS: a ``RecordingResolver`` around live DNS,
saved when the run ends, whether by ``dns record`` or ``check --dns-record``)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mailaudit.cli import CONTEXT, refuse_input_as_output
from mailaudit.dns import DnsConfig
from mailaudit.model import ExitCode


def probe(dns: DnsConfig) -> None:
    """A wrong ``--nameserver`` ends the run at once (exit 4), before any message is read."""
    if dns.live and dns.nameservers:
        from mailaudit.dns.live import probe_nameservers

        probe_nameservers(dns.nameservers)


def save_recording(resolver: Any, path: str) -> int:
    """Write what ``resolver`` (a RecordingResolver) saw; refuse to write a snapshot in which
    every lookup timed out, which would replay as DNS that never answered."""
    from mailaudit.dns.record import RecordingResolver
    from mailaudit.errors import DnsUnusableError

    assert isinstance(resolver, RecordingResolver)
    records = resolver.records()
    if records and all(entry == "TIMEOUT" for entry in records.values()):
        raise DnsUnusableError(f"every DNS lookup ({len(records)}) timed out, so {path} was not "
                               "written; check --nameserver or the network and record again.")
    timeouts = sum(entry == "TIMEOUT" for entry in records.values())
    try:
        resolver.save(path)
    except OSError as exc:
        from mailaudit.errors import InputError

        raise InputError(f"{path}: cannot write the snapshot ({exc.strerror or exc}).",
                         exit_code=ExitCode.USAGE) from exc
    note = f" ({timeouts} timed out and replay as such)" if timeouts else ""
    click.echo(f"mailaudit: saved {len(records)} DNS names to {path}{note}", err=True)
    return len(records)


@click.group("dns", context_settings=CONTEXT)
def dns_group() -> None:
    """Capture the DNS answers an audit uses, to replay them offline later."""


@dns_group.command("record", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Snapshot file to write (format mailaudit-dns/1).")
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
              help="Ask this DNS server (repeatable) instead of the system's.")
@click.option("--trust-authserv-id", "trust_ids", multiple=True, metavar="ID")
def dns_record(paths: tuple[str, ...], output: str, nameservers: tuple[str, ...],
               trust_ids: tuple[str, ...]) -> None:
    """Look up, live, every DNS name the messages need and save the answers to a snapshot,
    so the audit can be replayed later, offline, with the same results
    (`mailaudit check PATH --dns-snapshot FILE --offline`)."""
    from mailaudit.errors import InputError
    from mailaudit.model import SourceError
    from mailaudit.options import AuditOptions
    from mailaudit.report.text import visible
    from mailaudit.run import Auditor, RunConfig
    from mailaudit.sources import iter_messages

    refuse_input_as_output(output, paths, "-o/--output")
    config = RunConfig(options=AuditOptions(trust_authserv_ids=trust_ids),
                       dns=DnsConfig(nameservers=nameservers, record=True), use_catalog=False)
    probe(config.dns)
    auditor = Auditor(config)
    read = 0
    # The checks are what know which names a message needs: audit each message with the
    # recording resolver; the results themselves are not wanted.
    for item in iter_messages(paths, limits=config.options.limits):
        if isinstance(item, SourceError):
            click.echo(f"mailaudit: {visible(item.message, limit=2000)}", err=True)
            continue
        read += 1
        auditor.audit(item)
    if not read:
        raise InputError(f"no message could be read, so {output} was not written.")
    save_recording(auditor.resolver, output)
    sys.exit(int(ExitCode.OK))
