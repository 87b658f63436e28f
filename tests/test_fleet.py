"""Fleets: hosts from an Ansible inventory (read by the real ansible-inventory), per-group settings, -n by host.

Several real sshd on 127.0.0.x (helpers/fleet.py), each its own HostKey, ListenAddress and port, all this machine:
the example service's checks pass on every host that answers. One host is stopped and one frozen (SIGSTOP) before
the run; they fail every check with their reason while the others pass, and the report's header names them.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from helpers import config_error, require_tool
from helpers.fleet import Fleet
from helpers.slo import OPENSLO_LATENCY
from helpers.sshd import Sshd

WEB = ["web1", "web2", "web3", "web4", "web5"]
STOPPED, FROZEN, MID_RUN = "web3", "web4", "web5"
CHECKS = ("test_disk_space", "test_disk_inodes", "test_no_new_errors", "test_backup_exists",
          "test_newest_backup_is_fresh", "test_newest_archive_is_intact", "test_no_stale_temp_files")


# Loaded into the suite run: after the first check on one host, ask the test to stop that host's sshd, and wait
# (bounded) until it has: the host's later checks meet a stopped host in the middle of the run.
STOP_PLUGIN = """
import os, time

def pytest_runtest_logreport(report):
    if report.when == "teardown" and report.nodeid.endswith(os.environ["OPSPROOF_TEST_STOP"] + "]"):
        ask = os.path.join(os.environ["OPSPROOF_TEST_STOP_DIR"], "stop")
        if not os.path.exists(ask):
            open(ask, "w").close()
            deadline = time.monotonic() + 60
            while not os.path.exists(ask + "ped") and time.monotonic() < deadline:
                time.sleep(0.05)
