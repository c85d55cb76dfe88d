"""The stand-ins start-up imports some libraries over (mailaudit.standins)."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest

from mailaudit.standins import OnFirstUse, platform_system, standing_in
from support.paths import REPO


def test_a_stand_in_answers_its_presets_and_imports_the_real_module_for_the_rest() -> None:
    import json

    stand_in = OnFirstUse("json", answer=42)
    assert stand_in.answer == 42
    assert stand_in.dumps([1]) == "[1]"  # the real module, imported (here: already loaded)
    assert stand_in.dumps is json.dumps
    with pytest.raises(AttributeError):
        _ = stand_in.__path__  # the import system's questions are not forwarded


def test_standing_in_puts_back_what_was_there_and_removes_what_was_not() -> None:
    real = sys.modules["json"]
    absent = "mailaudit_test_absent_module"
    with standing_in({"json": types.ModuleType("json"), absent: types.ModuleType(absent)}):
        assert sys.modules["json"] is not real and absent in sys.modules
    assert sys.modules["json"] is real and absent not in sys.modules


def test_standing_in_cleans_up_when_the_import_fails() -> None:
    with pytest.raises(ZeroDivisionError), standing_in({"json": types.ModuleType("json")}):
        1 / 0  # noqa: B018
    assert sys.modules["json"].dumps([]) == "[]"


@pytest.mark.skipif(not hasattr(os, "uname"), reason="needs os.uname")
def test_platform_system_is_what_platform_answers() -> None:
    import platform

    assert platform_system() == platform.system()


@pytest.mark.skipif(not hasattr(os, "uname"), reason="needs os.uname")
def test_click_and_uuid_work_over_the_platform_stand_in() -> None:
    """The command line imports click (and so uuid) over a platform stand-in: uuid's platform
    checks get the real answer, platform itself is not imported, and a later import of it is
    the real module."""
    code = ("import sys, mailaudit.cli, uuid\n"
            "assert 'platform' not in sys.modules\n"
            "import platform\n"
            "assert platform.__file__ and uuid._LINUX == (platform.system() == 'Linux')\n"
            "assert uuid.UUID(int=5).int == 5 and uuid.uuid4().version == 4\n"
            "print('ok')\n")
    _prints_ok(code)


def test_a_lazy_pattern_compiles_on_first_use_and_then_is_the_pattern() -> None:
    import re

    from mailaudit.standins import LazyPattern

    lazy = LazyPattern(r"^(a+)b", re.IGNORECASE)
    assert "match" not in vars(lazy)  # nothing compiled yet
    m = lazy.match("AAb")
    assert m is not None and m.group(1) == "AA"
    assert vars(lazy)["match"].__self__ is re.compile(r"^(a+)b", re.IGNORECASE)
    assert lazy.split("abx") == ["", "a", "x"] and lazy.pattern == r"^(a+)b"
    assert lazy.flags == re.compile(r"^(a+)b", re.IGNORECASE).flags
    with pytest.raises(AttributeError):
        _ = lazy.__deepcopy__


def test_the_re_stand_in_is_lazy_for_its_importer_only() -> None:
    import re

    from mailaudit.standins import LazyPattern, LazyRe

    stand_in = LazyRe(__name__)
    assert isinstance(stand_in.compile("a+"), LazyPattern)  # called from this module
    assert stand_in.IGNORECASE is re.IGNORECASE and stand_in.escape is re.escape
    other = LazyRe("some.other.module")
    assert isinstance(other.compile("a+", re.I), re.Pattern)


def test_pyspf_is_imported_with_lazy_patterns_that_are_its_own() -> None:
    """pyspf's module-level patterns are compiled on first use, each the pattern pyspf wrote,
    and the ``re`` stand-in is gone once it is imported (checked in a fresh interpreter)."""
    code = ("import re, sys\n"
            "from mailaudit.checks.spf.check import _import_pyspf\n"
            "from mailaudit.standins import LazyPattern\n"
            "spf = _import_pyspf()\n"
            "assert sys.modules['re'] is re and spf.re is re\n"
            "lazy = {n: v for n, v in vars(spf).items() if isinstance(v, LazyPattern)}\n"
            "assert len(lazy) >= 11, sorted(lazy)\n"
            "assert not any('match' in vars(v) for v in lazy.values())\n"
            "for v in lazy.values():\n"
            "    assert v.match is not None and re.compile(*v._args).pattern == v.pattern\n"
            "assert spf.RE_IP6.match('2001:db8::1') and not spf.RE_IP6.match('1.2.3.4')\n"
            "assert spf.RE_SPF.match(b'v=spf1 -all') and spf.RE_IP4.match('192.0.2.1')\n"
            "print('ok')\n")
    _prints_ok(code)


def _prints_ok(code: str) -> None:
    """``code`` run in a fresh interpreter (nothing imported yet) prints "ok"."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert done.stdout.strip() == "ok", done.stderr
