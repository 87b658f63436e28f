"""The service's folders, walked on the host: logs, backups, databases, manifests, config files, pid files, docs and
temp folders. Standard library only (shipped to a target); the walk is bounded in depth, entries and time.
"""
from __future__ import annotations

import os
import re
import time

from . import sniff
from .secrets import dsns_in

DEPTH = 3
MAX_ENTRIES = 20000
MAX_LOGS = 60
CONFIG_BYTES = 256 * 1024
STALE_DAYS = 7                  # the guide's temp cleanup age, to say how many files cleanup would remove
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "site-packages", ".opsproof", ".tox", ".cache",
             "proc", "sys", "dev"}
LOG_NAME = re.compile(r"(\.log|\.err|[._-](access|error)[._-]?log)$")
ERROR_NAME = re.compile(r"(^|[._-])(error|errors|err|stderr)([._-]|$)|\.err$")
BACKUP_NAME = re.compile(r"\.(tar\.gz|tgz|sql\.gz|dump|pgdump|backup|sql)$")
SQLITE_NAME = re.compile(r"\.(db|sqlite|sqlite3)$")
CONFIG_NAME = re.compile(r"(\.(ya?ml|json|toml|ini|conf|cfg|env|properties)|^\.env)$")
CONFIG_DIRS = ("config", "conf", "etc", "settings")
LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
DOC_NAME = re.compile(r"(rollback|runbook)", re.I)
TEMP_NAMES = ("tmp", "temp", "cache")


def walk(tops: list[str], deadline: float) -> list[tuple[str, os.stat_result]]:
    """(path, stat) of the regular files under each folder, at most DEPTH levels down, skipping tool folders."""
    out, seen = [], set()
    todo = [(top, 0) for top in tops if os.path.isdir(top)]
    while todo and len(seen) < MAX_ENTRIES and time.monotonic() < deadline:
        folder, depth = todo.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.path in seen:
                continue
            seen.add(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < DEPTH and entry.name not in SKIP_DIRS:
                        todo.append((entry.path, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    out.append((entry.path, entry.stat(follow_symlinks=False)))
            except OSError:
                continue
    return out


def _log(path: str, st: os.stat_result, held: set[str]) -> dict:
    name = os.path.basename(path)
    access = sniff.access_log_format(path)
    kind = "access" if access else "error" if ERROR_NAME.search(name) else "other"
    return {"path": path, "size": st.st_size, "mtime": st.st_mtime, "held": path in held, "kind": kind,
            "access": access, "style": sniff.error_log_style(path) if kind != "access" else None}


def _config(path: str, found: dict) -> None:
    try:
        with open(path, "rb") as fh:
            text = fh.read(CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return
    found["configs"].append(path)
    for dsn, had in dsns_in(text):
        found["dsns"].append({"dsn": dsn, "password": had, "source": path})


def classify(files: list[tuple[str, os.stat_result]], held: set[str], pids: set[int], now: float,
             root: str = "") -> dict:
    """What each file is, in the groups discovery reports. Config files are those directly in `root` or in a
    config/, conf/, etc/ or settings/ folder (a JSON or YAML file elsewhere is data, not configuration)."""
    found: dict = {"logs": [], "backups": {}, "sqlite": [], "dsns": [], "configs": [],
                   "npm": [], "requirements": [], "pid_files": [], "docs": [], "temp_dirs": {}}
    for path, st in files:
        name, folder = os.path.basename(path), os.path.dirname(path)
        base = os.path.basename(folder)
        if base in TEMP_NAMES:
            entry = found["temp_dirs"].setdefault(folder, {"files": 0, "stale": 0})
            entry["files"] += 1
            entry["stale"] += st.st_mtime < now - STALE_DAYS * 86400
            continue
        if LOG_NAME.search(name) and len(found["logs"]) < MAX_LOGS:
            found["logs"].append(_log(path, st, held))
        elif BACKUP_NAME.search(name) or ("backup" in folder.lower() and name.endswith(".gz")):
            kind = sniff.backup_format(path)
            if kind:
                found["backups"].setdefault(folder, []).append({"name": name, "size": st.st_size,
                                                                "mtime": st.st_mtime, "format": kind})
        elif (SQLITE_NAME.search(name) or path in held) and sniff.is_sqlite(path):
            found["sqlite"].append({"path": path, "held": path in held, "tables": sniff.sqlite_tables(path)})
        elif name == "package.json":
            lock = next((lk for lk in LOCKFILES if os.path.isfile(os.path.join(folder, lk))), None)
            found["npm"].append({"dir": folder, "lockfile": lock})
        elif name.startswith("requirements") and name.endswith(".txt"):
            found["requirements"].append({"path": path, "pinned": _pinned(path)})
        elif name.endswith(".pid"):
            content = sniff.head(path, 32).strip()
            if content.isdigit() and int(content) in pids:
                found["pid_files"].append(path)
        elif DOC_NAME.search(name) and name.endswith((".md", ".txt", ".rst", ".adoc")) and st.st_size > 0:
            found["docs"].append(path)
        elif (CONFIG_NAME.search(name) and st.st_size <= CONFIG_BYTES and name not in LOCKFILES
              and (folder == root or base in CONFIG_DIRS)):
            _config(path, found)
    return found


def _pinned(path: str) -> int:
    """How many requirement lines pin a version with `==`."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return 0
    return sum("==" in line.split("#")[0] for line in text.splitlines())


def unit_file(unit: str) -> dict:
    """A systemd service's unit file: {path, working_directory, exec_start}, or {} when there is none to read."""
    for folder in ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        path = os.path.join(folder, unit)
        if os.path.isfile(path):
            text = sniff.head(path, CONFIG_BYTES).decode("utf-8", "replace")
            values = dict(re.findall(r"^\s*(WorkingDirectory|ExecStart)\s*=\s*(.+?)\s*$", text, re.M))
            return {"path": path, "working_directory": values.get("WorkingDirectory", "").lstrip("-") or None,
                    "exec_start": values.get("ExecStart")}
    return {}
