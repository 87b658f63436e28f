"""Charts drawn by the run's helper process (opsproof/charts/drawing.py, engine/charts.py): the same PNGs in the
report whether drawn there or here, in the report before the ledger takes its digest, and a chart that cannot
be drawn fails the check that asked for it."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from concurrent.futures import Future
from types import SimpleNamespace

from helpers import ROOT
from helpers.slo import AVAILABILITY, FAST, access_log_lines, slo_config
from opsproof.charts.drawing import Painter


def test_the_helper_returns_what_the_function_returns_and_raises_what_it_raises():
    painter = Painter()
    assert painter.draw("posixpath:join", "a", "b") == "a/b"      # no helper: drawn here, the value itself
    painter.start()
    try:
        assert painter.draw("posixpath:join", "a", "b").result(timeout=60) == "a/b"
        failed = painter.draw("json:loads", "{")
        assert isinstance(failed.exception(timeout=60), json.JSONDecodeError)
    finally:
        painter.stop()
    assert painter.draw("posixpath:join", "c", "d") == "c/d"      # stopped: drawn here again


def test_a_chart_that_could_not_be_drawn_fails_the_phase_that_asked_for_it():
    sys.path.insert(0, str(ROOT))
    try:
        from engine.charts import encoded
    finally:
        sys.path.remove(str(ROOT))
    future: Future = Future()
    future.set_exception(ValueError("no data"))
    report = SimpleNamespace(outcome="passed", longrepr=None, nodeid="checks/x.py::test_x")
    assert encoded(report, "budget", future) == ""
    assert report.outcome == "failed" and report.longrepr == "the chart 'budget' could not be drawn: ValueError: no data"
    drawn = SimpleNamespace(outcome="passed", longrepr=None, nodeid="checks/x.py::test_x")
    assert encoded(drawn, "sizes", b"\x89PNG") == base64.b64encode(b"\x89PNG").decode()
    assert drawn.outcome == "passed"
    earlier = SimpleNamespace(outcome="failed", longrepr="teardown: boom", nodeid="checks/x.py::test_x")
    failing: Future = Future()
    failing.set_exception(ValueError("no data"))
    assert encoded(earlier, "budget", failing) == ""
    assert earlier.longrepr == "teardown: boom\nthe chart 'budget' could not be drawn: ValueError: no data"


def test_charts_drawn_by_the_helper_are_in_the_report_the_ledger_hashed(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text(access_log_lines(300))
    suite.config(slo_config(tmp_path, AVAILABILITY, FAST))
    result = suite.run("-m", "weekly", "checks/test_slo.py")
    assert result.ret == 0, result.stdout.str()
    html = suite.html()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]*)", html)
    assert len(images) >= 3, len(images)                        # two budget charts and the week's chart
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n", data[:40]   # a PNG, never an empty image
    line = json.loads((suite.reports / "ledger.jsonl").read_text().splitlines()[-1])
    digests = {f["name"]: f["sha256"] for f in line["files"]}
    report = max(suite.reports.glob("*.html"), key=lambda p: p.stat().st_mtime)
    assert digests[report.name] == hashlib.sha256(report.read_bytes()).hexdigest()