"""


def _stop_when_asked(fleet: Fleet, name: str, folder: Path) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 280
        while not (folder / "stop").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if (folder / "stop").exists():
            fleet.stop_host(name)
            (folder / "stopped").touch()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory):
    require_tool("/usr/sbin/sshd", "ssh", "ssh-keygen", "ansible-inventory")
    hosts = Fleet(tmp_path_factory.mktemp("fleet"), [*WEB, "db1"]).start()
    yield hosts
    hosts.stop()


def _by_id(suite) -> dict[str, dict]:
    return {t["id"]: t for t in suite.summary()["tests"]}


def _host_of(test_id: str, ids: list[str]) -> str:
    return next(h for h in ids if test_id.endswith((f"[{h}]", f"-{h}]")))


def _fleet_config(app, **extra) -> dict:
    config = app.config(connect_timeout_s=3, command_timeout_s=20)
    config["hosts"] = {
        "web": {"overrides": {"disk": {"paths": ["/", "."], "max_used_percent": 99, "max_inodes_used_percent": 98}}},
        "web2": {"overrides": {"disk": {"paths": ["."], "max_used_percent": 97, "max_inodes_used_percent": 96}}},
        "db": {"overrides": {"root": "/srv/db-not-here"}},
    }
    config.update(extra)
    return config


@pytest.mark.slow
def test_inventory_group_over_workers(suite, example_app, fleet):
    """`pytest -m daily --hosts=ansible://web --ansible-inventory=inventory.ini -n 4`: one report, one item per check
    per host (ids with host and port), each host's group settings applied, the stopped and the frozen host failing
    every check with their reason while the others pass, both named in the report's header."""
    suite.config(_fleet_config(example_app))
    fleet.inventory({"web": WEB, "db": ["db1"]}, suite.path / "inventory.ini")
    fleet.stop_host(STOPPED)
    fleet.freeze(FROZEN)
    mid = fleet.hosts[MID_RUN]
    (suite.path / "_opsproof_stop.py").write_text(STOP_PLUGIN)
    watcher = _stop_when_asked(fleet, MID_RUN, suite.path)
    env = {"OPSPROOF_TEST_STOP": f"ansible://{MID_RUN}@{mid.address}:{mid.port}",
           "OPSPROOF_TEST_STOP_DIR": str(suite.path)}
    try:
        result = suite.run("-m", "daily", "--hosts=ansible://web", "--ansible-inventory=inventory.ini", "-n", "4",
                           f"--ssh-config={fleet.ssh_config}", "-v", "-p", "_opsproof_stop", timeout=280, env=env)
    finally:
        fleet.thaw()
        watcher.join(1)
    assert (suite.path / "stopped").exists(), "the host to stop mid-run was never asked for"
    out = result.stdout.str()
    assert result.ret == 1, out
    assert "4 workers" in out, out[-3000:]
    ids = {name: f"ansible://{name}@{fleet.hosts[name].address}:{fleet.hosts[name].port}" for name in WEB}
    tests = _by_id(suite)
    hosted = {i: t for i, t in tests.items() if any(i.endswith((f"[{h}]", f"-{h}]")) for h in ids.values())}
    assert not any("db1" in i for i in tests), "db1 is not in the web group"
    per_host = {name: {i for i in hosted if _host_of(i, list(ids.values())) == hid} for name, hid in ids.items()}
    for name, items in per_host.items():
        names = {i.split("::")[1].split("[")[0] for i in items}
        assert set(CHECKS) <= names, (name, sorted(names))
    # The checks are the same on every host, but for the paths each one's config lists (web2: only ".").
    shapes = {name: sorted(i.replace(ids[name], "HOST") for i in items) for name, items in per_host.items()}
    assert shapes["web1"] == shapes[STOPPED] == shapes[FROZEN] == shapes[MID_RUN], shapes
    assert not any("test_disk_space[/-" in i for i in per_host["web2"]), sorted(per_host["web2"])
    assert any("test_disk_space[/-" in i for i in per_host["web1"])
    for name in ("web1", "web2"):
        for test_id in per_host[name]:
            assert tests[test_id]["outcome"] in ("passed", "skipped"), tests[test_id]
            if tests[test_id]["outcome"] == "skipped":  # the loopback health URL (no use remotely); actions planned
                assert re.search("loopback URL|plan only", tests[test_id]["message"]), tests[test_id]
    limits = {name: {c["threshold"] for i in per_host[name] if "::test_disk_space[" in i
                     for c in tests[i]["comparisons"] if c["key"] == "disk.max_used_percent"}
              for name in ("web1", "web2")}
    assert limits == {"web1": {99}, "web2": {97}}, limits
    reasons = {STOPPED: r"refused|Connection closed|kex_exchange", FROZEN: r"timed out|banner"}
    for name, pattern in reasons.items():
        for test_id in per_host[name]:
            test = tests[test_id]
            assert test["outcome"] in ("failed", "error"), test
            assert "unreachable" in test["message"] and ids[name] in test["message"], test
        assert re.search(pattern, " ".join(tests[i]["message"] for i in per_host[name])), name
    # Stopped mid-run, after its first check: the host's survey (opsproof/hosts/survey.py) read everything this daily
    # run reads before that check, so its later checks are judged on what was read while it answered: none of them
    # reaches the host again, so none fails as unreachable and the host is not listed as down (a check that still had
    # to reach it, a read after an --apply action, would fail as unreachable).
    ordered = [i for i in tests if i in per_host[MID_RUN]]   # the summary keeps the order they ran in
    outcomes = [tests[i]["outcome"] for i in ordered]
    assert len(outcomes) > 1 and set(outcomes) <= {"passed", "skipped"}, list(zip(ordered, outcomes))
    summary = suite.summary()
    assert sorted(summary["unreachable"]) == sorted([ids[STOPPED], ids[FROZEN]]), summary["unreachable"]
    assert summary["hosts"] == ", ".join(sorted(ids.values()))
    fleet_rows = {row["id"]: row for row in summary["fleet"]}
    assert fleet_rows[ids["web1"]]["overridden"] == {"disk": "web"}
    assert fleet_rows[ids["web2"]]["config_groups"] == ["web", "web2"]
    assert fleet_rows[ids["web2"]]["overridden"] == {"disk": "web2"}
    assert fleet_rows[ids["web2"]]["settings"]["disk"]["max_used_percent"] == 97
    assert fleet_rows[ids["web1"]]["inventory_groups"] == ["all", "web"]
    # Spread by host: every item of one host ran on one worker, and the hosts did not all share one.
    workers = {}
    for line in result.stdout.lines:
        found = re.match(r"\[(gw\d+)\] .*?(PASSED|FAILED|ERROR|SKIPPED) (\S+::\S+)", line)
        if found and found.group(3) in hosted:
            workers.setdefault(_host_of(found.group(3), list(ids.values())), set()).add(found.group(1))
    assert sorted(workers) == sorted(ids.values()) and all(len(w) == 1 for w in workers.values()), workers
    assert len(set().union(*workers.values())) > 1, workers
    html = suite.html()
    assert "Unreachable hosts (2)" in html and ids[STOPPED] in html and ids[FROZEN] in html
    assert "disk (from web2)" in html
    assert len(list(suite.reports.glob("*.json"))) == 1 and len(list(suite.reports.glob("*.html"))) == 1
    assert len((suite.reports / "ledger.jsonl").read_text().splitlines()) == 1


