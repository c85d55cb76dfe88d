"""Template packs are input too: a pack a user was sent, or one an attacker wrote, either loads
or is refused with a CatalogError that names the file and line. Nothing else escapes the
loader, and a pack that loads matches mail like any other (and round-trips through the cache).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailaudit.errors import CatalogError
from mailaudit.templates.catalog import load_catalog
from support.packs import PACK

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

# YAML that means something to a parser (anchors, aliases, tags, merges, flow and block
# markers, directives, document ends), template syntax, and text that must never reach a
# terminal or a regular expression unescaped.
TOKENS = ["&a ", "*a", "<<: *a", "!!python/object:os.system ", "!!binary ", "!!str ", "? ",
          "---\n", "...\n", "%YAML 1.1\n", "[", "]", "{", "}", ": ", "- ", "|\n  ", ">\n  ",
          "'", '"', "#", "\t", "\n", "{tenant}", "{", "}", "{x:", "{code}", "{{", "\\",
          "(?:", ".*+", "\x1b]8;;http://evil.example\x07", "\u202e", "\x00", "\ufeff",
          "9" * 400, "1e999", "0x1F", "-.inf", "~", "null", "yes", "2026-01-01", "é"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = PACK
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "repeat", "flip"]))
        if how == "insert":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif how == "repeat":
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line = text[line_start:line_end if line_end >= 0 else len(text)]
            text = text[:line_start] + (line + "\n") * draw(st.integers(2, 50)) + text[line_start:]
        elif at < len(text):
            text = text[:at] + chr(draw(st.integers(0, 0x2FFF))) + text[at + 1:]
    return text


@pytest.fixture
def pack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAILAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    where = tmp_path / "pack"
    where.mkdir()
    return where


@SETTINGS
@given(text=mutated())
def test_a_mutated_pack_loads_or_is_refused_with_its_file_named(pack_dir: Path,
                                                                text: str) -> None:
    path = pack_dir / "pack.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        first = load_catalog([pack_dir])
    except CatalogError as exc:
        assert f"{path}:" in str(exc), str(exc)  # the file, and the line where it can
        return
    # Loaded: the same from the compiled cache on the next start, and usable.
    again = load_catalog([pack_dir])
    assert again.senders == first.senders and again.brands == first.brands
    for template in first.templates:
        assert template.id


def test_the_unmutated_pack_loads(pack_dir: Path) -> None:
    (pack_dir / "pack.yaml").write_text(PACK, encoding="utf-8")
    assert load_catalog([pack_dir]).template("example.notice.hello").sender_id == "example.notice"


def test_an_alias_bomb_is_refused_quickly(pack_dir: Path) -> None:
    """Nine levels of nine aliases each name 9**9 strings; composed, they are a few hundred
    nodes, and validation stops at the first value that is not what the field holds."""
    value = '&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'
    for i in range(1, 9):
        value = f"&a{i} [{value}, {', '.join([f'*a{i - 1}'] * 8)}]"
    bomb = PACK.replace("    domains: [example.com]", f"    domains: {value}")
    (pack_dir / "pack.yaml").write_text(bomb, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(CatalogError, match=r"pack\.yaml:5: .*domains"):
        load_catalog([pack_dir])
    assert time.monotonic() - started < 5
