"""Charts (opsproof/charts/, engine/charts.py): pygal SVG drawn where a check asks for it, in the report the ledger
hashed; a chart that cannot be drawn fails the check that asked for it; a run that draws nothing imports no
plotting library, and numpy only where the SLO read needs it."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import time
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest

from helpers import ROOT
from helpers.slo import AVAILABILITY, FAST, access_log_lines, slo_config
from opsproof.charts.drawing import Chart


def _engine_charts():
    sys.path.insert(0, str(ROOT))
    try:
        from engine import charts
    finally:
        sys.path.remove(str(ROOT))
    return charts


def _svg(text: str) -> ElementTree.Element:
    root = ElementTree.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    return root


def test_every_chart_is_one_svg_without_script_whatever_its_data():
    from opsproof.charts.backups import sizes_chart
    from opsproof.charts.disk import disk_chart
    from opsproof.charts.slo import budget_chart, performance_chart
    from opsproof.charts.trend import trend_chart
    from opsproof.slo.status import BudgetSeries, Performance
    from opsproof.system.capacity import Forecast

    now = time.time()
    grown = Forecast(mount="/", samples=3, span_days=2, growth_bytes_per_day=1e9, days_until_full=9,
                     full_by_utc="2026-12-15", history=[[now - d * 86400, 5e10 - d * 1e9, 1e11, 0, 0] for d in (2, 1, 0)])
    drawn = {
        "sizes": sizes_chart([(now - d * 86400, 4000 + d) for d in range(5)] + [(now, 900)], 1500, "sizes"),
        "one archive": sizes_chart([(now, 900)], None, "one"),
        "no archive": sizes_chart([], 1500, "none"),
        "disk": disk_chart(grown, "/ on web1"),
        "no disk history": disk_chart(Forecast(mount="/"), "/"),
        "budget": budget_chart(BudgetSeries("a", 99.0, now - 86400, [now - 3600, now], [99.5, 98.0], [60.0, -5.0]),
                               "availability"),
        "no traffic": budget_chart(BudgetSeries("a", 99.0, now - 86400, [now], [None], [None]), "availability"),
        "performance": performance_chart(Performance("access.log", "7d", numbers=[
            {"day": "2026-12-0%d" % d, "requests": 10 * d, "error_percent": 0.5, "p50_ms": 20, "p95_ms": 90,
             "p99_ms": None} for d in range(1, 8)]), "week"),
        "trend": trend_chart("disk used", "B", [("/", [(now - 60, 1 << 30), (now, 2 << 30)])]).decode(),
        "no trend": trend_chart("disk used", "%", []).decode(),
    }
    for name, text in drawn.items():
        _svg(text)
        assert "<script" not in text and "xlink:href=\"http" not in text, name
    assert "no archive to show" in drawn["no archive"] and "no disk usage recorded yet" in drawn["no disk history"]
    assert "backups.min_size_bytes = 1500 B" in drawn["sizes"]
    assert "growth: full by 2026-12-15" in drawn["disk"] and "time (UTC)" in drawn["disk"]   # the axis says its zone
    assert "target 99 %" in drawn["budget"] and "GiB" in drawn["trend"]


def _item(selection: str, *markers: str) -> SimpleNamespace:
    return SimpleNamespace(iter_markers=lambda: [SimpleNamespace(name=m) for m in markers],
                           config=SimpleNamespace(getoption=lambda name: selection))


def test_a_chart_is_drawn_where_it_is_read_and_one_that_cannot_be_fails_the_phase_that_asked():
    """Kept undrawn with the evidence; drawn at the check's end when it failed or the run selected a review cadence
    of it (weekly, monthly, quarterly, the checklists), not for a passing check of a daily or post-deploy run."""
    charts = _engine_charts()
    evidence = SimpleNamespace(images=[], image=lambda chart, title: evidence.images.append((title, chart)))
    charts.picture(evidence, Chart("opsproof.charts.backups:sizes_chart", ([(time.time(), 10)], 5, "s"), "sizes"))
    charts.picture(evidence, Chart("opsproof.charts.backups:sizes_chart", ("not pairs", 5, "s"), "broken"))
    charts.picture(evidence, None)
    assert [title for title, _ in evidence.images] == ["sizes", "broken"]
    assert all(isinstance(chart, Chart) for _, chart in evidence.images)          # nothing drawn yet
    for selection, markers, failed in (("daily", ("daily", "weekly"), False), ("postdeploy", ("postdeploy",), False),
                                       ("daily or postdeploy", ("daily", "postdeploy"), False)):
        assert charts.drawn(_item(selection, *markers), evidence.images, failed) == [], (selection, failed)
    for selection, markers, failed in (("daily", ("daily", "weekly"), True), ("weekly", ("daily", "weekly"), False),
                                       ("", ("daily", "weekly"), False), ("postmaintenance", ("postmaintenance",), False),
                                       ("daily", (), False)):
        assert len(charts.drawn(_item(selection, *markers), evidence.images, failed)) == 2, (selection, failed)
    (title, svg), (broken, error) = charts.drawn(_item("weekly", "weekly"), evidence.images, False)
    assert title == "sizes" and _svg(svg) is not None and broken == "broken" and isinstance(error, Exception)
    report = SimpleNamespace(outcome="passed", longrepr=None)
    assert base64.b64decode(charts.encoded(report, title, svg)).decode() == svg and report.outcome == "passed"
    assert charts.encoded(report, broken, error) == ""
    assert report.outcome == "failed" and report.longrepr.startswith("the chart 'broken' could not be drawn: ")
    earlier = SimpleNamespace(outcome="failed", longrepr="teardown: boom")
    charts.encoded(earlier, broken, error)
    assert earlier.longrepr.startswith("teardown: boom\nthe chart 'broken' could not be drawn: ")


def test_charts_are_in_the_report_the_ledger_hashed(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text(access_log_lines(300))
    suite.config(slo_config(tmp_path, AVAILABILITY, FAST))
    result = suite.run("-m", "weekly", "checks/test_slo.py")
    assert result.ret == 0, result.stdout.str()
    images = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)", suite.html())
    assert len(images) >= 3, len(images)                        # two budget charts and the week's chart
    for data in images:
        _svg(base64.b64decode(data).decode())                   # an SVG, never an empty image
    line = json.loads((suite.reports / "ledger.jsonl").read_text().splitlines()[-1])
    digests = {f["name"]: f["sha256"] for f in line["files"]}
    report = max(suite.reports.glob("*.html"), key=lambda p: p.stat().st_mtime)
    assert digests[report.name] == hashlib.sha256(report.read_bytes()).hexdigest()


_MODULES = """
import json, sys
def pytest_unconfigure(config):
    with open(config.rootpath / "modules.json", "w") as fh:
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "matplotlib", "pygal")), fh)
"""


@pytest.mark.parametrize("draws", [False, True])
def test_a_run_that_draws_nothing_imports_no_plotting_library_nor_numpy(suite, tmp_path, draws):
    """Charts used to cost every run a helper process and matplotlib's import; now a chart is drawn where it is asked
    for, and a run whose checks draw nothing (no SLO, no backups) imports neither pygal nor numpy."""
    (suite.path / "modules_probe.py").write_text(_MODULES)
    (tmp_path / "data").mkdir()
    config = {"service": "probe", "root": str(tmp_path), "disk": {"paths": ["."], "max_used_percent": 100}}
    if draws:
        (tmp_path / "logs").mkdir()
        (tmp_path / "logs" / "access.log").write_text(access_log_lines(50))
        config = slo_config(tmp_path, AVAILABILITY, FAST)
    suite.config(config)
    result = suite.run("-p", "modules_probe", "-m", "weekly" if draws else "daily",
                       "checks/test_slo.py" if draws else "checks/test_disk.py")
    assert result.ret == 0, result.stdout.str()
    imported = set(json.loads((suite.path / "modules.json").read_text()))
    assert "matplotlib" not in imported
    if draws:
        assert {"pygal", "numpy"} <= imported
    else:
        assert imported == set(), sorted(imported)


@pytest.mark.parametrize("failing", [False, True])
def test_a_daily_run_draws_the_chart_of_a_failing_check_only(suite, tmp_path, failing):
    """The daily run is a gate read when it fails: a passing SLO check there draws no chart (pygal not even imported);
    the same check failing shows its chart beside the failure."""
    (suite.path / "modules_probe.py").write_text(_MODULES)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text(access_log_lines(50) + access_log_lines(10, status=503) * failing)
    suite.config(slo_config(tmp_path, AVAILABILITY))
    result = suite.run("-p", "modules_probe", "-m", "daily", "checks/test_slo.py")
    assert result.ret == (1 if failing else 0), result.stdout.str()
    images = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)", suite.html())
    imported = set(json.loads((suite.path / "modules.json").read_text()))
    if failing:
        assert len(images) == 1 and "availability" in base64.b64decode(images[0]).decode()
        assert "pygal" in imported
    else:
        assert images == [] and "pygal" not in imported and "numpy" in imported   # the SLO read needs numpy
