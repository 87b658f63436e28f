"""Benchmark: the six daily checks on one remote host behind a slow link, against plain pytest-testinfra.

    python bench/bench_remote.py                  # 50 ms per round trip, fastest of 3 runs per side
    python bench/bench_remote.py --delay-ms 100 --repeat 5

The host is a real sshd on loopback (tests/helpers/sshd.py) reached through a relay that holds every chunk 25 ms
each way (tests/helpers/relay.py: 50 ms per round trip); both tools go through the same relay in the same run. The
checks: disk and inodes of two paths, backup recency, backup integrity, new error lines, health, a port —
opsproof's `pytest -m "daily or postmaintenance"` on a config of just those sections (its checks of them), against
bench/peer_remote (the same checks as a testinfra suite writes them). Each run is a whole process with SSH control
sockets of its own (a fresh connection, as a scheduled run has); sessions are counted from sshd's own log
("Starting session"), one per command or shipped call. `size_mb` is not used.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from common import Row, measure, print_rows  # noqa: E402
from bench_startup import PYTEST, TESTINFRA, clean_venv  # noqa: E402

GOAL = 0.6
SESSIONS_GOAL = 3
SECTIONS = ("service", "root", "disk", "logs", "backups", "health", "services")


def _config(app) -> dict:
    """The example's config cut to the six checks' sections (no rotation, SLO or temp: not among the six)."""
    data = {k: v for k, v in app.config().items() if k in SECTIONS}
    data["logs"] = {k: v for k, v in data["logs"].items() if k != "rotate"}
    data["services"] = {"ports": data["services"]["ports"]}
    return data


def _sessions(sshd) -> int:
    return sshd.log.read_text(errors="replace").count("Starting session")


def _side(argv: list[str], sshd, ssh_config: Path, control: str, env: dict, cwd: str, repeat: int):
    """Fastest of `repeat` whole-process runs, each with fresh SSH connections; and sessions per run."""
    best, sessions = None, []
    for _ in range(repeat):
        before = _sessions(sshd)
        done = measure(argv, env=env, cwd=cwd, timeout=600)
        subprocess.run(["ssh", "-F", str(ssh_config), "-O", "exit", "bench-remote"], capture_output=True, timeout=30)
        for sock in Path(control).glob("*"):
            sock.unlink(missing_ok=True)
        sessions.append(_sessions(sshd) - before)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[-1]}: exit {done.returncode}: {done.stdout[-1500:]}")
        best = done if best is None or done.seconds < best.seconds else best
    return best, sessions


def rows(size_mb: int = 0, folder: str | None = None, repeat: int = 3, delay_ms: float = 50) -> list[Row]:
    from helpers.example import ExampleApp
    from helpers.relay import CountingRelay
    from helpers.sshd import Sshd

    with tempfile.TemporaryDirectory(prefix="opsproof-bench-remote-", dir=folder) as tmp:
        work = Path(tmp)
        (work / "app").mkdir()
        app = ExampleApp(work / "app")
        started = app.ctl("up")
        if started.returncode:
            raise RuntimeError(f"example app did not start: {started.stdout}{started.stderr}")
        sshd = Sshd(work / "sshd").start()
        relay = CountingRelay(sshd.port, delay_s=delay_ms / 2000)
        try:
            sshd.add_host("bench-remote", "127.0.0.1", relay.port)
            control = tempfile.mkdtemp(prefix="opsproof-bench-cp-")
            ssh_config = work / "ssh_config"
            ssh_config.write_text(sshd.ssh_config.read_text().replace(str(sshd.control_dir), control))
            config = work / "maintenance.yaml"
            config.write_text(yaml.safe_dump(_config(app), sort_keys=False))
            env = {k: v for k, v in app.env.items() if k not in ("OPSPROOF_CONFIG", "PYTHONDONTWRITEBYTECODE")}
            hosts = ["--hosts=ssh://bench-remote", f"--ssh-config={ssh_config}"]
            ours_argv = PYTEST + ["-q", "-p", "no:cacheprovider", "-m", "daily or postmaintenance", *hosts,
                                  f"--maint-config={config}", f"--report-dir={work / 'reports'}",
                                  f"--state-dir={work / 'state'}", *clean_venv(("opsproof", "pytest-html",
                                                                               "pytest-metadata", "pytest-testinfra")),
                                  "checks/test_disk.py", "checks/test_backups.py", "checks/test_backup_integrity.py",
                                  "checks/test_errorlog.py", "checks/test_health.py", "checks/test_services.py"]
            peer_argv = PYTEST + ["-q", "-p", "no:cacheprovider", *hosts, *clean_venv(TESTINFRA)]
            print("remote: opsproof ...", flush=True)
            ours, ours_sessions = _side(ours_argv, sshd, ssh_config, control, env, ROOT, repeat)
            print("remote: testinfra peer ...", flush=True)
            peer, peer_sessions = _side(peer_argv, sshd, ssh_config, control, env, os.path.join(HERE, "peer_remote"),
                                        repeat)
            load = os.getloadavg()[0]
        finally:
            relay.close()
            sshd.stop()
            app.stop()
    note = (f"{delay_ms:g} ms per round trip; SSH sessions per run (sshd's log): {max(ours_sessions)} vs "
            f"{max(peer_sessions)} (goal <= {SESSIONS_GOAL}); fastest of {repeat}; load {load:.1f}")
    return [Row("six daily checks on a remote host behind a 50 ms link, whole process", ours.seconds,
                "pytest-testinfra + requests, same checks, same relay", peer.seconds, f"<= {GOAL}x", GOAL,
                ours.peak_rss_mib, note=note,
                extra={"sessions": ours_sessions, "peer_sessions": peer_sessions, "sessions_goal": SESSIONS_GOAL})]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--size-mb", type=int, default=0, help="unused")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print_rows(rows(args.size_mb, repeat=args.repeat, delay_ms=args.delay_ms), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
