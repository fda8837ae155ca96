"""No import cycles inside any of our packages.

The graph is built from the source with ``ast``: every import of a module of the same
package counts, those under ``if TYPE_CHECKING:`` and inside functions included (a cycle
hidden that way is still two modules that need each other).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in ROOT.glob("packages/*/src/*/__init__.py"))


def _module_name(package: Path, path: Path) -> str:
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    modules = {_module_name(package, p): p for p in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                subs = {f"{base}.{a.name}" for a in node.names}
                # ``from . import _x`` imports module _x; ``from ._x import Y``, module _x
                targets |= subs & modules.keys() if subs & modules.keys() else {base}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


#: Cycles known and still to be broken, package -> the cycle :func:`find_cycle` reports.  Fixing
#: one means deleting it here (the test fails while a listed cycle is gone).
KNOWN_CYCLES: dict[str, str] = {}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_package_has_no_import_cycle(package: Path) -> None:
    graph = import_graph(package)
    assert len(graph) > 1 and any(graph.values())  # the walk found the modules and their imports
    cycle = find_cycle(graph)
    assert (" -> ".join(cycle) if cycle else None) == KNOWN_CYCLES.get(package.name)


def test_cycle_finder_sees_a_type_checking_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from ._a import A as A\n")
    (pkg / "_a.py").write_text("from ._b import B\nclass A: ...\n")
    (pkg / "_b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._a import A\nclass B: ...\n"
    )
    (pkg / "_c.py").write_text("from . import _b\n")
    graph = import_graph(pkg)
    assert graph == {"pkg": {"pkg._a"}, "pkg._a": {"pkg._b"}, "pkg._b": {"pkg._a"}, "pkg._c": {"pkg._b"}}
    assert find_cycle(graph) == ["pkg._a", "pkg._b", "pkg._a"]
    (pkg / "_b.py").write_text("class B: ...\n")
    assert find_cycle(import_graph(pkg)) is None
