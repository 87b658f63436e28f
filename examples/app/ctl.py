"""Bring the example service up or down: `python examples/app/ctl.py up|down|status|backup`.

`up` seeds the SQLite database on first use, takes a nightly-style backup when none is fresh
(as the service's own cron job would), starts the server in the background and waits until
/health answers. Environment: EXAMPLE_PORT (default 8080), EXAMPLE_ROOT (default: this folder).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

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
    """One consistent archive: SQLite online backup, MANIFEST.json, complete before it gets its name."""
    now = datetime.now(timezone.utc)
    final = path("backups", f"daily_{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz")
    with tempfile.TemporaryDirectory(dir=path("backups")) as scratch:
        dump = os.path.join(scratch, "app.db")
        with sqlite3.connect(path("data", "app.db")) as src, sqlite3.connect(dump) as dst:
            src.backup(dst)
            tables = {t: dst.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                      for (t,) in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with open(dump, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        manifest = {"format": 1, "engine": "sqlite", "source": "data/app.db", "created_at": now.isoformat(),
                    "members": [{"name": "app.db", "size": os.path.getsize(dump), "sha256": digest}],
                    "tables": tables}
        tmp = os.path.join(path("backups"), f".{os.path.basename(final)}.part")
        with tarfile.open(tmp, "w:gz") as tar:
            tar.add(dump, arcname="app.db")
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo("MANIFEST.json")
            info.size, info.mtime = len(data), int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    return final


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
            return 0
        time.sleep(0.1)
    print(f"example-app did not answer on port {PORT} within 15 s (is the port taken?)", file=sys.stderr)
    return 1


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
    if command == "status":
        print(f"pid {pid()}, healthy {healthy()}")
        return 0 if healthy() else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
