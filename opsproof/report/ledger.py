"""The ledger: one JSON line per run in `ledger.jsonl`, each carrying the SHA-256 of the line before it.

`entry` builds a run's line from plain values; `append` adds it under an exclusive lock (read the last
line, write, fsync — two runs finishing together never interleave) and, given the state_dir, remembers it as
the head this machine wrote (ledger_head.py); `verify` walks the chain and every file a line lists, naming each
broken link, each altered or missing file, each report no line names and, from that head, a ledger cut short;
`verify_command` is what `opsproof verify-ledger` runs. Signing the head line goes through `ssh-keygen -Y`
(ledger_sign.py).

The ledger is input like any file the suite reads: only a regular file is opened (O_NONBLOCK, so a FIFO put there
never blocks the open; the append does not follow a link), a line is at most MAX_LINE_BYTES (a longer one is "not a
ledger line", read past in bounded pieces, never held whole), the last line is found reading back at most that
bound, and the lock is waited for at most `lock_timeout_s`. `refusal` is the one check, made before a run or an
acknowledgement starts, of whether a line could be appended (outputs.py).
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, Optional

from . import ledger_head
from .ledger_head import HeadNotKept
from .run import RunRecord, utc

NAME = "ledger.jsonl"
FORMAT = "opsproof-ledger/1"
GENESIS = hashlib.sha256(b"opsproof ledger genesis").hexdigest()
_REQUIRED = ("format", "run_id", "started", "ended", "outcome", "files", "prev")
REPORT_SUFFIXES = (".html", ".json", ".xml")  # what a run writes beside its ledger line: report, summary, JUnit
MAX_LINE_BYTES = 4 << 20  # a run's line is a few KiB; tens of thousands of failed check ids still fit
LOCK_TIMEOUT_S = 30.0     # an append holds the lock for milliseconds: a lock held longer is a stuck writer
_FIRST_BLOCK = 1 << 16


class LedgerError(Exception):
    """The ledger cannot be read or appended to as one (not an OSError: nothing about it is transient). `path`
    is the ledger, `why` the reason without it."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path, self.why = path, why


class NotRegular(LedgerError):
    """The ledger's path is something other than a regular file (`kind` says what)."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(path, f"not a regular file ({kind})")
        self.kind = kind


def _kind(path: Path, mode: Optional[int]) -> str:
    """What `path` is, for a message: `a FIFO`, `a symbolic link to /dev/zero, a character device`."""
    what = None if mode is None else {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
                                      stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
                                      stat.S_IFDIR: "a directory"}.get(stat.S_IFMT(mode), "not a file")
    try:
        link = f"a symbolic link to {os.readlink(path)}" if os.path.islink(path) else None
    except OSError:
        link = "a symbolic link"
    return ", ".join(p for p in (link, what) if p) or "not a file"


def _open(path: Path, flags: int, follow: bool = True) -> int:
    """A descriptor of `path` when it is a regular file; NotRegular otherwise, OSError as the open raised it.
    O_NONBLOCK: opening a FIFO returns at once (then refused); `follow=False` for a writer, which a link (to
    /dev/zero, or to a file elsewhere) must not redirect."""
    flags |= os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            raise NotRegular(path, _kind(path, None)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(path, _kind(path, mode))
    return fd


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, Optional[bytes], str]]:
    """Each non-empty line from the handle's position: (its number, its bytes without the newline or None when
    it is longer than MAX_LINE_BYTES, its `line_hash`). Read in bounded pieces: a line of any length costs at most
    the bound in memory (a longer one is hashed as it streams past)."""
    number = 0
    while True:
        piece = handle.readline(MAX_LINE_BYTES + 1)
        if not piece:
            return
        if len(piece) <= MAX_LINE_BYTES or piece.endswith(b"\n"):
            line = piece[:-1] if piece.endswith(b"\n") else piece
            if line.strip():
                number += 1
                yield number, line, line_hash(line)
            continue
        digest = hashlib.sha256(piece)
        while True:
            piece = handle.readline(1 << 20)
            digest.update(piece[:-1] if piece.endswith(b"\n") else piece)
            if not piece or piece.endswith(b"\n"):
                break
        number += 1
        yield number, None, digest.hexdigest()


def over_bound(number: int) -> str:
    return f"line {number} is over {MAX_LINE_BYTES} bytes: not a ledger line"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def line_hash(line: bytes) -> str:
    """What the next line's `prev` holds: the SHA-256 of this line's bytes, without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def ledger_path(where: str | os.PathLike[str]) -> Path:
    """The ledger file: `where` itself, or ledger.jsonl inside it when it is a directory."""
    path = Path(where)
    return path / NAME if path.is_dir() else path


