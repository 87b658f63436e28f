"""The six daily checks as a plain pytest-testinfra + requests suite would write them: the start-up peer of
`pytest -m daily` in bench/bench_startup.py. It reads the example service (examples/app) at EXAMPLE_ROOT on
EXAMPLE_PORT, with the thresholds of the example's maintenance.yaml written in, as such a suite does."""
import os
import time

import pytest
import requests

ROOT = os.environ["EXAMPLE_ROOT"]
PORT = int(os.environ["EXAMPLE_PORT"])


@pytest.fixture(scope="module")
def host():
    import testinfra

    return testinfra.get_host("local://")


@pytest.mark.parametrize("path", ["/", ROOT])
def test_disk_space(host, path):
    used = host.run("df -P %s", path).stdout.splitlines()[1].split()[4]
    assert int(used.rstrip("%")) <= 90


@pytest.mark.parametrize("path", ["/", ROOT])
def test_inodes(host, path):
    used = host.run("df -Pi %s", path).stdout.splitlines()[1].split()[4]
    assert used == "-" or int(used.rstrip("%")) <= 90


def test_newest_backup_fresh_and_intact(host):
    newest = host.run("ls -t %s/backups/daily_*.tar.gz", ROOT).stdout.split()[0]
    backup = host.file(newest)
    assert backup.size >= 1024
    assert time.time() - backup.mtime.timestamp() <= 26 * 3600
    assert host.run("tar -tzf %s", newest).rc == 0


def test_error_log(host):
    count = host.run("grep -c -E %s %s/logs/error.log", "ERROR|CRITICAL|FATAL", ROOT)
    assert count.rc in (0, 1) and int(count.stdout.strip() or 0) == 0


def test_health():
    resp = requests.get(f"http://127.0.0.1:{PORT}/health", timeout=5)
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    assert resp.elapsed.total_seconds() * 1000 <= 500


def test_port_listening(host):
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
