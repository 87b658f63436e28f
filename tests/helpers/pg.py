"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, 127.0.0.1 on a free port.

initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser); the
folder is made traversable for it. Password authentication (scram) on TCP, so the tests exercise the
password path for real. `stop()` stops the server and removes the folder.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from helpers import free_port

SUPERUSER_PASSWORD = "super-Secret-7x"


def bin_dir() -> Optional[str]:
    """Where initdb and pg_ctl live: on PATH, or Debian's /usr/lib/postgresql/<major>/bin (newest)."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(dirs[-1]) if dirs else None


class Postgres:
    def __init__(self) -> None:
        self.bin = bin_dir() or "/usr/lib/postgresql/15/bin"
        self.dir = Path(tempfile.mkdtemp(prefix="opsproof-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _as_owner(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        return done

    def start(self) -> "Postgres":
        os.chmod(self.dir, 0o755)
        pwfile = self.dir / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self.as_root:
            shutil.chown(self.dir, "postgres")
            shutil.chown(pwfile, "postgres")
        self._as_owner([f"{self.bin}/initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--no-sync",
                        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"])
        pwfile.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._as_owner([f"{self.bin}/pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                        "-o", options, "start"])
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._as_owner([f"{self.bin}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"], timeout=60)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def dsn(self, user: str = "postgres", password: Optional[str] = None, db: str = "postgres") -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres", user: str = "postgres", password: str = SUPERUSER_PASSWORD) -> str:
        env = dict(os.environ, PGPASSWORD=password)
        done = subprocess.run(["psql", "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname",
                               self.dsn(user, db=db), "-f", "-"], input=sql, capture_output=True, text=True,
                              env=env, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return done.stdout

    def app_database(self, name: str, user: str, password: str) -> str:
        """A role with CREATEDB (for scratch databases) owning database `name`; its DSN with the password."""
        self.psql(f"CREATE ROLE {user} LOGIN CREATEDB PASSWORD '{password}';\nCREATE DATABASE {name} OWNER {user};")
        return self.dsn(user, password, name)

    def databases(self) -> list[str]:
        return self.psql("SELECT datname FROM pg_database ORDER BY 1").split()
