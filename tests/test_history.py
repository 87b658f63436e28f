"""`opsproof history`: every run per cadence and host, with trend charts of the values the summaries hold."""
from __future__ import annotations

import re

from opsproof.cli import main
from opsproof.report import history, ledger

from helpers.audit import record_run


def test_the_series_come_from_the_summaries_by_config_key(tmp_path):
    for day, used in ((0, 60.0), (1, 65.5), (2, 71.0)):
        record_run(tmp_path, day, used=used)
    view = history.read(tmp_path, ledger.read_entries(tmp_path))
    series = view.series()
    assert list(series) == ["disk", "backup_size", "slo", "verify", "errors"]
    assert [v for _, v in series["disk"][0][1]] == [60.0, 65.5, 71.0] and series["disk"][0][0] == "space used on /"
    assert [v for _, v in series["backup_size"][0][1]] == [1000, 1001, 1002]
    assert series["slo"][0][0] == "availability" and series["errors"][0][1][-1][1] == 2
    assert series["verify"] == [("test_newest_backup_is_not_trivial", [(p.at.timestamp(), p.value) for p in
                                 sorted((p for p in view.points if p.metric == "verify"), key=lambda p: p.at)])]


def test_the_page_holds_every_run_per_cadence_and_host_and_the_charts(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    record_run(reports, 0)
    record_run(reports, 1, failed=True, used=90.0)
    record_run(reports, 2, selection="daily or weekly")
    (reports / "daily_20261129T020000Z.json").unlink()   # run001's summary gone: said, its run still listed
    out = tmp_path / "history.html"
    assert main(["history", str(reports), "--out", str(out)]) == 0
    page = out.read_text()
    for run_id in ("run000", "run001", "run002"):
        assert f"<code>{run_id}</code>" in page
    assert len(re.findall(r'src="data:image/svg\+xml;base64,', page)) == 5
    assert "daily on local — 3 run(s), 2 passed" in page and "weekly on local — 1 run(s), 1 passed" in page
    assert '<a href="reports/daily_20261128T020000Z.html">' in page and ">FAILED<" in page
    assert "missing, its values are not shown" in capsys.readouterr().err
    assert main(["history", str(reports), "--out", str(out)]) == 0   # its own page: made again
    assert ledger.verify(reports).problems == ["missing: daily_20261129T020000Z.json (run run001, "
                                               "2026-11-29T02:00:00Z)"]


def test_history_refuses_a_bad_out_and_what_is_not_a_ledger(tmp_path, capsys):
    record_run(tmp_path, 0)
    other = tmp_path.parent / f"{tmp_path.name}-notes.html"
    other.write_text("mine")
    assert main(["history", str(tmp_path), "--out", str(other)]) == 4
    assert other.read_text() == "mine" and "pass --force" in capsys.readouterr().err
    assert main(["history", str(tmp_path), "--out", str(tmp_path / "h.html")]) == 4
    assert "orphan" in capsys.readouterr().err and not (tmp_path / "h.html").exists()
    assert main(["history", str(tmp_path), "--out", str(tmp_path / "nowhere" / "h.html")]) == 4
    assert main(["history", str(tmp_path / "none"), "--out", str(tmp_path.parent / "h.html")]) == 4
