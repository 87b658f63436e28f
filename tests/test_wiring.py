"""Fitness tests for the wiring: one way to build what reaches a host; plugins registered without a hand-kept list.

- A `Target` is constructed only in opsproof/hosts/ (hosts/reach.py: `local`, `at`, a fleet's `FleetTargets`, whose
  Targets share one unreachable-host map); everything else asks it.
- Every module of fixtures/ is registered as a plugin (fixtures.plugin_names, read by conftest.py), and no two of
  them import each other, lazy imports included: registration order then means "after what it imports".
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fixtures

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def _calls_named(tree: ast.AST, name: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and ((isinstance(node.func, ast.Name) and node.func.id == name)
                 or (isinstance(node.func, ast.Attribute) and node.func.attr == name))]


def test_targets_are_built_only_in_hosts():
    """`Target(` appears nowhere outside opsproof/hosts/ in the product (opsproof/, fixtures/, checks/)."""
    found = []
    for folder in ("opsproof", "fixtures", "checks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "opsproof" / "hosts"):
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in _calls_named(ast.parse(path.read_text()), "Target")]
    assert not found, f"Target built outside opsproof/hosts/ (use opsproof.hosts.reach): {found}"


def test_is_local_is_written_once():
    """One test of "is this host this machine": hosts/target.py's is_local; the rest call it."""
    written = [f"{path.relative_to(ROOT)}" for folder in ("opsproof", "fixtures") for path in (ROOT / folder).rglob("*.py")
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


def _ast_imports(path: Path, known: set[str]) -> set[str]:
    """fixtures/ modules a module imports, by ast (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("fixtures."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "fixtures":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("fixtures.")}
    return found & known


def _modules() -> dict[str, Path]:
    return {path.stem: path for path in FIXTURES.glob("*.py") if path.stem != "__init__"}


def test_plugin_list_is_every_fixtures_module():
    assert sorted(fixtures.plugin_names()) == sorted(f"fixtures.{stem}" for stem in _modules())


def test_plugins_register_after_what_they_import():
    """The start-up scan (a regex, for speed) sees what ast sees, and the order puts each after its imports."""
    modules = _modules()
    for stem, path in modules.items():
        assert fixtures.imports_of(path, set(modules)) == _ast_imports(path, set(modules)), stem
    order = [name.split(".", 1)[1] for name in fixtures.plugin_names()]
    for position, stem in enumerate(order):
        late = _ast_imports(modules[stem], set(modules)) - set(order[:position]) - {stem}
        assert not late, f"fixtures.{stem} registers before {sorted(late)}, which it imports"


def test_no_import_circle_among_fixtures():
    """No two fixtures/ modules import each other, directly or through others, lazily or not."""
    modules = _modules()
    graph = {stem: _ast_imports(path, set(modules)) - {stem} for stem, path in modules.items()}
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
    assert not circles, f"import circles among fixtures/ modules: {sorted(set(circles))}"


def test_conftest_registers_every_module_and_honours_blocking(pytester: pytest.Pytester):
    """The root conftest.py registers every fixtures/ module under fixtures.NAME, except one `-p no:fixtures.NAME`
    blocks (as the hand-kept list did)."""
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                          f"exec(open({str(ROOT / 'conftest.py')!r}).read())\n")
    expected = sorted(set(fixtures.plugin_names()) - {"fixtures.slo"})
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
