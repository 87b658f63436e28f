"""The shipped entry of `opsproof init`: everything discovery reads on a target, in one call, as plain JSON values.

`survey(service, root, deadline)` finds the service's processes (by process name, systemd unit or program name; when
no name is given, the one program listening on TCP that is not common infrastructure), its root folder (given, else
the unit's WorkingDirectory, else where the files it holds open live, else its environment, else its working
directory), then walks what is there (tree.py), reads its logs (logread.py), asks its ports (netprobe.py) and measures
the filesystems under it. Standard library only: opsproof.hosts.ship runs it on a remote target's python3.
"""
from __future__ import annotations

import os
import socket
import time
from collections import Counter
from typing import Optional

from . import logread, netprobe, procs, sniff, tree

ACCESS_WINDOW_S = 30 * 86400    # the availability objective's window: the attainment is measured over it
INFRASTRUCTURE = {"sshd", "systemd", "systemd-resolve", "systemd-network", "init", "containerd", "dockerd",
                  "docker-proxy", "rpcbind", "cupsd", "master", "dnsmasq", "chronyd", "postgres", "mysqld",
                  "mariadbd", "redis-server", "memcached", "prometheus", "node_exporter", "alertmanager",
                  "grafana", "grafana-server", "exim4", "sendmail", "ntpd", "avahi-daemon", "rsyslogd", "snapd"}
SHOWN = ("pid", "comm", "cwd", "unit", "ports", "env")   # of a process; never argv: a command line may hold a secret
UP_FROM = {"log", "logs", "data", "db", "run", "var", "tmp", "backups", "backup"}


def _matches(proc: dict, service: str) -> bool:
    unit = proc.get("unit") or ""
    program = os.path.basename(proc["argv"][0]) if proc["argv"] else ""
    return service[:15] == proc["comm"] or unit in (service, f"{service}.service") or program == service


def pick(found: dict, service: Optional[str]) -> tuple[Optional[str], list[dict], list[str]]:
    """(the service's name, its processes, the candidates when it could not be told) from procs.processes()."""
    everyone = found["processes"]
    if service:
        mine = [p for p in everyone if _matches(p, service)]
        return (service if mine else None), mine, []
    listening = [p for p in everyone if p["ports"] and p["comm"] not in INFRASTRUCTURE and p["pid"] != 1]
    names = sorted({p["comm"] for p in listening})
    if len(names) != 1:
        return None, [], names
    return names[0], [p for p in everyone if p["comm"] == names[0]], names


def _root_from_files(files: list[str]) -> Optional[str]:
    """The folder most of the held files sit in, one up from a logs/, data/, run/ ... folder."""
    counted: Counter = Counter()
    for path in files:
        folder = os.path.dirname(path)
        if os.path.basename(folder) in UP_FROM:
            folder = os.path.dirname(folder)
        if folder not in ("/", "") and not folder.startswith(("/var/log", "/tmp/systemd")):
            counted[folder] += 1
    return counted.most_common(1)[0][0] if counted else None


def instances(mine: list[dict], given: Optional[str]) -> tuple[list[dict], list[dict]]:
    """(the processes of the one instance meant, [{root, pids}] of every instance when it cannot be told which).

    Several copies of one program may run from different folders; with `given` (--root), the processes whose open
    files, working directory or environment lie in it are the instance; without, there must be one folder only."""
    by_root: dict[Optional[str], list[dict]] = {}
    for proc in mine:
        by_root.setdefault(find_root([proc], {}, None)[0], []).append(proc)
    if given:
        top = os.path.abspath(given).rstrip("/") or "/"
        inside = [p for p in mine if any(path == top or path.startswith(top + "/") for path in
                                         p["files"] + [p["cwd"] or ""] + list(p["env"].values()))]
        return inside, ([] if inside else [{"root": r, "pids": [p["pid"] for p in ps]} for r, ps in by_root.items()])
    if len(by_root) > 1:
        return [], [{"root": r, "pids": sorted(p["pid"] for p in ps)} for r, ps in sorted(by_root.items(), key=str)]
    return mine, []


