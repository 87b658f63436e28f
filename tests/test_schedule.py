"""`opsproof schedule`: the units systemd accepts, the calendars it computes, the cron lines croniter reads alike,
--dry-run / --target-dir / --install, --list beside the window, and the CI drop-ins against their schemas."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opsproof import cli
from opsproof import config as cfg
from opsproof.config.timers import Timers
from opsproof.process import timerunits
from opsproof.process.timers import CronError, cron_line, cron_schedule, plan_of, systemd_files

from helpers import ROOT, config_error, require_tool

UNITS = [f"opsproof-{c}.{kind}" for c in ("daily", "weekly", "monthly", "quarterly") for kind in ("service", "timer")]
BASE = "2026-03-01 12:00:00 UTC"          # a Sunday, after the first-Sunday window closed


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Calendars read in UTC (systemd-analyze and cron use the process's local time)."""
    monkeypatch.setenv("TZ", "UTC")


def _config(tmp_path: Path, schedule: str = "") -> Path:
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: shop\nwindow: {rrule: \"FREQ=MONTHLY;BYDAY=1SU\", start: \"02:00\", duration: 2h}\n"
                    + (f"schedule: {schedule}\n" if schedule else ""))
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["schedule", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _plan(tmp_path: Path, **section):
    return plan_of(Timers(**section), "shop", str(tmp_path / "maintenance.yaml"), str(ROOT), sys.executable, "root")


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_target_dir_writes_exactly_the_units_it_lists_and_systemd_accepts_them(tmp_path, capsys):
    require_tool("systemd-analyze")
    target = tmp_path / "units"
    code, out, err = _run(capsys, f"--maint-config={_config(tmp_path)}", f"--target-dir={target}")
    assert (code, err) == (0, "")
    assert out.split() == [str(target / name) for name in UNITS]
    assert _tree(target) == sorted(UNITS)
    done = subprocess.run(["systemd-analyze", "verify", *sorted(map(str, target.iterdir()))],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    # The same verify reads what it is given: a misspelt key is named.
    bad = tmp_path / "bad" / "opsproof-daily.service"
    bad.parent.mkdir()
    bad.write_text((target / "opsproof-daily.service").read_text().replace("TimeoutStartSec", "TimeoutStartSex"))
    done = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'TimeoutStartSex'" in done.stdout + done.stderr


def test_units_run_the_cadence_from_the_checkout_with_limit_user_and_timer_settings(tmp_path):
    plan = _plan(tmp_path, user="ops", runtime_limit="90m", randomized_delay="5m", textfile="/var/lib/node/opsproof.prom")
    files = systemd_files(plan)
    assert list(files) == UNITS
    daily, timer = files["opsproof-daily.service"], files["opsproof-daily.timer"]
    for line in ("Type=oneshot", "User=ops", f"WorkingDirectory={ROOT}", "TimeoutStartSec=5400"):
        assert line in daily.splitlines()
    assert (f"ExecStart={sys.executable} -m pytest -m daily --maint-config={tmp_path}/maintenance.yaml --apply "
            f"--report-dir={ROOT}/reports --textfile=/var/lib/node/opsproof.prom -p no:cacheprovider"
            in daily.splitlines())
    for line in ("OnCalendar=*-*-* 03:00", "Persistent=true", "RandomizedDelaySec=300",
                 "Unit=opsproof-daily.service", "WantedBy=timers.target"):
        assert line in timer.splitlines()
    # A manual cadence: no --apply, its own report dir (a plan-only run is no pass in the real ledger), then status.
    monthly = [line for line in files["opsproof-monthly.service"].splitlines() if line.startswith("ExecStart=")]
    assert monthly == [
        f"ExecStart={sys.executable} -m pytest -m monthly --maint-config={tmp_path}/maintenance.yaml "
        f"--report-dir={ROOT}/reports/reminders -p no:cacheprovider",
        f"ExecStart={sys.executable} -m opsproof.cli status {ROOT}/reports --maint-config={tmp_path}/maintenance.yaml"]
    assert " --apply" not in "".join(line for line in files["opsproof-quarterly.service"].splitlines()
                                     if line.startswith("ExecStart="))


def test_odd_paths_are_quoted_for_systemd(tmp_path):
    require_tool("systemd-analyze")
    odd = tmp_path / "a dir" / "50% $HOME"
    plan = plan_of(Timers(report_dir=str(odd), daily="*-*-* 03:00", weekly=None, monthly=None, quarterly=None),
                   "shop 100%", str(odd / "m.yaml"), str(ROOT), sys.executable, "root")
    files = systemd_files(plan)
    assert list(files) == ["opsproof-daily.service", "opsproof-daily.timer"]
    assert f'"--report-dir={tmp_path}/a dir/50%% $$HOME"' in files["opsproof-daily.service"]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in files)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


# The README's "Run the cadences on a schedule" table promises these, from Sunday 2026-03-01 12:00 UTC.
PROMISED = {"daily": "2026-03-02 03:00:00", "weekly": "2026-03-08 04:00:00",
            "monthly": "2026-04-05 02:30:00", "quarterly": "2026-04-05 02:30:00"}


def test_default_calendars_elapse_as_the_readme_promises():
    require_tool("systemd-analyze")
    for cadence, expression in Timers().cadences().items():
        runs = timerunits.elapses(expression, 5, base=BASE)
        assert len(runs) == 5
        assert f"{runs[0][1]:%Y-%m-%d %H:%M:%S}" == PROMISED[cadence], cadence
    assert [f"{t:%m-%d}" for _, t in timerunits.elapses(Timers().quarterly, 5, base=BASE)] == [
        "04-05", "07-05", "10-04", "01-03", "04-04"]


@pytest.mark.parametrize("expression", [
    *Timers().cadences().values(), "Mon..Fri *-*-* 06:30", "*-*-01 05:00", "Sat,Sun 22:15", "*-*-* 0/6:00",
    "Sat,Sun,Mon *-*-* 23:59:00", "*-01/3-01 01:00", "daily", "weekly"])
def test_cron_lines_parse_and_run_when_systemd_would(expression):
    require_tool("systemd-analyze")
    croniter = pytest.importorskip("croniter").croniter
    fields, days = cron_schedule(expression)
    assert croniter.is_valid(fields), fields
    it = croniter(fields, datetime(2026, 3, 1, 12, tzinfo=timezone.utc))
    runs: list[datetime] = []
    while len(runs) < 5:
        moment = it.get_next(datetime)
        if not days or moment.isoweekday() in days:     # the line's `date +%u` guard
            runs.append(moment)
    assert runs == [t for _, t in timerunits.elapses(expression, 5, base=BASE)]


@pytest.mark.parametrize("expression", ["*-*-* 03:00 Europe/Berlin", "2027-*-* 03:00", "*-*-* 03:00:30",
                                        "*-*~01 03:00", "Sun *-*-40 03:00", "Fri..Mon 03:00"])
def test_cron_refuses_what_it_cannot_hold(expression):
    with pytest.raises(CronError):
        cron_schedule(expression)


def test_cron_file_is_written_alone_and_its_line_runs_under_flock_and_timeout(tmp_path, capsys):
    require_tool("flock", "timeout")
    target = tmp_path / "cron"
    code, out, err = _run(capsys, f"--maint-config={_config(tmp_path)}", "--cron", f"--target-dir={target}")
    assert (code, err, out.split()) == (0, "", [str(target / "opsproof")])
    text = (target / "opsproof").read_text()
    assert "30 2 1-7 * * root date +\\%u | grep -qx '[7]' && " in text   # first Sunday: cron ORs, the guard ANDs
    lines = [line for line in text.splitlines() if line[:1].isdigit()]
    assert len(lines) == 4 and all("flock -n /run/lock/opsproof-" in x and "timeout -k 60 7200 " in x for x in lines)
    # The command part runs as cron would run it (\% back to %); a held lock skips it.
    plan = plan_of(Timers(lock_dir=str(tmp_path)), "shop", "/etc/m.yaml", str(tmp_path), "/bin/echo", "root")
    command = cron_line(plan, "daily").split(" ", 6)[6].replace("\\%", "%")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout.split()[:4]) == (0, ["-m", "pytest", "-m", "daily"])
    lock = str(tmp_path / "opsproof-daily.lock")
    holder = subprocess.Popen(["flock", lock, "sleep", "60"])
    try:
        for _ in range(200):          # wait, bounded, until the holder has the lock
            if subprocess.run(["flock", "-n", lock, "true"], timeout=10).returncode:
                break
            time.sleep(0.05)
        skipped = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    finally:
        holder.kill()
        holder.wait(10)
    assert (skipped.returncode, skipped.stdout) == (1, "")


