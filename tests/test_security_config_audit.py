"""Configuration audit: `opsproof baseline` writes sha256sum's format; drift, added, removed, world-readable and
world-writable files fail by name; a secret in a config file never reaches the output, report or summary."""
from __future__ import annotations

import subprocess
import sys

import yaml

SECRET = "hunter2-very-secret-token"
CHECK = "checks/test_config_audit.py"


def baseline(config) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opsproof.cli", "baseline", f"--maint-config={config}"],
                          capture_output=True, text=True, timeout=60)


def _setup(suite, tmp_path, forbid: bool = True):
    root = tmp_path / "srv"
    (root / "config").mkdir(parents=True)
    for name, text in (("app.yml", f"password: {SECRET}\n"), ("db.yml", "port: 5432\n")):
        (root / "config" / name).write_text(text)
        (root / "config" / name).chmod(0o640)
    return root, suite.config({"service": "audit-test", "root": str(root), "config_audit": {
        "files": ["config/*.yml"], "baseline": "config.sha256", "forbid_world_readable": forbid}})


def _results(suite) -> dict:
    return {t["id"].split("::")[1].split("[")[0]: t for t in suite.summary()["tests"]}


def test_baseline_is_sha256sum_format_and_clean_config_passes(suite, tmp_path):
    root, config = _setup(suite, tmp_path)
    written = baseline(config)
    assert written.returncode == 0, written.stderr
    assert "2 file(s) recorded" in written.stdout
    check = subprocess.run(["sha256sum", "-c", "config.sha256"], cwd=root, capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and "config/app.yml: OK" in check.stdout, check
    result = suite.run("-m", "monthly", CHECK)
    assert result.ret == 0, result.stdout.str()
    assert {t["outcome"] for t in _results(suite).values()} == {"passed"}


def test_drift_and_permissions_fail_by_name_without_contents(suite, tmp_path):
    root, config = _setup(suite, tmp_path)
    assert baseline(config).returncode == 0
    (root / "config" / "app.yml").write_text(f"password: {SECRET}-rotated\n")   # changed
    (root / "config" / "db.yml").unlink()                                        # removed
    (root / "config" / "new.yml").write_text("debug: true\n")                    # added
    (root / "config" / "new.yml").chmod(0o646)                                   # world-readable and -writable
    result = suite.run("-m", "monthly", CHECK, "--junitxml=reports/junit.xml")
    assert result.ret == 1 and (suite.reports / "junit.xml").is_file()
    tests = _results(suite)
    drift = tests["test_config_matches_baseline"]["message"]
    assert "3 configuration file(s) differ from the baseline config.sha256" in drift
    assert "added: config/new.yml; removed: config/db.yml; changed: config/app.yml" in drift
    perms = tests["test_config_permissions"]["message"]
    assert "world-writable configuration file(s): config/new.yml" in perms
    everything = result.stdout.str() + result.stderr.str()
    everything += "".join(p.read_text() for p in suite.reports.iterdir() if p.is_file())
    assert SECRET not in everything, "a config file's contents reached the output, the report, JSON or JUnit"

    (root / "config" / "new.yml").chmod(0o644)
    suite.run("-m", "monthly", CHECK)
    perms = _results(suite)["test_config_permissions"]["message"]
    assert "world-readable configuration file(s) (config_audit.forbid_world_readable): config/new.yml" in perms


def test_world_readable_allowed_without_forbid_and_missing_baseline_fails(suite, tmp_path):
    root, config = _setup(suite, tmp_path, forbid=False)
    (root / "config" / "db.yml").chmod(0o644)
    suite.run("-m", "monthly", CHECK)
    tests = _results(suite)
    assert "no baseline" in tests["test_config_matches_baseline"]["message"]
    assert "opsproof baseline --maint-config=PATH" in tests["test_config_matches_baseline"]["message"]
    assert baseline(config).returncode == 0
    assert suite.run("-m", "monthly", CHECK).ret == 0


def test_baseline_without_section_exits_4(tmp_path):
    config = tmp_path / "maintenance.yaml"
    config.write_text(yaml.safe_dump({"service": "s"}))
    result = baseline(config)
    assert result.returncode == 4 and "no config_audit section" in result.stderr


def test_a_glob_matching_nothing_fails_baseline_and_audit(suite, tmp_path):
    """A pattern that matches no file (a typo, a folder that does not exist) audits nothing: it is named, never
    passed over — `opsproof baseline` refuses, the drift check names it, and with nothing matched at all both fail."""
    root, config = _setup(suite, tmp_path)
    audit = {"files": ["config/*.yml", "conf.d/*.conf"], "baseline": "config.sha256"}
    suite.config({"service": "audit-test", "root": str(root), "config_audit": audit})
    refused = baseline(config)
    assert refused.returncode == 1 and "conf.d/*.conf matches no file" in refused.stderr, refused
    assert not (root / "config.sha256").exists(), "no baseline written from a pattern that matches nothing"

    suite.config({"service": "audit-test", "root": str(root), "config_audit": dict(audit, files=["config/*.yml"])})
    assert baseline(config).returncode == 0
    suite.config({"service": "audit-test", "root": str(root), "config_audit": audit})
    assert suite.run("-m", "monthly", CHECK).ret == 1
    tests = _results(suite)
    assert "conf.d/*.conf matches no file" in tests["test_config_matches_baseline"]["message"], tests
    assert tests["test_config_permissions"]["outcome"] == "passed"

    suite.config({"service": "audit-test", "root": str(root), "config_audit": dict(audit, files=["conf.d/*.conf"])})
    (root / "config.sha256").write_text("")
    suite.run("-m", "monthly", CHECK)
    tests = _results(suite)
    for name in ("test_config_matches_baseline", "test_config_permissions"):
        assert tests[name]["outcome"] == "failed", tests[name]
        assert "config_audit.files match no file on local: conf.d/*.conf" in tests[name]["message"], tests[name]
