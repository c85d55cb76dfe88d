"""``@record`` makes the class ``@dataclass(frozen=True, slots=True)`` makes: same constructor,
equality, hashing, repr, immutability, pickling, copying and dataclass introspection."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from mailaudit.records import record


@record
class R:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()
    d: dict[str, int] = field(default_factory=dict, compare=False)
    e: float = field(default=0.0, repr=False)
    f: int = field(default=0, hash=False)
    g: list[int] = field(default_factory=list, init=False, compare=False)
    h: int = field(default=5, init=False)


@dataclass(frozen=True, slots=True)
class D:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()
    d: dict[str, int] = field(default_factory=dict, compare=False)
    e: float = field(default=0.0, repr=False)
    f: int = field(default=0, hash=False)
    g: list[int] = field(default_factory=list, init=False, compare=False)
    h: int = field(default=5, init=False)


@record
class Documented:
    """Kept."""

    v: float


@record
class Empty:
    pass


@record
class KwOnly:
    a: int = field(kw_only=True)


def _pairs() -> list[tuple[Any, Any]]:
    nan = float("nan")
    return [(R(1), D(1)), (R(2, "y", (1, 2), {"k": 1}, 1.5, 7), D(2, "y", (1, 2), {"k": 1}, 1.5, 7)),
            (R(3, e=nan), D(3, e=nan))]


def test_equality_hash_repr_match_dataclass() -> None:
    values = _pairs()
    for r1, d1 in values:
        assert repr(r1) == repr(d1).replace("D(", "R(", 1)
        for r2, d2 in values:
            assert (r1 == r2) == (d1 == d2)
            assert (r1 != r2) == (d1 != d2)
        assert hash(r1) == hash(d1)
    assert R(1, d={"a": 1}) == R(1, d={"b": 2})  # compare=False
    assert hash(R(1, f=1)) == hash(R(1, f=2)) and R(1, f=1) != R(1, f=2)  # hash=False
    others: tuple[object, ...] = (D(1), (1, "x", (), 0.0, 0))
    for other in others:  # a dataclass with the same fields, or their tuple, is not the record
        assert R(1) != other
    x = Documented(float("nan"))
    assert x == x  # tuple comparison: identity first, as dataclass's generated __eq__
    assert Empty() == Empty() and hash(Empty()) == hash(()) and repr(Empty()) == "Empty()"


def test_constructor_matches_dataclass() -> None:
    assert str(inspect.signature(R)) == str(inspect.signature(D))
    assert R.__doc__ == (D.__doc__ or "").replace("D(", "R(", 1)
    assert Documented.__doc__ == "Kept."
    assert R.__match_args__ == D.__match_args__
    r, d = R(1), D(1)
    assert (r.g, r.h) == (d.g, d.h) == ([], 5)
    assert R(1).d is not R(1).d and R(1).g is not R(1).g  # a factory per instance
    with pytest.raises(TypeError):
        R()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        R(1, g=[1])  # type: ignore[call-arg]
    assert KwOnly(a=1) == KwOnly(a=1)
    with pytest.raises(TypeError):
        KwOnly(1)  # type: ignore[call-arg]


def test_frozen_slotted_and_a_dataclass() -> None:
    r = R(1, d={"k": 2})
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.a = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.a
    assert not hasattr(r, "__dict__") and vars(R)["__slots__"] == vars(D)["__slots__"]
    assert [f.name for f in dataclasses.fields(R)] == [f.name for f in dataclasses.fields(D)]
    assert repr(vars(R)["__dataclass_params__"]) == repr(vars(D)["__dataclass_params__"])
    assert dataclasses.replace(r, b="z") == R(1, "z")
    assert dataclasses.asdict(r) == dataclasses.asdict(D(1, d={"k": 2}))
    for clone in (pickle.loads(pickle.dumps(r)), copy.copy(r), copy.deepcopy(r)):
        assert clone == r and clone.d == {"k": 2} and type(clone) is R
    with pytest.raises(TypeError):
        hash(R(1, c=([],)))  # type: ignore[arg-type]  # unhashable field: as dataclass
    assert dataclasses.is_dataclass(R)


@record
class Undocumented:
    a: int
    b: str = "x"
    c: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UndocumentedD:
    a: int
    b: str = "x"
    c: dict[str, int] = field(default_factory=dict)


def test_undocumented_class_gets_dataclass_docstring() -> None:
    assert Undocumented.__doc__ == (UndocumentedD.__doc__ or "").replace("UndocumentedD(",
                                                                          "Undocumented(", 1)
    assert Undocumented.__doc__ == "Undocumented(a: 'int', b: 'str' = 'x', c: 'dict[str, int]' = <factory>)"


@record
class Awkward:
    """Field names the short path's __init__ text would collide with: dataclass's path."""

    self: int
    _set: int = 1
    _default0: int = 2


def test_awkward_field_names() -> None:
    a = Awkward(0)
    assert (a.self, a._set, a._default0) == (0, 1, 2) and a == Awkward(0, 1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a._set = 3  # type: ignore[misc]


@record
class Normalised:
    """``__post_init__`` runs after the fields are set, as dataclass runs it."""

    a: int
    b: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "b", tuple(sorted(self.b)))


def test_post_init_runs_after_the_fields() -> None:
    n = Normalised(1, (3, 1, 2))
    assert n.b == (1, 2, 3) and Normalised(1) == Normalised(1, ())
    assert str(inspect.signature(Normalised)) == "(a: 'int', b: 'tuple[int, ...]' = ()) -> None"
    assert pickle.loads(pickle.dumps(n)) == n and dataclasses.replace(n, a=2).b == (1, 2, 3)
