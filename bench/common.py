"""What the benchmarks share: a generated input in a scratch folder that is always removed, and the result line."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from typing import Any, Callable

MB = 1024 * 1024


def on_generated(name: str, folder: str | None, make: Callable[[str], None], bench: Callable[[str, str], Any],
                 as_json: bool) -> int:
    """Generate `name` in a scratch folder with `make(path)`, run `bench(path, folder)`, remove it all, report."""
    workdir = tempfile.mkdtemp(prefix=f"opsproof-bench-{os.path.splitext(name)[0]}-", dir=folder)
    path = os.path.join(workdir, name)
    try:
        started = time.perf_counter()
        make(path)
        print(f"generated {os.path.getsize(path) / MB:.0f} MB in {time.perf_counter() - started:.1f} s")
        result = bench(path, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(result, as_json)


def report(result: Any, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result))
    return 0
