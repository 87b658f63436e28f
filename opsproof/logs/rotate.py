"""Log rotation that loses no line, by driving the target's logrotate.

Rotation renames (NAME -> NAME.1, logrotate's numbering), then the policy's `postrotate` command
makes the writer reopen (nginx: USR1, the example: HUP). A rotated file is compressed only one
cycle later (logrotate's delaycompress), and only when no process holds it open any more: before
a rotation the suite refuses when NAME.1 is still open, and after it waits (logs.rotate.
reopen_timeout_s) until the writer has let go of the file it renamed (who holds a file open is read
on the target by opsproof.hosts.procfd, shipped to its python3 when the target is remote). `copytruncate` is an opt-in
only: lines written between the copy and the truncation are lost.

logrotate is driven, not re-implemented: its config is rendered from the policy into work_dir on
the target (mode 0600: logrotate ignores a group/world-writable config and still exits 0), run
with its own state file, and its stderr is read for "error:" lines, since it exits 0 after
skipping a config. Without logrotate on the target the action fails and says so.

What it reads of the logs (matches, sizes, rotated copies) is one read (opsproof/logs/ondisk.py), made where the logs
are and shared by the plan and the outcome; writing the config and `logrotate -d` are one command. On a remote host
a survey answers both rounds (fixtures/rotate.py); the action itself acts one command at a time, inside
Target.changing, so what is read after it is read again.
"""
from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from ..config import Rotate
from ..hosts import ship as shipped
from ..hosts.procfd import Holders
from ..hosts.target import Target, TargetError
from .logrotate import decisions, errors_in, render
FACTS = "opsproof.logs.ondisk:facts"


@dataclass
class RotatedFile:
    path: str
    size: int
    compressed: bool
    gzip_ok: Optional[bool] = None   # the gzip magic bytes are there (compressed files only)


@dataclass
class LogOutcome:
    """One active log on disk after rotation: its size and its rotated siblings."""

    path: str
    size: Optional[int]
    rotated: list[RotatedFile] = field(default_factory=list)
    uncompressed_expected: int = 0   # NAME.1 stays plain for one cycle (delayed compression)

    @property
    def rotated_count(self) -> int:
        return len(self.rotated)

    def not_compressed(self) -> list[str]:
        plain = [r.path for r in self.rotated if not r.compressed]
        return plain[self.uncompressed_expected:] if self.uncompressed_expected else plain


@dataclass
class RotationRun:
    """What the rotation action planned or did, for the report."""

    mode: str                                   # plan | apply
    tool: Optional[str] = None                  # "logrotate 3.21.0"
    globs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)   # file -> logrotate's verdict
    rotated: list[str] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)      # file -> size before
    after: dict[str, Optional[int]] = field(default_factory=dict)
    reopened: dict[str, str] = field(default_factory=dict)    # NAME.1 -> "let go after 0.12 s"
    config_file: str = ""
    state_file: str = ""
    command: str = ""
    rendered: str = ""
    log: list[str] = field(default_factory=list)              # logrotate's output (excerpt)
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


def on_disk(target: Target, globs: list[str], logs: list[str] = ()) -> dict:
    """opsproof.logs.ondisk's facts of these globs and logs on the target: one read (the survey's answer, remote)."""
    return shipped.call(target, FACTS, {"globs": list(globs), "logs": list(logs)}, target.timeout_s, dict)


def matched(target: Target, found: dict, globs: list[str]) -> tuple[list[str], list[str]]:
    """Active log files matching the globs in `found` (on_disk's), and the globs that matched nothing."""
    files: list[str] = []
    empty: list[str] = []
    for pattern in globs:
        got = found["globs"][pattern]
        if "error" in got:
            raise TargetError(got["error"] if got["error"].startswith(pattern) else f"{target.name}: {got['error']}")
        if not got["files"]:
            empty.append(pattern)
        files += [p for p in got["files"] if p not in files]
    return files, empty


def listed(target: Target, globs: list[str]) -> list[str]:
    """One entry per log to check: the files each glob matches (each once, in order), or the glob itself where it
    matches nothing or cannot be listed (its check then fails saying so)."""
    found, out = on_disk(target, globs), []
    for pattern in globs:
        files = found["globs"][pattern].get("files")
        out += [f for f in files if f not in out] if files else [pattern]
    return out


# logrotate lives in sbin, which a non-root login's PATH often lacks.
_SBIN = 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH; '


def tool(target: Target) -> Optional[str]:
    """logrotate's version line on the target, or None when it is not installed there."""
    found = target.run(_SBIN + "command -v logrotate >/dev/null && logrotate --version 2>&1 | head -1", check=False)
    return found.stdout.strip() or None if found.rc == 0 else None


_UNWRITTEN = 97   # the config could not be written (the plan's command writes it, then runs logrotate -d)


def _logrotate(target: Target, run: RotationRun, debug: bool, work_dir: str = "") -> str:
    """logrotate -v, or (debug) the rendered config written to work_dir and logrotate -d, in one command."""
    flag = "-d" if debug else "-v"
    run.command = f"logrotate {flag} -s {run.state_file} {run.config_file}"
    conf = run.config_file
    write = ("{ umask 077 && mkdir -p %s && printf '%%s' %s > %s.tmp && mv -f %s.tmp %s; } || exit "
             f"{_UNWRITTEN}; ") if debug else ""
    result = target.run(write + _SBIN + "logrotate %s -s %s %s 2>&1",
                        *((work_dir, run.rendered, conf, conf, conf) if debug else ()), flag, run.state_file, conf,
                        check=False)
    if debug and result.rc == _UNWRITTEN:
        raise TargetError(f"{target.name}: cannot write {conf}: {result.stderr.strip()[:500]}")
    output = result.stdout
    run.errors += errors_in(output)
    if result.rc != 0 and not errors_in(output):
        run.errors.append(f"logrotate exited {result.rc}: {output.strip()[-300:]}")
    run.log += [line for line in output.splitlines() if line.strip() and "debug mode does nothing" not in line][-40:]
    return output


