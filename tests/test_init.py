"""`opsproof init`: a starting maintenance.yaml discovered from a running service, that `opsproof check-config`
accepts and `pytest -m daily` passes on against the healthy service — and fails, check by check, once a fault is
injected. On the example service, on a second service with PostgreSQL, TLS, nginx-format logs and a Prometheus beside
it, and over SSH. The thresholds' rules and the refusals are tested on their own first."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, require_tool
from helpers.example import ExampleApp
from helpers.sshd import ALIAS
from opsproof.discover import decide, survey
from opsproof.discover.secrets import clean_dsn, dsns_in


def opsproof(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opsproof.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))


def written(path: Path) -> dict:
    """The generated file, as the config loader will read it (and its text, under "_text")."""
    text = path.read_text()
    return dict(yaml.safe_load(text), _text=text)


def prose(text: str) -> str:
    """The file's words in one line, comment marks and wrapping gone: what a sentence in a comment says."""
    return " ".join(word for line in text.splitlines() for word in line.lstrip("# ").split())


def by_id(suite) -> dict[str, str]:
    return {t["id"].split("::")[-1]: t["outcome"] for t in suite.summary()["tests"]}


def outcomes_of(suite, name: str) -> set[str]:
    return {outcome for test, outcome in by_id(suite).items() if test.split("[")[0] == name}


# ---- the rules: thresholds from what was measured, and what a written file may never hold

@pytest.mark.parametrize("names, pattern", [
    (["daily_20261206T193134Z.tar.gz"], "daily_*.tar.gz"),
    (["daily_20261206T183915Z.tar.gz", "daily_20261205T183913Z.tar.gz"], "daily_*.tar.gz"),
    (["shop-2026-01-03.dump", "shop-2026-01-02.dump"], "shop-*.dump"),
    (["db_13.sql.gz", "db_2.sql.gz"], "db_*.sql.gz"),
])
def test_a_backup_pattern_puts_the_changing_part_under_one_star(names, pattern):
    assert decide.backup_pattern(names) == pattern


def test_disk_limits_keep_the_guides_value_unless_today_is_near_it():
    assert decide.disk_limit(40.0, 85)[0] == 85
    assert decide.disk_limit(83.2, 85)[0] == 89          # 5 points above today: passes now, growth still fails it
    assert decide.disk_limit(97.0, 85)[0] == 99
    assert decide.disk_limit(None, 90)[0] == 90


def test_backup_age_follows_the_schedule_the_archives_show():
    now = 1_000_000.0
    daily = [now - 3600 - d * 86400 for d in range(5)]
    hourly = [now - 600 - h * 3600 for h in range(5)]
    assert decide.backup_age(daily, now)[0] == 26
    assert decide.backup_age(hourly, now)[0] == 3          # 1 h * 1.1 + 1, rounded up
    assert decide.backup_age([now - 5, now - 3], now)[0] == 26   # seconds apart: taken by hand, no schedule


def test_an_slo_target_leaves_half_the_budget_and_room_for_errors():
    assert decide.slo_target(200, 0)[0] == 99.0           # 99.5 % would allow one bad request only
    assert decide.slo_target(100_000, 10)[0] == 99.9
    assert decide.slo_target(1000, 20)[0] == 95.0         # 98 % attained: 98 % would have spent all its budget
    low, why = decide.slo_target(100, 40)
    assert low is not None and low < 60 and "below every usual target" in why
    assert decide.slo_target(0, 0)[0] is None


def test_a_dsn_loses_its_password_wherever_it_is_written():
    assert clean_dsn("postgresql://shop:s3cr%40t@db:5432/shop") == ("postgresql://shop@db:5432/shop", True)
    assert clean_dsn("postgres://db/shop?sslmode=require&password=x") == ("postgresql://db/shop?sslmode=require", True)
    assert clean_dsn("postgresql://app@127.0.0.1/app") == ("postgresql://app@127.0.0.1/app", False)
    assert dsns_in("url: 'postgresql://a:b@h/d'\nother: postgresql://a:b@h/d,") == [("postgresql://a@h/d", True)]


def _proc(pid: int, comm: str, files: list[str], ports: int = 0, unit: str | None = None) -> dict:
    return {"pid": pid, "ppid": 1, "comm": comm, "argv": [f"/usr/bin/{comm}"], "cwd": "/", "unit": unit,
            "ports": [{"address": "127.0.0.1", "port": ports}] if ports else [], "files": files, "env": {}}


