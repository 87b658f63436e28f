"""Python dependencies: the real pip-audit against an OSV API served on 127.0.0.1 (--osv-url), and the real
`pip list --outdated` against a simple index served there. An index or service that does not answer fails."""
from __future__ import annotations

import sys
from importlib.metadata import version

import pytest
import testinfra

from helpers import require_tool
from helpers.registries import OsvApi, SimpleIndex
from opsproof.config.security import PipAudit, PipOutdated
from opsproof.hosts.target import Target
from opsproof.security.pip import pip_audit, pip_outdated


@pytest.fixture
def target(monkeypatch) -> Target:
    # This machine's pip configuration (extra indexes, find-links) must not answer for the test's index.
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)
    return Target(testinfra.get_host("local://"), 120)


@pytest.fixture
def osv():
    server = OsvApi()
    yield server
    server.close()


@pytest.fixture
def index():
    server = SimpleIndex()
    yield server
    server.close()


def _audit(tmp_path, osv_url: str, requirements: str, **kw) -> PipAudit:
    req = tmp_path / "requirements.txt"
    req.write_text(requirements)
    return PipAudit(requirements=str(req), vulnerability_service="osv", osv_url=osv_url, timeout_s=5, **kw)


def test_pip_audit_findings_fail_every_gate_and_clean_passes(tmp_path, target, osv):
    require_tool("pip-audit")
    osv.vulnerable("requests", "2.0.0", "PYSEC-2099-1", "2.31.0", "requests leaks credentials on redirect")
    result = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", "requests==2.0.0\nidna==3.4\n"))
    assert result.error is None, result
    assert result.dependencies == 2
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert (finding.package, finding.version, finding.severity) == ("requests", "2.0.0", "unknown")
    assert finding.title.startswith("PYSEC-2099-1 / CVE-2099-") and "leaks credentials" in finding.title
    assert finding.fix == "fix available: 2.31.0"
    assert result.at_or_above("critical") == result.findings, "no severity from pip-audit: fails every fail_at"
    asked = {body for _, _, body in osv.requests}
    assert any(b'"requests"' in b and b'"2.0.0"' in b for b in asked)

    clean = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", "idna==3.4\n"))
    assert clean.error is None and clean.findings == [] and clean.dependencies == 1

    ignored = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", "requests==2.0.0\n",
                                       ignore_vulns=["PYSEC-2099-1"]))
    assert ignored.findings == [] and ignored.ignored == ["PYSEC-2099-1: ignored (security.pip_audit.ignore_vulns)"]


def test_pip_audit_cannot_run_is_a_failure(tmp_path, target, osv):
    require_tool("pip-audit")
    osv.hang = True
    silent = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", "requests==2.0.0\n"))
    osv.hang = False
    assert silent.error and "pip-audit" in silent.error and not silent.findings, silent

    refused = pip_audit(target, _audit(tmp_path, "http://127.0.0.1:1/v1/query", "requests==2.0.0\n"))
    assert "Connection refused" in refused.error and "vulnerability service (osv)" in refused.fix, refused

    unpinned = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", "requests>=2\n"))
    assert "not pinned" in unpinned.error and "pin every requirement" in unpinned.fix and not unpinned.findings

    missing = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", "idna==3.4\n",
                                       command=str(tmp_path / "no-pip-audit")))
    assert missing.error == f"{tmp_path / 'no-pip-audit'} is not installed on local (not found on PATH)"
    assert "pip install pip-audit" in missing.fix

    absent = pip_audit(target, PipAudit(requirements=str(tmp_path / "nope.txt")))
    assert absent.error.startswith("pip-audit has no requirements file: no nope.txt")


def test_pip_outdated_against_a_served_index(target, index):
    major = int(version("pip").split(".")[0])
    index.versions["pip"] = [version("pip"), f"{major + 1}.0", f"{major + 2}.0.1"]
    result = pip_outdated(target, PipOutdated(python=sys.executable, index_url=f"{index.url}/simple", timeout_s=5))
    assert result.error is None, result
    pip = [p for p in result.packages if p.package == "pip"]
    assert len(pip) == 1 and (pip[0].current, pip[0].latest, pip[0].major_behind) == (version("pip"), f"{major + 2}.0.1", 2)
    assert {p.package for p in result.over(1)} == {"pip"}
    assert result.over(2) == [p for p in result.over(2) if p.package != "pip"]


def test_pip_outdated_unreachable_index_is_an_error_not_none(target):
    result = pip_outdated(target, PipOutdated(python=sys.executable, index_url="http://127.0.0.1:1/simple",
                                              timeout_s=2))
    assert result.error and "the package index did not answer" in result.error, result
    assert "pip would report those as up to date" in result.error and result.packages == []


def test_pip_audit_of_nothing_is_a_failure(tmp_path, target, osv):
    """An empty requirements file, one of comments only, an environment folder that does not exist or holds no
    package: pip-audit says "No known vulnerabilities found" for each — the check must fail, naming why."""
    require_tool("pip-audit")
    for text in ("", "# nothing pinned yet\n\n"):
        empty = pip_audit(target, _audit(tmp_path, f"{osv.url}/v1/query", text))
        assert empty.error and "audited no package" in empty.error and "requirements.txt" in empty.error, empty
        assert not empty.findings
    nowhere = tmp_path / "venv" / "lib" / "site-packages"
    missing = pip_audit(target, PipAudit(path=str(nowhere), vulnerability_service="osv",
                                         osv_url=f"{osv.url}/v1/query", timeout_s=5))
    assert missing.error == f"pip-audit environment {nowhere} does not exist on local", missing
    nowhere.mkdir(parents=True)
    bare = pip_audit(target, PipAudit(path=str(nowhere), vulnerability_service="osv",
                                      osv_url=f"{osv.url}/v1/query", timeout_s=5))
    assert bare.error and "audited no package" in bare.error, bare
    assert osv.requests == [], "nothing was there to ask about"


def test_pip_outdated_silent_index_is_an_error(target, index):
    index.hang = True  # accepts, never answers: pip's --timeout ends each request
    result = pip_outdated(target, PipOutdated(python=sys.executable, index_url=f"{index.url}/simple", timeout_s=1))
    index.hang = False
    assert result.error and "the package index did not answer" in result.error, result
    assert result.packages == []
