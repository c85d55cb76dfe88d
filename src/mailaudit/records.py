"""``@record``: the frozen, slotted dataclass every stage hands on, made cheaply at import.

``@dataclass(frozen=True, slots=True)`` writes the source of six methods per class (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) and compiles each with
``exec``: about 0.5 ms a class, and the package defines dozens, all at start-up. Three of them do
the same thing for every class, over the class's own field names, so they are shared functions
here instead of compiled text; the dataclass machinery still writes the other three (the
signature of ``__init__`` and the frozen guard). The classes are the same as before: dataclasses
(``fields``, ``replace``, ``asdict`` and pickling work), equal when their fields are equal and of
the same class, hashed over their fields, shown as ``Name(field=value, ...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


def _tuple_of(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields as one tuple (``attrgetter`` returns a bare value for a single name)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True, slots=True)``, with equality, hashing and repr as it makes
    them (compared and hashed as a tuple of the fields, in order, same class only)."""
    made: Any = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
    every = fields(made)
    compared = _tuple_of(tuple(f.name for f in every if f.compare))
    hashed = _tuple_of(tuple(f.name for f in every if (f.compare if f.hash is None else f.hash)))
    shown = tuple(f.name for f in every if f.repr)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    @recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inner})"

    for fn in (__eq__, __hash__, __repr__):
        fn.__qualname__ = f"{made.__qualname__}.{fn.__name__}"
        setattr(made, fn.__name__, fn)
    result: type[T] = made
    return result
