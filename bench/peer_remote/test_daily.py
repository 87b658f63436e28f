"""The six daily checks as a plain pytest-testinfra + requests suite writes them for a remote host: the peer of
`pytest -m daily --hosts=ssh://...` in bench/bench_remote.py. testinfra's own parametrization (`--hosts`,
`--ssh-config`) gives the host; the example service's root (EXAMPLE_ROOT) and port (EXAMPLE_PORT) are as the host
sees them, the thresholds those of the example's maintenance.yaml, written in as such a suite does."""
import os
import time

import requests

ROOT = os.environ["EXAMPLE_ROOT"]
PORT = int(os.environ["EXAMPLE_PORT"])


def test_disk_space(host):
    for path in ("/", ROOT):
        used = host.run("df -P %s", path).stdout.splitlines()[1].split()[4]
        assert int(used.rstrip("%")) <= 90
        iused = host.run("df -Pi %s", path).stdout.splitlines()[1].split()[4]
        assert iused == "-" or int(iused.rstrip("%")) <= 90


def test_newest_backup_fresh(host):
    newest = host.run("ls -t %s/backups/daily_*.tar.gz", ROOT).stdout.split()[0]
    backup = host.file(newest)
    assert backup.size >= 1024
    assert time.time() - backup.mtime.timestamp() <= 26 * 3600


def test_newest_backup_intact(host):
    newest = host.run("ls -t %s/backups/daily_*.tar.gz", ROOT).stdout.split()[0]
    assert host.run("tar -tzf %s", newest).rc == 0


def test_error_log(host):
    count = host.run("grep -c -E %s %s/logs/error.log", "ERROR|CRITICAL|FATAL", ROOT)
    assert count.rc in (0, 1) and int(count.stdout.strip() or 0) == 0


def test_health():
    resp = requests.get(f"http://127.0.0.1:{PORT}/health", timeout=5)
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    assert resp.elapsed.total_seconds() * 1000 <= 500


def test_port_listening(host):
    assert host.socket(f"tcp://0.0.0.0:{PORT}").is_listening or host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
