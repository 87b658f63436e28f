"""npm audit and npm outdated with the real npm against a registry the test serves on 127.0.0.1."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import testinfra

from helpers import require_tool
from helpers.registries import NpmRegistry, npm_project
from opsproof.config.security import NpmAudit
from opsproof.hosts.target import Target
from opsproof.security.npm import npm_audit, npm_outdated

CHECKS = ("checks/test_security.py", "checks/test_dependencies.py")


@pytest.fixture
def registry():
    reg = NpmRegistry()
    reg.publish("alpha", "1.0.0", "1.0.5", "2.0.0")
    reg.publish("beta", "1.0.0", "1.1.0")
    yield reg
    reg.close()


@pytest.fixture
def target() -> Target:
    return Target(testinfra.get_host("local://"), 60)


def test_audit_findings_highest_first_with_evidence(tmp_path, registry, target):
    require_tool("npm")
    registry.advise("alpha", "<1.0.5", "high", 1001, "alpha prototype pollution")
    registry.advise("beta", "<2.0.0", "moderate", 1002, "beta regex denial of service")
    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0", "beta": "^1.0.0"})
    result = npm_audit(target, NpmAudit(dir=str(app)))
    assert result.error is None, result
    assert [(f.package, f.severity) for f in result.findings] == [("alpha", "high"), ("beta", "moderate")]
    alpha = result.findings[0]
    assert alpha.title == "alpha prototype pollution" and alpha.url.endswith("GHSA-test-1001")
    assert alpha.fix.startswith("fix available") and result.findings[1].fix == "no fix available"
    assert result.counts == {"high": 1, "moderate": 1} and result.dependencies == 2
    assert [f.package for f in result.at_or_above("high")] == ["alpha"]
    assert [f.package for f in result.at_or_above("moderate")] == ["alpha", "beta"]
    asked = [json.loads(body) for method, path, body in registry.requests if path.startswith("/-/npm/v1/security")]
    assert asked == [{"alpha": ["1.0.0"], "beta": ["1.0.0"]}], "npm sent the lockfile's versions (gzip-encoded)"


def test_no_lockfile_names_the_fix(tmp_path, registry, target):
    require_tool("npm")
    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0"}, lock=False)
    result = npm_audit(target, NpmAudit(dir=str(app)))
    assert "has none (no package-lock.json)" in result.error
    assert "npm i --package-lock-only" in result.fix


def test_missing_dir_npm_missing_and_silent_registry_are_errors(tmp_path, registry, target):
    require_tool("npm")
    result = npm_audit(target, NpmAudit(dir=str(tmp_path / "nowhere")))
    assert result.error == f"npm folder {tmp_path / 'nowhere'} does not exist on local" and "fix the path" in result.fix

    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0"})
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "timeout"):
        (bare / tool).symlink_to(shutil.which(tool))
    old = os.environ["PATH"]
    os.environ["PATH"] = str(bare)
    try:
        result = npm_audit(target, NpmAudit(dir=str(app)))
    finally:
        os.environ["PATH"] = old
    assert result.error == "npm is not installed on local (not found on PATH)" and "install Node.js" in result.fix

    registry.hang = True  # accepts, never answers: npm's fetch timeout ends it, and the audit fails with the reason
    result = npm_audit(target, NpmAudit(dir=str(app), timeout_s=1))
    registry.hang = False
    assert result.error.startswith("npm audit could not run:") and "network timeout" in result.error, result
    assert not result.findings


def test_outdated_lists_current_wanted_latest_and_majors(tmp_path, registry, target):
    require_tool("npm")
    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0", "beta": "^1.0.0"}, install=True)
    result = npm_outdated(target, str(app), 30)
    assert result.error is None, result
    rows = {p.package: (p.current, p.wanted, p.latest, p.major_behind) for p in result.packages}
    assert rows == {"alpha": ("1.0.0", "1.0.5", "2.0.0", 1), "beta": ("1.0.0", "1.1.0", "1.1.0", 0)}
    assert [p.package for p in result.over(0)] == ["alpha"] and result.over(1) == []


def _by_name(suite) -> dict:
    return {t["id"].split("::", 1)[1].split("[")[0]: t for t in suite.summary()["tests"]}


def test_weekly_gates_on_fail_at_and_majors_behind(suite, tmp_path, registry):
    require_tool("npm")
    registry.advise("beta", "<2.0.0", "moderate", 1002, "beta regex denial of service")
    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0", "beta": "^1.0.0"}, install=True)
    config = {"service": "npm-test", "root": str(app), "security": {"npm_audit": {"dir": ".", "fail_at": "high"}},
              "dependencies": {"npm_outdated": {}, "max_major_behind": 1}}
    suite.config(config)
    result = suite.run("-m", "weekly", *CHECKS)
    assert result.ret == 0, result.stdout.str()
    tests = _by_name(suite)
    assert tests["test_npm_audit"]["outcome"] == "passed", "a moderate finding passes fail_at: high"
    audit = tests["test_npm_audit"]["evidence"][0]["data"]
    assert "beta" in str(audit["findings"]) and "beta regex denial of service" in str(audit["findings"])
    assert tests["test_pip_audit"]["outcome"] == "skipped"
    assert tests["test_pip_audit"]["message"] == "no security.pip_audit in maintenance.yaml"
    assert tests["test_npm_outdated"]["outcome"] == "passed"
    assert "alpha" in str(tests["test_npm_outdated"]["evidence"][0]["data"]["packages"])

    registry.advise("alpha", "<1.0.5", "high", 1001, "alpha prototype pollution")
    suite.config(dict(config, dependencies={"npm_outdated": {}, "max_major_behind": 0}))
    result = suite.run("-m", "weekly", *CHECKS)
    assert result.ret == 1
    tests = _by_name(suite)
    message = tests["test_npm_audit"]["message"]
    assert "npm audit findings at or above high (2 packages audited) is 1; security.npm_audit.fail_at = high" in message
    assert "high: alpha@1.0.0 — alpha prototype pollution (https://github.com/advisories/GHSA-test-1001)" in message
    assert "beta" not in message, "only findings at or above fail_at are listed"
    outdated = tests["test_npm_outdated"]["message"]
    assert "dependencies.max_major_behind allows <= 0" in outdated
    assert "alpha: current 1.0.0, wanted 1.0.5, latest 2.0.0 (1 major behind)" in outdated


def test_a_misspelled_key_stops_the_run(suite, tmp_path):
    suite.config({"service": "npm-test", "root": str(tmp_path), "security": {"npm_audti": {"dir": "."}}})
    result = suite.run("-m", "weekly", *CHECKS)
    assert result.ret == 4
    assert "security.npm_audti: unknown key" in result.stderr.str() + result.stdout.str()


def test_registry_that_cannot_answer_fails_outdated_and_audit(tmp_path, registry, target):
    """npm outdated skips a package the registry answers 404 for and prints {} (rc 0): that would read as "up to
    date". A silent registry, an audit endpoint answering 500: each is a failure with npm's reason."""
    require_tool("npm")
    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0", "beta": "^1.0.0"}, install=True)
    served = registry.answer
    registry.answer = lambda m, p, b: (404, "application/json", b'{"error": "not found"}') if "alpha" in p \
        else served(m, p, b)
    result = npm_outdated(target, str(app), 5)
    assert result.error and "the registry has no alpha" in result.error, result
    assert "npm outdated skips it" in result.error and not result.packages

    registry.answer = lambda m, p, b: (500, "application/json", b'{"error": "boom"}')
    audit = npm_audit(target, NpmAudit(dir=str(app), timeout_s=5))
    assert audit.error.startswith("npm audit could not run: 500 Internal Server Error") and not audit.findings
    registry.answer = served

    cold = dict(os.environ)
    os.environ["npm_config_cache"] = str(tmp_path / "cold-cache")   # nothing cached to fall back on
    registry.hang = True
    try:
        result = npm_outdated(target, str(app), 1)
    finally:
        registry.hang = False
        os.environ.clear()
        os.environ.update(cold)
    assert result.error.startswith("npm outdated could not run:") and "network timeout" in result.error, result


