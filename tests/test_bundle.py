"""`opsproof bundle`: an audit period in one archive that verifies unpacked, and fails once a report in it changes."""
from __future__ import annotations

import json
import subprocess
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opsproof.charts import trend  # noqa: F401 — pygal and numpy imported before pytester's snapshot of
from opsproof.cli import main      # sys.modules: removed after a test that uses it, numpy cannot be imported again
from opsproof.report import ledger
from opsproof.report.bundle_check import Period

from helpers import require_tool
from helpers.audit import record_run, validator


def unpack(archive: Path, into: Path) -> Path:
    """The bundle extracted with tarfile's data filter; its one top folder."""
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(into, filter="data")
    (top,) = {name.split("/")[0] for name in names}
    return into / top


def test_a_bundle_of_real_runs_verifies_unpacked_and_names_an_altered_report(suite, example_app, tmp_path, capsys):
    suite.config(example_app.config())
    assert suite.run("-m", "daily").ret == 0
    assert suite.run("-m", "daily").ret == 0
    check = validator()
    for path in suite.reports.glob("*.json"):
        check.validate(json.loads(path.read_text()))
    today = datetime.now(timezone.utc).date().isoformat()
    out = tmp_path / "audit.tar.gz"
    assert main(["bundle", str(suite.reports), "--from", today, "--to", today, "--out", str(out)]) == 0
    top = unpack(out, tmp_path / "unpacked")
    runs = [e["run_id"] for e in ledger.read_entries(suite.reports)]
    reports = sorted(p.name for p in suite.reports.glob("*.html"))
    assert sorted(p.name for p in (top / "reports").iterdir()) == sorted(
        [*reports, *(Path(r).with_suffix(".json").name for r in reports), "ledger.jsonl"])
    index = (top / "index.html").read_text()
    assert all(f"<code>{r}</code>" in index for r in runs) and "Ledger INTACT" in index
    assert all(f'href="reports/{r}"' in index for r in reports)
    history = (top / "history.html").read_text()
    assert all(f"<code>{r}</code>" in history for r in runs) and history.count("data:image/svg+xml") >= 4
    assert "intact" in (top / "verify-ledger.txt").read_text()
    capsys.readouterr()
    assert main(["verify-ledger", str(top)]) == 0
    report = top / "reports" / reports[0]
    report.write_text(report.read_text().replace("passed", "PASSED", 1))
    assert main(["verify-ledger", str(top)]) == 1
    assert f"altered: {reports[0]}" in capsys.readouterr().err


