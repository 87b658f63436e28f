"""One way to run our code on a target: a standard-library-only function, in-process here or shipped as a zip.

`call(target, "opsproof.temp.walk:clean", kwargs, timeout_s, ResultType)` runs the function in this
process for the local host. For a remote host (or with ship=True, how the tests prove the remote path
on this machine) the function's module travels as a small zip (base64 in the command) that the
target's python3 runs through Target.run: the same command channel, timeout and error handling as
every other probe. Arguments travel as base64 JSON on the command line, so they must never hold a secret.

What travels is derived, never listed by hand: the closure of the entry module's imports inside
opsproof (read with `ast`: `from .x import`, `from ..pkg import y`, `from . import z`), with each
package's __init__.py on the way. A module in it that imports anything outside the standard library
is refused when the bundle is built, unless that import sits in `try: ... except ImportError` (an
optional speed-up, such as isal in backups/archive.py). Package __init__ files stay import-free
(docstrings only), so a bundle carries only what its function runs.

Why no "standard-library-only subpackage" to ship: each concern's code stays in its own folder
(backups/, temp/, hosts/procfd.py), so the folder names still tell where a concern lives; whether a
module can travel is a property of its imports, checked here when its bundle is built.
"""
from __future__ import annotations

import ast
import base64
import copy
import dataclasses
import importlib
import inspect
import io
import json
import os
import sys
import time
import zipfile
from functools import lru_cache
from typing import Any, Optional

from .target import Target, TargetError, Unanswered

PACKAGE = "opsproof"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the folder holding opsproof/
PYTHON = "python3"
BACKSTOP_S = 30     # a function taking a deadline stops itself; the command's own timeout is this much later
MARK = "OPSPROOF-RESULT "
NO_PYTHON = "OPSPROOF-NO-PYTHON"
_OPTIONAL = {"ImportError", "ModuleNotFoundError"}
DISPATCH = '''module, _, name = request["function"].partition(":")
kwargs = request["kwargs"]
if request["deadline_s"] is not None:
    kwargs["deadline"] = time.monotonic() + request["deadline_s"]
result = getattr(importlib.import_module(module), name)(**kwargs)
print("%s" + json.dumps(dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result), flush=True)
''' % MARK   # one request run on the target: here from the command line, in stream.py from a line of stdin
_MAIN = ("import base64, dataclasses, importlib, json, sys, time\n"
         "request = json.loads(base64.b64decode(sys.argv[1]))\n" + DISPATCH)


class BundleError(Exception):
    """A module cannot be shipped: it is not ours, or something it needs is outside the standard library."""


class NoPython(TargetError):
    """The target has no python3 to run shipped code with."""


def source_of(module: str) -> Optional[str]:
    """The file of one of our modules (a package: its __init__.py), or None."""
    base = os.path.join(ROOT, *module.split("."))
    return next((p for p in (base + ".py", os.path.join(base, "__init__.py")) if os.path.isfile(p)), None)


def _guarded(tree: ast.AST) -> set[int]:
    """ids of the import statements inside `try: ... except ImportError` (optional imports)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = set()
            for handler in node.handlers:
                kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                caught |= {k.id for k in kinds if isinstance(k, ast.Name)}
            if caught & _OPTIONAL:
                out |= {id(n) for stmt in node.body for n in ast.walk(stmt)
                        if isinstance(n, (ast.Import, ast.ImportFrom))}
    return out


def imports(module: str) -> tuple[set[str], list[str]]:
    """(our modules `module` imports, anywhere in it; its imports outside the standard library, unguarded)."""
    ours, foreign = _imports(ROOT, module)
    return set(ours), list(foreign)


@lru_cache(maxsize=None)
def _imports(root: str, module: str) -> tuple[set[str], list[str]]:   # read once per process (and ROOT)
    path = source_of(module)
    if path is None:
        raise BundleError(f"{module}: no such module in {PACKAGE} ({ROOT})")
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    package = module.split(".") if path.endswith("__init__.py") else module.split(".")[:-1]
    guarded, ours, foreign = _guarded(tree), set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            wanted = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            wanted = [(base, a.name) for a in node.names]
        else:
            continue
        for name, member in wanted:
            top = name.split(".")[0]
            if top == PACKAGE:
                below = f"{name}.{member}" if member else None
                ours.add(below if below and source_of(below) else name)
            elif top not in sys.stdlib_module_names and id(node) not in guarded:
                foreign.append(f"{name} (line {node.lineno})")
    return ours, list(dict.fromkeys(foreign))


def modules(entry: str) -> list[str]:
    """Every module of ours that `entry` needs on a target, its packages included; BundleError if one can't travel."""
    return list(_modules(ROOT, entry))


