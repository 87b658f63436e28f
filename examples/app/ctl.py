"""Bring the example service up or down: `python examples/app/ctl.py up|down|status|backup|traffic [N]`.

`up` seeds the SQLite database on first use, takes a nightly-style backup when none is fresh
(as the service's own cron job would), starts the server in the background and waits until
/health answers, then makes 200 requests (traffic for the SLO checks).
Environment: EXAMPLE_PORT (default 8080), EXAMPLE_ROOT (default: this folder).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.environ.get("EXAMPLE_ROOT", os.path.dirname(__file__)))
PORT = int(os.environ.get("EXAMPLE_PORT", "8080"))
SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")


def path(*parts: str) -> str:
    return os.path.join(ROOT, *parts)


def seed() -> None:
    for sub in ("data", "logs", "backups", "run", "tmp", "docs"):
        os.makedirs(path(sub), exist_ok=True)
    if not os.path.exists(path("docs", "rollback.md")):
        with open(path("docs", "rollback.md"), "w") as fh:
            fh.write("# Rollback\n\n1. Stop example-app.\n2. Restore the newest backups/daily_*.tar.gz.\n3. Start it.\n")
    if os.path.exists(path("data", "app.db")):
        return
    with sqlite3.connect(path("data", "app.db")) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL, qty INTEGER NOT NULL)")
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.executemany("INSERT INTO orders(item, qty) VALUES (?, ?)", [(f"item-{i % 37}", i % 5 + 1) for i in range(1000)])
        conn.executemany("INSERT INTO customers(name) VALUES (?)", [(f"customer-{i}",) for i in range(100)])


def backup() -> str:
    """One archive in the suite's own format, by the suite's own code (opsproof.backups.take): a consistent SQLite
    snapshot, MANIFEST.json, verified before it gets its final name; the 14 newest are kept."""
    try:
        from opsproof.backups.take import take_backup
    except ImportError:  # run from a checkout without `pip install -e .`
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        from opsproof.backups.take import take_backup
    result = take_backup(path("backups"), "daily_*.tar.gz", 14, "sqlite", path=path("data", "app.db"))
    if not result.ok:
        raise SystemExit(f"backup failed: {result.error}")
    return result.path


def healthy(timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def pid() -> int | None:
    try:
        with open(path("run", "app.pid")) as fh:
            value = int(fh.read().strip())
        os.kill(value, 0)
        return value
    except (OSError, ValueError):
        return None


def up() -> int:
    seed()
    fresh = [f for f in os.listdir(path("backups")) if f.startswith("daily_") and f.endswith(".tar.gz")
             and time.time() - os.path.getmtime(path("backups", f)) < 20 * 3600]
    if not fresh:
        print(f"backup: {backup()}")
    if pid() and healthy():
        print(f"example-app already up on 127.0.0.1:{PORT} (pid {pid()})")
        return 0
    env = dict(os.environ, EXAMPLE_ROOT=ROOT, EXAMPLE_PORT=str(PORT))
    with open(path("logs", "server.out"), "ab") as out:
        proc = subprocess.Popen([sys.executable, SERVER], env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        if proc.poll() is not None:
            print(f"example-app exited with {proc.returncode}: see {path('logs', 'server.out')}", file=sys.stderr)
            return 1
        if healthy(0.5):
            print(f"example-app up on http://127.0.0.1:{PORT}/health (pid {proc.pid})")
            return traffic()
        time.sleep(0.1)
    print(f"example-app did not answer on port {PORT} within 15 s (is the port taken?)", file=sys.stderr)
    return 1


def traffic(count: int = 200) -> int:
    """Requests as users would make them, so the SLO checks have traffic to observe in logs/access.log."""
    answered = sum(healthy(2) for _ in range(count))
    print(f"traffic: {count} requests to /health, {answered} answered 200")
    return 0


def down() -> int:
    value = pid()
    if value:
        os.kill(value, signal.SIGTERM)
        for _ in range(50):
            if pid() is None:
                break
            time.sleep(0.1)
        print(f"example-app stopped (pid {value})")
    return 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "up"
    if command == "up":
        return up()
    if command == "down":
        return down()
    if command == "backup":
        seed()
        print(backup())
        return 0
    if command == "traffic":
        return traffic(int(argv[2]) if len(argv) > 2 else 200)
    if command == "status":
        print(f"pid {pid()}, healthy {healthy()}")
        return 0 if healthy() else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
