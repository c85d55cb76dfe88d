"""The command line: a thin shell over ``mailaudit.audit`` and ``mailaudit.run``.

Only click is imported at start-up; every command imports what it needs when it runs, so
``mailaudit --version`` and a single-file check do not pay for the rest.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import IO, Any

import click

from mailaudit import __version__
from mailaudit.model import ExitCode

VERDICT_NAMES = ("authentic", "abused", "spoofed", "unrecognized", "unauthenticated",
                 "unknown-sender", "error")
DEFAULT_FAIL_ON = "abused,spoofed,error"
LIMIT_NAMES = ("max_message_bytes", "max_headers", "max_header_bytes", "max_mime_depth",
               "max_mime_parts", "max_decoded_body_bytes", "max_dns_lookups", "max_signatures",
               "max_seconds")


class LazyGroup(click.Group):
    """Subcommands imported on first use: ``name -> "module:attribute"``."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name].split(":")
            cmd = getattr(importlib.import_module(module), attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, cmd_name)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT, lazy={
    "templates": "mailaudit.cli.templates:templates_group",
    "spf": "mailaudit.cli.debug:spf_command",
    "dmarc": "mailaudit.cli.debug:dmarc_command",
    "dkim": "mailaudit.cli.dkim:dkim_command",
})
@click.version_option(__version__, "-V", "--version", prog_name="mailaudit")
def cli() -> None:
    """Audit email authentication, and catch mail genuinely sent by a trusted platform that
    carries someone else's words.

    Start with `mailaudit check FILE`. Exit codes: 0 nothing flagged, 1 something flagged,
    2 usage, 3 input unreadable, 4 a service the run needs (DNS, a Dask scheduler) is unusable,
    130 interrupted.
    """


def _parse_limits(values: tuple[str, ...]) -> dict[str, float | int]:
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
        if out[name] <= 0:
            raise click.BadParameter(f"{v!r}: must be positive", param_hint="--limit")
    return out


def _parse_fail_on(value: str) -> frozenset[str]:
    names = {v.strip() for v in value.split(",") if v.strip()}
    unknown = names - set(VERDICT_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown verdict(s) {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(VERDICT_NAMES)}", param_hint="--fail-on")
    return frozenset(names)


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


def fail(message: str, code: ExitCode) -> None:
    from mailaudit.report.text import visible

    # Messages name snapshots, packs and files: hostile text, shown and not interpreted.
    click.echo(f"mailaudit: {visible(message)}", err=True)
    sys.exit(int(code))


@cli.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "jsonl", "csv"]),
              default="human", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--details/--no-details", default=None,
              help="Human format: full report per message (default for a single file) "
                   "or one line each with a summary (default for batches).")
@click.option("--dns", "dns_mode", type=click.Choice(["live", "offline"]), default="live",
              show_default=True, help="Where DNS answers come from when no snapshot is given.")
@click.option("--dns-snapshot", type=click.Path(dir_okay=False),
              help="Replay DNS answers from a snapshot file (format mailaudit-dns/1); "
                   "names it does not hold are 'not captured' (temperror), never NXDOMAIN.")
@click.option("--dns-record", type=click.Path(dir_okay=False),
              help="Use live DNS and save every answer used to FILE (a snapshot).")
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
              help="Live DNS: ask this server (repeatable) instead of the system's.")
@click.option("--offline", is_flag=True,
              help="Never open a network socket; answers come only from --dns-snapshot.")
@click.option("--no-recompute", is_flag=True,
              help="Do not recompute DKIM/SPF/DMARC/ARC; judge on recorded results only.")
@click.option("--trust-authserv-id", "trust_ids", multiple=True, metavar="ID",
              help="Trust Authentication-Results with this authserv-id (your receiver); repeatable.")
