"""The sections about what the service keeps on disk: disk, logs, temp, backups (with its database).

Each function takes the survey (survey.py's answer) and returns a yamltext.Block: live when discovery found what the
section needs and the check passes on it today, commented out (saying what to add) when it did not.
"""
from __future__ import annotations

import os
from typing import Optional

from . import decide
from .yamltext import Block, flow, pair


def rel(path: str, root: Optional[str]) -> str:
    """`path` relative to root when it is inside it (how the config writes paths), else absolute."""
    if root and (path == root or path.startswith(root.rstrip("/") + "/")):
        return os.path.relpath(path, root)
    return path


def disk(survey: dict) -> Block:
    root = survey.get("root")
    by_dev: dict[int, list[dict]] = {}
    for fs in survey.get("filesystems", []):
        if "dev" in fs:
            by_dev.setdefault(fs["dev"], []).append(fs)
    if not by_dev:
        return Block("disk", ["disk: the daily space and inode check. Nothing measured (no root folder found): name "
                              "the paths whose filesystem must not fill."],
                     ["disk:", pair("paths", ["/", "."]), pair("max_used_percent", 85)], False,
                     "disk: left out (no folder of the service found)")
    paths, notes = [], []
    used = max((fs["used_percent"] for group in by_dev.values() for fs in group if fs["used_percent"] is not None),
               default=None)
    inodes = max((fs["inodes_used_percent"] for group in by_dev.values() for fs in group
                  if fs["inodes_used_percent"] is not None), default=None)
    for group in by_dev.values():
        first = rel(group[0]["path"], root)
        paths.append(first)
        notes.append(f"{first} ({', '.join(rel(fs['path'], root) for fs in group)}): {group[0]['used_percent']} % "
                     f"space, {group[0]['inodes_used_percent']} % inodes used")
    space, why_space = decide.disk_limit(used, decide.DISK_DEFAULT)
    nodes, why_nodes = decide.disk_limit(inodes, decide.INODES_DEFAULT)
    return Block("disk", [
        "disk (daily, postmaintenance): the filesystems holding the service's root, data, logs and backups must not "
        "fill. Found, one path per filesystem: " + "; ".join(notes) + "."],
        ["disk:", pair("paths", paths), pair("max_used_percent", space, why_space),
         pair("max_inodes_used_percent", nodes, why_nodes)],
        summary=f"disk: {len(paths)} filesystem(s), limits {space:g} % space, {nodes:g} % inodes")


def _error_log(found: dict) -> Optional[dict]:
    logs = [log for log in found.get("logs", []) if "errors" in log]
    ranked = sorted(logs, key=lambda log: (log["kind"] != "error", not log["held"], log["path"]))
    return ranked[0] if ranked else None


def logs(survey: dict) -> Block:
    found, root = survey.get("found", {}), survey.get("root")
    log = _error_log(found)
    rotate = _rotate_hint(survey)
    if log is None or log["kind"] != "error":
        unit = (survey.get("unit") or {}).get("name")
        where = (f"it runs as the systemd unit {unit}, so its errors are likely in the journal (journalctl -u "
                 f"{unit}); opsproof reads log files: have the unit write one (StandardError=append:/var/log/...) "
                 "and name it") if unit else "no error.log, *.err or *error*.log was found where it keeps its files"
        return Block("logs", [f"logs (daily, postmaintenance, postdeploy): new error lines fail the run. Not filled: "
                              f"{where}."],
                     ["logs:", pair("error_log", "logs/error.log"), pair("error_pattern", "ERROR|CRITICAL|FATAL")]
                     + rotate, False, "logs: left out (no error log file found)")
    errors = log["errors"]
    path = rel(log["path"], root)
    now = (f"{errors['matches']} of its {errors['lines']} lines match now: the first run counts them, so read them "
           "and run `opsproof ack errorlog --reason ...` or the daily check fails" if errors["matches"]
           else f"none of its {errors['lines']} lines match now")
    style = "nginx's bracketed levels" if log["style"] == "nginx" else "the usual level words"
    return Block("logs", [
        f"logs (daily, postmaintenance, postdeploy): lines matching error_pattern written since the last run fail it. "
        f"Found {path} ({log['size']} B{', held open by the service' if log['held'] else ''}); {now}."],
        ["logs:", pair("error_log", path), pair("error_pattern", log["pattern"], f"the log's lines carry {style}"),
         pair("max_new_errors", 0, "every new error line fails the daily run until it is read and acknowledged")]
        + rotate, summary=f"logs: {path}, {errors['matches']} matching line(s) now")


def _rotate_hint(survey: dict) -> list[str]:
    """logs.rotate, commented: discovery cannot know how the service lets go of its logs."""
    root = survey.get("root")
    folders = sorted({os.path.dirname(rel(log["path"], root)) for log in survey.get("found", {}).get("logs", [])})
    files = [os.path.join(folder, "*.log") if folder else "*.log" for folder in folders] or ["logs/*.log"]
    pid = next(iter(survey.get("found", {}).get("pid_files", [])), None)
    reopen = f"kill -HUP $(cat {rel(pid, root)})" if pid else "systemctl reload <unit>"
    return ["  # rotate:       # the daily rotation (with --apply): left out, since how the service reopens its logs",
            "  #               # cannot be seen from outside; add it once you know, e.g.",
            f"  #   files: {flow(files)}",
            "  #   max_size_mb: 100",
            "  #   keep: 7",
            f"  #   postrotate: {flow(reopen)}"]


def temp(survey: dict) -> Block:
    root = survey.get("root")
    dirs = survey.get("found", {}).get("temp_dirs", {})
    if not dirs:
        return Block("temp", ["temp (daily, action clean-temp): no tmp/, temp/ or cache/ folder in the root. Add the "
                              "folders old files may be removed from."],
                     ["temp: {dirs: [tmp], max_age_days: 7}"], False, "temp: left out (no temp folder)")
    stale = sum(d["stale"] for d in dirs.values())
    names = [rel(d, root) for d in sorted(dirs)]
    text = (f"temp (daily, action clean-temp): with --apply, regular files older than max_age_days are removed from "
            f"these folders (never outside them). Found {', '.join(names)}: "
            f"{sum(d['files'] for d in dirs.values())} file(s), {stale} older than 7 days.")
    body = ["temp:", pair("dirs", names), pair("max_age_days", 7, "the guide's weekly cleanup age")]
    if stale:
        return Block("temp", [text + " Left commented: the daily check fails on them until `pytest -m daily --apply` "
                              "removes them; look at them first, then enable it."], body, False,
                     f"temp: left out ({stale} stale file(s) in {', '.join(names)}: look at them first)")
    return Block("temp", [text], body, summary=f"temp: {', '.join(names)}")