def find_root(mine: list[dict], unit: dict, given: Optional[str]) -> tuple[Optional[str], str]:
    """(the service's root folder, how it was found)."""
    if given:
        return os.path.abspath(given), "--root"
    if unit.get("working_directory") and os.path.isdir(unit["working_directory"]):
        return unit["working_directory"], f"the WorkingDirectory= of {unit['path']}"
    held = _root_from_files([f for p in mine for f in p["files"]])
    if held:
        return held, "where the files the service holds open lie"
    for proc in mine:
        for name, value in sorted(proc["env"].items()):
            if name.endswith(("_ROOT", "_HOME", "_DIR")) and os.path.isdir(value):
                return value, f"${name} in the service's environment"
    cwd = next((p["cwd"] for p in mine if p["cwd"] and p["cwd"] != "/"), None)
    return cwd, "the service's working directory" if cwd else "not found"


def filesystem(path: str) -> dict:
    """Space and inodes of the filesystem holding `path`, counted as df counts them."""
    try:
        st = os.statvfs(path)
        dev = os.stat(path).st_dev
    except OSError as exc:
        return {"path": path, "error": exc.strerror or str(exc)}
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    inodes = (100.0 * (st.f_files - st.f_ffree) / st.f_files) if st.f_files else None
    return {"path": path, "dev": dev, "used_percent": round(100.0 * used / (used + avail), 1) if used + avail else None,
            "inodes_used_percent": round(inodes, 1) if inodes is not None else None,
            "size_bytes": st.f_blocks * st.f_frsize}


def _logs(found: dict, deadline: float) -> None:
    """Count error lines in the error-log candidates, and measure the access logs' attainment (in place)."""
    for log in sorted(found["logs"], key=lambda item: (not item["held"], item["kind"] != "error"))[:8]:
        if log["kind"] == "access":
            log["attainment"] = logread.attainment(log["path"], ACCESS_WINDOW_S, deadline)
        elif log["kind"] == "error" or log["held"]:
            log["pattern"] = sniff.ERROR_PATTERNS[log["style"]]
            log["errors"] = logread.count_errors(log["path"], log["pattern"], deadline)


def survey(service: Optional[str] = None, root: Optional[str] = None, deadline: Optional[float] = None) -> dict:
    """Everything `opsproof init` writes a config from, read on this host."""
    deadline = time.monotonic() + 60 if deadline is None else deadline
    seen = procs.processes()
    name, mine, candidates = pick(seen, service)
    base = {"hostname": socket.gethostname(), "now": time.time(), "service": name, "candidates": candidates,
            "complete": seen["complete"], "listening": [
                dict(item, comms=sorted({p["comm"] for p in seen["processes"] if p["pid"] in item["pids"]}))
                for item in seen["listening"]]}
    mine, base["instances"] = instances(mine, root)
    if not mine:
        return base
    unit_name = next((p["unit"] for p in mine if p["unit"]), None)
    unit = tree.unit_file(unit_name) if unit_name else {}
    top, how = find_root(mine, unit, root)
    held = {f for p in mine for f in p["files"]}
    tops = [top] if top else []
    tops += sorted({os.path.dirname(f) for f in held if not top or not f.startswith(top + "/")})
    tops += [f"/var/{kind}/{name}" for kind in ("log", "backups", "lib") if os.path.isdir(f"/var/{kind}/{name}")]
    found = tree.classify(tree.walk(tops, deadline), held, {p["pid"] for p in mine}, base["now"], top or "")
    for folder in [os.path.join(top, n) for n in tree.TEMP_NAMES] if top else []:
        if os.path.isdir(folder):
            found["temp_dirs"].setdefault(folder, {"files": 0, "stale": 0})
    _logs(found, deadline)
    ports = {}
    for proc in mine:
        for sock in proc["ports"]:
            ports.setdefault(sock["port"], sock)
    monitors = [s for p in seen["processes"] if "prometheus" in p["comm"] for s in p["ports"]]
    where = [top] if top else []
    where += [os.path.dirname(item["path"]) for item in found["sqlite"] + found["logs"]] + list(found["backups"])
    return dict(base, processes=[{k: p[k] for k in SHOWN} for p in mine],
                unit=dict(unit, name=unit_name) if unit_name else None, root=top, root_reason=how,
                held=sorted(held), found=found,
                filesystems=[filesystem(path) for path in dict.fromkeys(where)],
                ports=netprobe.ports(sorted(ports.values(), key=lambda s: s["port"]), deadline),
                monitoring=netprobe.ports(monitors, deadline) if monitors else [],
                pids=sorted(p["pid"] for p in mine))