@lru_cache(maxsize=None)
def _modules(root: str, entry: str) -> tuple[str, ...]:
    via: dict[str, Optional[str]] = {entry: None}
    todo = [entry]
    while todo:
        module = todo.pop()
        parts = module.split(".")
        needs, foreign = imports(module)
        if foreign:
            chain = [module]
            while via[chain[-1]]:
                chain.append(via[chain[-1]])
            raise BundleError(f"{module} imports {', '.join(foreign)}, outside the standard library: it cannot be "
                              f"shipped to a target (needed by {' <- '.join(chain)}); guard an optional import with "
                              "try/except ImportError, or keep the module out of what is shipped")
        for need in needs | {".".join(parts[:i]) for i in range(1, len(parts))}:
            if need not in via:
                via[need] = module
                todo.append(need)
    return tuple(sorted(via))


@lru_cache(maxsize=None)
def bundle(entry: str, carry: tuple[str, ...] = ()) -> str:
    """`entry`'s module and everything it needs (and the modules in `carry`, which it imports by name, with theirs),
    as a base64 zip runnable with `python3 FILE`; built once per entry and carry."""
    return zipped(sorted({m for name in (entry, *carry) for m in modules(name)}), _MAIN)


def zipped(names: list[str], main: str = "") -> str:
    """These modules' sources as a base64 zip, by their paths below ROOT (and `main` as its __main__.py)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for module in names:
            path = source_of(module)
            zf.write(path, os.path.relpath(path, ROOT))
        if main:
            zf.writestr("__main__.py", main)
    return base64.b64encode(buf.getvalue()).decode()


def takes_deadline(function: str) -> bool:
    """Whether `function` ("module:name") has a `deadline` parameter (then it stops itself at its timeout)."""
    module, _, name = function.partition(":")
    return "deadline" in inspect.signature(getattr(importlib.import_module(module), name)).parameters


def in_process(target: Target, ship: bool = False) -> bool:
    """Whether `call` runs the function in this process (the local host, not asked to ship)."""
    return target.is_local and not ship


def typed(data: Any, result_type: type) -> Any:
    if not dataclasses.is_dataclass(result_type):
        return data
    names = {f.name for f in dataclasses.fields(result_type)}
    return result_type(**{k: v for k, v in data.items() if k in names})


def call(target: Target, function: str, kwargs: dict[str, Any], timeout_s: float, result_type: type,
         ship: bool = False, carry: tuple[str, ...] = ()) -> Any:
    """`function` ("opsproof.backups.take:take_backup") with `kwargs` on the target, bounded by `timeout_s`.

    Returns its result: a `result_type` record (a dataclass), or the JSON value itself when result_type
    is not a dataclass. A function with a `deadline` parameter gets time.monotonic() + timeout_s there.
    Raises NoPython when the target has no python3, TargetError when the function did not run to its end.
    A remote target's survey may hold the result already (opsproof/hosts/survey.py): then no round trip.
    `carry`: modules the function imports by name (the survey's), shipped with it.
    """
    module, _, name = function.partition(":")
    deadline = {"deadline": time.monotonic() + timeout_s} if takes_deadline(function) else {}
    answers = target.answers
    if answers is not None:
        data = answers.call(function, kwargs, timeout_s)
        if data is not None:
            return typed(data, result_type)
        if answers.planning:
            raise Unanswered(f"{target.name}: {function} is wanted by the survey")
    if in_process(target, ship):
        return getattr(importlib.import_module(module), name)(**kwargs, **deadline)
    request = {"function": function, "kwargs": kwargs, "deadline_s": timeout_s if deadline else None}
    python = sys.executable if target.is_local else PYTHON
    runner = copy.copy(target)
    runner.answers = None   # asked above already: the bundle's command is never a survey's answer
    runner.timeout_s = timeout_s + BACKSTOP_S if deadline else timeout_s
    result = runner.run('command -v %s >/dev/null || { echo %s >&2; exit 127; }; t=$(mktemp) && trap \'rm -f "$t"\' '
                        'EXIT && printf %%s %s | base64 -d > "$t" && %s "$t" %s', python, NO_PYTHON,
                        bundle(module, tuple(sorted(carry))), python,
                        base64.b64encode(json.dumps(request).encode()).decode(), check=False)
    if not (result.rc == 127 and NO_PYTHON in result.stderr):
        for line in result.stdout.splitlines():
            if line.startswith(MARK):
                return typed(json.loads(line[len(MARK):]), result_type)
    raise not_run(target.name, function, result.rc, result.stderr or result.stdout, python)


def not_run(host: str, function: str, rc: Optional[int], said: str, python: str) -> TargetError:
    """Why a shipped call gave no answer: NoPython when the target has no `python` (the runner's exit 127 and
    marker), else "did not run" with its exit status and the end of what it said."""
    if rc == 127 and NO_PYTHON in said:
        return NoPython(f"{python} is not installed on {host}: opsproof runs {function} there with it "
                        "(the standard library is enough)")
    return TargetError(f"{host}: {function} did not run on the target (rc {rc}): {said.strip()[-800:]}")
