"""How a public module presents the names it re-exports from private modules.

Each object defined in a private module (``spice_proto._x``) says it lives where users
import it from, as trio does: ``repr``, pickling, tracebacks and API docs then name
``spice_proto.Rect``, not ``spice_proto._display_types.Rect``.  A class's own
annotations are resolved before its module changes (they are strings under ``from
__future__ import annotations`` and are looked up in the class's module), so
``typing.get_type_hints`` and the field layouts keep working.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

#: Annotation text -> its compiled expression (the same few dozen texts recur in every module).
_compiled: dict[str, types.CodeType] = {}


def _resolve_annotations(cls: type) -> None:
    """Replace the string annotations of ``cls`` (its own, not its bases') by their values.

    Each is evaluated as ``typing.get_type_hints`` evaluates a class's annotation (the
    class's module first, then the class's namespace), but only the class's own and each
    text compiled once: ``get_type_hints`` walks the bases again for every class."""
    own = inspect.get_annotations(cls)
    if not any(isinstance(value, str) for value in own.values()):
        return
    module_names = vars(sys.modules[cls.__module__])
    class_names = dict(vars(cls))
    resolved: dict[str, Any] = {}
    for name, value in own.items():
        if isinstance(value, str):
            code = _compiled.get(value)
            if code is None:
                code = _compiled[value] = compile(value, "<annotation>", "eval")
            try:
                value = eval(code, class_names, module_names)  # our own annotation text
            except NameError:  # a name imported only for type checkers: leave the strings
                return
        resolved[name] = type(None) if value is None else value
    cls.__annotations__ = resolved


def _move(obj: Any, module: str) -> None:
    """Say ``obj`` lives in public ``module`` if it was defined in a private module of its package."""
    private = module.partition(".")[0] + "._"
    if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not obj.__module__.startswith(private):
        return
    if inspect.isclass(obj):
        _resolve_annotations(obj)
    obj.__module__ = module


def publish(module: str, namespace: dict[str, Any], lazy: Mapping[str, str] | None = None) -> list[str]:
    """Call as ``__all__ = publish(__name__, globals())`` at the end of a public module.

    Move the public objects of ``namespace`` (module ``module``) that were defined in a
    private module of the same package to ``module``, and return the public names (for
    ``__all__``): those not starting with ``_``, except modules, plus ``__version__``, plus
    the names of ``lazy`` (see :func:`lazy_attributes`)."""
    names = [n for n, v in namespace.items() if not n.startswith("_") and not isinstance(v, types.ModuleType)]
    for name in names:
        _move(namespace[name], module)
    names += [n for n in lazy or () if n not in namespace]
    if "__version__" in namespace:
        names.append("__version__")
    return names


def lazy_attributes(module: str, namespace: dict[str, Any], lazy: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for names whose modules are imported on first use.

    ``lazy`` maps a public name to the module that defines it (``{"Thing": "pkg._things"}``);
    write the same imports under ``if TYPE_CHECKING:`` for type checkers, and pass ``lazy``
    to :func:`publish` too.  The first ``module.Thing`` (or ``from module import Thing``)
    imports ``pkg._things``, presents ``Thing`` as :func:`publish` would and keeps it in the
    module, so later lookups do not come here."""

    def __getattr__(name: str) -> Any:
        source = lazy.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        obj = getattr(importlib.import_module(source), name)
        _move(obj, module)
        namespace[name] = obj
        return obj

    return __getattr__
