"""How a public module presents the names it re-exports from private modules.

Each object defined in a private module (``spice_proto._x``) says it lives where users
import it from, as trio does: ``repr``, pickling, tracebacks and API docs then name
``spice_proto.Rect``, not ``spice_proto._display_types.Rect``.  A class's own
annotations are resolved before its module changes (they are strings under ``from
__future__ import annotations`` and are looked up in the class's module), so
``typing.get_type_hints`` and the field layouts keep working.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any


def _resolve_annotations(cls: type) -> None:
    """Replace the string annotations of ``cls`` (its own, not its bases') by their values."""
    own = inspect.get_annotations(cls)
    if any(isinstance(value, str) for value in own.values()):
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except NameError:  # a name imported only for type checkers: leave the strings
            return
        cls.__annotations__ = {name: hints[name] for name in own}


def publish(module: str, namespace: dict[str, Any]) -> list[str]:
    """Call as ``__all__ = publish(__name__, globals())`` at the end of a public module.

    Move the public objects of ``namespace`` (module ``module``) that were defined in a
    private module of the same package to ``module``, and return the public names (for
    ``__all__``): those not starting with ``_``, except modules, plus ``__version__``."""
    private = module.partition(".")[0] + "._"
    names = [n for n, v in namespace.items() if not n.startswith("_") and not isinstance(v, types.ModuleType)]
    for name in names:
        obj = namespace[name]
        if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not obj.__module__.startswith(private):
            continue
        if inspect.isclass(obj):
            _resolve_annotations(obj)
        obj.__module__ = module
    if "__version__" in namespace:
        names.append("__version__")
    return names