def test_the_service_is_its_name_its_unit_or_the_one_program_listening():
    seen = {"processes": [_proc(10, "sshd", [], 22), _proc(11, "shop-api", ["/srv/shop/log/a.log"], 8080, "shop.service"),
                          _proc(12, "postgres", [], 5432), _proc(13, "bash", [])]}
    assert survey.pick(seen, None)[:2] == ("shop-api", [seen["processes"][1]])     # infrastructure is not a candidate
    assert survey.pick(seen, "shop")[1] == [seen["processes"][1]]                   # by its systemd unit
    assert survey.pick(seen, "nope")[:2] == (None, [])
    seen["processes"].append(_proc(14, "worker", [], 9000))
    assert survey.pick(seen, None) == (None, [], ["shop-api", "worker"])            # two programs: name one


def test_copies_of_a_program_in_two_folders_need_root_to_be_told_apart():
    a, b = _proc(1, "app", ["/srv/a/logs/x.log"]), _proc(2, "app", ["/srv/b/logs/x.log"])
    assert survey.instances([a, b], None) == ([], [{"root": "/srv/a", "pids": [1]}, {"root": "/srv/b", "pids": [2]}])
    assert survey.instances([a, b], "/srv/b") == ([b], [])
    assert survey.instances([a, b], "/srv/c")[0] == []
    assert survey.find_root([a], {}, None) == ("/srv/a", "where the files the service holds open lie")


# ---- refusals: exit 4, one clear line, no traceback, nothing written

def test_an_existing_file_is_not_overwritten_without_force(tmp_path):
    target = tmp_path / "maintenance.yaml"
    target.write_text("service: mine\n")
    done = opsproof("init", "--service", "example-app", "--out", str(target))
    assert done.returncode == 4 and "Traceback" not in done.stderr, done
    assert f"{target} exists: not overwritten (give --force" in done.stderr
    assert target.read_text() == "service: mine\n"


@pytest.mark.parametrize("args, said", [
    (["--service", "no-such-service-xyz"], "no process on local is named 'no-such-service-xyz'"),
    (["--service", "x", "--out", "/nonexistent-dir/m.yaml"], "/nonexistent-dir does not exist"),
    (["--service", "x", "--out", "/"], "/ is a directory"),
])
def test_bad_input_exits_4_naming_what_is_wrong(tmp_path, args, said):
    args = args if "--out" in args else [*args, "--out", str(tmp_path / "m.yaml")]
    done = opsproof("init", *args)
    assert done.returncode == 4 and said in done.stderr and "Traceback" not in done.stderr, done
    assert not Path(args[args.index("--out") + 1]).is_file()      # the file each case named was not written


# ---- the example service

@pytest.mark.slow
def test_two_instances_of_one_program_are_told_apart_by_root(example_app, tmp_path_factory):
    """Several copies of a program may run from different folders (this machine runs other tests' examples too):
    without --root that is said, naming each folder; with it, the one meant is surveyed."""
    other = ExampleApp(tmp_path_factory.mktemp("other-example"))
    assert other.ctl("up").returncode == 0
    try:
        out = tmp_path_factory.mktemp("init") / "m.yaml"
        done = opsproof("init", "--service", "example-app", "--out", str(out))
        assert done.returncode == 4 and "runs on local from more than one folder" in done.stderr, done
        assert str(example_app.root) in done.stderr and str(other.root) in done.stderr and "--root DIR" in done.stderr
        assert not out.exists()
        done = opsproof("init", "--service", "example-app", "--root", str(other.root), "--out", str(out))
        assert done.returncode == 0, done.stderr
        assert written(out)["services"]["ports"] == [other.port]
    finally:
        other.stop()