def file_name(path: Path, directory: Path) -> str:
    """How a line names a file: relative to the ledger's directory when inside it, else absolute."""
    path, directory = Path(os.path.abspath(path)), Path(os.path.abspath(directory))
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


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
    """The file's last non-empty line (b"" for an empty file), read backwards from the end in growing blocks, at
    most MAX_LINE_BYTES + 1 bytes of it: linear in its length. ValueError when it is longer than the bound."""
    pos = os.lseek(fd, 0, os.SEEK_END)
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
            break
        step = min(step * 2, MAX_LINE_BYTES + 1 - held)
    return b"".join(reversed(parts))


def _line_hashes(fd: int) -> list[str]:
    """The `line_hash` of every non-empty line of the file, as `verify` numbers them (bounded memory per line)."""
    with os.fdopen(os.dup(fd), "rb") as handle:  # a dup: closing it keeps the caller's lock
        handle.seek(0)
        return [digest for _, _, digest in _lines(handle)]


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
    fd = _open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, follow=False)
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
        fd = _open(path, os.O_RDWR, follow=False)
    except FileNotFoundError:
        return None
    except NotRegular as exc:
        return f"the ledger {path} is not a regular file ({exc.kind}): a run appends only to one; move it aside"
    except OSError as exc:
        return (f"the ledger {path} cannot be written ({exc.strerror or exc}): fix its owner or permissions (a run "
                "appends its line there)")
    try:
        with os.fdopen(fd, "rb") as handle:
            for number, line, _ in _lines(handle):
                if line is None:
                    return (f"the ledger {path}: {over_bound(number)} (opsproof verify-ledger names what else is "
                            "wrong); move it aside to start a new one")
    except OSError as exc:
        return f"the ledger {path} cannot be read ({exc.strerror or exc})"
    return None


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


def _parse(raw: bytes) -> Optional[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or any(k not in data for k in _REQUIRED):
        return None
    return data


def _reader(path: Path) -> IO[bytes]:
    """The ledger opened for reading, when it is a regular file (a link to one is followed); NotRegular else."""
    return os.fdopen(_open(path, os.O_RDONLY), "rb")


def read_entries(where: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ledger's lines that read as entries, in order (no chain or file check: `verify` does those);
    [] when there is no ledger yet; NotRegular when it is not a regular file. A line over the bound is no entry."""
    try:
        handle = _reader(ledger_path(where))
    except FileNotFoundError:
        return []
    with handle:
        return [data for _, line, _ in _lines(handle) if line is not None and (data := _parse(line))]


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
        with _reader(path) as handle:
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
    for number, line, digest in _lines(handle):
        yield number, None if line is None else _parse(line), digest, None if line is None else expected
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


def _check_files(directory: Path, result: Verification) -> list[str]:
    problems = []
    for data in result.entries:
        for item in data["files"]:
            result.files += 1
            target = Path(directory, item["name"])
            try:
                digest = sha256_file(target)
            except FileNotFoundError:
                problems.append(f"missing: {item['name']} (run {data['run_id']}, {data['started']})")
                continue
            except OSError as exc:
                problems.append(f"unreadable: {item['name']} ({exc.strerror or exc})")
                continue
            if digest != item["sha256"]:
                problems.append(f"altered: {item['name']} (run {data['run_id']}, {data['started']}): "
                                f"SHA-256 {digest}, the ledger holds {item['sha256']}")
    return problems


def verify_command(where: str, allowed_signers: Optional[str] = None,
                   state_dir: str | os.PathLike[str] | None = None) -> int:
    """`opsproof verify-ledger [DIR-or-FILE] [--allowed-signers FILE] [--state-dir DIR]`: prints what it found,
    returns the exit status (0 intact, 1 problems named, 4 not a ledger). A ledger.jsonl.sig beside the ledger is
    always checked over the head line: against the allowed signers when given, else that it holds at all."""
    import sys

    from .ledger_sign import check_signature, signature_path, verify_signature

    result = verify(where, state_dir)
    signed = ""
    if result.exit_status != 4 and (allowed_signers or signature_path(result.path).exists()):
        ok, message = (verify_signature(result.path, Path(allowed_signers)) if allowed_signers
                       else check_signature(result.path))
        if ok:
            signed = message
        else:
            result.problems.append(message)
    print(result.text(), file=sys.stdout if result.exit_status == 0 else sys.stderr)
    if signed:
        print(signed)
    return result.exit_status