@click.option("--ip", help="SPF: the connecting IP (overrides what the headers say).")
@click.option("--helo", help="SPF: the HELO/EHLO name.")
@click.option("--mail-from", help="SPF: the envelope sender (MAIL FROM).")
@click.option("--templates", "template_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Add a directory of template packs (YAML, same format as the catalog).")
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
          dns_mode: str, dns_snapshot: str | None, dns_record: str | None,
          nameservers: tuple[str, ...], offline: bool, no_recompute: bool,
          trust_ids: tuple[str, ...], ip: str | None, helo: str | None, mail_from: str | None,
          template_dirs: tuple[str, ...], fail_on: str, jobs: int | None, unordered: bool,
          engine: str, scheduler: str | None, shard_size: int | None,
          resume_path: str | None, progress: bool | None, limits: tuple[str, ...],
          color: bool | None, at: str | None) -> None:
    """Audit messages and give each a verdict.

    PATH is a message file (.eml), - for standard input, a directory (searched recursively),
    an mbox file, a Maildir, an Outlook .msg file (needs `pip install 'mailaudit[msg]'`) or an
    Outlook .pst/.ost mailbox (needs `pip install 'mailaudit[pst]'`).
    Messages attached as message/rfc822 (a user's "report phishing" forward) get their own
    record.
    """
    from mailaudit.options import AuditOptions, Limits
    from mailaudit.run import AuditConfig

    flagged = _parse_fail_on(fail_on)
    limit_values = _parse_limits(limits)
    if offline:
        dns_mode = "offline"
    if dns_record and (offline or dns_snapshot):
        raise click.UsageError("--dns-record uses live DNS; it cannot go with --offline or --dns-snapshot.")
    if resume_path:
        if fmt != "jsonl":
            raise click.UsageError("--resume continues a JSONL report: add --format jsonl.")
        if output and os.path.abspath(output) != os.path.abspath(resume_path):
            raise click.UsageError("--resume FILE is also the output; leave out --output or give the same file.")
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
    config = AuditConfig(options=options, dns_snapshot=dns_snapshot, offline=(dns_mode == "offline"),
                         dns_mode=dns_mode, nameservers=nameservers, templates=template_dirs,
                         output=fmt)
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
    from mailaudit.errors import MailauditError
    from mailaudit.model import Verdict
    from mailaudit.report import OutputFormat, make_writer
    from mailaudit.resume import open_resume
    from mailaudit.run import Auditor, default_jobs, run_inline, run_pool
    from mailaudit.sources import iter_messages

    recorder: Any = None
    try:
        # Build once here so a bad snapshot, catalog or DNS set-up is one clear error (exit 3/4)
        # before any message is read, not one error per message in every worker.
        def hook(resolver: Any) -> Any:
            nonlocal recorder
            from mailaudit.dns.record import RecordingResolver

            recorder = RecordingResolver(resolver)
            return recorder

        auditor = Auditor(config, record_hook=hook if dns_record else None)
    except MailauditError as exc:
        fail(exc.message, exc.exit_code)

    if jobs is None:
        jobs = default_jobs(paths)
    if dns_record:
        jobs = 1  # one recorder sees every lookup
    from contextlib import ExitStack

    exits = ExitStack()  # the Dask client and cluster, when there is one
    dask_client: Any = None
    if dask is not None:
        from mailaudit.engines.dask import connect

        try:  # before any output: no scheduler, no extra is one sentence and exit code 4
            dask_client = exits.enter_context(connect(dask.scheduler))
        except MailauditError as exc:
            exits.close()
            fail(exc.message, exc.exit_code)
    skip: set[str] = set()
    stream: IO[str] | None
    if resume_path:
        skip, stream = open_resume(resume_path)
    elif output:
        try:
            stream = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            fail(f"{output}: cannot write the report ({exc.strerror}).", ExitCode.USAGE)
    else:
        stream = None  # standard output
    single = len(paths) == 1 and os.path.isfile(paths[0]) and not _is_container(paths[0])
    writer = make_writer(OutputFormat(fmt), stream,
                         detail=details if details is not None else (single or paths == ["-"]),
                         color=color if output is None else False)
    items: Any = iter_messages(paths, limits=config.options.limits)
    if skip:
        items = (it for it in items if it.ref.key not in skip)

    # A single message gets its full report and no bar (a bar would tear the report).
    show_progress = progress if progress is not None else (
        sys.stderr.isatty() and not (single or paths == ["-"]))
    started = time.monotonic()
    total = errors = flagged_count = 0
    interrupted = False
    from mailaudit.report.progress import Progress
    from mailaudit.sources import count_hint

    progress_bar = Progress(count_hint(paths) if show_progress else None, enabled=show_progress)
    try:
        if dask_client is not None:
            assert dask is not None
            from mailaudit.engines.dask import SHARD_BYTES, run_dask

            groups = run_dask(paths, config, client=dask_client, ordered=ordered, skip=skip,
                              shard_bytes=dask.shard_size or SHARD_BYTES)
        elif jobs == 1:
            groups = run_inline(items, auditor)
        else:
            groups = run_pool(items, config, jobs=jobs, ordered=ordered)
        with progress_bar:
            for group in groups:
                with progress_bar.paused():
                    writer.write_group(group)
                for verdict, _ in group:
                    total += 1
                    errors += verdict is Verdict.ERROR
                    flagged_count += verdict.value in flagged
                progress_bar.advance(group)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        exits.close()  # the Dask client and cluster, if any
        writer.close(seconds=time.monotonic() - started,
                     flagged=frozenset(Verdict(v) for v in flagged))
        if stream is not None:
            stream.close()
    if recorder is not None and dns_record:
        recorder.save(dns_record)
        click.echo(f"mailaudit: saved {len(recorder.records())} DNS names to {dns_record}", err=True)
    if interrupted:
        click.echo(f"mailaudit: interrupted after {total} messages; the report so far is complete"
                   + (f" (continue with --resume {resume_path})" if resume_path else ""), err=True)
        return ExitCode.INTERRUPTED
    if skip:
        click.echo(f"mailaudit: resumed; skipped {len(skip)} messages already in {resume_path}", err=True)
    _echo_skipped_items()
    if total and errors == total and not skip:
        _say_errors(writer.errors, total, human=fmt == "human" and output is None)
        return ExitCode.INPUT
    return ExitCode.FLAGGED if flagged_count else ExitCode.OK


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
    pst = sys.modules.get("mailaudit.sources.pst")  # only loaded when a PST was read
    if pst is not None:
        for line in pst.skipped_summary():
            click.echo(f"mailaudit: {_safe(line)}", err=True)
        pst.reset_skipped()


