"""``mailaudit templates list|show|test`` through click, on real message files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mailaudit.cli.templates import templates_group
from mailaudit.errors import CatalogError
from mailaudit.model import ExitCode
from mailaudit.report.text import markup_safe, visible
from mailaudit.templates.catalog import load_catalog
from mailaudit.templates.matcher import render
from support.paths import REPO
from support.templates_msgs import build_mime

EXAMPLES = str(REPO / "examples" / "templates")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(templates_group, list(args))
    return result.exit_code, result.output


def test_list() -> None:
    code, out = run("list")
    assert code == 0
    # Not a terminal: one tab-separated line per template, id first, nothing else.
    lines = out.splitlines()
    assert len(lines) == len(load_catalog().templates)
    assert any(line.split("\t")[0] == "entra.email-verification-code" for line in lines)


def test_list_with_pack() -> None:
    code, out = run("list", "--templates", EXAMPLES)
    assert code == 0 and "brightvest.deposit-received" in out


def test_show() -> None:
    code, out = run("show", "entra.email-verification-code")
    assert code == 0
    assert "{tenant} account email verification code" in out
    assert "tenant: org_name (customer)" in out and "MS-DOC" in out


def test_show_unknown() -> None:
    code, _ = run("show", "nope")
    assert code == int(ExitCode.USAGE)


def test_bad_pack_is_a_catalog_error_for_the_one_handler(tmp_path: Path) -> None:
    # cli.main turns it into a sentence and exit code 3 (tests/cli/test_cli.py runs that).
    (tmp_path / "x.yaml").write_text("format: nope\n", "utf-8")
    result = CliRunner().invoke(templates_group, ["list", "--templates", str(tmp_path)])
    assert isinstance(result.exception, CatalogError) and "x.yaml:1:" in result.exception.message
    assert result.exception.exit_code == ExitCode.INPUT


def _eml(tmp_path: Path, tenant: str) -> Path:
    t = load_catalog().template("entra.email-verification-code")
    r = render(t, {"tenant": tenant})
    path = tmp_path / "m.eml"
    path.write_bytes(build_mime(from_="Microsoft <msonlineservicesteam@microsoftonline.com>",
                                subject=r.subject, text=r.text, html=r.html))
    return path


def test_test_json(tmp_path: Path) -> None:
    code, out = run("test", "--format", "json", str(_eml(tmp_path, "Call 802 538 3069 [red]")))
    assert code == 0
    record = json.loads(out)
    assert record["claim"]["kind"] == "address"
    assert record["template"]["template_id"] == "entra.email-verification-code"
    assert any(s["hostile"] for s in record["template"]["slots"])


def test_test_human_escapes_markup_and_bidi(tmp_path: Path) -> None:
    code, out = run("test", str(_eml(tmp_path, "Evil [bold]x[/bold] \u202eCall 802 538 3069")))
    assert code == 0
    assert "[bold]x[/bold]" in out  # shown literally, not interpreted
    assert "\u202e" not in out  # the normaliser removed it; nothing reorders the terminal


def test_test_missing_file(tmp_path: Path) -> None:
    code, _ = run("test", str(tmp_path / "missing.eml"))
    assert code == int(ExitCode.INPUT)


def test_visible_and_markup() -> None:
    assert visible("a\u200bb\x1b[31m") == "a\\u200bb\\e[31m"
    assert markup_safe("[link=x]y[/link]") == "\\[link=x]y\\[/link]"
    assert visible("x" * 10, limit=4).startswith("xxxx… [6 more")


