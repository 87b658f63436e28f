"""Run a backup-side function where the files are: in this process for the local host, shipped over SSH otherwise.

The functions of opsproof.backups.take, .archive and .restore use only the standard library (isal when
present), so for a remote target they travel as a small zip (base64 in the command) that the target's
python3 runs through opsproof.hosts.target.Target — the same command channel, timeout and error handling as
every other probe. Arguments travel base64-encoded JSON on the command line, so they must never hold
a secret: for a remote target the database password comes from the target's own environment or ~/.pgpass.
"""
from __future__ import annotations

import base64
import dataclasses
import importlib
import io
import json
import os
import sys
import time
import zipfile
from functools import lru_cache
from typing import Any

from .target import Target, TargetError

MODULES = ("__init__", "backups/__init__", "backups/tarstream", "backups/archive", "backups/pgtools", "backups/take",
           "backups/restore")
MARK = "OPSPROOF-RESULT "
_MAIN = '''
import base64, dataclasses, importlib, json, sys, time
request = json.loads(base64.b64decode(sys.argv[1]))
module, _, name = request["function"].rpartition(".")
fn = getattr(importlib.import_module("opsproof." + module), name)
kwargs = dict(request["kwargs"], deadline=time.monotonic() + request["timeout_s"])
print("%s" + json.dumps(dataclasses.asdict(fn(**kwargs))), flush=True)
''' % MARK


@lru_cache(maxsize=1)
def bundle() -> str:
    """The shippable modules as a base64 zip runnable with `python3 FILE`."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in MODULES:
            zf.write(os.path.join(here, f"{name}.py"), f"opsproof/{name}.py")
        zf.writestr("__main__.py", _MAIN)
    return base64.b64encode(buf.getvalue()).decode()


def call(target: Target, function: str, kwargs: dict[str, Any], timeout_s: float, result_type: type,
         ship: bool = False) -> Any:
    """`function` ("backups.take.take_backup") with `kwargs` on the target, bounded by `timeout_s`; its result record.

    `ship=True` sends the bundle even to the local host (how the tests prove the remote path).
    Raises TargetError when the target cannot run it at all.
    """
    if target.is_local and not ship:
        module, _, name = function.rpartition(".")
        fn = getattr(importlib.import_module(f"opsproof.{module}"), name)
        return fn(**kwargs, deadline=time.monotonic() + timeout_s)
    request = base64.b64encode(json.dumps({"function": function, "kwargs": kwargs, "timeout_s": timeout_s}).encode())
    python = sys.executable if target.is_local else "python3"
    runner = Target(target.host, timeout_s + 30)  # the function stops itself at timeout_s; this is the backstop
    result = runner.run('t=$(mktemp) && trap \'rm -f "$t"\' EXIT && printf %%s %s | base64 -d > "$t" && %s "$t" %s',
                        bundle(), python, request.decode(), check=False)
    for line in result.stdout.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK):])
            names = {f.name for f in dataclasses.fields(result_type)}
            return result_type(**{k: v for k, v in data.items() if k in names})
    raise TargetError(f"{target.name}: {function} did not run on the target (rc {result.rc}): "
                      f"{(result.stderr or result.stdout).strip()[-800:]}")
