"""Backups of a real PostgreSQL (started here: initdb as `postgres`, 127.0.0.1, a free port, scram passwords).

pg_dump -Fc into the archive, row counts per schema-qualified table, a restore drill into a scratch
database that is dropped afterwards, and the password only ever in the tools' environment.
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import quote

import pytest

from helpers import require_tool
from helpers.pg import SUPERUSER_PASSWORD, Postgres, bin_dir
from opsproof.backups import pgtools
from opsproof.backups.take import take_backup, write_archive
from opsproof.backups.restore import drill

PASSWORD = "Sh0p:p@ss/w0rd%x"          # characters a URL must escape: the decoded form is the secret
PATTERN = "daily_*.tar.gz"
SMOKE = ["SELECT count(*) FROM orders", {"sql": "SELECT count(*) FROM \"Sales Dept\".\"Big Table\"", "expect": 7},
         {"sql": "SELECT EXISTS (SELECT 1 FROM customers)", "expect": True}]
TABLES = {"public.orders": 5000, "public.customers": 40, "public.empty": 0, "Sales Dept.Big Table": 7,
          "public.events_2026": 12}


@pytest.fixture(scope="module")
def pg():
    found = bin_dir() or "/usr/lib/postgresql/15/bin"
    require_tool(os.path.join(found, "initdb"), os.path.join(found, "pg_ctl"), "pg_dump", "pg_restore", "psql")
    if os.geteuid() == 0:
        require_tool("runuser")
    server = Postgres().start()
    try:
        server.app_database("shop", "app", PASSWORD)
        server.psql("""
            CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
            INSERT INTO orders (item) SELECT 'item-' || g FROM generate_series(1, 5000) g;
            CREATE TABLE customers (id int PRIMARY KEY, name text);
            INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 40) g;
            CREATE TABLE empty (a int);
            CREATE SCHEMA "Sales Dept";
            CREATE TABLE "Sales Dept"."Big Table" (v int);
            INSERT INTO "Sales Dept"."Big Table" SELECT generate_series(1, 7);
            CREATE TABLE events (day date NOT NULL) PARTITION BY RANGE (day);
            CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
            INSERT INTO events SELECT date '2026-01-01' + g FROM generate_series(0, 11) g;
        """, db="shop", user="app", password=PASSWORD)
        yield server
    finally:
        server.stop()


def app_dsn(pg: Postgres, password: str = PASSWORD) -> str:
    return pg.dsn("app", quote(password, safe=""), "shop")


@pytest.fixture
def calls(monkeypatch):
    """Every PostgreSQL tool the library starts: its argv and whether PGPASSWORD was in its environment."""
    seen: list[dict] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(argv, *a, **kw):
        seen.append({"argv": list(argv), "password": (kw.get("env") or {}).get("PGPASSWORD")})
        return real_run(argv, *a, **kw)

    def popen(argv, *a, **kw):
        seen.append({"argv": list(argv), "password": (kw.get("env") or os.environ).get("PGPASSWORD")})
        return real_popen(argv, *a, **kw)

    monkeypatch.setattr(pgtools.subprocess, "run", run)
    monkeypatch.setattr(pgtools.subprocess, "Popen", popen)
    return seen


def drills(pg: Postgres) -> list[str]:
    return [d for d in pg.databases() if d.startswith("opsproof_drill_")]


def test_backup_and_drill_with_the_password_only_in_the_tools_environment(pg, tmp_path: Path, calls):
    result = take_backup(str(tmp_path), PATTERN, 3, "postgresql", dsn=app_dsn(pg))
    assert result.ok, result.error
    assert result.tables == TABLES
    assert result.source == f"postgresql://app@127.0.0.1:{pg.port}/shop"
    with tarfile.open(result.path) as tar:
        assert tar.getnames() == ["MANIFEST.json", "shop.pgdump"]
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["engine"] == "postgresql" and manifest["tables"] == TABLES and manifest["dump"] == "shop.pgdump"
    inside = gzip.decompress(Path(result.path).read_bytes())
    assert PASSWORD.encode() not in inside and quote(PASSWORD, safe="").encode() not in inside

    outcome = drill(result.path, SMOKE, dsn=app_dsn(pg), scratch_dir=str(tmp_path))
    calls = list(calls)  # the library's own calls (the checks below run psql too)
    assert outcome.ok, outcome.reason
    assert outcome.scratch.startswith("opsproof_drill_") and outcome.dropped and drills(pg) == []
    assert [q["result"] for q in outcome.queries] == ["5000", "7", "t"]
    assert {c["table"]: c["restored"] for c in outcome.counts} == TABLES
    steps = [s["step"] for s in outcome.steps]
    assert steps == ["verify archive", "extract (data filter)", "create scratch database", "pg_restore",
                     "smoke queries", "row counts"], steps
    assert outcome.rto_seconds > 0
    tools = {os.path.basename(c["argv"][0]) for c in calls}
    assert {"pg_dump", "pg_restore", "psql"} <= tools, tools
    restore = [c["argv"] for c in calls if c["argv"][0] == "pg_restore" and "--dbname" in c["argv"]][0]
    assert "--no-owner" in restore and "--no-privileges" in restore
    for call in calls:
        line = " ".join(call["argv"])
        assert PASSWORD not in line and quote(PASSWORD, safe="") not in line, f"a password on a command line: {line}"
        if "--dbname" in call["argv"]:  # a tool that connects (pg_restore -f - only reads the dump file)
            assert call["password"] == PASSWORD, f"{call['argv'][0]} did not get PGPASSWORD"


def test_a_failing_drill_still_drops_its_scratch_database(pg, tmp_path: Path):
    taken = take_backup(str(tmp_path), PATTERN, 3, "postgresql", dsn=app_dsn(pg))
    assert taken.ok, taken.error
    bad_query = drill(taken.path, ["SELECT count(*) FROM no_such_table"], dsn=app_dsn(pg), scratch_dir=str(tmp_path))
    assert not bad_query.ok and "smoke query failed" in bad_query.reason and "no_such_table" in bad_query.reason
    assert bad_query.dropped and drills(pg) == []

    with tarfile.open(taken.path) as tar:
        tar.extractall(tmp_path / "x", filter="data")
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    manifest["tables"]["public.orders"] = 4999
    wrong = tmp_path / "wrong" / "daily_20261126T020000Z.tar.gz"
    wrong.parent.mkdir()
    write_archive(str(wrong), str(tmp_path / "x" / "shop.pgdump"), "shop.pgdump", manifest)
    # On restore.dsn (another role, the superuser): the scratch database is made and dropped there.
    admin = pg.dsn("postgres", SUPERUSER_PASSWORD, "postgres")
    counted = drill(str(wrong), [], dsn=app_dsn(pg), restore_dsn=admin, scratch_dir=str(tmp_path))
    assert not counted.ok and "public.orders: MANIFEST 4999, restored 5000" in counted.reason, counted.reason
    assert counted.dropped and drills(pg) == []
    # A role without CREATEDB cannot make the scratch database: the drill says so and leaves nothing.
    pg.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN "
            "CREATE ROLE reader LOGIN PASSWORD 'reader-pw-1'; END IF; END $$;")
    denied = drill(taken.path, [], dsn=pg.dsn("reader", "reader-pw-1", "shop"), scratch_dir=str(tmp_path))
    assert not denied.ok and "permission denied to create database" in denied.reason, denied.reason
    assert drills(pg) == [] and denied.steps[-1] == {**denied.steps[-1], "step": "create scratch database", "ok": False}


def test_a_wrong_password_fails_without_showing_it(pg, tmp_path: Path):
    wrong = "not-the-Password-42"
    result = take_backup(str(tmp_path), PATTERN, 3, "postgresql", dsn=app_dsn(pg, wrong))
    assert not result.ok and "password authentication failed" in result.error, result.error
    assert wrong not in result.error and not list(tmp_path.glob(PATTERN))


def test_the_suite_against_postgresql_leaves_no_password_in_any_report(pg, suite, example_app):
    config = example_app.config()
    config["backups"]["database"] = {"engine": "postgresql", "dsn": app_dsn(pg)}
    config["backups"]["restore"] = {"rto_minutes": 5, "rpo_hours": 24, "smoke_queries": SMOKE}
    suite.config(config)
    junit = suite.path / "junit.xml"
    result = suite.run("-m", "daily or weekly or monthly", "--apply", "-k", "backup or test_restore or test_rpo",
                       f"--junitxml={junit}")
    assert result.ret == 0, result.stdout.str()
    tests = {t["id"]: t for t in suite.summary()["tests"]}
    restored = [t for i, t in tests.items() if "::test_newest_backup_restores[" in i][0]
    assert restored["outcome"] == "passed"
    evidence = [e["data"] for e in restored["evidence"] if e["label"].startswith("restore drill")][0]
    assert evidence["engine"] == "postgresql" and evidence["dropped"] and drills(pg) == []
    taken = [t for i, t in tests.items() if "::test_backup_taken[" in i][0]
    assert [e["data"] for e in taken["evidence"] if e["label"] == "backup"][0]["tables"] == TABLES
    texts = {"json": json.dumps(suite.summary()), "html": suite.html(), "junit": junit.read_text(),
             "stdout": result.stdout.str()}
    for name, text in texts.items():
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text, f"the password is in the {name}"


def test_for_a_remote_target_the_password_must_come_from_the_target(pg, suite, example_app):
    """Shipped (as to a remote host), a DSN password is refused with the fix; PGPASSWORD on the target works."""
    config = example_app.config()
    config["backups"]["database"] = {"engine": "postgresql", "dsn": app_dsn(pg)}
    suite.config(config)
    refused = suite.run("-m", "daily", "--apply", "-k", "test_backup_taken", env={"OPSPROOF_SHIP": "1"})
    assert refused.ret == 1
    message = [t for t in suite.summary()["tests"] if "test_backup_taken" in t["id"]][0]["message"]
    assert "carries a password" in message and "~/.pgpass" in message and PASSWORD not in message
    config["backups"]["database"]["dsn"] = pg.dsn("app", db="shop")
    suite.config(config)
    ok = suite.run("-m", "daily", "--apply", "-k", "test_backup_taken",
                   env={"OPSPROOF_SHIP": "1", "PGPASSWORD": PASSWORD})
    assert ok.ret == 0, ok.stdout.str()
