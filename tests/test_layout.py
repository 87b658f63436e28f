"""The layout of the suite's own tests, held by tests: shared helpers live in tests/helpers/, conftest.py holds
fixtures and hooks only, no test module imports another test module or conftest, and there is one `sshd`."""
from __future__ import annotations

import ast
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli, which pytest itself requires there
    import tomli as tomllib

from helpers import ROOT

TESTS = Path(__file__).resolve().parent
HELPERS = TESTS / "helpers"


def _plugins() -> set[str]:
    """The modules of tests/ that pyproject loads by name as pytest plugins (`-p tests.NAME`): mutation_select."""
    mutmut = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    args = mutmut.get("pytest_add_cli_args", [])
    return {value.split(".", 1)[1] for flag, value in zip(args, args[1:])
            if flag == "-p" and value.startswith("tests.")}


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in the tree — inside functions too, and importlib.import_module("...")."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture")


def _fixture_names(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, name) of every fixture a module defines or re-exports at its top level."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if _is_fixture(decorator):
                    given = [k.value.value for k in getattr(decorator, "keywords", [])
                             if k.arg == "name" and isinstance(k.value, ast.Constant)]
                    names.append((node.lineno, given[0] if given else node.name))
    for node in tree.body:  # a fixture taken over from elsewhere: `from x import sshd`, `sshd = other.sshd`
        if isinstance(node, ast.ImportFrom):
            names.extend((node.lineno, alias.asname or alias.name) for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.extend((node.lineno, t.id) for t in node.targets if isinstance(t, ast.Name))
    return names


def _sources() -> list[Path]:
    return sorted(TESTS.glob("*.py")) + sorted(HELPERS.rglob("*.py"))


def test_every_helper_module_lives_under_helpers():
    """Flat in tests/: conftest.py, the test modules and the plugins pyproject names; everything else in helpers/."""
    plugins = _plugins()
    assert plugins == {"mutation_select"}, f"pyproject's -p tests.NAME plugins changed: {plugins}"
    stray = [p.name for p in TESTS.glob("*.py")
             if p.name != "conftest.py" and not p.name.startswith("test_") and p.stem not in plugins]
    assert stray == [], f"move these into tests/helpers/: {stray}"
    assert (HELPERS / "__init__.py").is_file()
    collected = [p.name for p in HELPERS.rglob("*.py") if p.name.startswith("test_") or p.name.endswith("_test.py")]
    assert collected == [], f"pytest would collect these helper modules as tests: {collected}"
    unexplained = [p.name for p in HELPERS.rglob("*.py") if not ast.get_docstring(ast.parse(p.read_text()))]
    assert unexplained == [], f"a helper module opens with a docstring saying what it holds: {unexplained}"


def test_no_test_module_imports_another_test_module_or_conftest():
    """Tests and helpers import shared code from `helpers`, never from conftest.py or a test module."""
    flat = {p.stem for p in TESTS.glob("*.py")}
    assert {"conftest", "test_layout"} <= flat
    offenders = []
    for path in _sources():
        for line, name in _imported(ast.parse(path.read_text(), str(path))):
            top = name.split(".")[0]
            if top in flat or top == "tests":
                offenders.append(f"{path.relative_to(TESTS)}:{line}: {name}")
    assert offenders == [], f"import these from tests/helpers/ instead: {offenders}"


def test_exactly_one_sshd_fixture():
    """One module-scoped `sshd`, in conftest.py: no module shadows it with a second server or a wrapper."""
    defined = [f"{path.relative_to(TESTS)}:{line}" for path in _sources()
               for line, name in _fixture_names(ast.parse(path.read_text(), str(path))) if name == "sshd"]
    assert len(defined) == 1 and defined[0].startswith("conftest.py:"), defined
    fixture = next(node for node in ast.parse((TESTS / "conftest.py").read_text()).body
                   if isinstance(node, ast.FunctionDef) and node.name == "sshd")
    scope = [k.value.value for d in fixture.decorator_list if isinstance(d, ast.Call) for k in d.keywords
             if k.arg == "scope"]
    assert scope == ["module"], scope


def test_conftest_holds_only_fixtures_and_hooks():
    """Every top-level definition in conftest.py is a fixture or a pytest_* hook; helpers live in helpers/."""
    tree = ast.parse((TESTS / "conftest.py").read_text())
    other = []
    for node in tree.body[1:]:  # after the docstring
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.name.startswith("pytest_") or any(_is_fixture(d) for d in node.decorator_list)):
            continue
        other.append(f"conftest.py:{node.lineno}: {type(node).__name__} {getattr(node, 'name', '')}".rstrip())
    assert other == [], f"move these into tests/helpers/: {other}"


def test_the_layout_walks_see_every_form():
    """The walks above find what they look for in each form it can take."""
    tree = ast.parse("import test_a\nfrom conftest import x\nimport importlib\n"
                     "def f():\n    from test_b import y\n    importlib.import_module('test_c')\n")
    assert {"test_a", "conftest", "test_b", "test_c"} <= {name for _, name in _imported(tree)}
    fixtures = ast.parse("import pytest\nfrom pytest import fixture\nfrom test_x import sshd\nlocal = other.local\n"
                         "@pytest.fixture(scope='module')\ndef a(): pass\n@fixture\ndef b(): pass\n"
                         "@pytest.fixture(name='c')\ndef _c(): pass\n@pytest.mark.slow\ndef test_d(): pass\n")
    assert {"a", "b", "c", "sshd", "local"} <= {name for _, name in _fixture_names(fixtures)}
    assert "test_d" not in {name for _, name in _fixture_names(fixtures)}


def test_the_mutation_runs_test_files_exist():
    """pyproject's [tool.mutmut] names test files by path; moving one must not silently shrink the mutation run.
    (mutmut copies tests/ whole into mutants/, helpers/ included; conftest puts tests/ on sys.path there too.)"""
    mutmut = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    named = mutmut["pytest_add_cli_args_test_selection"]
    assert named and all(name.startswith("tests/") for name in named), named
    missing = [name for name in named if not (ROOT / name).is_file()]
    assert missing == [], missing
