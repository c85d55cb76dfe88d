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


def _warn(message: str) -> None:
    from mailaudit.report.text import visible

    click.echo(f"mailaudit: {visible(message)}", err=True)


def _catalog(dirs: tuple[Path, ...]) -> Any:
    from mailaudit.templates.catalog import load_catalog

    return load_catalog(dirs)  # a bad pack is a CatalogError: cli.main says it


def _console() -> Any:
    from mailaudit.report.console import make_console

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
        _warn(f"no template '{template_id}'; `mailaudit templates list` shows them all")
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
    from mailaudit.templates.claims import claim_of
    from mailaudit.templates.matcher import match_message

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
            _warn(item.message)
            continue
        try:
            msg = parse_message(item.data)
            claim = claim_of(msg, cat)
            match = match_message(msg, claim.sender, catalog=cat) \
                if claim is not None and claim.kind == "address" else None
        except MailauditError as exc:
            _warn(f"{where}: {exc.message}")
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


# ---------------------------------------------------------------------------------------------
# `templates learn` and `templates diff`: grow the catalog from genuine mail.
# Every string from a message, a file name or a pack goes through report.text.visible()
# before it is printed.


def _say(text: str) -> None:
    click.echo(text)


def _v(text: str | None, limit: int = 200) -> str:
    from mailaudit.report.text import visible

    return visible(text or "", limit=limit)


@templates_group.command("learn")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="New folder for the learned packs (must not exist yet).")
@click.option("--sender", "only", multiple=True, metavar="ADDRESS",
              help="Learn only this From address (repeatable); other mail is ignored.")
@click.option("--min-samples", type=click.IntRange(min=2), default=3, show_default=True,
              help="Genuine messages a template needs before it is written.")
@click.option("--dns-snapshot", type=click.Path(dir_okay=False),
              help="Replay DNS answers from a snapshot (format mailaudit-dns/1).")
@click.option("--offline", is_flag=True,
              help="Never open a network socket; answers come only from --dns-snapshot.")
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
              help="Live DNS: ask this server (repeatable) instead of the system's.")
@click.option("--trust-authserv-id", "trust_ids", multiple=True, metavar="ID",
              help="Trust Authentication-Results with this authserv-id (your receiver).")
def learn_cmd(paths: tuple[str, ...], out_dir: Path, only: tuple[str, ...], min_samples: int,
              dns_snapshot: str | None, offline: bool, nameservers: tuple[str, ...],
              trust_ids: tuple[str, ...]) -> None:
    """Learn template packs from genuine mail of a sender.

    Reads PATH the way `check` does (files, folders, mbox, Maildir, .msg), keeps the
    messages that authenticate as their From domain, groups them by sender and template and
    writes one pack per sender family into a new folder DIR, which `mailaudit check
    --templates DIR` loads. Mail that fails authentication never teaches anything.
    """
    code = _learn(paths, out_dir, only=tuple(a.strip().lower() for a in only),
                  min_samples=min_samples, dns_snapshot=dns_snapshot, offline=offline,
                  nameservers=nameservers, trust_ids=trust_ids)
    sys.exit(int(code))


def _learn(paths: tuple[str, ...], out_dir: Path, *, only: tuple[str, ...], min_samples: int,
           dns_snapshot: str | None, offline: bool, nameservers: tuple[str, ...],
           trust_ids: tuple[str, ...]) -> ExitCode:
    import os
    import shutil
    import tempfile

    from mailaudit.dns import DnsConfig
    from mailaudit.options import AuditOptions
    from mailaudit.run import Auditor, RunConfig
    from mailaudit.templates import learn as lrn

    if os.path.lexists(out_dir):
        _say(f"mailaudit: {_v(str(out_dir))} already exists; give a new folder for the learned "
             "packs (learn never writes into or over an existing one).")
        return ExitCode.USAGE
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if not parent.is_dir():
        _say(f"mailaudit: {_v(str(parent))} is not a folder; create it first.")
        return ExitCode.USAGE
    options = AuditOptions(trust_authserv_ids=trust_ids)
    config = RunConfig(options=options, use_catalog=False,
                       dns=DnsConfig(snapshot=dns_snapshot, offline=offline,
                                     nameservers=nameservers))
    auditor = Auditor(config)  # a bad snapshot or nameserver: cli.main says it
    samples, raws, rejected, read, ignored = _read_samples(paths, auditor, options, only)
    if not samples:
        _say(f"mailaudit: no genuine mail to learn from: read {read} messages"
             + (f", {ignored} from other senders" if ignored else "")
             + f", {len(rejected)} left out; nothing written.")
        _print_rejected(rejected)
        return ExitCode.INPUT

    from mailaudit.templates.catalog import load_catalog

    builtin = load_catalog()
    brands = {b.name: list(b.domains) for b in builtin.brands}
    addresses = {a: s.id for s in builtin.senders for a in s.addresses}
    excluded: dict[str, str] = {}
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        for _round in range(3):
            use = [s for s in samples if s.ref not in excluded]
            result = lrn.learn(use, min_samples=min_samples, builtin_brands=brands,
                               builtin_addresses=addresses)
            failed = _write_and_verify(tmp, result, raws, auditor, builtin)
            if not failed:
                break
            excluded.update(failed)
        else:
            result = lrn.LearnResult((), result.skipped)
        written = [p for p in result.packs if p.templates]
        if not written:
            _say(f"mailaudit: no template learned from {len(samples)} genuine messages"
                 + (f" ({ignored} from other senders ignored)" if ignored else "")
                 + "; nothing written.")
            _print_skipped(result.skipped, excluded)
            _print_rejected(rejected)
            shutil.rmtree(tmp, ignore_errors=True)
            return ExitCode.INPUT
        if any(not p.builtin_senders for p in written):
            try:
                load_catalog([tmp])  # what `check --templates DIR` will do
            except CatalogError as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise CatalogError(f"the learned packs do not load ({exc.message}); "
                                   "nothing written.") from exc
        try:
            os.rename(tmp, out_dir)
        except OSError as exc:
            _say(f"mailaudit: cannot create {_v(str(out_dir))} ({exc.strerror}); nothing "
                 "written.")
            shutil.rmtree(tmp, ignore_errors=True)
            return ExitCode.USAGE
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _print_summary(out_dir, written, len(samples), read, ignored)
    _print_skipped(result.skipped, excluded)
    _print_rejected(rejected)
    return ExitCode.OK


