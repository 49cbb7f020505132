"""No import cycles inside app/: each module can be read, tested and moved without dragging in the modules
that depend on it.

The graph is built from the source (ast), not by importing: every `import` and `from … import` of a
module under app/, relative ones resolved, and an import inside a function counts like one at the top
(an import deferred into a function to dodge a cycle is still that cycle). `from package import name`
points at the submodule when `name` is one, else at the package. A package's `__init__` that runs
before its submodules is Python's layout, not an import written by us, so it is no edge: only what a
module names is. The same graph between the parts of app/ (screening, clinics, clinician, errors, …)
keeps the layers one-way: the workspace uses the screening side, never the reverse.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules under `known` that one import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    if node.level:
        base = importer if is_package else importer.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    found = []
    for alias in node.names:
        target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
        if target in known:
            found.append(target)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports, anywhere in its source."""
    root = package.parent
    paths = {module_name(path, root): path for path in sorted(package.rglob("*.py"))}
    known = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = {target for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                       for target in imported(node, name, path.name == "__init__.py", known) if target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import one another, directly or through others (Tarjan's SCC)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def described(groups: list[list[str]], graph: dict[str, set[str]]) -> str:
    return "\n".join(f"{member} imports {sorted(graph[member] & set(group))}"
                     for group in groups for member in group)


def test_no_module_under_app_takes_part_in_an_import_cycle():
    graph = import_graph(ROOT / "app")
    assert len(graph) > 60 and "app.audit" in graph["app.ratelimits"]
    groups = cycles(graph)
    assert not groups, "import cycles inside app/:\n" + described(groups, graph)


def parts_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between the parts of app/: each of its packages and top-level modules (app's own
    __init__, the factory that wires them all together, left out)."""
    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    parts: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module != "app":
            parts.setdefault(part(module), set()).update(part(t) for t in targets if part(t) != part(module))
    return parts


def test_no_two_parts_of_app_import_each_other():
    """screening, clinics, clinician, auth, the error pages…: one may use another, never both ways."""
    graph = parts_graph(import_graph(ROOT / "app"))
    assert "app.screening" in graph["app.clinician"] and "app.clinician" not in graph["app.screening"]
    groups = cycles(graph)
    assert not groups, "parts of app/ that import each other:\n" + described(groups, graph)


def test_the_check_finds_a_cycle_hidden_in_a_function(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "top.py").write_text("from .sub.views import page\n")
    (package / "sub" / "views.py").write_text("from .. import leaf\n\ndef page():\n    return leaf\n")
    (package / "leaf.py").write_text("def later():\n    from .top import x\n    return x\n")
    graph = import_graph(package)
    assert graph["pkg.sub.views"] == {"pkg.leaf"}
    assert cycles(graph) == [["pkg.leaf", "pkg.sub.views", "pkg.top"]]
    (package / "leaf.py").write_text("import json\n")
    assert cycles(import_graph(package)) == []
