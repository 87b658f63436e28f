"""The head this machine last wrote to a ledger, kept in state_dir, so a ledger cut short at its end is named.

The chain shows an edited, removed or reordered line anywhere but at the end: with its last lines removed (or
its last line edited), what is left still chains. So each line appended with `ledger.append(..., state_dir=...)`
is also remembered, under the ledger's lock, as this ledger's head in `state_dir/ledger-head.<id>.json` (the id
is derived from the ledger's real path): run id, line number, SHA-256 of the line. A head that is no longer in the
ledger when the next line is appended is kept in the record's `lost` list, so the next run does not hide it.
`check` compares a ledger's lines with that record. A machine with no such record cannot tell.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..config import inputs
from ..files import write_atomic

PREFIX = "ledger-head."
MAX_BYTES = 1 << 20
_KEYS = {"run_id": str, "line": int, "sha256": str}


class HeadError(Exception):
    """The head record is there but cannot be read as one."""


class HeadNotKept(RuntimeError):
    """The ledger line was written, but its head could not be written to state_dir (not an OSError: a caller
    that reads OSError as "nothing was written" would say so wrongly)."""


def head_file(state_dir: str | os.PathLike[str], ledger: Path) -> Path:
    """Where the head of `ledger` is kept: one file per ledger, named by a digest of its real path."""
    digest = hashlib.sha256(os.path.realpath(ledger).encode()).hexdigest()[:16]
    return Path(state_dir, f"{PREFIX}{digest}.json")


def recall(state_dir: str | os.PathLike[str], ledger: Path) -> Optional[dict[str, Any]]:
    """The remembered head of `ledger` ({run_id, line, sha256, written, lost}), None when this machine has none;
    HeadError naming the file when it is not a regular file, too large, or not a head record."""
    path = head_file(state_dir, ledger)
    try:  # the one reader: a FIFO put there does not hang it, a large file is not read
        data = inputs.json_of(inputs.read_bytes(path, MAX_BYTES), str(path))
    except FileNotFoundError:
        return None
    except inputs.InputError as exc:
        raise HeadError(f"{path}: not a ledger head record ({exc.problem})") from None
    entries = [data] + (data.get("lost") if isinstance(data, dict) and isinstance(data.get("lost"), list) else [])
    if not isinstance(data, dict) or not all(isinstance(e, dict) and all(isinstance(e.get(k), t) for k, t in
                                                                         _KEYS.items()) for e in entries):
        raise HeadError(f"{path}: not a ledger head record (needs run_id, line and sha256)")
    return data


def remember(state_dir: str | os.PathLike[str], ledger: Path, head: Mapping[str, Any]) -> None:
    """Write the head record whole or not at all; HeadNotKept when state_dir cannot take it."""
    path = head_file(state_dir, ledger)
    try:
        write_atomic(path, json.dumps({"ledger": os.path.realpath(ledger), **head}, indent=1, sort_keys=True),
                     mode=0o600, fsync=True)
    except OSError as exc:
        raise HeadNotKept(f"the ledger line was written, but its head could not be kept in {path}: "
                          f"{exc.strerror or exc}") from None


def check(head: Mapping[str, Any], hashes: Mapping[str, int], run_ids: Sequence[Optional[str]],
          where: Path) -> tuple[list[str], str]:
    """(problems, note): whether the ledger whose line hashes (hash -> line number) and run ids are given still
    holds the head this machine last wrote, at its number, and every head it lost; `where` is the record's file."""
    problems = [f"run {lost['run_id']} (line {lost['line']}) was written by this machine and was gone when run "
                f"{lost.get('noticed_by', '?')} was appended ({lost.get('noticed', '?')}): the ledger lost its end "
                "then" for lost in head.get("lost") or []]
    found, total, run, number = hashes.get(head["sha256"]), len(run_ids), head["run_id"], head["line"]
    last = f"run {run_ids[-1]}" if total and run_ids[-1] else "a line that is not an entry"
    if found is None and total < number:
        problems.append(f"shortened: the ledger ends at {last} (line {total}); run {run} was written after it "
                        f"(line {number})")
    elif found is None:
        problems.append(f"run {run} (line {number}), the last line this machine wrote, is not in the ledger (it "
                        f"ends at {last}, line {total}): that line was edited or the ledger's end replaced")
    elif found != number:
        problems.append(f"line {found} (run {run}): this machine wrote it as line {number}: lines before it were "
                        "removed or added")
    if problems:
        problems[-1] += f" (this machine's record: {where}; remove it only if the ledger was started over on purpose)"
        return problems, ""
    after = f"; {total - found} line(s) after it were appended without this state_dir" if total > found else ""
    return [], f"the head this machine last wrote (run {run}, line {number}) is in place{after}"
