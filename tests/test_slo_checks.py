"""The SLO checks run as a suite: on the example service, on written logs, and against a real Prometheus."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers import free_port
from helpers.prom import PromServer, traffic
from helpers.slo import AVAILABILITY, FAST, access_log_lines, slo_config
from helpers.sshd import ALIAS


def outcomes_of(suite, name: str) -> dict[str, dict]:
    """test id parameter (the objective, without the host's "-local") -> the test's summary entry."""
    return {t["id"].split("[")[-1].rstrip("]").removesuffix("-local"): t for t in suite.summary()["tests"]
            if f"::{name}" in t["id"]}


def evidence(test: dict, label: str) -> list[dict]:
    return [e["data"] for e in test.get("evidence", []) if e["label"] == label]


def access_log_counts(path: Path) -> tuple[int, int]:
    lines = path.read_text().splitlines()
    bad = sum(1 for line in lines if re.search(r'" 5\d\d ', line))
    return len(lines) - bad, len(lines)


def test_weekly_on_the_example_shows_attainment_budget_and_chart(suite, example_app):
    suite.config(example_app.config())
    result = suite.run("-m", "weekly")
    met = outcomes_of(suite, "test_objective_met")
    assert set(met) == {"availability", "fast-responses"}, met
    for name, test in met.items():
        assert test["outcome"] == "passed", test.get("message")
        st = evidence(test, "ObjectiveStatus")[0]
        assert st["total"] >= 200 and st["sli_percent"] == 100 and st["budget_remaining_percent"] == 100, st
    report = outcomes_of(suite, "test_performance_report")
    (perf,) = report.values()
    assert perf["outcome"] == "passed", perf.get("message")
    today = evidence(perf, "Performance")[0]["numbers"][-1]
    assert today["requests"] >= 200 and today["p50_ms"] is not None
    html = suite.html()
    assert html.count("data:image/svg+xml;base64,") >= 3       # two budget charts and the week's chart, inline
    assert result.ret == 0, result.stdout.str()


def test_broken_service_fails_postmaintenance_with_the_measured_ratio(suite, example_app):
    suite.config(example_app.config())
    (example_app.root / "run" / "broken").touch()
    for _ in range(40):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{example_app.port}/health", timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
    good, total = access_log_counts(example_app.root / "logs" / "access.log")   # as the run's survey reads it first
    result = suite.run("-m", "postmaintenance")
    assert result.ret == 1
    met = outcomes_of(suite, "test_objective_met")
    assert met["availability"]["outcome"] == "failed"
    message = met["availability"]["message"]
    assert total >= 240 and f"({good} good of {total} requests) is {100 * good / total:.4f} %" in message, message
    assert "slo.objectives[availability].target allows >= 99.0 %" in message
    assert met["fast-responses"]["outcome"] == "passed"          # 503s answered fast: latency is still met


def test_no_traffic_is_could_not_observe_never_a_pass(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text("")
    suite.config(slo_config(tmp_path, AVAILABILITY, FAST))
    assert suite.run("-m", "daily or weekly").ret == 1
    for name, test in outcomes_of(suite, "test_objective_met").items():
        assert test["outcome"] == "failed" and "could not observe" in test["message"], (name, test)
    (perf,) = outcomes_of(suite, "test_performance_report").values()
    assert perf["outcome"] == "failed" and "could not observe" in perf["message"]


def test_unreadable_or_foreign_log_fails_with_the_reason(suite, tmp_path):
    suite.config(slo_config(tmp_path, AVAILABILITY))
    assert suite.run("-m", "daily").ret == 1
    (test,) = outcomes_of(suite, "test_objective_met").values()
    assert "no such file" in test["message"]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text('{"time": "2026-01-01T00:00:00Z", "status": 200}\n' * 3)
    assert suite.run("-m", "daily").ret == 1
    (test,) = outcomes_of(suite, "test_objective_met").values()
    read = evidence(test, "LogRead")[0]
    assert read["malformed"] == 3 and "could not observe" in test["message"], test


def test_rerun_reads_only_what_was_appended(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "access.log"
    log.write_text(access_log_lines(50))
    suite.config(slo_config(tmp_path, AVAILABILITY))
    assert suite.run("-m", "daily").ret == 0
    added = access_log_lines(2, status=500, ago_s=5)
    with open(log, "a") as fh:
        fh.write(added)
    assert suite.run("-m", "daily").ret == 1                  # 50 of 52 is 96.2 %, below 99 %
    (test,) = outcomes_of(suite, "test_objective_met").values()
    read = evidence(test, "LogRead")[0]
    assert read["reference"] == "since the last run" and read["bytes_read"] == len(added)
    assert "(50 good of 52 requests)" in test["message"]


def test_postdeploy_fails_on_a_fast_burn_and_passes_without(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "access.log"
    log.write_text(access_log_lines(5000, ago_s=3 * 86400) + access_log_lines(100, ago_s=1800)
                   + access_log_lines(50, ago_s=120))
    suite.config(slo_config(tmp_path, dict(AVAILABILITY, target=99.9)))
    assert suite.run("-m", "postdeploy").ret == 0, suite.summary()
    with open(log, "a") as fh:                     # the deploy answers 5xx to a third of its requests
        fh.write((access_log_lines(2, ago_s=30) + access_log_lines(1, status=502, ago_s=30)) * 20)
    assert suite.run("-m", "postdeploy").ret == 1
    burns = outcomes_of(suite, "test_no_fast_burn")       # one item per page alert: one never hides the other
    assert sorted(burns) == ["availability-page-1h-5m", "availability-page-6h-30m"], burns
    test = burns["availability-page-1h-5m"]
    assert test["outcome"] == "failed"
    assert "page 1h/5m burn rate" in test["message"] and "(SRE Workbook page factor)" in test["message"], test


def test_quarterly_review_passes_with_a_loose_hint_and_fails_when_missed(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "access.log"
    log.write_text(access_log_lines(4000, ago_s=60 * 86400) + access_log_lines(1, status=500, ago_s=30 * 86400)
                   + access_log_lines(999))
    suite.config(slo_config(tmp_path, AVAILABILITY))
    assert suite.run("-m", "quarterly").ret == 0
    (test,) = outcomes_of(suite, "test_slo_review").values()
    review = evidence(test, "Review")[0]
    assert review["attained_percent"] == pytest.approx(100 * 4999 / 5000) and "looks loose" in review["hint"]
    assert suite.html().count("data:image/svg+xml;base64,") >= 1
    with open(log, "a") as fh:
        fh.write(access_log_lines(200, status=503))
    assert suite.run("-m", "quarterly").ret == 1
    (test,) = outcomes_of(suite, "test_slo_review").values()
    assert "the objective was missed" in test["message"], test


def test_without_slo_section_every_slo_check_skips_with_the_reason(suite, tmp_path):
    suite.config({"service": "slo-test", "root": str(tmp_path)})
    suite.run("-m", "daily or weekly or postdeploy or quarterly")
    slo = [t for t in suite.summary()["tests"] if "test_slo.py" in t["id"]]
    assert len(slo) == 4 and all(t["outcome"] == "skipped" and "no slo section" in t["message"] for t in slo), slo


def test_checks_read_a_real_prometheus(suite, tmp_path):
    now = time.time()
    made = traffic(now - 2 * 3600, now - 30, 2000, bad_every=400)
    server = PromServer(tmp_path / "prom")
    server.backfill(made.openmetrics(now - 2 * 3600 - 60, now - 15))
    server.start("count(last_over_time(http_requests_total[1d]))")
    try:
        suite.config(slo_config(tmp_path, AVAILABILITY, dict(FAST, target=50),
                                prometheus=server.url, selector='job="api"'))
        result = suite.run("-m", "daily or postdeploy or weekly")
        slo = [t for t in suite.summary()["tests"] if "test_slo.py" in t["id"]]
        assert len(slo) == 7 and all(t["outcome"] == "passed" for t in slo), slo   # 2 met, 2x2 burn alerts, 1 report
        assert result.ret == 0
        st = evidence(outcomes_of(suite, "test_objective_met")["availability"], "ObjectiveStatus")[0]
        assert st["source"] == f"Prometheus {server.url}" and st["sli_percent"] == pytest.approx(99.75, abs=0.01)
    finally:
        server.stop()
    started = time.monotonic()
    assert suite.run("-m", "daily").ret == 1
    assert time.monotonic() - started < 120
    for test in outcomes_of(suite, "test_objective_met").values():
        assert "cannot connect" in test["message"], test


def test_prometheus_secret_headers_stay_out_of_the_report(suite, tmp_path):
    port = free_port()
    suite.config(slo_config(tmp_path, AVAILABILITY, prometheus=f"http://reader:s3cr3t-pw@127.0.0.1:{port}",
                            headers={"Authorization": "Bearer tok-9f8e7d6c5b4a"}))
    suite.run("-m", "daily")
    text = suite.html() + str(suite.summary())
    assert "s3cr3t-pw" not in text and "tok-9f8e7d6c5b4a" not in text


def test_slo_checks_read_the_log_over_ssh(suite, example_app, sshd):
    """The same checks through testinfra's ssh backend (a real sshd on loopback): the log is read with dd."""
    suite.config(example_app.config())
    suite.run("-m", "daily or weekly or postdeploy", f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}",
              "-k", "test_slo")
    slo = [t for t in suite.summary()["tests"] if "test_slo.py" in t["id"]]
    assert len(slo) == 7 and all(t["outcome"] == "passed" for t in slo), slo   # 2 met, 2x2 burn alerts, 1 report
    assert all(f"ssh://{ALIAS}" in t["id"] for t in slo)
    read = evidence(slo[0], "LogRead")[0]
    assert read["requests"] >= 200 and read["bytes_read"] > 0


def test_an_objective_shorter_than_every_page_window_has_no_page_alert_to_evaluate():
    from opsproof.config import Maint
    from opsproof.slo.alerts import no_page_alert, page_alerts

    slo = Maint.model_validate({"service": "s", "slo": {"source": {"access_log": "a.log"}, "objectives": [
        {"name": "short", "sli": "availability", "target": 99, "window": "30m"},
        {"name": "month", "sli": "availability", "target": 99, "window": "30d"}]}}).slo
    short, month = slo.objectives
    (none,) = page_alerts(short)
    assert none.id == "short-none" and no_page_alert(none) == (
        "short: a window of 0:30:00 is shorter than the 1h page alert window")
    assert all(no_page_alert(a) is None for a in page_alerts(month)) and len(page_alerts(month)) >= 1
