"""Small parts of the backup work: DSNs without their passwords, secrets from the config, the shipped runner."""
from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

import pytest
import testinfra

from opsproof.backups import archive
from opsproof.backups import pgtools

from opsproof.hosts import ship as shipped
from opsproof.backups.archive import Verification
from opsproof.config import Maint
from opsproof.report.redact import config_secrets
from opsproof.hosts.target import Target, TargetError


@pytest.mark.parametrize("dsn, without, password", [
    ("postgresql://app:s3cret@db:5432/shop", "postgresql://app@db:5432/shop", "s3cret"),
    ("postgresql://app:p%40ss%3Aw@db/shop?sslmode=require", "postgresql://app@db/shop?sslmode=require", "p@ss:w"),
    ("postgres://app@db/shop?password=qs-secret&sslmode=require", "postgres://app@db/shop?sslmode=require", "qs-secret"),
    ("postgresql://app@h1:5432,h2:5433/shop", "postgresql://app@h1:5432,h2:5433/shop", None),
    ("host=db user=app password=s3cret dbname=shop", "host=db user=app dbname=shop", "s3cret"),
    ("host=db password='a b\\'c' dbname=shop", "host=db dbname=shop", "a b'c"),
])
def test_split_password_takes_it_out_of_either_form(dsn: str, without: str, password):
    assert pgtools.split_password(dsn) == (without, password)


def test_other_database_same_server():
    assert pgtools.with_dbname("postgresql://app@db:5432/shop?sslmode=require", "opsproof_drill_1") == \
        "postgresql://app@db:5432/opsproof_drill_1?sslmode=require"
    assert pgtools.with_dbname("host=db dbname=shop user=app", "x y") == "host=db user=app dbname='x y'"
    assert pgtools.dbname("postgresql://app@db/shop") == "shop" and pgtools.dbname("host=db dbname=s") == "s"
    assert pgtools.quote_ident('we"ird') == '"we""ird"'


def test_copy_lines_name_schema_qualified_tables():
    assert pgtools._qualified(b'public.orders (id, item) FROM stdin;\n')[0] == "public.orders"
    assert pgtools._qualified(b'"Sales Dept"."Big ""Q"" Table" (v) FROM stdin;\n')[0] == 'Sales Dept.Big "Q" Table'


def test_dsn_passwords_are_secrets_of_the_config():
    maint = Maint.model_validate({"service": "s", "backups": {
        "dir": "b", "pattern": "d_*.tar.gz",
        "database": {"engine": "postgresql", "dsn": "host=db user=app password='kw Secret' dbname=shop"},
        "restore": {"dsn": "postgresql://admin:p%40ssWord@db/postgres"}}})
    secrets = config_secrets(maint)
    assert "kw Secret" in secrets and "p@ssWord" in secrets and "p%40ssWord" in secrets


def _archive(tmp_path: Path) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b'{"format": 1, "engine": "sqlite", "created_at": "2026-11-26T02:00:00Z", "members": [], "tables": {}}'
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "daily_1.tar.gz"
    path.write_bytes(gzip.compress(buf.getvalue()))
    return path


def test_the_shipped_bundle_runs_in_a_fresh_python_with_the_same_result(tmp_path: Path, monkeypatch):
    target = Target(testinfra.get_host("local://"), 30)
    path = _archive(tmp_path)
    here = shipped.call(target, "opsproof.backups.archive:verify", {"path": str(path)}, 30, Verification)
    # Break the in-process function: the shipped run does not use this process's modules.
    monkeypatch.setattr(archive, "verify", lambda **kw: pytest.fail("ran in-process"))
    there = shipped.call(target, "opsproof.backups.archive:verify", {"path": str(path)}, 30, Verification, ship=True)
    assert there.ok and here.ok
    assert {**there.__dict__, "seconds": 0} == {**here.__dict__, "seconds": 0}
    with pytest.raises(TargetError, match="(?s)did not run on the target.*unexpected keyword argument 'nope'"):
        shipped.call(target, "opsproof.backups.archive:verify", {"path": str(path), "nope": 1}, 30, Verification,
                     ship=True)


def test_every_bundle_fits_one_command_line_argument():
    """Linux caps one argument at 128 KiB (MAX_ARG_STRLEN); a bundle travels as one, base64-encoded."""
    library = Path(shipped.ROOT) / "opsproof"
    called = {m for f in library.rglob("*.py") for m in re.findall(r'shipped\.call\([^"]*"([\w.]+):', f.read_text())}
    assert {"opsproof.backups.take", "opsproof.backups.archive", "opsproof.backups.restore"} <= called
    for entry in called:
        assert len(shipped.bundle(entry)) < 100_000, entry
