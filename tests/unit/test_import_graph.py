"""The layers hold: no import cycle among the server's modules, and the domain never imports the web framework.

Reads the imports from the source (ast), so it needs neither the database nor Flask to run. Imports inside
functions count too: a lazy import that closes a cycle is still a cycle, only hidden from the interpreter.
Imports under `if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("server", "kiosk", "display", "counter", "dashboard", "printer_templates")
FRAMEWORK = ("flask", "flask_socketio", "flask_wtf", "flask_limiter", "werkzeug", "socketio", "engineio")


def module_name(path: Path) -> str:
    parts = (path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(path: Path) -> set[str]:
    """Every module name `path` imports (absolute, dotted), at any depth except under `if TYPE_CHECKING:`."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def graph() -> dict[str, set[str]]:
    """module → the project modules it imports (`from a import b` counts as importing a, and a.b if a module)."""
    modules = {
        module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts
    }
    return {
        name: {imported for imported in imported_names(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drops the edge from a module to its own parent packages (importing a.b runs a/__init__ first: not a cycle
    of a.b's making)."""
    return {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_no_module_is_part_of_an_import_cycle():
    assert cycles(package_edges(graph())) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_domain_imports_neither_flask_nor_socketio():
    for path in (ROOT / "server" / "domain").rglob("*.py"):
        framework = {name for name in imported_names(path) if name.split(".")[0] in FRAMEWORK}
        assert not framework, f"{path.relative_to(ROOT)} imports {sorted(framework)}"


def test_the_domain_check_sees_a_lazy_flask_import(tmp_path):
    (tmp_path / "rule.py").write_text("def f():\n    from flask import request\n    return request\n")
    assert "flask" in imported_names(tmp_path / "rule.py")