def test_cron_refusal_is_one_line_and_exit_4(tmp_path, capsys):
    config = _config(tmp_path, "{daily: '*-*-* 03:00 Europe/Berlin'}")
    code, out, err = _run(capsys, f"--maint-config={config}", "--cron", "--dry-run")
    assert code == 4 and out == "" and len(err.splitlines()) == 1 and "time zone" in err


def test_dry_run_prints_every_file_and_writes_nothing(tmp_path, capsys, monkeypatch):
    config = _config(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    code, out, err = _run(capsys, f"--maint-config={config}", "--dry-run")
    assert (code, err) == (0, "")
    assert re.findall(r"^# --- (\S+) \(not written: --dry-run\)$", out, re.M) == UNITS
    assert "OnCalendar=Sun *-*-* 04:00" in out
    assert _tree(tmp_path) == before


def test_install_without_root_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    """Never run as root for real here: as root the test takes the identity of nobody for the check."""
    monkeypatch.setattr(timerunits, "UNIT_DIR", tmp_path / "systemd")
    monkeypatch.setattr(timerunits, "CRON_FILE", tmp_path / "cron.d" / "opsproof")
    if os.geteuid() == 0:
        monkeypatch.setattr(timerunits.os, "geteuid", lambda: 65534)
    for extra in ([], ["--cron"]):
        code, out, err = _run(capsys, f"--maint-config={_config(tmp_path)}", "--install", *extra)
        assert (code, out) == (4, "")
        assert err.splitlines() == ["opsproof: schedule: --install writes to /etc and enables timers: run it as "
                                    "root, or use --target-dir DIR"]
    assert not (tmp_path / "systemd").exists() and not (tmp_path / "cron.d").exists()


def test_list_shows_five_runs_of_each_timer_beside_five_windows(tmp_path, capsys):
    require_tool("systemd-analyze")
    code, out, err = _run(capsys, f"--maint-config={_config(tmp_path)}", "--list")
    assert (code, err) == (0, "")
    blocks = re.split(r"^  (\w+) +OnCalendar=", out, flags=re.M)
    runs = {blocks[i]: re.findall(r"^    \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +\d{4}-\d\d-\d\d \d\d:\d\dZ",
                                  blocks[i + 1], re.M) for i in range(1, len(blocks), 2)}
    assert {name: len(found) for name, found in runs.items()} == {c: 5 for c in Timers().cadences()}
    windows = re.findall(r"^    \d{4}-\d\d-\d\d 02:00 UTC – \d{4}-\d\d-\d\d 04:00 UTC   .+Z$", out, re.M)
    assert len(windows) == 5
    monthly = out.split("  monthly ")[1].split("  quarterly ")[0]
    assert monthly.count("inside the window") == 5          # the first-Sunday reminders fall in the window


def test_list_without_systemd_analyze_says_so_and_still_shows_the_window(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, out, err = _run(capsys, f"--maint-config={_config(tmp_path)}", "--list")
    assert (code, err) == (0, "")
    assert out.count("systemd-analyze is not installed") == 4
    assert len(re.findall(r"^    \d{4}-\d\d-\d\d 02:00 UTC – ", out, re.M)) == 5


def test_list_without_a_window_says_so(tmp_path, capsys):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: shop\nschedule: {daily: null, weekly: null, monthly: null, quarterly: null}\n")
    code, out, _ = _run(capsys, f"--maint-config={path}", "--list")
    assert code == 0 and "no window: section in the config" in out


@pytest.mark.parametrize("text,key,words", [
    ("schedule: {daily: 'every day'}", "schedule.daily", "names no time of day"),
    ("schedule: {weekly: 'Sun; rm -rf / 03:00'}", "schedule.weekly", "not a systemd calendar expression"),
    ("schedule: {randomized_delay: 0s, runtime_limit: 0s}", "schedule.runtime_limit", "must be positive"),
    ("schedule: {user: 'root;x'}", "schedule.user", "not a user name"),
    ("schedule: {hourly: '*-*-* *:00'}", "schedule.hourly", "unknown key"),
])
def test_bad_schedule_sections_name_the_key(tmp_path, text, key, words):
    err = config_error(tmp_path, text)
    assert err.key == key and words in err.problem


def test_a_cadence_set_to_null_gets_no_units(tmp_path, capsys):
    target = tmp_path / "u"
    code, _, _ = _run(capsys, f"--maint-config={_config(tmp_path, '{monthly: null, quarterly: null}')}",
                      f"--target-dir={target}")
    assert code == 0 and _tree(target) == sorted(UNITS[:4])


def test_bad_config_exits_4(tmp_path, capsys):
    code, out, err = _run(capsys, f"--maint-config={tmp_path / 'missing.yaml'}", "--dry-run")
    assert (code, out) == (4, "") and err.startswith("opsproof: bad maintenance config:")


def test_check_config_does_not_list_a_default_schedule(tmp_path, capsys):
    assert cli.main(["check-config", str(_config(tmp_path))]) == 0
    sections = capsys.readouterr().out.splitlines()[-1]
    assert "window" in sections and "schedule" not in sections
    assert cfg.load(_config(tmp_path, "{daily: '*-*-* 01:00'}")).schedule.daily == "*-*-* 01:00"


@pytest.mark.parametrize("name,schema", [("github-postdeploy.yml", "vendor.github-workflows"),
                                         ("gitlab-postdeploy.yml", "vendor.gitlab-ci")])
def test_ci_drop_ins_validate_against_their_schemas(name, schema, tmp_path):
    tool = shutil.which("check-jsonschema") or require_tool("check-jsonschema")
    path = ROOT / "examples" / "ci" / name
    text = path.read_text()
    assert "pytest -m postdeploy --require-complete --junitxml=reports/postdeploy.xml" in text
    assert ("if: always()" in text) if "github" in name else ("when: always" in text)
    done = subprocess.run([tool, "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / name      # the schema is really applied: an unknown artifacts/when value is refused
    broken.write_text(text.replace("when: always", "when: sometimes").replace("runs-on:", "runs_on:"))
    done = subprocess.run([tool, "--builtin-schema", schema, str(broken)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr


def _steps_using(workflow: dict, action: str) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]
            if step.get("uses", "").split("@")[0] == action]


def test_ci_drop_ins_keep_state_and_ledger_between_runs_and_gate_on_a_complete_verdict():
    """Issue 20 #13: without state every gate was a first run (the whole error log read again, acks lost, the ledger
    restarted). Both drop-ins restore and save the state folder and the ledger per environment, and gate with
    --require-complete; both say how to get an ssh client for --hosts=ssh://."""
    import yaml

    github_text = (ROOT / "examples" / "ci" / "github-postdeploy.yml").read_text()
    gitlab_text = (ROOT / "examples" / "ci" / "gitlab-postdeploy.yml").read_text()
    kept = {".opsproof", "reports/ledger.jsonl"}

    github = yaml.safe_load(github_text)
    [restore], [save] = _steps_using(github, "actions/cache/restore"), _steps_using(github, "actions/cache/save")
    environment = "${{ env.OPSPROOF_ENVIRONMENT }}"
    assert {**github.get("env", {}), **github["jobs"]["postdeploy"].get("env", {})}["OPSPROOF_ENVIRONMENT"]
    for step in (restore, save):
        assert set(step["with"]["path"].split()) == kept, step
    # actions/cache never overwrites a key: each run saves under its own, and the next restores the newest by prefix.
    key = save["with"]["key"]
    assert environment in key and "${{ github.run_id }}" in key and "${{ github.run_attempt }}" in key
    assert restore["with"]["key"] == key
    assert restore["with"]["restore-keys"].strip() == key.split("${{ github.run_id }}")[0]
    assert save["if"] == "always()"                           # a failed gate's state is kept too
    steps = github["jobs"]["postdeploy"]["steps"]
    gate = next(i for i, step in enumerate(steps) if "pytest -m postdeploy" in step.get("run", ""))
    assert steps.index(restore) < gate < steps.index(save)
    assert "--require-complete" in steps[gate]["run"]

    gitlab = yaml.safe_load(gitlab_text)["opsproof-postdeploy"]
    assert set(gitlab["cache"]["paths"]) == kept and gitlab["cache"]["when"] == "always"
    assert "$OPSPROOF_ENVIRONMENT" in gitlab["cache"]["key"] and gitlab["variables"]["OPSPROOF_ENVIRONMENT"]
    assert any("pytest -m postdeploy" in line and "--require-complete" in line for line in gitlab["script"])

    for text in (github_text, gitlab_text):
        assert "apt-get install -y openssh-client" in text


def test_elapses_read_local_time_and_its_utc_line(monkeypatch):
    require_tool("systemd-analyze")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    runs = timerunits.elapses("*-*-* 03:00", 2, base=BASE)
    assert [(shown.split()[-1], f"{t:%Y-%m-%d %H:%M}") for shown, t in runs] == [
        ("CET", "2026-03-02 02:00"), ("CET", "2026-03-03 02:00")]