@pytest.mark.slow
def test_two_sshd_on_one_address_do_not_collide(suite, example_app, tmp_path, fleet):
    """Two sshd on 127.0.0.1 (two ports): two hosts, two ids, two state folders, both passing."""
    other = Sshd(tmp_path / "second").start()
    first = fleet.hosts["db1"]
    try:
        # The fleet's ssh_config logs in to 127.0.0.*; the second sshd accepts the fleet's key too.
        other.authorized_keys.write_text(first.authorized_keys.read_text())
        suite.config(example_app.config())
        specs = [f"ssh://{first.address}:{first.port}", f"ssh://127.0.0.1:{other.port}",
                 f"ssh://{first.address}:{first.port}"]  # given twice: one host
        result = suite.run("--hosts=" + ",".join(specs), f"--ssh-config={fleet.ssh_config}", "-k", "test_no_new_errors")
    finally:
        other.stop()
    assert result.ret == 0, result.stdout.str()
    assert sorted(_by_id(suite)) == sorted(f"checks/test_errorlog.py::test_no_new_errors[{s}]" for s in set(specs))
    states = sorted(p.parent.name for p in (suite.path / ".opsproof").glob("*/errorlog.json"))
    assert states == sorted(f"ssh_{s[6:].replace(':', '_')}" for s in set(specs)), states


def test_groups_give_each_host_its_own_items(suite, tmp_path):
    """At collection (no host is reached): a web group's two endpoints on web hosts only (the top level's `api`,
    which the db host keeps, is another item), a db group's own root, one host's own override after its group's;
    the run's hosts come from the `hosts:` section."""
    root = tmp_path / "app"
    root.mkdir()
    suite.config({
        "service": "shop", "root": str(root), "disk": {"paths": ["."]},
        "health": [{"name": "api", "url": "http://{host}:8080/health"}],
        "hosts": {
            "web": {"hosts": ["ssh://10.9.9.1", "ssh://10.9.9.2:2222"],
                    "overrides": {"health": [{"name": "api", "url": "http://{host}:9090/health"},
                                             {"name": "shop", "url": "http://{host}/shop"}]}},
            "db": {"hosts": ["ssh://10.9.9.3"],
                   "overrides": {"root": "/srv/db", "backups": {"dir": "backups", "pattern": "daily_*.tar.gz"}}},
            "ssh://10.9.9.2:2222": {"overrides": {"disk": {"paths": ["/", "."]}}},
        },
    })
    result = suite.run("--collect-only", "-q", "-k", "test_disk_space or test_endpoint_healthy or test_backup_exists")
    assert result.ret == 0, result.stdout.str()
    items = {line for line in result.stdout.lines if "::" in line}
    expected = {
        "checks/test_disk.py::test_disk_space[" + p for p in
        (f"{root}-ssh://10.9.9.1]", "/-ssh://10.9.9.2:2222]", f"{root}-ssh://10.9.9.2:2222]", "/srv/db-ssh://10.9.9.3]")
    } | {
        "checks/test_health.py::test_endpoint_healthy[" + p for p in
        ("api-ssh://10.9.9.1]", "shop-ssh://10.9.9.1]", "api-ssh://10.9.9.2:2222]", "shop-ssh://10.9.9.2:2222]",
         "api@db-ssh://10.9.9.3]")
    } | {f"checks/test_backups.py::test_backup_exists[{h}]" for h in
         ("ssh://10.9.9.1", "ssh://10.9.9.2:2222", "ssh://10.9.9.3")}
    assert items == expected, sorted(items ^ expected)


