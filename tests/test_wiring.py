"""Fitness tests for the wiring: one way to build what reaches a host; plugins registered without a hand-kept list.

- A `Target` is constructed only in opsproof/hosts/ (hosts/reach.py: `local`, `at`, a fleet's `FleetTargets`, whose
  Targets share one unreachable-host map); everything else asks it.
- Every module of engine/ and fixtures/ is registered as a plugin (engine.plugin_names, read by conftest.py), the
  engine's first; no two modules of one folder import each other, lazy imports included (registration order then
  means "after what it imports"), and the engine imports no concern's module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[1]


def _calls_named(tree: ast.AST, name: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and ((isinstance(node.func, ast.Name) and node.func.id == name)
                 or (isinstance(node.func, ast.Attribute) and node.func.attr == name))]


def test_targets_are_built_only_in_hosts():
    """`Target(` appears nowhere outside opsproof/hosts/ in the product (opsproof/, fixtures/, checks/)."""
    found = []
    for folder in ("opsproof", "engine", "fixtures", "checks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "opsproof" / "hosts"):
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in _calls_named(ast.parse(path.read_text()), "Target")]
    assert not found, f"Target built outside opsproof/hosts/ (use opsproof.hosts.reach): {found}"


def test_is_local_is_written_once():
    """One test of "is this host this machine": hosts/target.py's is_local; the rest call it."""
    written = [f"{path.relative_to(ROOT)}" for folder in ("opsproof", "engine", "fixtures") for path in (ROOT / folder).rglob("*.py")
               if '"local"' in path.read_text() and "backend" in path.read_text()
               and 'NAME", "") == "local"' in path.read_text()]
    assert written == ["opsproof/hosts/target.py"], written


def test_fleet_targets_share_the_unreachable_map():
    from opsproof.hosts.reach import FleetTargets

    class Member:
        def __init__(self, name: str) -> None:
            self.id, self.host = name, object()
            self.maint = type("Maint", (), {"command_timeout_s": 7})()

    targets = FleetTargets()
    one, two = targets(Member("ssh://a")), targets(Member("ssh://b"))
    one._unreachable("ssh://a: unreachable: refused")
    assert two.down is one.down is targets.down == {"ssh://a": "ssh://a: unreachable: refused"}
    assert (one.name, one.timeout_s) == ("ssh://a", 7)


def _ast_imports(path: Path, known: set[str], package: str) -> set[str]:
    """Modules of `package` (engine or fixtures) a module imports, by ast (lazy imports included)."""
    found = set()
    own = path.parent.name == package
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and own:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(f"{package}."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == package:
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith(f"{package}.")}
    return found & known


def _modules(package: str) -> dict[str, Path]:
    return {path.stem: path for path in (ROOT / package).glob("*.py") if path.stem != "__init__"}


def test_plugin_list_is_every_engine_and_fixtures_module():
    expected = [f"{package}.{stem}" for package in engine.PACKAGES for stem in _modules(package)]
    assert sorted(engine.plugin_names()) == sorted(expected)
    assert [name.split(".")[0] for name in engine.plugin_names()] == sorted(
        (name.split(".")[0] for name in expected), key=engine.PACKAGES.index), "the engine registers first"


@pytest.mark.parametrize("package", engine.PACKAGES)
def test_plugins_register_after_what_they_import(package):
    """The start-up scan (a regex, for speed) sees what ast sees, and the order puts each after its imports."""
    modules = _modules(package)
    for stem, path in modules.items():
        assert engine.imports_of(path, set(modules), package) == _ast_imports(path, set(modules), package), stem
    order = [name.split(".", 1)[1] for name in engine.plugin_names() if name.startswith(f"{package}.")]
    for position, stem in enumerate(order):
        late = _ast_imports(modules[stem], set(modules), package) - set(order[:position]) - {stem}
        assert not late, f"{package}.{stem} registers before {sorted(late)}, which it imports"


def test_the_engine_never_imports_a_concern():
    """fixtures/ (one module per maintenance concern) builds on engine/; the engine knows no concern."""
    concerns = set(_modules("fixtures"))
    found = {stem: sorted(_ast_imports(path, concerns, "fixtures")) for stem, path in _modules("engine").items()}
    assert {stem: names for stem, names in found.items() if names} == {}


@pytest.mark.parametrize("package", engine.PACKAGES)
def test_no_import_circle_among_plugins(package):
    """No two modules of engine/ (or of fixtures/) import each other, directly or through others, lazily or not."""
    modules = _modules(package)
    graph = {stem: _ast_imports(path, set(modules), package) - {stem} for stem, path in modules.items()}
    circles = []

    def visit(stem: str, chain: list[str]) -> None:
        for dep in sorted(graph[stem]):
            if dep in chain:
                circles.append(" -> ".join(chain[chain.index(dep):] + [dep]))
            elif dep not in done:
                visit(dep, chain + [dep])
        done.add(stem)

    done: set[str] = set()
    for stem in sorted(graph):
        if stem not in done:
            visit(stem, [stem])
    assert not circles, f"import circles among {package}/ modules: {sorted(set(circles))}"


def test_conftest_registers_every_module_and_honours_blocking(pytester: pytest.Pytester):
    """The root conftest.py registers every engine/ and fixtures/ module under its dotted name, except one
    `-p no:fixtures.NAME` blocks (as the hand-kept list did)."""
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                          f"exec(open({str(ROOT / 'conftest.py')!r}).read())\n")
    expected = sorted(set(engine.plugin_names()) - {"fixtures.slo"})
    pytester.makepyfile(test_probe=f"""
        import pytest

        @pytest.mark.daily
        def test_probe(pytestconfig):
            pm = pytestconfig.pluginmanager
            assert pm.get_plugin("fixtures.slo") is None and pm.is_blocked("fixtures.slo")
            assert [n for n in {expected!r} if pm.get_plugin(n) is None] == []
        """)
    result = pytester.runpytest_subprocess("-p", "no:fixtures.slo", f"--maint-config={ROOT / 'maintenance.yaml'}",
                                           "-p", "no:cacheprovider", "--report-dir", str(pytester.path / "reports"),
                                           "--state-dir", str(pytester.path / "state"))
    result.assert_outcomes(passed=1)
