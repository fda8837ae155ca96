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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
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
    return _shared_methods(dataclass(frozen=True, eq=False, repr=False)(cls))


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def frozen_kw(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, kw_only=True)`` made for less."""
    return _shared_methods(dataclass(frozen=True, eq=False, repr=False, kw_only=True)(cls))
