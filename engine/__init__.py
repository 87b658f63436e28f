"""opsproof's pytest engine: what every check shares, apart from the wiring of each maintenance concern (fixtures/).

The options and the config (options, config, selection), the fleet's items and their targets (target, fleet,
workers), the run record (run), evidence and judgement (evidence, judgement, charts), the action gate (actions,
window, approval), and what a run leaves behind (report, ledger, cadence, notify). pytest's private API is used
in pytest_api.py only. Every module here, and every module of fixtures/, is one pytest plugin.

`plugin_names` derives the registration list (no hand-kept registry): engine/ first, then fixtures/ (which may
import the engine; the engine never imports fixtures/), each module after the modules of its own folder it imports
(lazy imports included), the rest in name order. That order carries no meaning beyond "after what it imports":
where hooks must run in a given order, the hook says so itself (tryfirst, trylast, wrapper) —
tests/test_wiring.py holds that every module is registered and that no two import each other.
"""
from __future__ import annotations

import re
from pathlib import Path

PACKAGES = ("engine", "fixtures")   # registered in this order
ROOT = Path(__file__).resolve().parent.parent


def _pattern(package: str) -> re.Pattern[str]:
    # `from .x import ...`, `from . import x, y`, `from PACKAGE.x import ...`, `import PACKAGE.x`, at any indentation
    # (lazy imports count). A text scan, not ast: this runs at every start-up. tests/test_wiring.py compares it with ast.
    return re.compile(rf"^[ \t]*(?:from[ \t]+(?:\.|{package}\.)(\w*)[ \t]+import[ \t]+([\w, \t]+)"
                      rf"|import[ \t]+{package}\.(\w+))", re.MULTILINE)


def imports_of(path: Path, known: set[str], package: str = "engine") -> set[str]:
    """The modules of its own folder (`package`) that a module imports."""
    found = set()
    for module, names, plain in _pattern(package).findall(path.read_text(encoding="utf-8")):
        found.update([module or plain] if module or plain else [n.strip() for n in names.split(",")])
    return found & known


def _ordered(package: str) -> list[str]:
    files = {path.stem: path for path in sorted((ROOT / package).glob("*.py")) if path.stem != "__init__"}
    waiting = {name: imports_of(path, set(files), package) - {name} for name, path in files.items()}
    order: list[str] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if not needs - set(order))
        # An import circle (tests/test_wiring.py forbids one) must not stop a run: its first module goes first.
        name = ready[0] if ready else min(waiting)
        order.append(name)
        del waiting[name]
    return [f"{package}.{name}" for name in order]


def plugin_names() -> list[str]:
    """Every plugin module's dotted name (`engine.report`, `fixtures.slo`): the engine's, then the concerns'."""
    return [name for package in PACKAGES for name in _ordered(package)]
