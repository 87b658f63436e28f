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
from . import siblings


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


def size_bytes(policy: Rotate) -> int:
    return max(1, int(policy.max_size_mb * 1024 * 1024))


def render(policy: Rotate, files: list[str], root: str, source: str = "") -> str:
    """logrotate's config for the policy (files are absolute paths, already matched)."""
    from ..config import logrotate_period

    body = [f"rotate {policy.keep}"]
    if policy.every:
        body += [logrotate_period(policy.every), f"maxsize {size_bytes(policy)}"]
    else:
        body.append(f"size {size_bytes(policy)}")
    body += ["missingok", "notifempty", "nodateext", "nomail", "noolddir"]
    if policy.copytruncate:
        body += ["copytruncate"] + (["compress"] if policy.compress else ["nocompress"])
    else:
        body.append("create")
        body += ["compress", "delaycompress"] if policy.compress else ["nocompress"]
    if policy.su:
        body.append(f"su {policy.su}")
    if policy.postrotate:
        script = [f"cd '{root}' || exit 1"] + policy.postrotate.splitlines()
        body += ["sharedscripts", "postrotate"] + [f"    {line}" for line in script] + ["endscript"]
    head = f"# rendered by opsproof from {source or 'logs.rotate'}; do not edit, it is rewritten on every run\n"
    names = " ".join(f'"{f}"' for f in files)
    return head + names + " {\n" + "".join(f"    {line}\n" for line in body) + "}\n"


def match(target: Target, globs: list[str]) -> tuple[list[str], list[str]]:
    """Active log files matching the globs (rotated siblings excluded), and the globs that matched nothing."""
    files: list[str] = []
    empty: list[str] = []
    for pattern in globs:
        directory, name = posixpath.split(pattern)
        if any(c in directory for c in "*?["):
            raise TargetError(f"{pattern}: a glob may only be in the file name, not in the directory")
        found = sorted(p for p, _, _ in target.files(directory, name) if not siblings.is_rotated(p))
        if not found:
            empty.append(pattern)
        files += [p for p in found if p not in files]
    return files, empty


def listed(target: Target, globs: list[str]) -> list[str]:
    """One entry per log to check: the files each glob matches (each once, in order), or the glob itself where it
    matches nothing or cannot be listed (its check then fails saying so)."""
    out: list[str] = []
    for pattern in globs:
        try:
            found = match(target, [pattern])[0]
        except TargetError:
            found = []
        out += [f for f in found if f not in out] if found else [pattern]
    return out


def _decisions(output: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("considering log "):
            current = line[len("considering log "):]
        elif current and line.startswith("log needs rotating"):
            out[current] = "needs rotating"
        elif current and line.startswith("log does not need rotating"):
            out[current] = line.replace("log does not need rotating", "not needed").strip()
    return out


def _errors(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("error:")]


# logrotate lives in sbin, which a non-root login's PATH often lacks.
_SBIN = 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH; '


def _tool(target: Target) -> Optional[str]:
    found = target.run(_SBIN + "command -v logrotate >/dev/null && logrotate --version 2>&1 | head -1", check=False)
    return found.stdout.strip() or None if found.rc == 0 else None


def _logrotate(target: Target, run: RotationRun, debug: bool) -> str:
    flag = "-d" if debug else "-v"
    run.command = f"logrotate {flag} -s {run.state_file} {run.config_file}"
    result = target.run(_SBIN + "logrotate %s -s %s %s 2>&1", flag, run.state_file, run.config_file, check=False)
    output = result.stdout
    run.errors += _errors(output)
    if result.rc != 0 and not _errors(output):
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
        run.tool = _tool(target)
        if run.tool is None:
            run.errors.append(f"logrotate is not installed on {target.name}: install it there (Debian/Ubuntu: "
                              "sudo apt-get install -y logrotate; RHEL: sudo dnf install logrotate; for the example "
                              "on this machine, scripts/bootstrap does it); opsproof drives it and does not "
                              "re-implement rotation")
            return run
        run.files, empty = match(target, policy.files)
        run.errors += [f"{g}: no file matches this glob in logs.rotate.files" for g in empty]
        if not run.files:
            return run
        for path in run.files:
            run.before[path] = target.stat(path).size or 0
        run.rendered = render(policy, run.files, root, source)
        target.run("umask 077 && mkdir -p %s && printf '%%s' %s > %s.tmp && mv -f %s.tmp %s", work_dir, run.rendered,
                   run.config_file, run.config_file, run.config_file)
        run.decisions = _decisions(_logrotate(target, run, debug=True))
        due = [f for f, verdict in run.decisions.items() if verdict == "needs rotating"]
        if not apply or run.errors or not due:
            return run
        if policy.compress and not policy.copytruncate:
            busy = _holders(target, [f + ".1" for f in due]).pids
            for name, pids in busy.items():
                if pids:
                    run.errors.append(f"{name} is still open by pid {', '.join(map(str, pids))}: its writer did not "
                                      "reopen after the last rotation, and this rotation would compress it — not "
                                      "rotated; check logs.rotate.postrotate")
            if run.errors:
                return run
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
    except TargetError as exc:
        run.errors.append(str(exc))
    finally:
        run.duration_s = round(time.monotonic() - started, 3)
    return run


def outcome(target: Target, policy: Rotate, files: list[str]) -> list[LogOutcome]:
    """The state on disk: each active log's size and its rotated files (NAME.1, NAME.2.gz, ...)."""
    out = []
    delayed = 1 if policy.compress and not policy.copytruncate else 0
    for path in files:
        st = target.stat(path)
        rotated = [RotatedFile(r.path, r.size, r.compressed,
                               target.read_range(r.path, 0, 2) == b"\x1f\x8b" if r.compressed else None)
                   for r in siblings.find(target, path) if r.number is not None and r.compression in ("", ".gz")]
        out.append(LogOutcome(path, st.size if st.exists else None, rotated, delayed))
    return out


def outcome_of(target: Target, policy: Rotate, log: str) -> tuple[list[LogOutcome], Optional[str]]:
    """The state on disk of `log` (a file, or a glob: each file it matches), or why it cannot be read."""
    try:
        files, empty = match(target, [log])
    except TargetError as exc:
        return [], str(exc)
    if empty:
        return [], f"logs.rotate.files: no file matches {log} on {target.name}"
    return outcome(target, policy, files), None
