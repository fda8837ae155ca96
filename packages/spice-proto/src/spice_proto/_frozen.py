"""``@frozen``: a frozen dataclass whose ``__eq__``, ``__hash__`` and ``__repr__`` are shared.

``dataclass(frozen=True)`` writes six methods per class as source text and compiles each
one (``exec``) when the class is made.  With some 250 message and field classes that
compiling was the largest single cost of ``import spice_proto``.  :func:`frozen` lets
dataclasses write only ``__init__`` and the frozen ``__setattr__``/``__delattr__`` and gives
every class the same three functions instead, which read the compared fields of the
instance's class with one :func:`operator.attrgetter`.  They behave as the generated ones:
equal only to an instance of the very same class with equal compared fields (fields with
``compare=False`` left out), hash of those fields, ``Name(field=value, ...)`` of the
``repr=True`` fields.

The frozen ``__setattr__`` and ``__delattr__`` are shared too on CPython 3.10-3.12: there
dataclasses compiles a pair per class (about half of the time a class took to make), and the
decorator hands it ours while it makes one of our classes (:func:`_shared_frozen_pair`).  They
refuse as the generated pair refuses: every attribute of an instance of the decorated class
itself, the fields only on an undecorated subclass.  3.13 compiles a class's methods in one
go, so it keeps its own pair.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda decorator: decorator


__all__ = ["frozen", "frozen_kw"]

_T = TypeVar("_T")


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__class__.__record_key__
    return key is None or key(self) == key(other)


def _hash(self: Any) -> int:
    key = self.__class__.__record_key__
    return hash(key(self) if key is not None else ())


def _repr(self: Any) -> str:
    cls = self.__class__
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in cls.__record_repr__)
    return f"{cls.__qualname__}({shown})"


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    cls = self.__class__
    if "__record_key__" in cls.__dict__ or name in cls.__dataclass_fields__:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    cls = self.__class__
    if "__record_key__" in cls.__dict__ or name in cls.__dataclass_fields__:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


_frozen_setattr.__name__ = _frozen_setattr.__qualname__ = "__setattr__"
_frozen_delattr.__name__ = _frozen_delattr.__qualname__ = "__delattr__"

# dataclasses' maker of the frozen pair, where it is one function of (cls, fields, globals)
_MAKE_PAIR: Callable[..., Any] | None = (
    getattr(dataclasses, "_frozen_get_del_attr", None) if sys.version_info < (3, 13) else None
)
_making = threading.local()  # .cls: the class this thread's decorator is making
_swap_lock = threading.RLock()  # re-entered when making a class makes another (a default's import)


def _pair_for(cls: type, field_list: Any, namespace: Any) -> Any:
    """Stands in for dataclasses' maker: ours for the class being made here, theirs otherwise."""
    if getattr(_making, "cls", None) is cls:
        return (_frozen_setattr, _frozen_delattr)
    assert _MAKE_PAIR is not None
    return _MAKE_PAIR(cls, field_list, namespace)


@contextmanager
def _shared_frozen_pair(cls: type) -> Iterator[None]:
    """While ``cls`` is made, dataclasses gives it the shared frozen pair (see the module
    docstring); another thread making its own dataclass meanwhile still gets a generated one."""
    if _MAKE_PAIR is None:
        yield
        return
    with _swap_lock:
        outer = getattr(_making, "cls", None)
        _making.cls = cls
        if outer is None:
            setattr(dataclasses, "_frozen_get_del_attr", _pair_for)  # noqa: B010 - not in typeshed
        try:
            yield
        finally:
            _making.cls = outer
            if outer is None:
                setattr(dataclasses, "_frozen_get_del_attr", _MAKE_PAIR)  # noqa: B010


def _shared_methods(cls: type[_T]) -> type[_T]:
    body = cls.__dict__
    if "__eq__" in body or "__hash__" in body:
        raise TypeError(f"{cls.__qualname__}: @frozen gives __eq__ and __hash__; use @dataclass")
    made = cast(Any, cls)  # a dataclass by now
    compared = tuple(f.name for f in fields(made) if f.compare)
    key: Callable[[Any], object] | None = None
    if len(compared) > 1:
        key = attrgetter(*compared)  # a tuple, compared as the generated method compares
    elif compared:
        get = attrgetter(compared[0])
        key = lambda obj: (get(obj),)  # noqa: E731 - a tuple too (identity first, as tuples do)
    attributes: dict[str, object] = {
        "__record_key__": key,
        "__record_repr__": tuple(f.name for f in fields(made) if f.repr),
        "__eq__": _eq,
        "__hash__": _hash,
    }
    if "__repr__" not in body:
        attributes["__repr__"] = _repr
    for name, value in attributes.items():
        setattr(cls, name, value)
    return cls


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True)`` made for less (see the module docstring)."""
    with _shared_frozen_pair(cls):
        made = dataclass(frozen=True, eq=False, repr=False)(cls)
    return _shared_methods(made)


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def frozen_kw(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, kw_only=True)`` made for less."""
    with _shared_frozen_pair(cls):
        made = dataclass(frozen=True, eq=False, repr=False, kw_only=True)(cls)
    return _shared_methods(made)
