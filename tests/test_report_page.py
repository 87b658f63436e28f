"""The report's opening and its evidence, as the builders write them (opsproof/report/page.py, html.py): the banner,
the failures, and evidence written for people (no empty fields, units on numbers, wrap points in long values)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from opsproof.report.html import (breakable, check_cell, evidence_html, human_bytes, record_block, runbook_html,
                                  with_unit)
from opsproof.report.page import banner_html, counts_text, failures_html, said_and_hint, when
from opsproof.report.run import RunRecord

DISK = {"what": "space used on /", "measured": 91.5, "op": "<=", "threshold": 85, "key": "disk.max_used_percent",
        "unit": "%", "passed": False}
HINT = "free space: rotate and compress logs"
RUNBOOK = "https://wiki.example/runbooks/disk-full"


def _run(**changes) -> RunRecord:
    values = dict(run_id="a1b2c3d4e5f6", started=datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc), service="shop",
                  operator="ana", hosts="ssh://web1,ssh://web2", selection="daily", apply=False, ignore_window=False,
                  config_path="/etc/opsproof/shop.yaml", config_sha256="ab" * 32, suite_version="0.1.0",
                  ended=datetime(2026, 12, 6, 2, 3, 5, tzinfo=timezone.utc))
    return RunRecord(**{**values, **changes})


def test_the_banner_says_the_verdict_and_the_runs_facts_with_zones():
    result = {"verdict": "failed", "text": "FAILED — 1 check failed: checks/test_disk.py::test_disk_space[/-web1]"}
    page = banner_html(result, _run(), {"passed": 20, "failed": 1, "skipped": 3}, "reports/ledger.jsonl",
                       "daily_x.html, written 2026-12-06 02:03:05 UTC", ["<p class='extra'>x</p>"])
    assert page.startswith("<section class='opsproof-banner' data-verdict='failed'><h1 class='opsproof-heading'>"
                           "shop: maintenance report, -m daily</h1><div class=\"opsproof-verdict\" data-verdict=\"failed\">")
    for fact in ("<dt>Hosts</dt><dd><code>ssh://<wbr>web1,<wbr>ssh://<wbr>web2</code></dd>",
                 "<dt>Selection</dt><dd><code>-m daily</code></dd>",
                 "<dt>Checks</dt><dd>20 passed, 1 failed, 3 skipped (not checked)</dd>",
                 "<dt>Run id</dt><dd><code>a1b2c3d4e5f6</code> (its line in the ledger carries the same id)</dd>",
                 "<dt>Ledger</dt><dd><code>reports/<wbr>ledger.jsonl</code>",
                 "2026-12-06 02:00:00 UTC</span> to <span class='opsproof-nowrap'>2026-12-06 02:03:05 UTC</span> "
                 "(3 min 5 s)", "plan only (no --apply: actions only planned)", "<p class='extra'>x</p></section>"):
        assert fact in page, fact
    assert "Emergency approval" not in page
    approved = banner_html({"verdict": "passed", "text": "PASSED"}, _run(approval={
        "by": "Dana <CTO>", "at": "2026-12-06T02:00:00Z", "reason": "outage", "source": "command line"}), {}, "l")
    assert "approved by Dana &lt;CTO&gt; at 2026-12-06T02:00:00Z: outage" in approved and "no checks" in approved
    with pytest.raises(ValueError):
        banner_html({"verdict": "green", "text": "x"}, _run(), {}, "l")


def test_times_and_counts_read_as_a_person_says_them():
    assert when(datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)) == "2026-12-06 03:00:00 UTC" and when(None) == \
        "still running"
    assert counts_text({"skipped": 2, "passed": 3, "waived": 1, "xyz": 1}) == \
        "3 passed, 1 waived failures, 2 skipped (not checked), 1 xyz"
    assert counts_text({}) == "no checks"


def test_a_failure_says_what_was_measured_the_limit_and_key_what_to_do_and_the_runbook():
    message = f"space used on / is 91.5%; disk.max_used_percent allows <= 85% — {HINT} — runbook: {RUNBOOK}"
    assert said_and_hint(message, [DISK], RUNBOOK) == ("space used on / is 91.5%; disk.max_used_percent allows <= 85%",
                                                       HINT)
    assert said_and_hint(message.replace(" — runbook: ", "\nrunbook: "), [DISK], RUNBOOK)[1] == HINT
    assert said_and_hint("archive is damaged — take a fresh one", [], "") == ("archive is damaged — take a fresh one", "")
    assert said_and_hint("head\n" + "trace\n" * 5 + "head", [], "")[0].startswith("head (the whole text is under")
    page = failures_html([
        {"id": "checks/test_disk.py::test_disk_space[/-web1]", "outcome": "failed", "check": "Disk has room.",
         "message": message, "comparisons": [DISK, {**DISK, "what": "ok one", "passed": True}], "runbook": RUNBOOK},
        {"id": "checks/test_backups.py::test_x[web1]", "outcome": "error", "message": "<b>no archive</b>"},
        {"id": "checks/test_a.py::test_b", "outcome": "passed"},
        {"id": "checks/test_c.py::test_d", "outcome": "waived", "message": "m", "waiver": "waived: until 2027-01-01"},
    ])
    assert page.startswith("<section class='opsproof-failures'><h2>Failures (2)</h2>")
    assert "<strong>FAILED</strong> <code>checks/<wbr>test_disk.py::<wbr>test_disk_space<wbr>[/<wbr>-web1]</code>" in page
    assert "<td><code>disk.max_used_percent</code></td>" in page and "ok one" not in page   # the failed comparison only
    assert f"<strong>What to do:</strong> {HINT}</p>" in page
    assert f"<strong>Runbook:</strong> <a href='{RUNBOOK}'>" in page
    assert "<strong>ERROR</strong>" in page and "&lt;b&gt;no archive&lt;/b&gt;" in page
    assert "<strong>Runbook:</strong> <span class='opsproof-no-runbook'>no runbook configured</span>" in page
    assert "<h2>Waived failures (1)</h2>" in page and "waived: until 2027-01-01" in page
    assert "test_a.py" not in page and failures_html([{"id": "x", "outcome": "passed"}]) == ""


def test_evidence_leaves_out_empty_fields_and_gives_numbers_their_unit():
    block = record_block({"label": "action gate", "data": {"act": False, "refused": None, "notes": [], "error": "",
                                                           "extra": {}, "mode": "apply", "matches": 0, "ok": True}})
    assert [f for f in ("act", "refused", "notes", "error", "extra") if f"<td>{f}</td>" in block] == []
    assert "<td>matches</td><td><code>0</code></td>" in block and "<td>ok</td><td><code>yes</code></td>" in block
    assert block.startswith("<details open class='opsproof-record'><summary>evidence: action gate</summary>")
    assert with_unit("size", 8591) == "8591 B (8.4 KiB)" and with_unit("used_bytes", 100) == "100 B"
    assert with_unit("used_percent", 74.8) == "74.8%" and with_unit("seconds", 0.03) == "0.03 s"
    assert with_unit("latency_ms", 3.7) == "3.7 ms" and with_unit("age_hours", 2) == "2 h"
    assert with_unit("max_age_days", 7.0) == "7.0 days" and with_unit("matches", 3) == "3"
    assert with_unit("size", True) == "True" and with_unit("size", "big") == "big"
    assert human_bytes(81534414848) == "75.9 GiB" and human_bytes(1 << 20) == "1.0 MiB"
    assert "<code>" + "\n".join(["1 B", "2048 B (2.0 KiB)"]) + "</code>" in record_block(
        {"label": "l", "data": {"sizes_bytes": [1, 2048]}})


def test_long_values_wrap_at_sensible_points_and_copy_whole():
    assert breakable("/tmp/a&b") == "/<wbr>tmp/<wbr>a&amp;<wbr>b"
    assert breakable("https://h/x?a=1") == "https://<wbr>h/<wbr>x?<wbr>a=<wbr>1"
    assert breakable("checks/t.py::test[x]", before="[") == "checks/<wbr>t.py::<wbr>test<wbr>[x]"
    assert breakable("a/") == "a/" and breakable("<b>") == "&lt;b&gt;"
    cell = check_cell("What it checks.", "docs/runbook.md", "", "checks/t.py::test[x]")
    assert cell == ("<td class='col-check'><div class='opsproof-id'><code>checks/<wbr>t.py::<wbr>test<wbr>[x]</code>"
                    "</div>What it checks.<div class='opsproof-runbook'>runbook: <code>docs/<wbr>runbook.md</code>"
                    "</div></td>")
    assert runbook_html("") == "<span class='opsproof-no-runbook'>no runbook configured</span>"


def test_a_record_another_row_shows_is_a_link_to_it():
    records = [{"label": "Recency", "data": {"path": "/b/x"}}, {"label": "own", "data": {"n": 1}}]
    page = evidence_html(records, [], ["checks/t.py::test_a[local]", ""])
    assert ("<summary>evidence: Recency, the same record as under <a href='#checks%2Ft.py%3A%3Atest_a%5Blocal%5D'>"
            "<code>checks/<wbr>t.py::<wbr>test_a<wbr>[local]</code></a></summary>") in page
    assert "<summary>evidence: own</summary>" in page and "/b/x" not in page
    assert evidence_html(records, []) == evidence_html(records, [], ["", ""])