@pytest.mark.slow
def test_on_the_example_daily_passes_and_each_fault_fails_its_check(suite, example_app):
    out = suite.path / "maintenance.yaml"
    done = opsproof("init", "--service", "example-app", "--root", str(example_app.root), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "found:" in done.stdout and "window: left out (your team's decision)" in done.stdout
    data = written(out)
    assert data["service"] == "example-app" and data["root"] == str(example_app.root)
    assert data["logs"]["error_log"] == "logs/error.log"
    assert data["backups"]["pattern"] == "daily_*.tar.gz" and data["backups"]["dir"] == "backups"
    assert data["backups"]["database"] == {"engine": "sqlite", "path": "data/app.db"}
    assert data["health"] == [{"name": f"example-app-{example_app.port}", "url":
                               f"http://127.0.0.1:{example_app.port}/health", "status": 200, "json": {"status": "ok"},
                               "max_latency_ms": 500, "timeout_s": 5}]
    assert data["services"] == {"processes": ["example-app"], "ports": [example_app.port]}
    assert data["slo"]["source"] == {"access_log": "logs/access.log"} and data["rollback_plan"] == "docs/rollback.md"
    assert data["security"]["npm_audit"] == {"dir": ".", "fail_at": "high"}
    assert "# config_audit:" in data["_text"] and "# window:" in data["_text"]  # present, commented, with what to add
    checked = opsproof("check-config", str(out))
    assert checked.returncode == 0, checked.stderr

    result = suite.run("-m", "daily")
    assert result.ret == 0, result.stdout.str()
    passed = {name for name, outcome in by_id(suite).items() if outcome == "passed"}
    for check in ("test_disk_space", "test_no_new_errors", "test_backup_exists", "test_newest_backup_is_fresh",
                  "test_newest_archive_is_intact", "test_objective_met"):
        assert any(name.startswith(check) for name in passed), (check, by_id(suite))
    assert any(name.startswith("test_endpoint_healthy") for name in passed), by_id(suite)

    with open(example_app.root / "logs" / "error.log", "a") as fh:                     # an error line
        fh.write(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} ERROR injected by the test\n")
    for archive in (example_app.root / "backups").iterdir():                           # the backups gone
        archive.unlink()
    example_app.stop()                                                                  # the service down
    result = suite.run("-m", "daily")
    assert result.ret == 1, result.stdout.str()
    for check in ("test_no_new_errors", "test_backup_exists", "test_endpoint_healthy"):
        assert outcomes_of(suite, check) == {"failed"}, (check, by_id(suite))
    assert outcomes_of(suite, "test_disk_space") == {"passed"}


# ---- PostgreSQL, TLS, nginx-format logs, pg_dump files and a Prometheus

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """shop-api (helpers/shop.py) on a real PostgreSQL, with a Prometheus running beside it."""
    from helpers.pg import Postgres, bin_dir
    from helpers.prom import PromServer
    from helpers.shop import Shop
    from opsproof.backups.take import take_backup

    found = bin_dir() or "/usr/lib/postgresql/15/bin"
    require_tool(os.path.join(found, "initdb"), os.path.join(found, "pg_ctl"), "pg_dump", "psql", "openssl",
                 "prometheus")
    pg = Postgres().start()
    prom = shop = None
    try:
        dsn = pg.app_database("shop", "shop", "Sh0p-pa55word")
        pg.psql("CREATE TABLE orders (id serial PRIMARY KEY, item text); INSERT INTO orders (item) "
                "SELECT 'i' || g FROM generate_series(1, 500) g;", db="shop", user="shop", password="Sh0p-pa55word")
        root = tmp_path_factory.mktemp("shop")
        shop = Shop(root, dsn)
        made = take_backup(str(root / "backups"), "shop_*.tar.gz", 14, "postgresql", dsn=dsn)
        assert made.ok, made.error
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        subprocess.run(["pg_dump", "-Fc", "-f", str(root / "dumps" / f"shop-{stamp}.dump"), pg.dsn("shop", db="shop")],
                       env=dict(os.environ, PGPASSWORD="Sh0p-pa55word"), check=True, capture_output=True, timeout=120)
        prom = PromServer(tmp_path_factory.mktemp("prom")).start()
        shop.start()
        shop.traffic(300)
        yield shop, pg, prom
    finally:
        for server in (shop, prom, pg):
            if server:
                server.stop()


@pytest.mark.slow
def test_on_a_postgres_service_with_tls_and_prometheus(suite, stack):
    shop, pg, prom = stack
    out = suite.path / "maintenance.yaml"
    done = opsproof("init", "--service", "shop-api", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    data = written(out)
    assert "Sh0p-pa55word" not in data["_text"] and "Sh0p-pa55word" not in done.stdout + done.stderr
    assert data["root"] == str(shop.root)
    assert data["backups"]["database"] == {"engine": "postgresql", "dsn": f"postgresql://shop@127.0.0.1:{pg.port}/shop"}
    assert "$DATABASE_URL" in data["_text"] and "PGPASSWORD" in data["_text"]
    assert data["backups"]["pattern"] == "shop_*.tar.gz"
    assert "1 pg_dump custom-format dumps in dumps (pattern shop-*.dump" in prose(data["_text"]), data["_text"]
    assert data["logs"]["error_log"] == "log/shop.err" and data["logs"]["error_pattern"] == r"\[(error|crit|alert|emerg)\]"
    urls = {e["url"]: e for e in data["health"]}
    plain, secure = (f"http://127.0.0.1:{shop.http_port}/healthz", f"https://127.0.0.1:{shop.tls_port}/healthz")
    assert set(urls) == {plain, secure}
    assert urls[plain]["json"] == {"status": "pass"} and urls[secure]["verify_tls"] is False
    assert data["security"]["tls"] == [{"host": "127.0.0.1", "port": shop.tls_port, "min_days": 30}]
    assert "CN=shop.test" in data["_text"] or "shop.test, issued by shop.test" in data["_text"]
    # The Prometheus beside it (another test's may run too: each is named, the first written)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/-/ready", data["monitoring"]["url"])
    assert f"http://127.0.0.1:{prom.port}/-/ready" in prose(data["_text"])
    assert data["slo"]["source"] == {"access_log": "log/access.log"}
    assert data["slo"]["objectives"][0]["target"] == 99.0
    assert data["rollback_plan"] == "docs/runbook.md"
    assert data["services"] == {"processes": ["shop-api"], "ports": sorted([shop.http_port, shop.tls_port])}

    result = suite.run("-m", "daily")
    assert result.ret == 0, result.stdout.str()
    for check in ("test_no_new_errors", "test_backup_exists", "test_newest_archive_is_intact", "test_objective_met",
                  "test_endpoint_healthy"):
        assert outcomes_of(suite, check) == {"passed"}, (check, by_id(suite))
    premaintenance = suite.run("-m", "premaintenance", "-k", "monitoring or rollback")
    assert premaintenance.ret == 0, premaintenance.stdout.str()

    assert shop.get("/boom") == 500                                    # an [error] line in shop.err
    (shop.root / "run" / "broken").write_text("")                      # /healthz answers 503
    try:
        result = suite.run("-m", "daily")
    finally:
        (shop.root / "run" / "broken").unlink()
    assert result.ret == 1, result.stdout.str()
    assert outcomes_of(suite, "test_no_new_errors") == {"failed"}
    assert outcomes_of(suite, "test_endpoint_healthy") == {"failed"}
    assert outcomes_of(suite, "test_backup_exists") == {"passed"}


# ---- over SSH: the same survey, shipped to the target's python3

@pytest.mark.slow
def test_over_ssh_the_survey_runs_on_the_target(suite, example_app, sshd):
    accepted = sshd.log.read_text().count("Accepted publickey")
    spec = f"ssh://{ALIAS}?ssh_config={sshd.ssh_config}"
    out = suite.path / "maintenance.yaml"
    done = opsproof("init", "--host", spec, "--service", "example-app", "--root", str(example_app.root), "--out",
                    str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sshd.log.read_text().count("Accepted publickey") > accepted, "the survey did not go over SSH"
    data = written(out)
    assert data["root"] == str(example_app.root) and data["services"]["processes"] == ["example-app"]
    assert "listens on loopback only: skipped for a remote host" in data["_text"]
    assert f"--hosts={spec}" in data["_text"]
    result = suite.run("-m", "daily", f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}")
    assert result.ret == 0, result.stdout.str()
    assert outcomes_of(suite, "test_backup_exists") == {"passed"} and outcomes_of(suite, "test_disk_space") == {"passed"}
    assert outcomes_of(suite, "test_endpoint_healthy") == {"skipped"}       # loopback, from here: said, not passed
    with open(example_app.root / "logs" / "error.log", "a") as fh:
        fh.write("2026-01-01T00:00:00Z FATAL injected over ssh\n")
    result = suite.run("-m", "daily", f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}")
    assert result.ret == 1 and outcomes_of(suite, "test_no_new_errors") == {"failed"}, result.stdout.str()


def test_a_tls_port_whose_certificate_cannot_be_read_is_said_not_a_crash():
    """A port that completed a handshake but whose certificate opsproof cannot parse: the TLS check is still drafted
    (it will say what it finds) and the found-list says why the certificate was not read (it raised TypeError)."""
    from opsproof.discover import certs, draft_guard

    ports = [{"port": 8443, "address": "127.0.0.1", "connect": "127.0.0.1", "tls_der": "bm90IGEgY2VydA=="}]
    lines, notes = draft_guard._tls({"ports": ports}, False, certs.of_ports(ports))
    assert any("port: 8443" in line for line in lines), lines
    error = certs.of_ports(ports)[8443].error
    assert error and notes == [f"port 8443: could not read its certificate: {error}"], notes
