"""Package layout rules: no import cycles, small modules.

No import cycles: every ``import`` in a module counts, at module level or inside a function.

An import inside a function still ties the two modules together: it only hides the cycle from
the interpreter at import time. The graph is read with ``ast`` (nothing is imported), for every
module of app/, collectors/, models/ and orchestrator/. A cycle inside orchestrator/ fails the
test; the other packages' cycles are listed by ``known_cycles`` until their owners cut them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "collectors", "models", "orchestrator")
STRICT = ("orchestrator",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every known module ``name`` imports, wherever the import statement sits."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from a import b`` imports module a.b when b is a module, else a name of a.
            # (A package's own __init__ running first is not counted: every submodule
            # would depend on it, and an __init__ re-exporting its submodules is fine.)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            # the deepest known module the target names (``import a.b.c`` needs a.b.c)
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of our packages it imports (module level and in functions)."""
    known = _modules()
    return {name: set(_imported(name, path, known)) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # app/cli/up.py imports the orchestrator's service only inside build_services()
    assert any(m.startswith("orchestrator.") for m in graph["app.cli.up"])
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", STRICT)
def test_no_import_cycles(package: str) -> None:
    inside = [c for c in cycles(import_graph()) if any(m.split(".")[0] == package for m in c)]
    assert inside == [], f"import cycles in {package}/: {inside}"


@pytest.mark.parametrize("package", STRICT)
def test_no_module_is_over_500_lines(package: str) -> None:
    sizes = {
        p: len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / package).rglob("*.py")
    }
    assert {str(p.relative_to(ROOT)): n for p, n in sizes.items() if n > 500} == {}


def known_cycles() -> list[list[str]]:
    """Cycles in the packages not (yet) held to the rule; printed by ``python -m``."""
    return [c for c in cycles(import_graph()) if not any(m.split(".")[0] in STRICT for m in c)]


if __name__ == "__main__":
    for cycle in known_cycles():
        print(" <-> ".join(cycle))
