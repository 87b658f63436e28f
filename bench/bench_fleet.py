"""Benchmark: the daily checks on 16 hosts with `-n 4` (pytest-xdist, hosts spread over workers) against the same
16 hosts one after another (`-n 0`), in the same run.

    python bench/bench_fleet.py                 # 16 hosts, fastest of 2 runs each
    python bench/bench_fleet.py --hosts 8 --repeat 1

The hosts are 16 real sshd on 127.0.0.2 ... 127.0.0.17 (tests/helpers/fleet.py, as the fleet tests start them), each
its own host key, address and port, all this machine; the example service (examples/app) runs once and every
host checks it over SSH. Each run is the whole `pytest -m daily` process (bench/common.measure), with a state
folder, a report folder and SSH control sockets of its own, so no run reuses another's connections or offsets.
`size_mb` is not used (the work is the number of hosts).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from common import Row, measure  # noqa: E402

HOSTS = 16
GOAL = 0.4


def _run(fleet, config: Path, workdir: Path, workers: int, label: str, repeat: int):
    """The fastest of `repeat` daily runs over every host with `-n workers`; each with fresh connections and state."""
    best = None
    for n in range(repeat):
        run_dir = Path(tempfile.mkdtemp(prefix=f"{label}-{n}-", dir=workdir))
        control = tempfile.mkdtemp(prefix="opsproof-bench-cp-")
        ssh_config = run_dir / "ssh_config"
        ssh_config.write_text(fleet.ssh_config.read_text().replace(fleet.control_dir, control))
        specs = ",".join(fleet.spec(name) for name in fleet.names)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "daily", f"--hosts={specs}",
                f"--ssh-config={ssh_config}", f"--maint-config={config}", f"--report-dir={run_dir / 'reports'}",
                f"--state-dir={run_dir / 'state'}", "-n", str(workers)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = measure(argv, cwd=ROOT, timeout=900)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # pytest, its workers, ssh
        for s in fleet.hosts.values():  # the run's SSH masters, before the next run starts its own
            subprocess.run(["ssh", "-F", str(ssh_config), "-O", "exit", "-p", str(s.port), s.address],
                           capture_output=True, timeout=30)
        found = sorted((run_dir / "reports").glob("*.json"))
        if not found:  # the run stopped before its summary (a usage error, a missing plugin): say how
            raise RuntimeError(f"{label}: pytest exited {done.returncode} without a summary: {done.stdout[-1500:]}")
        summary = json.loads(found[-1].read_text())
        if summary["outcome"].get("failed") or summary["outcome"].get("error"):
            raise RuntimeError(f"{label}: not every check passed: {summary['outcome']}")
        print(f"{label}: {done.seconds:.1f} s (client CPU {cpu:.0f} s), {summary['outcome']}", flush=True)
        if best is None or done.seconds < best[0].seconds:
            best = (done, summary, cpu)
    return best


def rows(size_mb: int = 0, folder: str | None = None, hosts: int = HOSTS, repeat: int = 2) -> list[Row]:
    from helpers.example import ExampleApp
    from helpers.fleet import Fleet

    with tempfile.TemporaryDirectory(prefix="opsproof-bench-fleet-", dir=folder) as tmp:
        workdir = Path(tmp)
        app_root = workdir / "app"
        app_root.mkdir()
        app = ExampleApp(app_root)
        started = app.ctl("up")
        if started.returncode:
            raise RuntimeError(f"example app did not start: {started.stdout}{started.stderr}")
        fleet = Fleet(workdir / "hosts", [f"h{i + 1:02d}" for i in range(hosts)]).start()
        try:
            config = workdir / "maintenance.yaml"
            config.write_text(yaml.safe_dump(app.config(connect_timeout_s=5), sort_keys=False))
            parallel, summary, cpu_parallel = _run(fleet, config, workdir, 4, "-n 4", repeat)
            sequential, _, cpu_sequential = _run(fleet, config, workdir, 0, "-n 0", repeat)
            load = os.getloadavg()[0]
        finally:
            fleet.stop()
            app.stop()
    checks = len(summary["tests"])
    return [Row(f"daily checks on {hosts} hosts over SSH ({checks} items), -n 4", parallel.seconds,
                f"the same {hosts} hosts one after another (-n 0)", sequential.seconds, goal=f"<= {GOAL}x",
                goal_ratio=GOAL, rss_mib=parallel.peak_rss_mib,
                note=f"{os.cpu_count()} cores shared with the 16 sshd (the targets run here too), load {load:.1f}; "
                     f"client CPU (pytest, workers, ssh): {cpu_parallel:.0f} s vs {cpu_sequential:.0f} s; "
                     f"fastest of {repeat}")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=HOSTS)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--size-mb", type=int, default=0, help="unused: the work is the number of hosts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for row in rows(args.size_mb, hosts=args.hosts, repeat=args.repeat):
        print(json.dumps(row.as_dict()) if args.json else
              f"{row.work}: {row.ours_s:.1f} s; {row.peer}: {row.peer_s:.1f} s; ratio {row.ratio:.2f} ({row.goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