def _safe(text: str) -> str:
    # File names are attacker text: no escape sequence reaches the terminal (the one rule).
    from mailaudit.report.text import visible

    return visible(text)


def _is_container(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return head.startswith((b"From ", b"!BDN")) or head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@cli.group(context_settings=CONTEXT)
def dns() -> None:
    """Capture and inspect the DNS answers an audit uses."""


@dns.command("record", context_settings=CONTEXT)
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
    from mailaudit.options import AuditOptions
    from mailaudit.run import AuditConfig

    config = AuditConfig(options=AuditOptions(trust_authserv_ids=trust_ids), dns_mode="live",
                         nameservers=nameservers, use_catalog=False, output="jsonl")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        code = run_check(list(paths), config=config, fmt="jsonl", output=sink.name, details=False,
                         dns_record=output, flagged=frozenset(), jobs=1, ordered=True,
                         resume_path=None, progress=None, color=False)
    sys.exit(int(ExitCode.INPUT if code is ExitCode.INPUT else code))


def main() -> None:
    from mailaudit.errors import MailauditError

    try:
        cli.main(prog_name="mailaudit", standalone_mode=True)
    except MailauditError as exc:
        from mailaudit.report.text import visible

        click.echo(f"mailaudit: {visible(exc.message)}", err=True)
        sys.exit(int(exc.exit_code))