def _holders(target: Target, paths: list[str]) -> Holders:
    """path -> pids holding it open, read on the target (opsproof.hosts.procfd, shipped to a remote one)."""
    return shipped.call(target, "opsproof.hosts.procfd:holders", {"paths": paths}, target.timeout_s, Holders)


def _unseen(found: Holders) -> str:
    """What a scan could not see: without root, other users' open files are invisible."""
    return "" if found.complete else f" ({found.unreadable} processes' open files could not be read: not root)"


def _wait_released(target: Target, path: str, timeout_s: float) -> Optional[str]:
    """How long until no visible process holds `path` open (and what could not be seen); None when still held."""
    started = time.monotonic()
    while True:
        found = _holders(target, [path])
        if not found.pids.get(path, []):
            return f"no process holds it {time.monotonic() - started:.3g} s after rotation" + _unseen(found)
        if time.monotonic() - started > timeout_s:
            return None
        time.sleep(0.05)


def rotate(target: Target, policy: Rotate, root: str, work_dir: str, apply: bool, source: str = "") -> RotationRun:
    """Plan (logrotate -d) or apply (logrotate -v) the policy on the target."""
    started = time.monotonic()
    run = RotationRun(mode="apply" if apply else "plan", globs=list(policy.files))
    run.config_file = posixpath.join(work_dir, "logrotate.conf")
    run.state_file = posixpath.join(work_dir, "logrotate.state")
    try:
        run.tool = tool(target)
        if run.tool is None:
            run.errors.append(f"logrotate is not installed on {target.name}: install it there (Debian/Ubuntu: "
                              "sudo apt-get install -y logrotate; RHEL: sudo dnf install logrotate; for the example "
                              "on this machine, scripts/bootstrap does it); opsproof drives it and does not "
                              "re-implement rotation")
            return run
        found = on_disk(target, policy.files)
        run.files, empty = matched(target, found, policy.files)
        run.errors += [f"{g}: no file matches this glob in logs.rotate.files" for g in empty]
        if not run.files:
            return run
        for path in run.files:
            run.before[path] = found["logs"][path]["size"] or 0
        run.rendered = render(policy, run.files, root, source)
        run.decisions = decisions(_logrotate(target, run, debug=True, work_dir=work_dir))
        due = [f for f, verdict in run.decisions.items() if verdict == "needs rotating"]
        if not apply or run.errors or not due:
            return run
        with target.changing():
            _act(target, policy, run, due)
    except TargetError as exc:
        run.errors.append(str(exc))
    finally:
        run.duration_s = round(time.monotonic() - started, 3)
    return run


def _act(target: Target, policy: Rotate, run: RotationRun, due: list[str]) -> None:
    """logrotate -v on the files due, refused while a NAME.1 is still held open; then wait for the writers to let go."""
    if policy.compress and not policy.copytruncate:
        busy = _holders(target, [f + ".1" for f in due]).pids
        for name, pids in busy.items():
            if pids:
                run.errors.append(f"{name} is still open by pid {', '.join(map(str, pids))}: its writer did not "
                                  "reopen after the last rotation, and this rotation would compress it — not "
                                  "rotated; check logs.rotate.postrotate")
        if run.errors:
            return
    newest = (".1.gz",) if policy.copytruncate and policy.compress else (".1",)
    previous = {f: target.stat(f + newest[0]).inode for f in due}  # a new NAME.1 afterwards: rotated
    run.log.append(f"--- {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} apply")
    _logrotate(target, run, debug=False)
    for path in due:
        first = target.stat(path + newest[0])
        if first.exists and first.inode != previous[path]:
            run.rotated.append(path)
        run.after[path] = target.stat(path).size
    if not policy.copytruncate:
        for path in run.rotated:
            waited = _wait_released(target, path + ".1", policy.reopen_timeout_s)
            if waited is None:
                run.errors.append(f"{path}.1 is still held open {policy.reopen_timeout_s:g} s after rotation "
                                  "(logs.rotate.reopen_timeout_s): the writer did not reopen — "
                                  + ("check logs.rotate.postrotate" if policy.postrotate else
                                     "set logs.rotate.postrotate to make it reopen (a signal or command)"))
            else:
                run.reopened[path + ".1"] = waited


def outcome(target: Target, policy: Rotate, files: list[str], found: Optional[dict] = None) -> list[LogOutcome]:
    """The state on disk: each active log's size and its rotated files (NAME.1, NAME.2.gz, ...); from `found`
    (on_disk's, when it was read for these files already) or read now."""
    found = found if found is not None else on_disk(target, [], files)
    out = []
    delayed = 1 if policy.compress and not policy.copytruncate else 0
    for path in files:
        log = found["logs"][path]
        if "error" in log:
            raise TargetError(f"{target.name}: {log['error']}")
        out.append(LogOutcome(path, log["size"], [RotatedFile(**r) for r in log["rotated"]], delayed))
    return out


def outcome_of(target: Target, policy: Rotate, log: str) -> tuple[list[LogOutcome], Optional[str]]:
    """The state on disk of `log` (a file, or a glob: each file it matches), or why it cannot be read. A glob of the
    policy is read with all of them (the plan's read, so a survey's answer serves both)."""
    try:
        found = on_disk(target, list(policy.files) if log in policy.files else [log])
        files, empty = matched(target, found, [log])
    except TargetError as exc:
        return [], str(exc)
    if empty:
        return [], f"logs.rotate.files: no file matches {log} on {target.name}"
    return outcome(target, policy, files, found), None