def test_npm_audit_of_no_dependency_says_none_were_audited(tmp_path, registry, target):
    """A lockfile of no package (the example service's) is a project without npm dependencies: the evidence says
    0 packages were audited, without asking the registry anything."""
    require_tool("npm")
    app = npm_project(tmp_path / "app", registry, {}, lock=False)
    subprocess.run(["npm", "i", "--package-lock-only"], cwd=app, check=True, capture_output=True, timeout=120,
                   env=dict(os.environ, npm_config_cache=str(tmp_path / "npm-cache")))
    result = npm_audit(target, NpmAudit(dir=str(app), timeout_s=5))
    assert result.error is None and result.dependencies == 0 and result.findings == [], result


def test_an_audit_that_saw_no_package_is_not_a_pass(suite, tmp_path, registry):
    """Issue 20 #10: "0 packages audited" passed the security scan. Nothing audited is nothing checked: the check
    skips saying so, and the weekly "Security scan" task is not checked (the verdict INCOMPLETE)."""
    require_tool("npm")
    app = npm_project(tmp_path / "app", registry, {}, lock=False)
    subprocess.run(["npm", "i", "--package-lock-only"], cwd=app, check=True, capture_output=True, timeout=120,
                   env=dict(os.environ, npm_config_cache=str(tmp_path / "npm-cache")))
    suite.config({"service": "npm-test", "root": str(app), "security": {"npm_audit": {"dir": ".", "timeout_s": 5}}})
    result = suite.run("-m", "weekly", "checks/test_security.py")
    assert result.ret == 0, result.stdout.str()
    audit = _by_name(suite)["test_npm_audit"]
    assert audit["outcome"] == "skipped", audit
    assert audit["message"] == f"npm audit audited no package in {app}: nothing was checked", audit
    assert audit["evidence"][0]["data"]["dependencies"] == 0
    row = [r for r in suite.summary()["coverage"] if r["task"] == "Security scan"][0]
    assert row["outcome"] == "not checked" and "test_npm_audit: npm audit audited no package" in row["why"], row
    assert suite.summary()["verdict"] == "incomplete"


def test_npm_outdated_printing_nothing_fails(tmp_path, registry, target):
    """npm 6 printed nothing for `npm outdated --json` (rc 0): no answer is not "nothing outdated". Today's npm
    prints {} so an `npm` on PATH that prints nothing stands in for the old one."""
    app = npm_project(tmp_path / "app", registry, {}, lock=False)
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "npm").write_text("#!/bin/sh\nexit 0\n")
    (bare / "npm").chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{bare}:{old}"
    try:
        result = npm_outdated(target, str(app), 5)
    finally:
        os.environ["PATH"] = old
    assert result.error and "printed no JSON: (nothing)" in result.error and not result.packages, result
