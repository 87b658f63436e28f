"""security, dependencies and config_audit: strict sections (exit 4 naming the key path), paths resolved against root."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import config_error
from opsproof import config as cfg


@pytest.mark.parametrize("text, key, words", [
    ("security: {npm_audti: {dir: .}}", "security.npm_audti", "unknown key"),
    ("security: {npm_audit: {dir: ., fail_at: severe}}", "security.npm_audit.fail_at", "'moderate'"),
    ("security: {pip_audit: {requirements: r.txt, fail_at: urgent}}", "security.pip_audit.fail_at", "'critical'"),
    ("security: {pip_audit: {requirements: r.txt, path: /venv}}", "security.pip_audit", "not both"),
    ("security: {tls: [{host: a.example, port: 0}]}", "security.tls[0].port", "outside 1..65535"),
    ("security: {tls: [{port: 443}]}", "security.tls[0].host", "required key is missing"),
    ("security: {tls: [{host: a, min_days: soon}]}", "security.tls[0].min_days", "valid number"),
    ("security: {allowed_ports: [22, 70000]}", "security.allowed_ports", "outside 1..65535"),
    ("security: {allowed_ports: 22}", "security.allowed_ports", "valid list"),
    ("dependencies: {max_major_behind: -1}", "dependencies.max_major_behind", "greater than or equal to 0"),
    ("dependencies: {npm_outdated: {dri: .}}", "dependencies.npm_outdated.dri", "unknown key"),
    ("config_audit: {baseline: c.sha256}", "config_audit.files", "required key is missing"),
    ("config_audit: {files: ['conf/**/*.yml']}", "config_audit.files", "** is not supported"),
    ("config_audit: {files: ['conf/$(id).yml']}", "config_audit.files", "may not contain"),
    ("config_audit: {files: [a], forbid_world_readable: maybe}", "config_audit.forbid_world_readable", "boolean"),
])
def test_bad_sections_name_the_key(tmp_path, text, key, words):
    err = config_error(tmp_path, text)
    assert err.key == key, err
    assert words in err.problem, err


def test_relative_paths_resolve_against_root(tmp_path):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: s\nroot: srv\n"
                    "security: {npm_audit: {dir: web}, pip_audit: {requirements: req.txt},\n"
                    "  tls: [{host: h, ca_file: ca.pem}, {host: g, ca_file: /etc/ca.pem}], allowed_ports: [22]}\n"
                    "dependencies: {npm_outdated: {}, pip_outdated: {}}\n"
                    "config_audit: {files: ['conf/*.yml', /etc/app.conf]}\n")
    maint = cfg.load(path)
    root = tmp_path / "srv"
    assert maint.security.npm_audit.dir == str(root / "web")
    assert maint.security.pip_audit.requirements == str(root / "req.txt")
    assert [t.ca_file for t in maint.security.tls] == [str(root / "ca.pem"), "/etc/ca.pem"]
    assert maint.dependencies.npm_outdated.dir == str(root)
    assert maint.config_audit.files == [str(root / "conf/*.yml"), "/etc/app.conf"]
    assert maint.config_audit.baseline == str(root / "config.sha256")
    assert (maint.security.npm_audit.fail_at, maint.config_audit.forbid_world_readable) == ("high", False)


def test_check_config_exits_4_on_a_misspelled_security_key(tmp_path):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: s\nsecurity: {npm_audti: {dir: ., fail_at: high}}\n")
    result = subprocess.run([sys.executable, "-m", "opsproof.cli", "check-config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4, result
    assert "security.npm_audti: unknown key" in result.stderr