def _read_samples(paths: tuple[str, ...], auditor: Any, options: Any, only: tuple[str, ...]
                  ) -> tuple[list[Any], dict[str, bytes], list[tuple[str, str]], int, int]:
    from mailaudit.model import SourceError, Verdict
    from mailaudit.parse import parse_message
    from mailaudit.sources import iter_messages
    from mailaudit.templates import learn as lrn
    from mailaudit.templates.normalise import normalise

    samples: list[Any] = []
    raws: dict[str, bytes] = {}
    rejected: list[tuple[str, str]] = []
    read = ignored = 0
    per_sender: dict[str, int] = {}
    for item in iter_messages(list(paths), limits=options.limits):
        read += 1
        if isinstance(item, SourceError):
            rejected.append((item.ref.display(), item.message))
            continue
        ref = item.ref.display()
        if item.parent is not None or item.truncated:
            rejected.append((ref, "truncated at the size limit" if item.truncated
                             else "an attached message"))
            continue
        result = auditor.audit(item)[0]
        if result.verdict is Verdict.ERROR:
            rejected.append((ref, result.reason))
            continue
        try:
            msg = parse_message(item.data, limits=options.limits)
            if len(msg.from_) != 1:
                rejected.append((ref, "needs exactly one From address"))
                continue
            frm = msg.from_[0]
            address = frm.address.strip().lower()
            if only and address not in only:
                ignored += 1
                continue
            why = lrn.genuine_reason(result.auth, frm.domain)
            if why is not None:
                rejected.append((ref, f"does not authenticate: {why}"))
                continue
            body = msg.body()
            subject = normalise(msg.subject or "")
            envelope = result.auth.envelope.mail_from if result.auth.envelope else None
            lang = (msg.get("content-language") or "").split(",")[0].strip().lower()
            sample = lrn.Sample(
                ref=ref, address=address, display_name=normalise(frm.display_name or ""),
                subject=subject, texts=lrn.body_texts(subject, body.text, body.html_text),
                link_hosts=tuple(sorted({ln.domain.lower() for ln in body.links if ln.domain})),
                dkim=lrn.passing_dkim(result.auth),
                envelope_domain=(envelope or "").rpartition("@")[2].lower().rstrip(">"),
                language=lang if lang and len(lang) <= 12 and lang.replace("-", "").isalnum()
                else "und")
        except MailauditError as exc:
            rejected.append((ref, exc.message))
            continue
        long = lrn.too_long(sample)
        if long:
            rejected.append((ref, f"too long to learn from: {long}"))
            continue
        if ref in raws:
            rejected.append((ref, "read twice"))
            continue
        per_sender[address] = per_sender.get(address, 0) + 1
        if per_sender[address] > lrn.MAX_SAMPLES:
            # Memory stays bounded on a big mailbox: a template needs dozens, not thousands.
            rejected.append((ref, f"more than {lrn.MAX_SAMPLES} genuine messages of "
                                  f"{address}; the first {lrn.MAX_SAMPLES} are used"))
            continue
        samples.append(sample)
        raws[ref] = item.data
    return samples, raws, rejected, read, ignored


