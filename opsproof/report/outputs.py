"""Where a run writes (report dir, its ledger, state dir, the textfile's folder) checked before any check runs.

A run that cannot record its result must not start: a report dir that is a file, or cannot be written, or a
ledger a line cannot be appended to (ledger.refusal: not a regular file, not writable by this user, a line over
the bound), would otherwise surface at the very end, after the checks ran. `opsproof ack` checks the same.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

from . import ledger


def writable_dir(path: Path, what: str) -> Optional[str]:
    """None when `path` is (or can be made) a directory this process can write in; else one line saying why."""
    if path.exists() and not path.is_dir():
        return f"{what} {path} is a file, not a directory: name a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".opsproof-probe-"):
            pass
    except OSError as exc:
        return f"{what} {path} cannot be written ({exc.strerror or exc}): choose another or fix its permissions"
    return None


def problems(report_dir: Path, state_dir: Path, textfile: Optional[str]) -> list[str]:
    """Every output location of a run that cannot be written, one line each."""
    found = [writable_dir(report_dir, "--report-dir")]
    if found[0] is None:
        found.append(ledger.refusal(report_dir / ledger.NAME))
    found.append(writable_dir(state_dir, "state_dir"))
    if textfile:
        target = Path(textfile)
        if target.is_dir():
            found.append(f"--textfile {target} is a directory: name a file")
        else:
            found.append(writable_dir(target.parent if str(target.parent) else Path(os.curdir), "--textfile's folder"))
    return [p for p in found if p]


def report_path(directory: Path, stem: str) -> Path:
    """A new report's path: `stem.html` in `directory`, `stem-2.html` and on when two runs start in one second."""
    path, n = Path(directory, stem + ".html").absolute(), 1
    while path.exists():
        n += 1
        path = Path(directory, f"{stem}-{n}.html").absolute()
    return path
