"""``mailaudit check``: turn the command line into a run (``mailaudit.run``) and a writer.

Everything about the run itself (the pool, resume, the time budget, counting and the exit
code) is in ``mailaudit.run``; this module only parses options, refuses what cannot work,
builds the writer and hands ``run`` the format's encode function.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from typing import IO, Any

import click

from mailaudit.cli import CONTEXT, refuse_input_as_output, started
from mailaudit.model import ExitCode

VERDICT_NAMES = ("authentic", "abused", "spoofed", "unrecognized", "unauthenticated",
                 "unknown-sender", "error")
DEFAULT_FAIL_ON = "abused,spoofed,error"
LIMIT_NAMES = ("max_message_bytes", "max_headers", "max_header_bytes", "max_mime_depth",
               "max_mime_parts", "max_decoded_body_bytes", "max_dns_lookups", "max_signatures",
               "max_seconds", "max_snapshot_bytes")


def parse_limits(values: tuple[str, ...]) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for v in values:
        name, sep, raw = v.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in LIMIT_NAMES:
            raise click.BadParameter(f"{v!r}: use NAME=VALUE with NAME one of {', '.join(LIMIT_NAMES)}",
                                     param_hint="--limit")
        try:
            out[name] = float(raw) if name == "max_seconds" else int(raw)
        except ValueError:
            raise click.BadParameter(f"{v!r}: {raw!r} is not a number", param_hint="--limit") from None
        if not math.isfinite(out[name]):
            raise click.BadParameter(f"{v!r}: must be a finite number", param_hint="--limit")
        if out[name] <= 0:
            raise click.BadParameter(f"{v!r}: must be positive", param_hint="--limit")
    return out


def _parse_at(text: str) -> float:
    from datetime import UTC, datetime

    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return float(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text[:40]!r} is not ISO 8601 (2026-06-01T12:00:00Z) or "
                                 "Unix seconds", param_hint="--at") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def parse_fail_on(value: str) -> frozenset[str]:
    names = {v.strip() for v in value.split(",") if v.strip()}
    unknown = names - set(VERDICT_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown verdict(s) {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(VERDICT_NAMES)}", param_hint="--fail-on")
    return frozenset(names)


@click.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "jsonl", "csv"]),
              default="human", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--details/--no-details", default=None,
              help="Human format: full report per message (default for a single message) "
                   "or one line each with a summary (default for batches).")
@click.option("--dns", "dns_mode", type=click.Choice(["live", "offline"]), default=None,
              help="Where DNS answers come from when no snapshot is given (default: live).")
@click.option("--dns-snapshot", type=click.Path(dir_okay=False),
              help="Replay DNS answers from a snapshot file (format mailaudit-dns/1); "
                   "names it does not hold are 'not captured' (temperror), never NXDOMAIN.")
@click.option("--dns-record", type=click.Path(dir_okay=False),
              help="Use live DNS and save every answer used to FILE (a snapshot), as "
                   "`mailaudit dns record` does.")
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
              help="Live DNS: ask this server (repeatable) instead of the system's.")
@click.option("--offline", is_flag=True,
              help="Never open a network socket (the same as --dns offline); answers come only "
                   "from --dns-snapshot.")
@click.option("--no-recompute", is_flag=True,
              help="Do not recompute DKIM/SPF/DMARC/ARC; judge on recorded results only.")
@click.option("--trust-authserv-id", "trust_ids", multiple=True, metavar="ID",
              help="Trust Authentication-Results with this authserv-id (your receiver); repeatable.")
@click.option("--ip", help="SPF: the connecting IP (overrides what the headers say).")
@click.option("--helo", help="SPF: the HELO/EHLO name.")
@click.option("--mail-from", help="SPF: the envelope sender (MAIL FROM).")
@click.option("--templates", "template_dirs", multiple=True, type=click.Path(),
              help="Add a template pack file or a directory of packs (YAML, same format as "
                   "the catalog); repeatable.")
@click.option("--fail-on", default=DEFAULT_FAIL_ON, show_default=True,
              help="Comma-separated verdicts that make the exit code 1.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: all cores for large inputs, 1 for a single file).")
@click.option("--unordered", is_flag=True, help="Write results as they finish, not in input order.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where messages are audited: this machine (--jobs processes) or a Dask "
                   "cluster (needs `pip install 'mailaudit[dask]'`).")
@click.option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", metavar="ADDRESS",
              help="--engine dask: the scheduler of an existing cluster (tcp://host:8786; "
                   "default $DASK_SCHEDULER_ADDRESS); without it, a local cluster sized to "
                   "this machine. Workers open the inputs by path.")
@click.option("--shard-size", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="--engine dask: split mbox files larger than this into byte ranges "
                   "(default 32 MiB).")
@click.option("--resume", "resume_path", type=click.Path(dir_okay=False),
              help="Continue an interrupted --format jsonl run: skip messages already in FILE "
                   "and append the rest to it.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only when stderr is a terminal).")
@click.option("--limit", "limits", multiple=True, metavar="NAME=VALUE",
              help=f"Override a resource limit ({', '.join(LIMIT_NAMES)}).")
@click.option("--color/--no-color", default=None, help="Colour in human output (default: auto).")
@click.option("--at", "at", metavar="TIMESTAMP",
              help="Judge signature times (t=, x=) at this moment: ISO 8601 (2026-06-01T12:00Z) "
                   "or Unix seconds. Default: the snapshot's captured_at when replaying one, "
                   "else now.")
def check(paths: tuple[str, ...], fmt: str, output: str | None, details: bool | None,
          dns_mode: str | None, dns_snapshot: str | None, dns_record: str | None,
          nameservers: tuple[str, ...], offline: bool, no_recompute: bool,
          trust_ids: tuple[str, ...], ip: str | None, helo: str | None, mail_from: str | None,
          template_dirs: tuple[str, ...], fail_on: str, jobs: int | None, unordered: bool,
          engine: str, scheduler: str | None, shard_size: int | None, resume_path: str | None, progress: bool | None, limits: tuple[str, ...],
          color: bool | None, at: str | None) -> None:
    """Audit messages and give each a verdict.

    PATH is a message file (.eml), - for standard input, a directory (searched recursively),
    an mbox file, a Maildir, an Outlook .msg file (needs `pip install 'mailaudit[msg]'`) or an
    Outlook .pst/.ost mailbox (needs `pip install 'mailaudit[pst]'`).
    Messages attached as message/rfc822 (a user's "report phishing" forward) get their own
    record. Named pipes and devices are refused; pipe into `-` instead.
    """
    from mailaudit.dns import DnsConfig
    from mailaudit.options import AuditOptions, Limits
    from mailaudit.run import RunConfig

    flagged = parse_fail_on(fail_on)
    limit_values = parse_limits(limits)
    if dns_mode == "live" and offline:
        raise click.UsageError("--dns live and --offline contradict each other; choose one.")
    offline = offline or dns_mode == "offline"
    if dns_record and (offline or dns_snapshot):
        raise click.UsageError("--dns-record uses live DNS; it cannot go with --offline or --dns-snapshot.")
    if dns_record and no_recompute:
        raise click.UsageError("--dns-record records the lookups of recomputing; leave out --no-recompute.")
    if resume_path:
        if fmt != "jsonl":
            raise click.UsageError("--resume continues a JSONL report: add --format jsonl.")
        if output and os.path.abspath(output) != os.path.abspath(resume_path):
            raise click.UsageError("--resume FILE is also the output; leave out --output or give the same file.")
        refuse_input_as_output(resume_path, paths, "--resume")
    if output:
        refuse_input_as_output(output, paths, "-o/--output")
    if paths.count("-") > 1:
        raise click.UsageError("standard input (-) can be read only once.")
    if engine == "dask":
        if dns_record:
            raise click.UsageError("--dns-record sees every lookup in one process; it cannot "
                                   "go with --engine dask.")
        if jobs is not None:
            raise click.UsageError("--jobs sizes the local pool; with --engine dask the "
                                   "cluster's workers do the work.")
    elif scheduler and os.environ.get("DASK_SCHEDULER_ADDRESS") != scheduler:
        raise click.UsageError("--scheduler goes with --engine dask.")

    options = AuditOptions(
        recompute=not no_recompute, trust_authserv_ids=trust_ids, ip=ip, helo=helo,
        mail_from=mail_from, limits=Limits(**limit_values),  # type: ignore[arg-type]
        now=_parse_at(at) if at else None,
    )
    dns = DnsConfig(snapshot=dns_snapshot, offline=offline, nameservers=nameservers,
                    record=bool(dns_record), max_snapshot_bytes=options.limits.max_snapshot_bytes)
    config = RunConfig(options=options, dns=dns, templates=template_dirs)
    code = run_check(list(paths), config=config, fmt=fmt, output=output, details=details,
                     dns_record=dns_record, flagged=flagged, jobs=jobs, ordered=not unordered,
                     resume_path=resume_path, progress=progress, color=color,
                     dask=DaskSettings(scheduler, shard_size) if engine == "dask" else None)
    sys.exit(int(code))


class DaskSettings:
    """--engine dask: where the cluster is, and how large an mbox shard is."""

    def __init__(self, scheduler: str | None, shard_size: int | None) -> None:
        self.scheduler = scheduler or None
        self.shard_size = shard_size


def run_check(paths: list[str], *, config: Any, fmt: str, output: str | None,
              details: bool | None, dns_record: str | None, flagged: frozenset[str],
              jobs: int | None, ordered: bool, resume_path: str | None, progress: bool | None,
              color: bool | None, dask: DaskSettings | None = None) -> ExitCode:
    from mailaudit.cli.dns import probe, save_recording
    from mailaudit.errors import InputError
    from mailaudit.report import (
        PREPARERS,
        REPORT_FILE_BUFFER,
        OutputFormat,
        is_regular_file,
        make_writer,
    )
    from mailaudit.resume import open_resume, resume_key
    from mailaudit.run import (
        RANGE_BYTES,
        Auditor,
        Engine,
        Unit,
        default_jobs,
        inline_engine,
        pool_engine,
        run,
    )
    from mailaudit.sources import iter_messages, iter_units, survey

    if config.options.recompute:
        probe(config.dns)
    # Built once here, so that a bad snapshot, catalog or DNS set-up is one clear error
    # (exit 3/4) before any message is read; forked workers share what is built.
    auditor = Auditor(config)
    looked = survey(paths)
    # A single message gets its full report and no bar (a bar would tear the report).
    show_progress = progress if progress is not None else (
        sys.stderr.isatty() and not looked.single)
    if jobs is None:
        jobs = default_jobs(looked.large)
    if dns_record:
        jobs = 1  # one recorder sees every lookup

    exits = ExitStack()  # the Dask client and cluster, when there is one
    dask_client: Any = None
    if dask is not None:
        from mailaudit.engines.dask import connect

        try:  # before any output: no scheduler, no extra is one sentence and exit code 4
            dask_client = exits.enter_context(connect(dask.scheduler))
        except BaseException:
            exits.close()
            raise
    resumed = open_resume(resume_path, buffering=REPORT_FILE_BUFFER) if resume_path else None
    stream: IO[str] | None
    if resumed is not None:
        stream = resumed.stream
    elif output:
        try:
            stream = open(output, "w", encoding="utf-8", newline="",  # noqa: SIM115
                          buffering=REPORT_FILE_BUFFER)
        except OSError as exc:
            raise InputError(f"{output}: cannot write the report ({exc.strerror}).",
                             exit_code=ExitCode.USAGE) from exc
    elif fmt != "human" and is_regular_file(sys.stdout):
        # Standard output redirected to a file: the same large buffer as -o (closing this
        # wrapper flushes it and leaves standard output open).
        sys.stdout.flush()
        stream = open(sys.stdout.fileno(), "w", encoding=sys.stdout.encoding,  # noqa: SIM115
                      errors=sys.stdout.errors, buffering=REPORT_FILE_BUFFER, closefd=False)
    else:
        stream = None  # standard output
    out_format = OutputFormat(fmt)
    encode = PREPARERS[out_format]
    writer = make_writer(out_format, stream,
                         detail=details if details is not None else looked.single,
                         color=color if output is None else False)
    started()  # what every message needs is built: collection back on, before any is read
    engine: Engine
    limits = config.options.limits
    units: Iterable[Unit]
    if dask_client is not None:
        assert dask is not None
        from mailaudit.engines.dask import SHARD_BYTES, run_dask

        def engine(_items: Any) -> Any:
            # Workers open the inputs by path and skip what the report already holds.
            return run_dask(paths, config, client=dask_client, encode=encode,
                            ordered=ordered, skip=resumed.done if resumed else frozenset(),
                            shard_bytes=dask.shard_size or SHARD_BYTES)
        units = ()  # the shards name the inputs
    elif jobs == 1:
        engine = inline_engine(auditor, encode)
        units = iter_messages(paths, limits=limits)
    else:
        engine = pool_engine(config, encode, jobs=jobs, ordered=ordered,
                             shared=(auditor.resolver, auditor.catalog),
                             skip=frozenset(resumed.done) if resumed is not None else frozenset())
        # A large mbox goes to the workers as byte ranges, which each reads itself.
        units = iter_units(paths, limits=limits, range_bytes=RANGE_BYTES)
    from mailaudit.report.progress import Progress
    from mailaudit.sources import count_hint

    bar = Progress(count_hint(paths) if show_progress else None, enabled=show_progress)
    try:
        with bar:
            outcome = run(units, engine=engine,
                          sink=_Paused(writer, bar), flagged=flagged,
                          skip=resumed.done if resumed is not None else None,
                          key=lambda item: resume_key(item.ref),
                          previous=resumed.verdicts if resumed is not None else None,
                          on_group=bar.advance)
    finally:
        exits.close()  # the Dask client and cluster, if any
        if stream is not None:
            stream.close()
    if dns_record and outcome.stopped is None:
        save_recording(auditor.resolver, dns_record)
    if outcome.stopped in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
        how = "interrupted" if outcome.stopped is ExitCode.INTERRUPTED else "terminated"
        click.echo(f"mailaudit: {how} after {outcome.total} messages; the report so far is "
                   "complete" + (f" (continue with --resume {resume_path})" if resume_path else ""),
                   err=True)
    elif resumed is not None and outcome.stopped is None and outcome.skipped:
        click.echo(f"mailaudit: resumed; skipped {outcome.skipped} messages already in "
                   f"{resume_path}", err=True)
    if outcome.stopped is not ExitCode.BROKEN_PIPE:
        _echo_skipped_items()
    if outcome.exit_code is ExitCode.INPUT:
        _say_errors(writer.errors, outcome.total, human=fmt == "human" and output is None)
    return outcome.exit_code


class _Paused:
    """The writer, with the progress bar out of the way while it writes."""

    def __init__(self, writer: Any, bar: Any) -> None:
        self.writer = writer
        self.bar = bar

    def write_group(self, group: Any) -> None:
        with self.bar.paused():
            self.writer.write_group(group)

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Any] = frozenset()) -> None:
        with self.bar.paused():
            self.writer.close(seconds=seconds, flagged=flagged)


def _say_errors(errors: list[str], total: int, *, human: bool) -> None:
    """Errors that end a run are said on standard error too (machine formats keep the error
    record on standard output), unless the human report already showed them on this same
    terminal."""
    from mailaudit.report.text import visible

    if human and sys.stdout.isatty() and sys.stderr.isatty():
        return
    for message in errors:
        click.echo(f"mailaudit: {visible(message)}", err=True)
    if total > len(errors):
        click.echo(f"mailaudit: ... and {total - len(errors)} more errors", err=True)


def _echo_skipped_items() -> None:
    """PST/OST items that are not mail (appointments, contacts...) were skipped: say how many."""
    from mailaudit.report.text import visible

    pst = sys.modules.get("mailaudit.sources.pst")  # only loaded when a PST was read
    if pst is not None:
        for line in pst.skipped_summary():
            click.echo(f"mailaudit: {visible(line, limit=2000)}", err=True)
        pst.reset_skipped()
