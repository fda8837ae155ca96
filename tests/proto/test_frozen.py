"""``spice_proto.lowlevel.frozen``: the frozen dataclasses spice_proto's records are, with
shared ``__eq__``/``__hash__``/``__repr__`` that behave as ``dataclass(frozen=True)``'s."""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
from typing import Any

import pytest
import spice_proto as sp
from spice_proto.lowlevel import frozen, frozen_kw


@frozen
class Two:
    a: int
    b: float = 0.0
    hidden: int = dataclasses.field(default=0, compare=False, repr=False)


@frozen
class One:
    x: float


@frozen
class Empty:
    pass


@frozen
class Child(Two):
    c: str = ""


@dataclasses.dataclass(frozen=True)
class Reference:
    a: int
    b: float = 0.0
    hidden: int = dataclasses.field(default=0, compare=False, repr=False)


def test_behaves_as_a_frozen_dataclass() -> None:
    two = Two(1, 2.5, hidden=7)
    ref = Reference(1, 2.5, hidden=7)
    assert dataclasses.is_dataclass(two) and dataclasses.fields(two)[0].name == "a"
    with pytest.raises(dataclasses.FrozenInstanceError):
        two.a = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del two.a  # type: ignore[misc]
    assert repr(two) == repr(ref).replace("Reference", "Two") == "Two(a=1, b=2.5)"
    assert two == Two(1, 2.5, hidden=99)  # compare=False left out, as the generated __eq__ does
    assert two != Two(1, 2.6) and two != ref  # another class is never equal
    assert two.__eq__(ref) is NotImplemented
    assert hash(two) == hash(Two(1, 2.5, hidden=99)) and len({two, Two(1, 2.5), Two(2, 2.5)}) == 2
    assert dataclasses.replace(two, a=5) == Two(5, 2.5)
    same = One(math.nan)
    assert same == same  # identity first, as the generated tuple comparison does
    assert Empty() == Empty() and hash(Empty()) == hash(Empty()) and repr(Empty()) == "Empty()"
    assert Child(1, 2.5, c="x") != Two(1, 2.5) and Child(1, c="x") == Child(1, c="x")
    assert repr(Child(1, c="x")) == "Child(a=1, b=0.0, c='x')"


def test_keyword_only_variant() -> None:
    @frozen_kw
    class Kw:
        a: int

    with pytest.raises(TypeError):
        Kw(1)  # type: ignore[misc]
    assert Kw(a=1) == Kw(a=1)


def test_a_class_with_its_own_eq_or_hash_is_refused() -> None:
    with pytest.raises(TypeError, match="gives __eq__"):

        @frozen
        class Own:
            a: int

            def __eq__(self, other: object) -> bool:
                return True

            __hash__ = object.__hash__


def test_messages_compare_hash_and_print_as_before() -> None:
    rect = sp.Rect(1, 2, 3, 4)
    assert rect == sp.Rect(1, 2, 3, 4) and rect != sp.Rect(1, 2, 3, 5)
    assert {rect: 1}[sp.Rect(1, 2, 3, 4)] == 1
    assert repr(rect) == "Rect(left=1, top=2, right=3, bottom=4)"
    fill = sp.DisplayDrawFill(0, rect, sp.Clip(), sp.Brush.solid(5))
    assert sp.DisplayDrawFill.decode(fill.encode()) == fill


def test_the_frozen_pair_refuses_as_the_generated_one_does() -> None:
    class Plain(Two):  # an undecorated subclass: the generated pair lets it grow attributes
        pass

    class PlainRef(Reference):
        pass

    for made, ref in ((Two(1), Reference(1)), (Plain(1), PlainRef(1))):
        for obj in (made, ref):
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
                obj.a = 2  # type: ignore[misc]
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'b'"):
                del obj.b  # type: ignore[misc]
    for obj in (Two(1), Reference(1)):
        with pytest.raises(dataclasses.FrozenInstanceError, match="'extra'"):
            obj.extra = 1  # type: ignore[attr-defined]
    for obj in (Plain(1), PlainRef(1)):
        obj.extra = 1  # type: ignore[attr-defined]
        assert obj.extra == 1  # type: ignore[attr-defined]
        del obj.extra  # type: ignore[attr-defined]
        assert not hasattr(obj, "extra")


def test_the_frozen_pair_is_shared_where_dataclasses_makes_it_per_class() -> None:
    if sys.version_info >= (3, 13):  # one compile a class there: dataclasses keeps its own pair
        assert Two.__setattr__ is not One.__setattr__
        return
    assert Two.__setattr__ is One.__setattr__ is Empty.__setattr__
    assert Two.__delattr__ is One.__delattr__
    assert Two.__setattr__ is not Reference.__setattr__
    # dataclasses is left as it was found, for everybody else's classes
    maker = dataclasses._frozen_get_del_attr  # type: ignore[attr-defined]
    assert (maker.__module__, maker.__name__) == ("dataclasses", "_frozen_get_del_attr")

    @dataclasses.dataclass(frozen=True)
    class Theirs:
        a: int

    assert Theirs.__setattr__ is not Two.__setattr__
    # A dataclass another thread makes while one of ours is being made gets its own pair.
    # dataclasses reads a field's default off the class while it makes it: a descriptor
    # there runs the other thread at that moment.
    seen: list[Any] = []

    def other_thread() -> None:
        @dataclasses.dataclass(frozen=True)
        class Meanwhile:
            a: int

        seen.append(Meanwhile.__setattr__)

    class StartsAThread:
        def __get__(self, obj: object, owner: type | None = None) -> int:
            if owner is not None and not seen:
                worker = threading.Thread(target=other_thread)
                worker.start()
                worker.join(5)
            return 0

    @frozen
    class Ours:
        a: int = StartsAThread()  # type: ignore[assignment]

    assert seen and seen[0] is not Ours.__setattr__ and Ours.__setattr__ is Two.__setattr__


def test_a_class_made_while_making_another_on_the_same_thread() -> None:
    """Making a class may make another (a field default's descriptor importing a module of
    records): no deadlock, both get the shared pair, and dataclasses is restored after."""

    class MakesOneMore:
        def __get__(self, obj: object, owner: type | None = None) -> int:
            if owner is not None and not made:

                @frozen
                class Inner:
                    b: int

                made.append(Inner)
            return 0

    made: list[type] = []

    @frozen
    class Outer:
        a: int = MakesOneMore()  # type: ignore[assignment]

    assert made
    if sys.version_info < (3, 13):
        assert made[0].__setattr__ is Outer.__setattr__ is Two.__setattr__
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0](1).b = 2
    maker = dataclasses._frozen_get_del_attr  # type: ignore[attr-defined]
    assert (maker.__module__, maker.__name__) == ("dataclasses", "_frozen_get_del_attr")
