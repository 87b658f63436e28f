"""Evidence: every run leaves a self-contained HTML report and a JSON summary an auditor can trust."""
from __future__ import annotations

import html
import json
import re

SECRET_PW = "Pw-9f8e7d6c5b"
SECRET_TOKEN = "tok-0a1b2c3d4e5f"
SECRET_BEARER = "bearer-77aa88bb99cc"

DISK_OK = {"paths": ["/"], "max_used_percent": 100, "max_inodes_used_percent": 100}

EVIDENCE_CHECK = '''
import pytest

pytestmark = [pytest.mark.daily]


@pytest.fixture
def half_done(evidence):
    evidence.record({"step": "connected", "measured": 42, "threshold": 7})
    raise RuntimeError("the probe died after measuring")


def test_setup_fails_after_recording(half_done):
    """Evidence recorded before a fixture failed still reaches the report."""
'''

LEAKY_CHECK = f'''
import logging
import pytest

pytestmark = [pytest.mark.daily]


def test_leaks_everywhere(evidence):
    """A check that tries hard to leak secrets."""
    dsn = "postgresql://app:{SECRET_PW}@127.0.0.1:5432/app"
    print("connecting to", dsn, "with Authorization: Bearer {SECRET_BEARER}")
    logging.getLogger("x").warning("url http://h/x?token={SECRET_TOKEN}&a=1")
    evidence.record({{"dsn": dsn, "headers": {{"Authorization": "Bearer {SECRET_BEARER}"}}, "password": "{SECRET_PW}"}})
    assert dsn == "", f"could not connect to {{dsn}} using token {SECRET_TOKEN}"
'''


def _all_outputs(suite, junit) -> str:
    texts = [p.read_text() for p in suite.reports.glob("*")] + [junit.read_text()]
    return "\n".join(texts)


def test_report_and_summary_are_written_with_run_metadata(suite):
    cfg = suite.config({"service": "shop", "disk": DISK_OK})
    result = suite.run("-m", "daily")
    assert result.ret == 0
    htmls = list(suite.reports.glob("*.html"))
    assert len(htmls) == 1 and re.fullmatch(r"daily_\d{8}T\d{6}Z\.html", htmls[0].name)
    assert htmls[0].with_suffix(".json").exists()
    page = html.unescape(htmls[0].read_text())
    for key in ("Service", "Hosts", "Marker expression", "Config SHA-256", "Suite version", "Operator",
                "Started (UTC)", "Ended (UTC)"):
        assert f'"{key}"' in page, key
    import hashlib

    assert hashlib.sha256(cfg.read_bytes()).hexdigest() in page
    assert '<link rel="stylesheet"' not in page  # self-contained: styles inline
    summary = suite.summary()
    assert summary["service"] == "shop" and summary["selection"] == "daily"
    assert summary["outcome"]["passed"] == 5 and "failed" not in summary["outcome"]  # disk 2, cadences 3 (first run)
    assert summary["report"] == htmls[0].name
    test = next(t for t in summary["tests"] if t["outcome"] == "passed" and "test_disk" in t["id"])
    assert test["check"].startswith("The filesystem holding each configured path")
    assert test["comparisons"][0]["key"].startswith("disk.max_")
    assert "disk.max_used_percent" in page and "The filesystem holding each configured path" in page


def test_report_dir_option_and_marker_expression_in_name(suite, tmp_path):
    suite.config({"service": "shop", "disk": DISK_OK})
    out = tmp_path / "evidence"
    result = suite.run("-m", "daily or weekly", f"--report-dir={out}")
    assert result.ret == 0
    names = sorted(p.name for p in out.iterdir() if p.name != "ledger.jsonl")  # the ledger goes there too
    assert len(names) == 2 and names[0].startswith("daily-or-weekly_") and names[1].endswith(".json")
    assert (out / "ledger.jsonl").is_file()
    assert f"opsproof: report {out}" in result.stdout.str()


