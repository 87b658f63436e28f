"""A report an auditor can read: the example's daily report opened in real headless Chromium (the rendered
page, its console, its print to PDF on A4 and Letter, the README's screenshot), and the builders behind what it shows
(nested evidence as tables, the backup sizes chart)."""
from __future__ import annotations

import html
import json
import re
import time
from collections import Counter
from pathlib import Path

from opsproof.report.html import evidence_html, value_html

from helpers.browser import chromium as _chromium, pages, pdf_text as _pdf_text, print_pdf

# What pytest-html prints only to be clicked: the filter checkboxes' labels, the detail links, the filter hint.
CONTROLS = ("Expected failures", "Unexpected passes", "Show all details", "Hide all details", "check the boxes")
# What a person should not have to read: Python's empty values, pytest-html's placeholders and its zone-less clock.
NOISE = (": None", ": []", ": {}", ": False", "No log output captured", "Report generated on", "tests took", "Skipped: ",
         "Links")
MAX_PAGES = 6          # the example's healthy daily report, printed, A4 or Letter (issue 23: it was 17-19)


def _daily_report(suite, example_app, *args: str, selection: str = "daily") -> tuple[Path, dict]:
    """The example's daily checks (or `selection`) run through the suite; its HTML report and JSON summary."""
    suite.config(example_app.config())
    result = suite.run("-m", selection, *args)
    assert result.ret == 0, result.stdout.str()
    summary = suite.summary()
    return suite.reports / summary["report"], summary


def _rows(dom: str) -> dict[str, str]:
    """test id -> the rendered markup of its results-table body (its row and its evidence row).

    pytest-html names a test that ended in setup or teardown `ID::setup` / `ID::teardown`."""
    parts = dom.split('<tbody class="results-table-row ')[1:]
    ids = [html.unescape(re.match(r'\w+" id="([^"]+)"', p).group(1)) for p in parts]
    return {re.sub(r"::(setup|teardown)$", "", i): p for i, p in zip(ids, parts)}


def _unbroken(text: str, word: str, breaks: str = "/:,-") -> bool:
    """`word` occurs in `text` (pdftotext's output) with a line break, if any, only after one of `breaks` or before
    a `[`: never inside a word."""
    pattern = "".join(re.escape(c) + (r"\s*" if c in breaks else "") + (r"\s*" if i + 1 < len(word) and
                      word[i + 1] == "[" else "") for i, c in enumerate(word))
    return re.search(pattern, text) is not None


def test_console_error_is_what_the_stderr_check_looks_for(tmp_path):
    """The page check below reads Chromium's log for CONSOLE lines: prove a page's console.error lands there."""
    page = tmp_path / "noisy.html"
    page.write_text("<html><body><script>console.error('noisy-page-error')</script></body></html>")
    run = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert any(":CONSOLE" in line and "noisy-page-error" in line for line in run.stderr.splitlines()), run.stderr


def test_daily_report_renders_verdict_and_charts_without_console_errors(suite, example_app, tmp_path):
    report, summary = _daily_report(suite, example_app)
    run = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert [line for line in run.stderr.splitlines() if ":CONSOLE" in line] == []
    # The banner (the verdict and the run's facts) and the coverage table come first, before the results table.
    verdict = dom.find('class="opsproof-verdict"')
    assert 0 <= dom.find('class="opsproof-banner"') < verdict < dom.find('class="opsproof-coverage"') < dom.find(
        'id="results-table"'), "the banner, verdict and coverage table must open the report"
    assert f'data-verdict="{summary["verdict"]}"' in dom
    banner = dom[dom.find('class="opsproof-banner"'):dom.find('class="opsproof-coverage"')]
    ledger_line = json.loads((report.parent / "ledger.jsonl").read_text().splitlines()[-1])
    assert ledger_line["run_id"] == summary["run_id"] and f"<code>{summary['run_id']}</code>" in banner
    assert "ledger.jsonl" in banner and "Window (UTC)" in banner and re.search(r"\d\d:\d\d:\d\d UTC<.*> to <", banner)
    assert re.search(r"\d+ passed, 2 skipped \(not checked\)", banner), "the counts count the skips"
    # pytest-html's always-empty Links column and its empty log boxes are gone; a skip's reason is a sentence.
    assert 'class="col-links"' not in dom and ">Links<" not in dom and "No log output captured" not in dom
    skipped = [body for tid, body in _rows(dom).items() if "test_backup_action" in tid]
    assert skipped and all("not checked: plan only (no --apply)" in body and "('" not in body for body in skipped)
    # The rows as pytest-html's script rendered them: one per test of the summary.
    rows = _rows(dom)
    assert sorted(rows) == sorted(t["id"] for t in summary["tests"])
    assert not [tid for tid, body in rows.items() if '<img src="data:image/' in body], \
        "a passing daily run draws no chart: charts are drawn where they are read (engine/charts.py)"
    # Nested evidence reads as tables, never as a Python dict's repr.
    intact = next(body for tid, body in rows.items() if "test_newest_archive_is_intact" in tid)
    assert "<td>tables</td><td><table class=\"opsproof-fields\">" in intact and "{'" not in intact
    # A record several checks read (one measurement) is shown in full once; the others link to it.
    assert "the same record as under" in dom