def test_only_the_periods_files_go_in_and_the_rest_of_the_ledger_still_verifies(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    record_run(reports, 0)
    record_run(reports, 1)
    record_run(reports, 2, failed=True, used=90.0, approval={"by": "Dana (CTO)", "reason": "INC-7 outage",
                                                              "at": "2026-11-30T02:00:00Z", "source": "command line"},
               waivers=[{"check": "test_disk_space", "hosts": [], "reason": "grows (OPS-412)", "approved_by": "Dana",
                         "expires": "2026-12-31", "in_force": True}],
               waived=[{"id": "checks/test_disk.py::test_disk_space[/-local]", "waiver": "waived: grows"}])
    record_run(reports, 6)
    ack = {"format": ledger.FORMAT, "kind": "ack", "run_id": "ack-1", "service": "shop",
           "started": "2026-12-01T09:00:00Z", "ended": "2026-12-01T09:00:00Z", "selection": "", "hosts": "local", "operator": "bob", "config": {},
           "outcome": {}, "failed": [], "files": [], "exit_status": 0, "verdict": None,
           "ack": {"what": "errorlog", "path": "/srv/logs/error.log", "reason": "INC-7 fixed"}}
    ledger.append(reports / ledger.NAME, ack)
    out = tmp_path / "nov.tgz"
    assert main(["bundle", str(reports), "--from", "2026-11-30", "--to", "2026-12-02", "--out", str(out)]) == 0
    top = unpack(out, tmp_path / "x")
    assert top.name == "opsproof-bundle_2026-11-30_2026-12-02"
    assert sorted(p.name for p in (top / "reports").iterdir()) == [
        "daily_20261130T020000Z.html", "daily_20261130T020000Z.json", "ledger.jsonl"]
    manifest = json.loads((top / "bundle.json").read_text())
    assert manifest["runs"] == ["run002"] and manifest["acks"] == ["ack-1"] and manifest["from"] == "2026-11-30"
    index = (top / "index.html").read_text()
    for text in ("Dana (CTO)", "INC-7 outage", "grows (OPS-412)", "INC-7 fixed", "srv/<wbr>logs/<wbr>error.<wbr>log",
                 "run002: checks/<wbr>test_<wbr>disk.<wbr>py::<wbr>test_<wbr>disk_<wbr>space", ">FAILED<"):
        assert text in index, text
    # daily: passed on 11-29 (day 1), then not until 12-04 (day 6): overdue from 12-01 02:01 on, past the period's end
    assert "2026-12-01T02:01:00Z" in index and "still overdue at the period's end" in index
    capsys.readouterr()
    assert main(["verify-ledger", str(top / "reports")]) == 0
    assert "6 file(s) of runs outside the period" in capsys.readouterr().out
    (top / "reports" / "daily_20261130T020000Z.json").unlink()
    assert main(["verify-ledger", str(top / "reports" / "ledger.jsonl")]) == 1
    assert "missing: daily_20261130T020000Z.json (run run002" in capsys.readouterr().err


def test_a_damaged_ledger_is_still_bundled_and_its_findings_go_in(tmp_path, capsys):
    record_run(tmp_path, 0)
    (tmp_path / "daily_20261128T020000Z.html").write_text("edited")
    out = tmp_path.parent / f"{tmp_path.name}.tar.gz"
    assert main(["bundle", str(tmp_path), "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out)]) == 1
    top = unpack(out, tmp_path.parent / f"{tmp_path.name}-x")
    assert "altered: daily_20261128T020000Z.html" in (top / "verify-ledger.txt").read_text()
    assert "PROBLEMS FOUND" in (top / "index.html").read_text()


@pytest.mark.parametrize("args, said", [
    (["--from", "2026-13-01", "--to", "2026-12-31"], "--from '2026-13-01' is not a date"),
    (["--from", "1 Dec", "--to", "2026-12-31"], "write YYYY-MM-DD"),
    (["--from", "2026-12-31", "--to", "2026-12-01"], "is after --to"),
])
def test_bad_dates_exit_4_writing_nothing(tmp_path, capsys, args, said):
    record_run(tmp_path, 0)
    out = tmp_path.parent / f"{tmp_path.name}-b.tar.gz"
    assert main(["bundle", str(tmp_path), *args, "--out", str(out)]) == 4
    assert said in capsys.readouterr().err and not out.exists()


def test_an_existing_out_is_replaced_only_with_force_and_nothing_is_written_elsewhere(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    record_run(reports, 0)
    period = ["--from", "2026-11-28", "--to", "2026-11-28"]
    out = tmp_path / "out" / "b.tar.gz"
    assert main(["bundle", str(reports), *period, "--out", str(out)]) == 4
    assert "does not exist" in capsys.readouterr().err and not out.parent.exists()
    out.parent.mkdir()
    out.write_text("an earlier bundle")
    assert main(["bundle", str(reports), *period, "--out", str(out)]) == 4
    assert "pass --force" in capsys.readouterr().err and out.read_text() == "an earlier bundle"
    assert main(["bundle", str(reports), *period, "--out", str(tmp_path / "b.zip")]) == 4
    assert main(["bundle", str(tmp_path / "none"), *period, "--out", str(tmp_path / "c.tar.gz")]) == 4
    before = sorted(p.name for p in reports.iterdir())
    assert main(["bundle", str(reports), *period, "--out", str(out), "--force"]) == 0
    assert tarfile.is_tarfile(out) and sorted(p.name for p in reports.iterdir()) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.tar.gz"]


def test_the_period_holds_whole_utc_days():
    period = Period.parse("2026-12-01", "2026-12-01")
    assert period.holds({"started": "2026-12-01T00:00:00Z"}) and period.holds({"started": "2026-12-01T23:59:59Z"})
    assert not period.holds({"started": "2026-12-02T00:00:00Z"})
    assert not period.holds({"started": "2026-11-30T23:59:59Z"})


def test_the_index_prints_on_a4_without_breaking_an_id_inside_a_word(tmp_path):
    require_tool("chromium", "pdftotext", "pdfinfo")
    reports = tmp_path / "reports"
    reports.mkdir()
    for day in range(12):
        record_run(reports, day, selection="daily or weekly or monthly", failed=day == 5)
    out = tmp_path / "b.tar.gz"
    assert main(["bundle", str(reports), "--from", "2026-11-28", "--to", "2026-12-09", "--out", str(out)]) == 0
    index = unpack(out, tmp_path / "x") / "index.html"
    pdf = tmp_path / "index.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                    index.as_uri()], capture_output=True, timeout=120, check=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "(A4)" in info
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60,
                           check=True).stdout.split()
    for day in range(12):
        assert f"run{day:03d}" in words                          # a run id whole, on one line
    assert "2026-12-03T02:00:00Z" in words and "PASSED" in words and "FAILED" in words
    assert not [w for w in words if w.startswith("daily_2026") and not w.endswith((".html", "_"))], words