def test_junitxml_works_as_usual(suite, tmp_path):
    suite.config({"service": "shop", "disk": {**DISK_OK, "max_used_percent": 0}})
    junit = tmp_path / "junit.xml"
    result = suite.run("-m", "daily", f"--junitxml={junit}")
    assert result.ret == 1
    xml = junit.read_text()
    assert 'failures="1"' in xml and "disk.max_used_percent allows &lt;= 0.0%" in xml


def test_failure_message_shows_measured_threshold_and_hint(suite):
    suite.config({"service": "shop", "disk": {**DISK_OK, "max_used_percent": 0}})
    suite.run("-m", "daily")
    failed = [t for t in suite.summary()["tests"] if t["outcome"] == "failed"]
    assert len(failed) == 1
    message = failed[0]["message"]
    assert re.search(r"space used on / is [\d.]+%; disk.max_used_percent allows <= 0.0%", message)
    assert "free space:" in message  # the remediation hint


def test_opsproof_summary_prints_a_real_runs_summary(suite, capsys):
    """`opsproof summary` reads what a run wrote, through the builders the report uses."""
    from opsproof.cli import main

    suite.config({"service": "shop", "disk": {**DISK_OK, "max_used_percent": 0}})
    suite.run("-m", "daily")
    path = next(suite.reports.glob("*.json"))
    capsys.readouterr()  # the run's own output
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "Service: shop" in out and "Marker expression: daily" in out
    assert any(line.startswith("Outcome: 4 passed, 1 failed, ") and line.endswith("(exit status 1)") for line in out)
    assert any(re.fullmatch(r"  space used on /: [\d.]+% \(<= 0.0%\) — disk.max_used_percent", line) for line in out)
    assert main(["summary", str(path.with_suffix(".html"))]) == 4


def test_evidence_reaches_the_report_when_a_fixture_fails_in_setup(suite):
    suite.config({"service": "shop"})
    (suite.path / "checks" / "test_probe.py").write_text(EVIDENCE_CHECK)
    result = suite.run("-m", "daily", "-k", "setup_fails")
    assert result.ret == 1
    test = suite.summary()["tests"][0]
    assert test["outcome"] == "error"
    assert test["evidence"][0]["data"] == {"step": "connected", "measured": 42, "threshold": 7}
    page = html.unescape(suite.html())
    assert "evidence: dict" in page and "connected" in page


def test_secrets_never_reach_report_json_or_junit(suite, tmp_path):
    suite.config({
        "service": "shop",
        "backups": {"dir": "b", "pattern": "d_*", "database": {
            "engine": "postgresql", "dsn": f"postgresql://app:{SECRET_PW}@127.0.0.1:5432/app"}},
        "health": [{"name": "api", "url": f"http://user:{SECRET_PW}@127.0.0.1:9/h?token={SECRET_TOKEN}",
                    "headers": {"Authorization": f"Bearer {SECRET_BEARER}"}, "timeout_s": 1}],
    })
    (suite.path / "checks" / "test_leaky.py").write_text(LEAKY_CHECK)
    junit = tmp_path / "junit.xml"
    result = suite.run("-m", "daily", f"--junitxml={junit}", "-o", "junit_logging=all")
    assert result.ret == 1
    everything = _all_outputs(suite, junit) + result.stdout.str() + result.stderr.str()
    for secret in (SECRET_PW, SECRET_TOKEN, SECRET_BEARER):
        assert secret not in everything, f"{secret} leaked"
    # The failures are still there, with the secret masked, not dropped.
    summary = json.dumps(suite.summary())
    assert "postgresql://app:***@127.0.0.1:5432/app" in summary
    assert "could not connect" in summary


def test_parallel_run_keeps_evidence(suite):
    """With pytest-xdist (-n) the summary still carries every item's evidence from the workers."""
    suite.config({"service": "shop", "disk": {"paths": ["/", "."], "max_used_percent": 100,
                                              "max_inodes_used_percent": 100}})
    result = suite.run("-m", "daily", "-n", "2")
    assert result.ret == 0, result.stdout.str()
    passed = [t for t in suite.summary()["tests"] if t["outcome"] == "passed" and "test_cadence" not in t["id"]]
    assert len(passed) == 4
    assert all(t["evidence"][0]["label"] == "DiskUsage" and t["comparisons"] for t in passed)
