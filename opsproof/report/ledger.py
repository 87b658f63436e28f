"""The ledger: one JSON line per run in `ledger.jsonl`, each carrying the SHA-256 of the line before it.

`entry` builds a run's line from plain values; `append` adds it under an exclusive lock (read the last
line, write, fsync — two runs finishing together never interleave) and, given the state_dir, remembers it as
the head this machine wrote (ledger_head.py); `verify` (ledger_verify.py) walks the chain and every file a line lists,
naming each broken link, each altered or missing file, each report no line names and, from that head, a ledger cut
short. Signing the head line goes through `ssh-keygen -Y` (ledger_sign.py). The file itself — its name, format, line
hash, bounded reading — is ledger_file.py's; this module carries their public names too, so a caller imports one.

The ledger is input like any file the suite reads (ledger_file.py): the append does not follow a link, the last line
is found reading back at most MAX_LINE_BYTES, and the lock is waited for at most `lock_timeout_s`. `refusal` is the one check, made before a run or an
acknowledgement starts, of whether a line could be appended (outputs.py).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from . import ledger_head
from .ledger_file import (FORMAT, GENESIS, MAX_LINE_BYTES, NAME, REPORT_SUFFIXES, LedgerError, NotRegular,
                          file_name, ledger_path, line_hash, numbered_lines, open_regular, over_bound, read_entries,
                          sha256_file)
from .ledger_head import HeadNotKept
from .ledger_verify import Verification, verify
from .run import RunRecord, utc

__all__ = ["FORMAT", "GENESIS", "LOCK_TIMEOUT_S", "MAX_LINE_BYTES", "NAME", "REPORT_SUFFIXES", "HeadNotKept",
           "LedgerError", "NotRegular", "Verification", "append", "entry", "file_name", "ledger_path", "line_hash",
           "over_bound", "read_entries", "refusal", "sha256_file", "verify"]

LOCK_TIMEOUT_S = 30.0     # an append holds the lock for milliseconds: a lock held longer is a stuck writer
_FIRST_BLOCK = 1 << 16


def entry(run: RunRecord, outcome: Mapping[str, int], failed: Iterable[str], files: Iterable[Path],
          directory: Path, exit_status: int, verdict: Optional[str] = None,
          judgement: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """A finished run's ledger line (without `prev`, which `append` sets). Strings are masked by the caller.
    `verdict` is the run's passed/failed/incomplete, as its report and JSON summary say; `judgement` the run's
    `warnings`, `waived` checks and configured `waivers` (as the summary lists them)."""
    commit = re.search(r"\(git ([0-9a-f]+)", run.suite_version)
    return {
        "format": FORMAT,
        "run_id": run.run_id,
        "service": run.service,
        "started": utc(run.started),
        "ended": utc(run.ended) if run.ended else None,
        "selection": run.selection,
        "hosts": run.hosts,
        "operator": run.operator,
        "config": {"path": run.config_path, "sha256": run.config_sha256},
        "suite_version": run.suite_version,
        "commit": commit.group(1) if commit else None,
        "apply": run.apply,
        "approval": run.approval,  # --ignore-window: who approved the emergency, why, when
        "exit_status": int(exit_status),
        "verdict": verdict,
        "outcome": dict(outcome),
        "failed": sorted(failed),
        **{key: list((judgement or {}).get(key) or []) for key in ("warnings", "waived", "waivers")},
        "files": [{"name": file_name(p, directory), "sha256": sha256_file(p)} for p in files],
    }


def _last_line(fd: int) -> bytes:
    """The file's last line that is not blank (b"" when there is none), as `verify` numbers lines: whitespace-only
    lines (a stray edit) are passed over, so a new line chains to the line verify reads before it. Read backwards
    from the end in growing blocks, at most MAX_LINE_BYTES + 1 bytes of each line: linear in its length.
    ValueError when that line is longer than the bound."""
    end = os.lseek(fd, 0, os.SEEK_END)
    while end > 0:
        line, end = _line_before(fd, end)
        if line.strip():
            return line
    return b""


def _line_before(fd: int, end: int) -> tuple[bytes, int]:
    """The line that ends at byte `end` (the newlines there skipped), and where it starts."""
    pos = end
    parts: list[bytes] = []  # the line's blocks, last first
    held, step = 0, _FIRST_BLOCK
    while pos > 0:
        size = min(step, pos)
        block = os.pread(fd, size, pos - size)
        pos -= size
        if not parts:
            block = block.rstrip(b"\n")  # the newlines that end the file, one block at a time
            if not block:
                continue
        cut = block.rfind(b"\n")
        parts.append(block[cut + 1:])
        held += len(parts[-1])
        if held > MAX_LINE_BYTES:
            raise ValueError(f"its last line is over {MAX_LINE_BYTES} bytes: not a ledger line")
        if cut >= 0:
            return b"".join(reversed(parts)), pos + cut + 1
        step = min(step * 2, MAX_LINE_BYTES + 1 - held)
    return b"".join(reversed(parts)), 0


def _line_hashes(fd: int) -> list[str]:
    """The `line_hash` of every non-empty line of the file, as `verify` numbers them (bounded memory per line)."""
    with os.fdopen(os.dup(fd), "rb") as handle:  # a dup: closing it keeps the caller's lock
        handle.seek(0)
        return [digest for _, _, digest in numbered_lines(handle)]


def _remember_head(fd: int, path: Path, state_dir: str | os.PathLike[str], last: bytes, ours: bytes,
                   run_id: Any) -> None:
    """Under the append's lock, after its fsync: the line just written becomes the head this machine remembers.
    Its number follows the previous head when that was the last line; otherwise the file is counted, and a
    previous head the ledger no longer holds is carried in `lost` (dropping a line, then running, hides nothing)."""
    try:
        previous = ledger_head.recall(state_dir, path)
    except ledger_head.HeadError:
        previous = None  # damaged: verify named it; counted afresh from here
    lost = list((previous or {}).get("lost") or [])
    now = utc(datetime.now(timezone.utc))
    if previous and last and previous["sha256"] == line_hash(last):
        number = previous["line"] + 1
    else:
        hashes = _line_hashes(fd)
        number = len(hashes)
        if previous and previous["sha256"] not in set(hashes):
            lost.append({**{k: previous.get(k) for k in ("run_id", "line", "sha256", "written")},
                         "noticed": now, "noticed_by": str(run_id)})
    ledger_head.remember(state_dir, path, {"run_id": str(run_id), "line": number, "sha256": line_hash(ours),
                                           "written": now, "lost": lost})


def _lock(fd: int, path: Path, timeout_s: float) -> None:
    """An exclusive flock on the ledger, waited for at most `timeout_s`; LedgerError after that."""
    deadline, pause = time.monotonic() + timeout_s, 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LedgerError(path, f"locked by another process for over {timeout_s:g} s (a run or `opsproof ack` "
                                  f"appending takes milliseconds: `fuser {path}` names the holder); nothing appended")
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)


def append(path: Path, line: Mapping[str, Any], state_dir: str | os.PathLike[str] | None = None,
           lock_timeout_s: float = LOCK_TIMEOUT_S) -> dict[str, Any]:
    """Append one line chained to the current last one; returns it with its `prev`. Atomic against other
    appenders (processes or xdist workers): an exclusive flock spans read-last-line, write and fsync.
    With `state_dir` (the run's, `Maint.state_dir`) the line is also remembered as the head this machine wrote,
    so `verify` can name a ledger cut short; every writer on the machine should pass it. HeadNotKept when that
    record could not be written: the line itself was (say so in one line; do not report the append as failed).
    LedgerError, nothing written, when the ledger is not a regular file (a link is not followed), its last line is
    over MAX_LINE_BYTES, our line would be, or the lock is held longer than `lock_timeout_s`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, follow=False)
    try:
        _lock(fd, path, lock_timeout_s)
        try:
            last = _last_line(fd)
        except ValueError as exc:
            raise LedgerError(path, str(exc)) from None
        record = {**line, "prev": line_hash(last) if last else GENESIS}
        ours = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
        if len(ours) > MAX_LINE_BYTES:
            raise LedgerError(path, f"this line would be {len(ours)} bytes, over the {MAX_LINE_BYTES} a ledger line "
                              "may have; nothing appended")
        data = ours + b"\n"
        end = os.lseek(fd, 0, os.SEEK_END)
        if end and os.pread(fd, 1, end - 1) != b"\n":
            data = b"\n" + data  # a torn line before ours stays a (broken) line of its own
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
        if state_dir is not None:
            _remember_head(fd, path, state_dir, last, ours, record.get("run_id"))
        return record
    finally:
        os.close(fd)  # releases the lock


def refusal(path: Path) -> Optional[str]:
    """Why a line could not be appended to the ledger at `path`, one line, checked before a run or an
    acknowledgement starts: not a regular file (a link is not followed), not writable by this user, or a line over
    MAX_LINE_BYTES (read through in bounded pieces). None when it can be (or when there is none yet)."""
    try:
        fd = open_regular(path, os.O_RDWR, follow=False)
    except FileNotFoundError:
        return None
    except NotRegular as exc:
        return f"the ledger {path} is not a regular file ({exc.kind}): a run appends only to one; move it aside"
    except OSError as exc:
        return (f"the ledger {path} cannot be written ({exc.strerror or exc}): fix its owner or permissions (a run "
                "appends its line there)")
    try:
        with os.fdopen(fd, "rb") as handle:
            for number, line, _ in numbered_lines(handle):
                if line is None:
                    return (f"the ledger {path}: {over_bound(number)} (opsproof verify-ledger names what else is "
                            "wrong); move it aside to start a new one")
    except OSError as exc:
        return f"the ledger {path} cannot be read ({exc.strerror or exc})"
    return None
