"""Stand-ins for standard-library modules a library imports but an audit never uses.

Some libraries import a module at their own import time only to read one value from it, or for
a code path an audit never takes. ``standing_in`` imports such a library over stand-ins that
leave ``sys.modules`` as soon as it is imported, so a later ``import`` anywhere gets the real
module; an ``OnFirstUse`` stand-in imports the real module the first time one of its names is
read, so the library behaves exactly as before. ``python -X importtime`` and
benchmarks/bench_startup.py show what each saves.
"""

from __future__ import annotations

import os
import re
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class OnFirstUse(types.ModuleType):
    """Stands for a module: the real one is imported the first time one of its names is read
    (``preset`` names are answered without it)."""

    def __init__(self, name: str, **preset: Any) -> None:
        super().__init__(name)
        vars(self).update(preset)

    def __getattr__(self, attr: str) -> Any:
        import importlib

        if attr.startswith("__"):  # the import system's own questions (__path__, ...)
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:  # read while the library is still importing
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)`` until it is first used: then the pattern is
    compiled, and its methods and attributes are kept on this object, so later reads find them
    at once (``__getattr__`` runs only the first time)."""

    def __init__(self, pattern: Any, flags: int) -> None:
        self._args: tuple[Any, int] = (pattern, flags)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # copy, pickle and repr's questions: not a pattern's
            raise AttributeError(attr)
        compiled = re.compile(*self._args)
        vars(self).update({name: getattr(compiled, name) for name in dir(compiled)
                           if not name.startswith("_")})
        return getattr(compiled, attr)


class LazyRe(types.ModuleType):
    """Stands for ``re`` while ``importer`` is imported: the patterns that module compiles at
    import time become ``LazyPattern``s, compiled when first used (a library that compiles
    a dozen patterns at import and uses two of them). Any other caller gets ``re`` itself."""

    def __init__(self, importer: str) -> None:
        super().__init__("re")
        self._importer = importer

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        if sys._getframe(1).f_globals.get("__name__") == self._importer:
            return LazyPattern(pattern, flags)
        return re.compile(pattern, flags)

    def __getattr__(self, attr: str) -> Any:
        return getattr(re, attr)


@contextmanager
def standing_in(stand_ins: Mapping[str, types.ModuleType]) -> Iterator[None]:
    """``stand_ins`` in ``sys.modules`` for the duration, then gone: what was there before is
    put back, and a name that was not there is left for the real module's first import."""
    saved = {name: sys.modules[name] for name in stand_ins if name in sys.modules}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
        sys.modules.update(saved)


def platform_system() -> str:
    """``platform.system()`` where ``os.uname`` exists (every POSIX system): ``platform.uname()``
    takes the system from ``os.uname().sysname`` there, "unknown" read as ""."""
    system = os.uname().sysname
    return "" if system == "unknown" else system