INVENTORY_ERRORS = {
    "missing tool": ("ansible://web", "inventory.ini", {"PATH": "/nonexistent"}, "ansible-inventory.*not installed"),
    "no such file": ("ansible://web", "missing.ini", {}, r"missing\.ini: no such file"),
    "bad file": ("ansible://web", "bad.ini", {}, r"ansible-inventory cannot read .*bad\.ini: ERROR"),
    "unknown group": ("ansible://nosuch", "inventory.ini", {}, r"ansible://nosuch: no group or host matches 'nosuch' "
                                                              r"in inventory\.ini \(its groups: all, web\)"),
    "no inventory": ("ansible://web", None, {}, r"ansible://web needs --ansible-inventory=FILE"),
    "no host": (",", None, {}, r"--hosts=',' names no host"),
}


@pytest.mark.parametrize("case", list(INVENTORY_ERRORS))
def test_inventory_problems_stop_the_run(suite, example_app, case):
    """No ansible-inventory, a missing or unreadable inventory, a group it lacks: exit 4 with one clear line."""
    if case not in ("missing tool", "no host"):
        require_tool("ansible-inventory")
    spec, inventory, env, pattern = INVENTORY_ERRORS[case]
    suite.config(example_app.config())
    (suite.path / "inventory.ini").write_text("[web]\nweb1 ansible_host=127.0.0.2\n")
    (suite.path / "bad.ini").write_text("[web\nweb1 = = =\n")
    args = [f"--hosts={spec}", "-m", "daily"] + ([f"--ansible-inventory={inventory}"] if inventory else [])
    result = suite.run(*args, env=env)
    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith("ERROR: hosts: "), result.stderr.str()
    assert re.search(pattern, errors[0]), errors[0]
    assert not list(suite.reports.glob("*.json")), "no run: nothing reported"


def test_bad_override_names_file_group_and_key(suite, example_app, tmp_path):
    """A group's override is validated with the top level's models: exit 4 naming the file, group and key."""
    err = config_error(tmp_path, "hosts:\n  db:\n    overrides: {backups: {dir: backups}}")
    assert (err.key, err.problem) == ("hosts.db.overrides.backups.pattern", "required key is missing"), err
    err = config_error(tmp_path, "hosts:\n  web:\n    overrides: {window: {rrule: FREQ=DAILY}}")
    assert err.key == "hosts.web.overrides" and "applies to the whole run" in err.problem, err
    err = config_error(tmp_path, "hosts:\n  web:\n    overrides: {helth: []}")
    assert (err.key, err.problem) == ("hosts.web.overrides.helth", "unknown key"), err
    config = example_app.config()
    config["hosts"] = {"db": {"hosts": ["local://"], "overrides": {"disk": {"paths": ["/"], "max_used_percent": 300}}}}
    path = suite.config(config)
    result = suite.run("-m", "daily")
    assert result.ret == 4
    assert re.search(rf"ERROR: bad maintenance config: {re.escape(str(path))}: hosts\.db\.overrides\.disk\."
                     r"max_used_percent: ", result.stderr.str()), result.stderr.str()