def test_review_report_renders_its_charts_without_console_errors(suite, example_app, tmp_path):
    """A weekly and pre-maintenance run is read for its pictures: every SLO check and the backup size check show
    their chart, and Chromium renders them without a console error."""
    report, summary = _daily_report(suite, example_app, selection="weekly or premaintenance")
    run = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert [line for line in run.stderr.splitlines() if ":CONSOLE" in line] == []
    rows = _rows(run.stdout)
    charted = {tid for tid, body in rows.items() if '<img src="data:image/' in body}
    slo = {tid for tid in rows if tid.startswith("checks/test_slo.py::")}
    assert slo and slo <= charted, "every SLO check shows its chart"
    assert {tid for tid in charted - slo} == {t for t in rows if "test_newest_backup_is_not_trivial" in t}, \
        "the backup sizes chart goes with the size check only"


def test_printed_report_has_all_evidence_and_no_controls(suite, example_app, tmp_path):
    """Auditors attach PDFs: the example's healthy daily report (the README's main job, with --apply) prints on at most
    MAX_PAGES pages of A4 and of Letter, with every check's evidence expanded (passed rows are collapsed on screen),
    its ids wrapped only after / : , - or before [, its config keys whole, and none of pytest-html's controls."""
    report, summary = _daily_report(suite, example_app, "--apply")
    assert summary["verdict"] == "passed"
    for paper in ("A4", "letter"):
        pdf = print_pdf(tmp_path, report, paper)
        assert pages(pdf) <= MAX_PAGES, f"{paper}: {pages(pdf)} pages"
        text = _pdf_text(pdf)
        flat = " ".join(text.split())
        expected = Counter(f"evidence: {r['label']}" for t in summary["tests"] for r in t["evidence"])
        assert any(t["outcome"] == "passed" and t["evidence"] for t in summary["tests"])
        missing = {label: n for label, n in expected.items() if flat.count(label) < n}
        assert not missing, f"evidence blocks not printed (label: how many expected): {missing}"
        assert [c for c in CONTROLS if c in flat] == [] and [n for n in NOISE if n in flat] == []
        assert flat.startswith(f"{summary['service']}: maintenance report, -m daily PASSED"), flat[:200]
        assert flat.index("Coverage of the maintenance guide") < flat.index("Every check and its evidence") < \
            flat.index("Appendix: Environment"), "banner, coverage, checks, then the environment as an appendix"
        keys = {c["key"] for t in summary["tests"] for c in t["comparisons"]}
        assert keys and [k for k in keys if k not in text] == [], "a config key broke across lines"
        ids = [t["id"] for t in summary["tests"]]
        assert [i for i in ids if not _unbroken(text, i)] == [], "an id broke inside a word"


def test_evidence_closed_by_a_click_still_prints(tmp_path):
    """A reader may close an evidence block before printing: the print rules open every <details> again."""
    from opsproof.report.html import STYLESHEET

    page = tmp_path / "closed.html"
    page.write_text(f"<html><head><style>{STYLESHEET.read_text()}</style></head><body>"
                    "<details><summary>evidence: probe</summary>inside-the-closed-block</details></body></html>")
    pdf = tmp_path / "closed.pdf"
    run = _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    text = _pdf_text(pdf)
    assert "inside-the-closed-block" in text


# ---- the builders behind the page

def test_nested_evidence_is_tables_not_reprs():
    record = {"label": "verification", "data": {
        "tables": {"orders": 1000, "<script>": 1},
        "files": [{"path": "/a", "size": 1}, {"path": "/b", "mode": "0600"}],
        "log": ["line one", "line two"],
        "mixed": [1, {"k": "v"}],
        "empty": {},
    }}
    page = evidence_html([record], [])
    assert "{'" not in page and "[{" not in page and "<script>" not in page
    # A mapping: one name/value row per key.
    assert value_html({"orders": 1000}) == "<table class='opsproof-fields'><tr><td>orders</td><td><code>1000</code></td></tr></table>"
    # A list of records: a column per key, in the order they first appear; a missing value is an empty cell.
    rows = value_html(record["data"]["files"])
    assert rows.startswith("<table class='opsproof-rows'><tr><th>path</th><th>size</th><th>mode</th></tr>")
    assert "<tr><td><code>/<wbr>b</code></td><td></td><td><code>0600</code></td></tr>" in rows
    # A list of plain values: one a line; a mixed list: one item each; empties as their text.
    assert value_html(["line one", "line two"]) == "<code>line one\nline two</code>"
    assert value_html([1, {"k": "v"}]).startswith("<ol class='opsproof-items'><li><code>1</code></li><li><table")
    assert value_html({}) == "<code>{}</code>" and value_html(None) == "<code>None</code>"


def test_backup_sizes_chart_is_a_picture_for_any_number_of_archives():
    from opsproof.charts.backups import sizes_chart, unit_for

    now = time.time()
    for archives in ([], [(now, 9000)], [(now - 86400 * i, 9000 - 10 * i) for i in range(14)] + [(now, 10)]):
        picture = sizes_chart(archives, 1024, "archives")
        assert picture.startswith("<svg") and picture.rstrip().endswith("</svg>")
        assert len(picture) < 100_000  # small enough to inline in the self-contained report
    assert unit_for(0) == (1, "B") and unit_for(1023) == (1, "B") and unit_for(5 << 20) == (1 << 20, "MiB")


def test_stylesheet_ships_with_the_package_and_reaches_the_report(suite):
    """The print rules are pytest-html's --css addition, inlined in the self-contained report."""
    from opsproof.report.html import STYLESHEET

    assert STYLESHEET.is_file() and "@media print" in STYLESHEET.read_text()
    suite.config({"service": "shop", "disk": {"paths": ["/"], "max_used_percent": 100,
                                              "max_inodes_used_percent": 100}})
    assert suite.run("-m", "daily").ret == 0
    page = suite.html()
    assert ".extras-row.hidden" in page and '<link rel="stylesheet"' not in page
