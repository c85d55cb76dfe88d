"""The command line: the group, and the one place a ``MailauditError`` becomes a sentence on
stderr and an exit code (``main``).

Verbs live in their own modules (check.py, dns.py, debug.py, dkim.py, templates.py) and are
imported on first use: only click is imported at start-up, so ``mailaudit --version`` and a
single-file check do not pay for the rest.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any

from mailaudit.standins import OnFirstUse, platform_system, standing_in

# click imports uuid (for its UUID parameter type), and uuid imports platform at its own import
# time only to ask platform.system() whether this is Linux or AIX: an import of platform
# (about 2 ms; 3.7 ms under -X importtime) for one os.uname() read. Where os.uname exists,
# click is imported over a stand-in that answers system() and imports the real module for
# anything else; it leaves sys.modules at once, so a later "import platform" gets the real one.
if "platform" in sys.modules or "click" in sys.modules or not hasattr(os, "uname"):
    import click
else:
    with standing_in({"platform": OnFirstUse("platform", system=platform_system)}):
        import click

from mailaudit import __version__


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
            if cmd_name != "check":  # check says when its start-up is over (run_check)
                started()
            return cmd
        started()
        return super().get_command(ctx, cmd_name)


def started() -> None:
    """Start-up is over: garbage collection back on (``python -m mailaudit`` pauses it while
    the command starts), with every object start-up made moved out of its reach for good
    (``gc.freeze``): they live as long as the process, and forked workers then share those
    pages instead of copying them when a collection would touch them."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def refuse_input_as_output(output: str, paths: tuple[str, ...] | list[str], option: str) -> None:
    """Writing the report over an input would destroy it: refuse when ``output`` is one of
    the inputs, also through a symbolic or hard link (same device and inode), or a message
    inside an input directory (an earlier report there is not mail and may be overwritten)."""
    try:
        out = os.stat(output)
    except OSError:
        return  # does not exist yet: cannot be an input
    real_out = os.path.realpath(output)
    for path in paths:
        if path == "-":
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise click.UsageError(f"{option} {output} is an input ({path}); writing the report "
                                   "there would destroy it. Choose another file.")
        real_dir = os.path.realpath(path)
        if (os.path.isdir(path) and os.path.commonpath([real_dir, real_out]) == real_dir
                and _is_mail(output)):
            raise click.UsageError(f"{option} {output} is a message inside the input directory "
                                   f"{path}; writing the report there would destroy it. Choose "
                                   "another file.")


def _is_mail(path: str) -> bool:
    from mailaudit.sources.sniff import Form, classify, open_readonly, read_head

    try:
        with open_readonly(path) as stream:
            return classify(read_head(stream), strict=True) not in (Form.EMPTY, Form.NOT_MAIL)
    except OSError:
        return False


@click.group(cls=LazyGroup, context_settings=CONTEXT, lazy={
    "templates": "mailaudit.cli.templates:templates_group",
    "spf": "mailaudit.cli.debug:spf_command",
    "dmarc": "mailaudit.cli.debug:dmarc_command",
    "dkim": "mailaudit.cli.dkim:dkim_command",
    "check": "mailaudit.cli.check:check",
    "dns": "mailaudit.cli.dns:dns_group",
})
@click.version_option(__version__, "-V", "--version", prog_name="mailaudit")
def cli() -> None:
    """Audit email authentication, and catch mail genuinely sent by a trusted platform that
    carries someone else's words.

    Start with `mailaudit check FILE`. Exit codes: 0 nothing flagged, 1 something flagged,
    2 usage, 3 input unreadable, 4 a service the run needs (DNS, a Dask scheduler) is unusable,
    130 interrupted (Ctrl-C), 141 output closed by its reader, 143 terminated (SIGTERM).
    """


def main() -> None:
    from mailaudit.errors import MailauditError

    try:
        cli.main(prog_name="mailaudit", standalone_mode=True)
    except MailauditError as exc:
        started()
        # Sentences can quote a snapshot's record name or a template pack's id: someone
        # else's text, made visible before it reaches the terminal.
        from mailaudit.report.text import visible

        click.echo(f"mailaudit: {visible(exc.message, limit=2000)}", err=True)
        sys.exit(int(exc.exit_code))
