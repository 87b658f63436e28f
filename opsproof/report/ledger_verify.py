"""Verifying the ledger: the chain, every file a line lists, the reports no line names, and the end against the head
this machine last wrote (ledger_head.py). `verify` returns a Verification; it prints nothing (the `opsproof
verify-ledger` command, opsproof/cli/ledger.py, does, and adds the signature check of ledger_sign.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator, Mapping, Optional

from . import ledger_head
from .ledger_file import (GENESIS, REPORT_SUFFIXES, NotRegular, ledger_path, numbered_lines, over_bound, parse_entry,
                          reader, sha256_file)


@dataclass
class Verification:
    """What `verify` found: `problems` (each a sentence) or `not_ledger` (why the file is not one)."""

    path: Path
    lines: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    not_ledger: Optional[str] = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was or could not be checked beside the chain and files

    @property
    def exit_status(self) -> int:
        return 4 if self.not_ledger else (1 if self.problems else 0)

    def text(self) -> str:
        if self.not_ledger:
            return f"{self.path}: not an opsproof ledger: {self.not_ledger}"
        if not self.problems:
            head = (f"{self.path}: intact — {self.lines} run(s), chain holds, {self.files} file(s) match their "
                    "SHA-256, every report in the folder is named")
        else:
            head = "\n".join([f"{self.path}: {len(self.problems)} problem(s)"] + [f"  {p}" for p in self.problems])
        return "\n".join([head] + [f"  {note}" for note in self.notes])


def _label(number: int, data: Optional[Mapping[str, Any]]) -> str:
    return f"line {number}" + (f" (run {data['run_id']}, {data['started']})" if data else "")


def verify(where: str | os.PathLike[str], state_dir: str | os.PathLike[str] | None = None) -> Verification:
    """Walk the chain and every listed file: each broken link (edited, removed, reordered line), each altered or
    missing file and each report in the folder no line names (an orphan: its line was removed) becomes one problem
    naming it. With `state_dir`, the head this machine last wrote must still be there (ledger_head.py): a ledger
    cut short at its end, or with its last line edited, is named too."""
    path = ledger_path(where)
    result = Verification(path)
    try:
        with reader(path) as handle:
            walked = list(_walk(handle))
    except NotRegular as exc:
        result.not_ledger = exc.why
        return result
    except OSError as exc:
        result.not_ledger = f"cannot read it ({exc.strerror or exc})" + _written_here(path, state_dir)
        return result
    if not any(data for _, data, _, _ in walked):
        result.not_ledger = ("empty" if not walked else "no line is an opsproof ledger entry") + _written_here(
            path, state_dir)
        return result
    result.lines = len(walked)
    hashes = {digest: n for n, _, digest, _ in walked}
    for n, data, _, expected in walked:
        if data is None:
            result.problems.append(over_bound(n) if expected is None else f"line {n}: not a ledger entry (edited)")
            continue
        result.entries.append(data)
        if data["prev"] == expected:
            continue
        if data["prev"] == GENESIS:
            why = "chains to the start although it is not the first line (reordered)"
        elif data["prev"] in hashes:
            why = f"chains to line {hashes[data['prev']]}, not to the line before it (reordered)"
        elif n == 1:
            why = "does not chain to the start: the ledger's first line(s) were removed"
        else:
            why = f"does not chain to line {n - 1}: that line was edited, or a line between them was removed"
        result.problems.append(f"{_label(n, data)}: broken link — {why}")
    result.problems.extend(_check_files(path.parent, result))
    result.problems.extend(_orphans(path, result))
    _check_head(result, state_dir, hashes, [data["run_id"] if data else None for _, data, _, _ in walked])
    return result


def _walk(handle: IO[bytes]) -> Iterator[tuple[int, Optional[dict[str, Any]], str, Optional[str]]]:
    """Each line as (number, its entry or None, its hash, the `prev` it must hold — None for a line over the
    bound): the entries are kept, never a line's bytes."""
    expected = GENESIS
    for number, line, digest in numbered_lines(handle):
        yield number, None if line is None else parse_entry(line), digest, None if line is None else expected
        expected = digest


def _orphans(path: Path, result: Verification) -> list[str]:
    """Reports, summaries and JUnit files beside the ledger that no line names: a run whose line was removed."""
    named = {item["name"] for data in result.entries for item in data["files"]}
    try:
        beside = sorted(path.parent.iterdir())
    except OSError as exc:
        return [f"unreadable: {path.parent} ({exc.strerror or exc}): reports no line names cannot be looked for"]
    return [f"orphan: {p.name} — no ledger line names it (its line was removed, or the file was put there)"
            for p in beside if p.suffix in REPORT_SUFFIXES and p.name not in named and p.is_file()]


def _check_head(result: Verification, state_dir: str | os.PathLike[str] | None, hashes: Mapping[str, int],
                run_ids: list[Optional[str]]) -> None:
    if state_dir is None:
        result.notes.append("end not checked: no state_dir (pass --maint-config=PATH or --state-dir=DIR of the "
                            "machine that runs the checks)")
        return
    try:
        head = ledger_head.recall(state_dir, result.path)
    except ledger_head.HeadError as exc:
        result.problems.append(f"{exc}: the ledger's end cannot be checked")
        return
    if head is None:
        result.notes.append(f"end not checked: {state_dir} holds no head of this ledger (this machine did not "
                            "write it, or not since opsproof keeps heads)")
        return
    problems, note = ledger_head.check(head, hashes, run_ids, ledger_head.head_file(state_dir, result.path))
    result.problems.extend(problems)
    result.notes.extend([note] if note else [])


def _written_here(path: Path, state_dir: str | os.PathLike[str] | None) -> str:
    """For a ledger that is gone or empty: what this machine wrote to it, when its state says so."""
    try:
        head = ledger_head.recall(state_dir, path) if state_dir is not None else None
    except ledger_head.HeadError:
        return ""
    return f"; this machine wrote {head['line']} line(s) to it, the last run {head['run_id']}" if head else ""


def missing(name: str, entry: Mapping[str, Any]) -> str:
    """The finding for a file a ledger line names that is not there (an audit bundle's check reads it too)."""
    return f"missing: {name} (run {entry['run_id']}, {entry['started']})"


def _check_files(directory: Path, result: Verification) -> list[str]:
    problems = []
    for data in result.entries:
        for item in data["files"]:
            result.files += 1
            target = Path(directory, item["name"])
            try:
                digest = sha256_file(target)
            except FileNotFoundError:
                problems.append(missing(item["name"], data))
                continue
            except OSError as exc:
                problems.append(f"unreadable: {item['name']} ({exc.strerror or exc})")
                continue
            if digest != item["sha256"]:
                problems.append(f"altered: {item['name']} (run {data['run_id']}, {data['started']}): "
                                f"SHA-256 {digest}, the ledger holds {item['sha256']}")
    return problems
