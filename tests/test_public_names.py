"""Public names for what crosses modules: no module of ours imports, or reaches through an import, a private name
(`_x`) of another module of ours. What the standard library and pytest keep private is another rule's."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("opsproof", "engine", "fixtures", "checks")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module(path: Path, root: Path) -> tuple[str, bool]:
    """`opsproof.config.base` for opsproof/config/base.py; whether it is a package's __init__."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if package else parts), package


def _source(node: ast.ImportFrom, module: str, package: bool) -> str:
    """The absolute module a `from ... import` reads."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[:len(base) - node.level + (1 if package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _dotted(node: ast.AST) -> list[str]:
    """`a.b._c` as ["a", "b", "_c"]; [] for anything but names and attributes."""
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return head + [node.attr] if head else []
    return [node.id] if isinstance(node, ast.Name) else []


def crossings(path: Path, root: Path = ROOT) -> list[str]:
    """Each private name of ours this module takes from another: imported, or read off what it imported."""
    module, package = _module(path, root)
    where = path.relative_to(root)
    tree = ast.parse(path.read_text(), str(path))
    bound: set[str] = set()            # names bound to a module or object of ours by an import
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source(node, module, package)
            if source.split(".")[0] not in OURS:
                continue
            for alias in node.names:
                if _private(alias.name) or any(_private(p) for p in source.split(".")):
                    found.append(f"{where}:{node.lineno}: from {source} import {alias.name}")
                bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    if any(_private(p) for p in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno}: import {alias.name}")
                    bound.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain = _dotted(node)
            if chain and chain[0] in bound:
                found.append(f"{where}:{node.lineno}: {'.'.join(chain)}")
    return found


def test_no_module_takes_a_private_name_from_another_of_ours():
    sources = [p for top in OURS for p in sorted((ROOT / top).rglob("*.py"))]
    assert len(sources) > 100, "the sources were not found"
    found = [line for path in sources for line in crossings(path)]
    assert not found, "give what crosses modules a public name: " + "; ".join(found)


def test_the_rule_sees_an_import_and_a_reach_through_and_leaves_other_packages_alone(tmp_path):
    """A test of the fitness test: it must be able to fail."""
    (tmp_path / "opsproof" / "config").mkdir(parents=True)
    probe = tmp_path / "opsproof" / "config" / "probe.py"
    probe.write_text("import re\nfrom .base import _Section, parse_duration\nfrom opsproof.config import sections\n"
                     "from ..hosts.target import Target\n"
                     "sections.Endpoint._http('x')\nTarget._run\nre._parser\nparse_duration._cache\n")
    assert sorted(line.split(": ", 1)[1] for line in crossings(probe, tmp_path)) == [
        "Target._run", "from opsproof.config.base import _Section", "parse_duration._cache", "sections.Endpoint._http"]
