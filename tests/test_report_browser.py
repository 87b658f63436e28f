"""A report an auditor can read: the example's daily report opened in real headless Chromium (the rendered
page, its console, its print to PDF), and the builders behind what it shows (nested evidence as tables,
the backup sizes chart)."""
from __future__ import annotations

import html
import itertools
import re
import struct
import subprocess
import time
from collections import Counter
from pathlib import Path

from opsproof.report.html import evidence_html, value_html

from helpers import require_tool

# What runs here as root, in a container, with no display, D-Bus or network: no sandbox, no GPU, nothing fetched.
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# What pytest-html prints only to be clicked: the filter checkboxes' labels, the detail links, the filter hint.
CONTROLS = ("Expected failures", "Unexpected passes", "Show all details", "Hide all details", "check the boxes")
_profiles = itertools.count()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{next(_profiles)}"  # a fresh profile: nothing remembered between runs
    return subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=120, check=True).stdout


def _daily_report(suite, example_app) -> tuple[Path, dict]:
    """The example's daily checks run through the suite; its HTML report and JSON summary."""
    suite.config(example_app.config())
    result = suite.run("-m", "daily")
    assert result.ret == 0, result.stdout.str()
    summary = suite.summary()
    return suite.reports / summary["report"], summary


def _rows(dom: str) -> dict[str, str]:
    """test id -> the rendered markup of its results-table body (its row and its evidence row).

    pytest-html names a test that ended in setup or teardown `ID::setup` / `ID::teardown`."""
    parts = dom.split('<tbody class="results-table-row ')[1:]
    ids = [html.unescape(re.match(r'\w+" id="([^"]+)"', p).group(1)) for p in parts]
    return {re.sub(r"::(setup|teardown)$", "", i): p for i, p in zip(ids, parts)}


def test_console_error_is_what_the_stderr_check_looks_for(tmp_path):
    """The page check below reads Chromium's log for CONSOLE lines: prove a page's console.error lands there."""
    require_tool("chromium")
    page = tmp_path / "noisy.html"
    page.write_text("<html><body><script>console.error('noisy-page-error')</script></body></html>")
    run = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert any(":CONSOLE" in line and "noisy-page-error" in line for line in run.stderr.splitlines()), run.stderr


def test_daily_report_renders_verdict_and_charts_without_console_errors(suite, example_app, tmp_path):
    require_tool("chromium")
    report, summary = _daily_report(suite, example_app)
    run = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert [line for line in run.stderr.splitlines() if ":CONSOLE" in line] == []
    # The verdict and the coverage table come first, before the results table.
    verdict = dom.find('class="opsproof-verdict"')
    assert 0 <= verdict < dom.find('class="opsproof-coverage"') < dom.find('id="results-table"'), \
        "the verdict and coverage table must open the report"
    assert f'data-verdict="{summary["verdict"]}"' in dom
    # The rows as pytest-html's script rendered them: one per test of the summary.
    rows = _rows(dom)
    assert sorted(rows) == sorted(t["id"] for t in summary["tests"])
    charted = {tid for tid, body in rows.items() if '<img src="data:image/png;base64,' in body}
    slo = {tid for tid in rows if tid.startswith("checks/test_slo.py::")}
    assert slo and slo <= charted, "every SLO check shows its chart"
    assert {tid for tid in charted - slo} == {t for t in rows if "test_newest_backup_is_not_trivial" in t}, \
        "the backup sizes chart goes with the size check only"
    # Nested evidence reads as tables, never as a Python dict's repr.
    intact = next(body for tid, body in rows.items() if "test_newest_archive_is_intact" in tid)
    assert "<td>tables</td><td><table class=\"opsproof-fields\">" in intact and "{'" not in intact


def test_printed_report_has_all_evidence_and_no_controls(suite, example_app, tmp_path):
    """Auditors attach PDFs: in print every row's evidence is expanded (passed rows are collapsed on screen)
    and the filter checkboxes and detail links are gone."""
    require_tool("chromium", "pdftotext")
    report, summary = _daily_report(suite, example_app)
    pdf = tmp_path / "report.pdf"
    run = _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = _pdf_text(pdf)
    flat = " ".join(text.split())
    expected = Counter(f"evidence: {r['label']}" for t in summary["tests"] for r in t["evidence"])
    assert any(t["outcome"] == "passed" and t["evidence"] for t in summary["tests"])
    missing = {label: n for label, n in expected.items() if flat.count(label) < n}
    assert not missing, f"evidence blocks not printed (label: how many expected): {missing}"
    assert [c for c in CONTROLS if c in flat] == []
    assert summary["verdict"].upper() in flat


def test_evidence_closed_by_a_click_still_prints(tmp_path):
    """A reader may close an evidence block before printing: the print rules open every <details> again."""
    require_tool("chromium", "pdftotext")
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
    assert "<tr><td><code>/b</code></td><td></td><td><code>0600</code></td></tr>" in rows
    # A list of plain values: one a line; a mixed list: one item each; empties as their text.
    assert value_html(["line one", "line two"]) == "<code>line one\nline two</code>"
    assert value_html([1, {"k": "v"}]).startswith("<ol class='opsproof-items'><li><code>1</code></li><li><table")
    assert value_html({}) == "<code>{}</code>" and value_html(None) == "<code>None</code>"


def test_backup_sizes_chart_is_a_png_for_any_number_of_archives():
    from opsproof.charts.backups import sizes_chart, unit_for

    now = time.time()
    for archives in ([], [(now, 9000)], [(now - 86400 * i, 9000 - 10 * i) for i in range(14)] + [(now, 10)]):
        png = sizes_chart(archives, 1024, "archives")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (640, 256)  # 8 x 3.2 in at 80 dpi: small enough to inline
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