def _write_and_verify(tmp: Path, result: Any, raws: dict[str, bytes], auditor: Any,
                      builtin: Any) -> dict[str, str]:
    """Write the packs into ``tmp`` and audit every learned sample against its pack: a
    template that would not call its own samples authentic is not a template. Returns the
    samples that failed, with why (they are left out and the packs learned again)."""
    from mailaudit.audit import audit_message
    from mailaudit.model import Verdict
    from mailaudit.templates import learn as lrn
    from mailaudit.templates.catalog import Catalog, CatalogData, load_file, merge

    for old in tmp.rglob("*.yaml"):
        old.unlink()
    failed: dict[str, str] = {}
    for pack in result.packs:
        folder = tmp / "builtin" if pack.builtin_senders else tmp
        folder.mkdir(exist_ok=True)
        path = folder / pack.filename
        path.write_text(lrn.pack_yaml(pack), "utf-8")
        data = load_file(path, pack.filename)
        catalog = Catalog(merge([CatalogData(brands=builtin.brands), data]))
        for t in pack.templates:
            for ref in t.refs:
                res = audit_message(raws[ref], resolver=auditor.resolver, catalog=catalog,
                                    options=auditor.config.options)
                got = res.template.template_id if res.template else None
                if res.verdict is not Verdict.AUTHENTIC or got != t.id:
                    failed[ref] = (f"would be {res.verdict.value} under the learned template "
                                   f"({res.reason})")
    return failed


def _print_summary(out_dir: Path, packs: list[Any], genuine: int, read: int, ignored: int) -> None:
    _say(f"read {read} messages, {genuine} genuine" + (f", {ignored} from other senders"
                                                       if ignored else ""))
    for pack in packs:
        where = out_dir / ("builtin" if pack.builtin_senders else "") / pack.filename
        _say(f"wrote {_v(str(where))}: {len(pack.templates)} templates of "
             f"{_v(', '.join(pack.senders))}")
        for t in pack.templates:
            slots = ", ".join(f"{n}:{s['type']}{'*' if s.get('user_controlled') else ''}"
                              for n, s in t.slots.items())
            _say(f"  {_v(t.id)}: {len(t.refs)} samples; subject {_v(t.subject, 120)!s}")
            _say(f"    slots: {_v(slots) or 'none'}  (* = written by the customer)")
        if pack.builtin_senders:
            _say(f"  {_v(', '.join(pack.builtin_senders))} is in the built-in catalog: compare "
                 f"with `mailaudit templates diff {_v(str(where))}` (check --templates cannot "
                 "load a second entry for the same address, so this pack is kept apart)")
    if any(not p.builtin_senders for p in packs):
        _say(f"use it: mailaudit check MAIL --templates {_v(str(out_dir))}")


def _print_skipped(skipped: Any, excluded: dict[str, str]) -> None:
    if skipped:
        _say("not written:")
        for s in skipped[:30]:
            refs = f" [{_v(', '.join(s.refs[:3]))}{' …' if len(s.refs) > 3 else ''}]" \
                if s.refs else ""
            _say(f"  {_v(s.sender)}: {_v(s.what)}: {_v(s.reason, 300)}{refs}")
        if len(skipped) > 30:
            _say(f"  … and {len(skipped) - 30} more")
    if excluded:
        _say(f"left out after checking the learned packs ({len(excluded)} messages):")
        for ref, why in list(excluded.items())[:20]:
            _say(f"  {_v(ref)}: {_v(why, 300)}")


def _print_rejected(rejected: list[tuple[str, str]]) -> None:
    if not rejected:
        return
    _say(f"left out ({len(rejected)} messages):")
    for ref, why in rejected[:20]:
        _say(f"  {_v(ref)}: {_v(why, 300)}")
    if len(rejected) > 20:
        _say(f"  … and {len(rejected) - 20} more")


@templates_group.command("diff")
@click.argument("pack", type=click.Path(path_type=Path))
def diff_cmd(pack: Path) -> None:
    """Compare a learned PACK (a file, or a folder of them) with the built-in catalog.

    Names what the catalog lacks or has wrong for the same sender: a new sender or template,
    catalog phrases the real mail does not have, new phrases, another language, DKIM,
    envelope and display names. Exit code 0: no differences; 1: differences.
    """
    from mailaudit.templates.catalog import load_catalog, load_file
    from mailaudit.templates.learn import diff_senders

    if pack.is_dir():
        files = sorted([*pack.glob("*.yaml"), *pack.glob("builtin/*.yaml")])
        if not files:
            _say(f"mailaudit: {_v(str(pack))}: no .yaml packs in this folder")
            sys.exit(int(ExitCode.INPUT))
    elif pack.is_file():
        files = [pack]
    else:
        _say(f"mailaudit: {_v(str(pack))}: no such pack file or folder")
        sys.exit(int(ExitCode.INPUT))
    senders: list[Any] = []
    for f in files:  # a bad pack is a CatalogError: cli.main says it
        senders.extend(load_file(f, str(f)).senders)
    diffs = diff_senders(senders, load_catalog())
    current = None
    for d in diffs:
        if d.sender != current:
            current = d.sender
            _say(_v(d.sender))
        _say(f"  {d.kind}: {_v(d.message, 400)}")
    if not diffs:
        _say(f"no differences: {len(senders)} learned senders agree with the built-in catalog")
    sys.exit(int(ExitCode.FLAGGED if diffs else ExitCode.OK))