def test_group_secret_never_reaches_the_report(suite, example_app):
    """A password in one group's override is masked like the top level's."""
    config = example_app.config()
    config["hosts"] = {"web": {"hosts": ["local://"], "overrides": {
        "health": [{"name": "api", "url": f"http://user:s3cr3t-fleet@127.0.0.1:{example_app.port}/health"}]}}}
    suite.config(config)
    result = suite.run("-m", "daily", "-k", "test_endpoint_healthy")
    assert result.ret == 0, result.stdout.str()
    assert [o for t, o in suite.outcomes().items() if "api" in t] == ["passed"], suite.outcomes()  # the override ran
    text = json.dumps(suite.summary()) + suite.html()
    assert "s3cr3t-fleet" not in text and "local" in suite.summary()["hosts"]
    assert os.path.exists(suite.reports / "ledger.jsonl")


def test_a_host_gone_mid_run_is_not_asked_again(tmp_path):
    """A command that finds the host gone marks it unreachable for every target of the run sharing the record:
    the next command fails at once with the first reason, without contacting it."""
    import testinfra

    from opsproof.hosts.target import Target, TargetError

    require_tool("/usr/sbin/sshd", "ssh", "ssh-keygen")
    server = Sshd(tmp_path / "sshd", connect_timeout=3).start()
    server.add_host(server.address, server.address, server.port)  # its options for the address itself
    down: dict[str, str] = {}
    try:
        spec = f"ssh://{server.address}:{server.port}"
        first = Target(testinfra.get_host(spec, ssh_config=str(server.ssh_config)), 10, down=down)
        first.ping()
        assert first.name == spec and not down
    finally:
        server.stop()
    with pytest.raises(TargetError) as gone:
        first.run("echo still-there")
    assert "unreachable" in str(gone.value) and down == {spec: str(gone.value)}, (gone.value, down)
    accepted = server.log.read_text().count("Accepted publickey")
    later = Target(testinfra.get_host(spec, ssh_config=str(server.ssh_config)), 10, down=down)
    with pytest.raises(TargetError) as again:
        later.run("echo anyone")
    assert str(again.value) == f"{down[spec]} (first seen earlier in this run; not retried)"
    assert server.log.read_text().count("Accepted publickey") == accepted


def test_a_host_in_two_groups_is_refused_by_check_config_as_by_the_run(suite, tmp_path):
    """Each group alone is valid; a host listed under both takes both overrides — a root from one, OpenSLO files
    from the other that are not under that root. The run refuses the pair (exit 4); check-config must as well."""
    import subprocess
    import sys

    (suite.path / "slo").mkdir()
    (suite.path / "slo" / "fast.yaml").write_text(OPENSLO_LATENCY)
    (tmp_path / "elsewhere").mkdir()
    path = suite.config({"service": "shop", "disk": {"paths": ["/"]}, "hosts": {
        "moved": {"hosts": ["local://"], "overrides": {"root": str(tmp_path / "elsewhere")}},
        "slo": {"hosts": ["local://"], "overrides": {"slo": {"source": {"access_log": "a.log"},
                                                               "openslo": ["slo/*.yaml"]}}}}})
    said = f"{path}: hosts.slo.overrides.slo.openslo[0]: 'slo/*.yaml' matches no file"
    done = subprocess.run([sys.executable, "-m", "opsproof.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 4 and said in done.stderr and "(on a host that also takes moved)" in done.stderr, done
    (line,) = done.stderr.splitlines()
    result = suite.run("-m", "daily", "--collect-only")
    assert result.ret == 4 and line.removeprefix("opsproof: ") in result.stderr.str(), result.stderr.str()
