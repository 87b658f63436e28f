"""The house's shape, held by tests: no import circle in the product (lazy imports included), the console command
above the library, and no module longer than a reader can hold."""
from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

from helpers import ROOT

MAX_LINES = 300


def import_graph(top: Path) -> dict[str, dict[str, int]]:
    """Every module of the package at `top` (its directory) -> the modules of that package it imports, each with the
    line of its first import: module-level and function-level, absolute and relative (resolved), `from pkg import
    submodule` as the submodule."""
    root = top.parent
    files = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in sorted(top.rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            else:
                continue
            for target in targets:
                while target not in files and "." in target:  # a name inside a module: the module
                    target = target.rsplit(".", 1)[0]
                if target in files and target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str]:
    """One import circle, as `module:line` steps back to where it started; [] when there is none."""
    for start in sorted(graph):
        came: dict[str, str] = {}
        queue = deque([start])
        while queue:
            here = queue.popleft()
            for there in sorted(graph[here]):
                if there == start:
                    path = [here]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    path.reverse()
                    return [f"{a}:{graph[a][b]}" for a, b in zip(path, path[1:] + [start])] + [start]
                if there not in came and there != start:
                    came[there] = here
                    queue.append(there)
    return []


def test_no_import_circle_in_the_product():
    graph = import_graph(ROOT / "opsproof")
    assert len(graph) > 50 and "opsproof.cli" in graph, "the package was not found"
    cycle = find_cycle(graph)
    assert not cycle, "import circle (a lazy import counts: it is a circle the day it runs): " + " -> ".join(cycle)


def test_the_console_command_sits_above_the_library():
    """opsproof/cli/ reads options, prints and decides exit codes; nothing in the library imports it."""
    graph = import_graph(ROOT / "opsproof")
    below = [f"{name}:{line}" for name, edges in graph.items() if not name.startswith("opsproof.cli")
             for target, line in edges.items() if target == "opsproof.cli" or target.startswith("opsproof.cli.")]
    assert below == [], f"the library imports the console command: {below}"


def test_the_graph_sees_lazy_relative_and_submodule_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .. import a\n")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("thing = 1\n\ndef later():\n    from .sub import c\n")
    (package / "sub" / "c.py").write_text("import pkg.a\nfrom pkg import b\n")
    graph = import_graph(package)
    assert graph["pkg.sub"] == {"pkg.a": 1} and graph["pkg.a"] == {"pkg.b": 1}
    assert graph["pkg.b"] == {"pkg.sub.c": 4} and graph["pkg.sub.c"] == {"pkg.a": 1, "pkg.b": 2}
    assert find_cycle(graph) == ["pkg.a:1", "pkg.b:4", "pkg.sub.c:1", "pkg.a"]
    (package / "b.py").write_text("thing = 1\n")
    assert find_cycle(import_graph(package)) == []


def test_no_module_is_longer_than_a_reader_can_hold():
    """Split a module along a seam (what it reads apart from what it decides) before it passes 300 lines."""
    modules = [p for d in ("opsproof", "engine", "fixtures") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(modules) > 50
    long = {str(p.relative_to(ROOT)): n for p in modules if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"over {MAX_LINES} lines: {long}"


def test_a_reader_of_json_state_imports_neither_pydantic_nor_yaml(tmp_path):
    """The state store reads JSON through config.inputs: the config package names its models lazily and inputs
    imports yaml only for YAML, so a process that only keeps state (an SLO read on its own, bench_slo's child) does
    not pay pydantic's ~100 ms start-up."""
    import subprocess
    import sys

    probe = ("import sys\n"
             "from opsproof.hosts.state import StateStore\n"
             f"store = StateStore({str(tmp_path)!r}, 'local')\n"
             "store.save('probe', {'n': 1})\n"
             "assert store.load('probe') == {'n': 1}\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'pydantic_core', 'yaml'}))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
    from opsproof import config   # the lazy names still resolve, each to its module's object

    from opsproof.config.loader import load
    assert config.load is load and config.ConfigError.__module__ == "opsproof.config.errors"
