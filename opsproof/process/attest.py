"""Manual tasks as evidence: attestation records (task, date, by, evidence) and the docs' git history.

The attestation file is YAML on the target: a list of records, or {records: [...]}. A record with
no task, no date, no author, a date in the future, or a task the config does not know is bad and
reported with its line; bad records never count as evidence. Documentation counts as reviewed
when a commit touched the docs directory recently (`git log` on the target), or an attestation
of the docs' task says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from ..config import inputs
from ..hosts.target import Target, TargetError

MAX_BYTES = inputs.MAX_BYTES
FUTURE_SLACK = timedelta(hours=14)  # a date written in UTC+14 is "today" there


@dataclass
class Attestation:
    task: str
    when: str            # ISO date or date-time, as written
    by: str
    evidence: str
    line: int
    at: datetime         # the moment it counts from (a plain date: its start, UTC)


@dataclass
class AttestationFile:
    path: str
    records: list[Attestation] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    error: Optional[str] = None


@dataclass
class TaskStatus:
    task: str
    period_days: float
    newest: Optional[str] = None
    by: str = ""
    evidence: str = ""
    age_days: Optional[float] = None
    records: int = 0


def _moment(value: Any) -> Optional[datetime]:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return _moment(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def parse(text: str | bytes, path: str, tasks: set[str], now: datetime) -> AttestationFile:
    """Records and bad records of an attestation file's text, read by the config's checked YAML reader."""
    out = AttestationFile(path)
    try:
        node, data = inputs.yaml_of(text.encode() if isinstance(text, str) else text, path, node=True)
    except inputs.InputError as exc:
        out.error = str(exc)
        return out
    if isinstance(data, dict) and "records" in data:
        node = next((v for k, v in node.value if k.value == "records"), None)
        data = data["records"]
    if data is None:
        return out
    if not isinstance(data, list):
        out.error = f"{path}: must be a list of records (task, date, by, evidence), got {type(data).__name__}"
        return out
    for item, item_node in zip(data, node.value):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            out.bad.append(f"line {line}: not a record (task, date, by, evidence)")
            continue
        missing = [k for k in ("task", "date", "by") if item.get(k) in (None, "")]
        if missing:
            out.bad.append(f"line {line}: missing {', '.join(missing)}")
            continue
        task, when = str(item["task"]), _moment(item["date"])
        if task not in tasks:
            out.bad.append(f"line {line}: unknown task {task!r} (attestations.tasks lists {', '.join(sorted(tasks))})")
        elif when is None:
            out.bad.append(f"line {line}: date {item['date']!r} is not a date (YYYY-MM-DD)")
        elif when > now + FUTURE_SLACK:
            out.bad.append(f"line {line}: date {item['date']} is in the future")
        else:
            out.records.append(Attestation(task, str(item["date"]), str(item["by"]), str(item.get("evidence") or ""),
                                           line, when))
    return out


def read(target: Target, path: str, tasks: set[str], now: datetime) -> AttestationFile:
    """The attestation file on the target, parsed; a missing, unreadable, oversized or non-regular file is an error
    (here a FIFO planted under its name is never opened for reading; there `dd` is bounded by the command timeout)."""
    too_large = "keep one record per task and date"
    if target.is_local:
        try:
            return parse(inputs.read_bytes(path, MAX_BYTES, too_large), path, tasks, now)
        except FileNotFoundError:
            return AttestationFile(path, error=f"{path}: no such file")
        except inputs.InputError as exc:
            return AttestationFile(path, error=str(exc))
    st = target.stat(path)
    if not st.exists:
        return AttestationFile(path, error=f"{path}: {st.error or 'no such file'}")
    if not st.is_file:
        return AttestationFile(path, error=f"{path}: not a regular file: not read")
    if (st.size or 0) > MAX_BYTES:
        return AttestationFile(path, error=f"{path}: {st.size} bytes, at most {MAX_BYTES} — {too_large}")
    try:
        raw = target.read_range(path, 0, MAX_BYTES + 1)
    except (TargetError, OSError) as exc:
        return AttestationFile(path, error=f"{path}: {exc}")
    if len(raw) > MAX_BYTES:
        return AttestationFile(path, error=f"{path}: more than {MAX_BYTES} bytes — {too_large}")
    return parse(raw, path, tasks, now)


def status(file: AttestationFile, task: str, period: timedelta, now: datetime) -> TaskStatus:
    """The newest good record of `task` and its age."""
    mine = [r for r in file.records if r.task == task]
    out = TaskStatus(task, round(period.total_seconds() / 86400, 3), records=len(mine))
    if mine:
        newest = max(mine, key=lambda r: r.at)
        out.newest, out.by, out.evidence = newest.when, newest.by, newest.evidence
        out.age_days = round((now - newest.at).total_seconds() / 86400, 2)
    return out


@dataclass
class DocsActivity:
    dir: str
    last_commit: Optional[str] = None       # hash and subject
    last_commit_utc: Optional[str] = None
    age_days: Optional[float] = None
    command: str = ""
    error: Optional[str] = None


def docs_activity(target: Target, directory: str, now: datetime) -> DocsActivity:
    """The newest commit that touched `directory` (git log on the target)."""
    out = DocsActivity(directory, command=f"git -C {directory} log -1 --format='%H %ct %s' -- .")
    try:
        result = target.run("git -C %s log -1 --format='%%h %%ct %%s' -- .", directory, check=False)
    except TargetError as exc:
        out.error = str(exc)
        return out
    if result.rc != 0:
        out.error = f"git log in {directory} failed: {(result.stderr or result.stdout).strip()[:300]}"
        return out
    line = result.stdout.strip()
    if not line:
        out.error = f"no commit touches {directory} (`git log` found none: untracked or git-ignored?)"
        return out
    commit, stamp, subject = (line.split(" ", 2) + [""])[:3]
    when = datetime.fromtimestamp(int(stamp), timezone.utc)
    out.last_commit, out.last_commit_utc = f"{commit} {subject}", f"{when:%Y-%m-%dT%H:%M:%SZ}"
    out.age_days = round((now - when).total_seconds() / 86400, 2)
    return out
