"""The config contract: a bad maintenance.yaml stops the run with exit 4 and names file, key and problem."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import config_error
from opsproof import config as cfg


@pytest.mark.parametrize("text, key, words", [
    ("disk: {paths: ['/'], max_used_percent: 150}\n", "disk.max_used_percent", "less than or equal to 100"),
    ("disk: {paths: ['/'], max_used_percent: -1}\n", "disk.max_used_percent", "greater than or equal to 0"),
    ("disk: {paths: ['/'], max_used_percnt: 80}\n", "disk.max_used_percnt", "unknown key"),
    ("disk: {paths: '/'}\n", "disk.paths", "valid list"),
    ("disk: {max_used_percent: 80}\n", "disk.paths", "required key is missing"),
    ("health: [{url: 'http://x/h'}, {url: 'ftp://y'}]\n", "health[1].url", "http:// or https://"),
    ("health: [{url: 'http://x/h', timeout_s: 'soon'}]\n", "health[0].timeout_s", "valid number"),
    ("logs: {error_log: e.log, error_pattern: '[error'}\n", "logs.error_pattern", "regular expression"),
    ("backups: {dir: b, pattern: 'x/daily_*'}\n", "backups.pattern", "without '/'"),
    ("backups: {dir: b, pattern: 'd*', database: {engine: sqlite}}\n", "backups.database", "needs path"),
    ("services: {ports: [70000]}\n", "services.ports", "outside 1..65535"),
    ("bogus_section: {}\n", "bogus_section", "unknown key"),
])
def test_bad_values_name_the_key(tmp_path, text, key, words):
    err = config_error(tmp_path, text)
    assert err.key == key
    assert words in str(err)
    assert str(tmp_path / "maintenance.yaml") in str(err)


def test_missing_service_names_the_key(tmp_path):
    path = tmp_path / "maintenance.yaml"
    path.write_text("disk: {paths: ['/']}\n")
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load(path)
    assert info.value.key == "service" and "required key is missing" in str(info.value)


def test_yaml_syntax_error_names_line(tmp_path):
    err = config_error(tmp_path, "disk:\n  paths: [/")
    assert "YAML syntax error" in str(err) and "line" in str(err)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_not_a_mapping(tmp_path, text):
    path = tmp_path / "maintenance.yaml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load(path)
    assert "must be a mapping" in str(info.value)


def test_missing_file_says_how_it_was_chosen(tmp_path):
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load(tmp_path / "nope.yaml", "--maint-config")
    assert "no such file" in str(info.value) and "--maint-config" in str(info.value)


def test_paths_resolve_against_root(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "m.yaml"
    path.write_text("service: s\nroot: ../srv\ndisk: {paths: ['/', '.', 'data']}\nlogs: {error_log: logs/e.log}\n"
                    "backups: {dir: /abs/b, pattern: 'd_*', database: {engine: sqlite, path: db/app.db}}\n")
    maint = cfg.load(path)
    srv = str(tmp_path / "srv")
    assert maint.root == srv
    assert maint.disk.paths == ["/", srv, f"{srv}/data"]
    assert maint.logs.error_log == f"{srv}/logs/e.log"
    assert maint.backups.dir == "/abs/b"
    assert maint.backups.database.path == f"{srv}/db/app.db"
    assert maint.state_dir == str(tmp_path / "conf" / ".opsproof")
    assert len(maint.sha256) == 64


def test_defaults_fill_optional_keys(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("service: s\ndisk: {paths: ['/']}\nbackups: {dir: b, pattern: 'd_*'}\n")
    maint = cfg.load(path)
    assert (maint.disk.max_used_percent, maint.disk.max_inodes_used_percent) == (85, 90)
    assert (maint.backups.max_age_hours, maint.backups.min_size_bytes, maint.backups.keep) == (26, 1024, 14)
    assert maint.logs is None and maint.health is None


def test_the_shipped_example_is_valid():
    maint = cfg.load(Path(__file__).resolve().parents[1] / "maintenance.yaml")
    assert maint.service == "example-app"


def test_find_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv(cfg.ENV_VAR, str(tmp_path / "env.yaml"))
    assert cfg.find("cli.yaml", str(tmp_path))[1] == "--maint-config"
    assert cfg.find(None, str(tmp_path)) == (tmp_path / "env.yaml", cfg.ENV_VAR)
    monkeypatch.delenv(cfg.ENV_VAR)
    assert cfg.find(None, str(tmp_path))[0] == tmp_path / "maintenance.yaml"


# --- through pytest: exit status 4, one clear message, no traceback, no test runs -------------------------

def test_bad_config_stops_the_run_with_exit_4(suite):
    suite.config("service: svc\ndisk: {paths: ['/'], max_used_percent: 101}\n")
    result = suite.run("-m", "daily")
    assert result.ret == 4
    err = result.stderr.str()
    assert "maintenance.yaml: disk.max_used_percent: Input should be less than or equal to 100" in err
    assert "Traceback" not in err + result.stdout.str()
    assert not suite.reports.exists() or not list(suite.reports.glob("*.html"))


def test_config_from_option_and_environment(suite, tmp_path):
    other = tmp_path / "elsewhere.yaml"
    other.write_text("service: svc\ndisk: {paths: ['/'], max_used_percent: 100, max_inodes_used_percent: 100}\n")
    suite.config("service: broken\ndisk: {paths: 7}\n")  # the default file is bad: proves it is not read
    by_option = suite.run("-m", "daily", f"--maint-config={other}")
    assert by_option.ret == 0, by_option.stdout.str()
    assert f"config {other} (from --maint-config)" in by_option.stdout.str()
    by_env = suite.run("-m", "daily", env={"OPSPROOF_CONFIG": str(other)})
    assert by_env.ret == 0, by_env.stdout.str()
    assert "(from OPSPROOF_CONFIG)" in by_env.stdout.str()
    default = suite.run("-m", "daily")
    assert default.ret == 4 and "disk.paths" in default.stderr.str()


def test_missing_config_file_exit_4(suite, tmp_path):
    result = suite.run("-m", "daily", f"--maint-config={tmp_path / 'absent.yaml'}")
    assert result.ret == 4
    assert "absent.yaml: no such file (chosen by --maint-config)" in result.stderr.str()


def test_header_names_config_digest_and_hosts(suite):
    path = suite.config({"service": "svc", "disk": {"paths": ["/"], "max_used_percent": 100,
                                                    "max_inodes_used_percent": 100}})
    import hashlib

    result = suite.run("-m", "daily")
    out = result.stdout.str()
    assert f"config {path}" in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() in out
    assert "opsproof: hosts local" in out


def test_left_out_sections_skip_with_reason(suite):
    suite.config({"service": "svc", "disk": {"paths": ["/"], "max_used_percent": 100,
                                             "max_inodes_used_percent": 100}})
    result = suite.run("-m", "daily or postdeploy or postmaintenance or premaintenance")
    assert result.ret == 0
    tests = suite.summary()["tests"]
    skipped = {t["id"]: t.get("message", "") for t in tests if t["outcome"] == "skipped"}
    assert any("no backups section in maintenance.yaml" in m for m in skipped.values())
    assert any("no health section" in m for m in skipped.values())
    assert any("no logs section" in m for m in skipped.values())
    assert any("no services section" in m for m in skipped.values())
    passed = [t["id"] for t in tests if t["outcome"] == "passed"]
    # Only the configured disk section passes, besides the cadence items (no ledger yet: nothing is overdue).
    assert passed and all("test_disk" in t or "test_cadence.py" in t for t in passed), passed
    assert any("test_disk" in t for t in passed)


def test_check_without_cadence_marker_is_an_error(suite):
    suite.config({"service": "svc", "disk": {"paths": ["/"]}})
    (suite.path / "checks" / "test_unscheduled.py").write_text(
        "def test_forgotten():\n    '''A check nobody schedules.'''\n")
    result = suite.run()
    assert result.ret == 4
    assert "checks/test_unscheduled.py::test_forgotten" in result.stderr.str()
    assert "no cadence or checklist marker" in result.stderr.str()


def test_unknown_marker_is_rejected(suite):
    suite.config({"service": "svc", "disk": {"paths": ["/"]}})
    (suite.path / "checks" / "test_typo.py").write_text(
        "import pytest\n@pytest.mark.dayly\ndef test_typo():\n    '''typo'''\n")
    result = suite.run()
    assert result.ret != 0
    assert "'dayly' not found in `markers`" in result.stdout.str() + result.stderr.str()


def test_cli_check_config(tmp_path, capsys):
    from opsproof.cli import main

    good = tmp_path / "good.yaml"
    good.write_text("service: s\ndisk: {paths: ['/']}\n")
    assert main(["check-config", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: s\ndisk: {paths: ['/'], keep: 3}\n")
    assert main(["check-config", str(bad)]) == 4
    assert "disk.keep: unknown key" in capsys.readouterr().err


def test_maint_config_with_a_space_names_the_fix(suite, tmp_path):
    """pytest would say "unrecognized arguments"; the installed guard says what to write instead."""
    suite.config({"service": "svc", "disk": {"paths": ["/"]}})
    elsewhere = tmp_path / "cfg" / "shop.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text("service: shop\n")
    result = suite.run("-m", "daily", "--maint-config", str(elsewhere))
    assert result.ret == 4
    assert f"write --maint-config={elsewhere} (with '=')" in result.stderr.str()
    assert "OPSPROOF_CONFIG" in result.stderr.str()


def test_config_is_a_leaf_no_import_leaves_the_package():
    """Every import in opsproof/config, also inside functions, stays in config or outside opsproof."""
    import ast

    package = Path(cfg.__file__).parent
    leaks = []
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                outside = name.split(".")[0] == "opsproof" and not name.startswith("opsproof.config")
                if name.startswith("..") or outside:
                    leaks.append(f"{source.name}:{node.lineno}: {name}")
    assert len(list(package.glob("*.py"))) >= 8, "the config package was not found"
    assert not leaks, f"config must import nothing else of opsproof: {leaks}"
