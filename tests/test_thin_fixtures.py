"""Fitness tests for fixtures/: a thin wiring layer, and pytest's private API in one guarded module only."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUARDED = ROOT / "fixtures" / "pytest_api.py"
GOAL = 1800        # issue 22: fixtures/ wires the library to pytest; logic that grows it belongs in opsproof/
MAX_LINES = 2200   # a ratchet on the way there (2 751 before the second pass, 2 167 after the library took its logic)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_fixtures_stay_thin():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "fixtures").glob("*.py")}
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert sum(sizes.values()) < MAX_LINES, (f"fixtures/ has {sum(sizes.values())} lines (limit {MAX_LINES}, goal "
                                             f"{GOAL}); largest: {largest} — move policy, parsing and writing to "
                                             "opsproof/")


def test_pytest_private_api_only_in_the_guarded_module():
    places = [p for p in [*ROOT.glob("*.py"), *(ROOT / "fixtures").rglob("*.py"), *(ROOT / "checks").rglob("*.py"),
                          *(ROOT / "opsproof").rglob("*.py")]
              if p != GUARDED and any(m == "_pytest" or m.startswith("_pytest.") for m in _imports(p))]
    assert places == [], f"_pytest imported outside {GUARDED.relative_to(ROOT)}: {places}"
    assert "_fixtureinfo" not in "".join(p.read_text(encoding="utf-8") for p in (ROOT / "fixtures").glob("*.py")
                                         if p != GUARDED)
