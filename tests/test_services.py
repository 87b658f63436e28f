"""Services: the example service's real process and port pass; an absent process and a closed port fail."""
from __future__ import annotations

from helpers import free_port, require_tool, wait_for

CHECK = "checks/test_services.py"  # run only this module: other checks sharing the marker are not under test here
FAST = ("-p", "no:hypothesispytest", "-p", "no:benchmark")  # unused third-party plugins: seconds of start-up


def _results(suite) -> dict[str, dict]:
    """'<check>[<param>]' (host id dropped) -> summary entry."""
    out = {}
    for test in suite.summary()["tests"]:
        if "test_services.py::" in test["id"]:
            name = test["id"].split("::", 1)[1]
            out[name.rsplit("-", 1)[0] + "]" if "[" in name else name] = test
    return out


def test_example_app_passes_absent_process_and_closed_port_fail(suite, example_app):
    require_tool("ps", "ss")
    closed = free_port()
    suite.config({"service": "services-test", "root": str(example_app.root),
                  "services": {"processes": ["example-app", "no-such-daemon"], "ports": [example_app.port, closed]}})
    result = suite.run("-m", "postmaintenance", CHECK, *FAST)
    assert result.ret == 1, result.stdout.str()
    results = _results(suite)
    assert set(results) == {"test_process_running[example-app]", "test_process_running[no-such-daemon]",
                            f"test_port_listening[tcp{example_app.port}]", f"test_port_listening[tcp{closed}]"}

    running = results["test_process_running[example-app]"]
    assert running["outcome"] == "passed", running
    app_pid = int((example_app.root / "run" / "app.pid").read_text())
    assert app_pid in running["evidence"][0]["data"]["pids"], "the check found the example's own process"

    listening = results[f"test_port_listening[tcp{example_app.port}]"]
    assert listening["outcome"] == "passed", listening
    assert f"127.0.0.1:{example_app.port}" in listening["evidence"][0]["data"]["addresses"]

    absent = results["test_process_running[no-such-daemon]"]
    assert absent["outcome"] == "failed"
    assert ("no process named no-such-daemon is running (services.processes names it; checked with `ps -A -o pid= "
            "-o stat= -o comm=`)") in absent["message"]

    closed_port = results[f"test_port_listening[tcp{closed}]"]
    assert closed_port["outcome"] == "failed"
    assert f"nothing listens on TCP port {closed} (services.ports names it; checked with `ss -H -l -t -n`)" in closed_port["message"]

    # The same service stopped: its port now fails and its process is gone from the evidence.
    example_app.ctl("down")
    assert suite.run("-m", "postmaintenance", CHECK, *FAST).ret == 1
    results = _results(suite)
    assert results[f"test_port_listening[tcp{example_app.port}]"]["outcome"] == "failed"
    process = results["test_process_running[example-app]"]
    assert app_pid not in process["evidence"][0]["data"]["pids"]
    # Other example-app instances (other tests, other workers) may still run: test_a_stopped_process_fails
    # proves the verdict with a process name no one else uses.


def test_a_stopped_process_fails(suite, tmp_path):
    """A daemon of its own name passes while it runs and fails once it is stopped (and reaped)."""
    import shutil
    import subprocess
    import uuid

    require_tool("ps")
    name = f"svc-{uuid.uuid4().hex[:8]}"
    daemon = tmp_path / name
    shutil.copy("/bin/sleep", daemon)
    suite.config({"service": "services-test", "root": str(tmp_path), "services": {"processes": [name]}})
    child = subprocess.Popen([str(daemon), "300"])
    try:
        assert suite.run("-m", "postmaintenance", CHECK, *FAST).ret == 0
        running = _results(suite)[f"test_process_running[{name}]"]
        assert running["outcome"] == "passed" and running["evidence"][0]["data"]["pids"] == [child.pid], running
    finally:
        child.kill()
        child.wait()
    assert suite.run("-m", "postmaintenance", CHECK, *FAST).ret == 1
    stopped = _results(suite)[f"test_process_running[{name}]"]
    assert stopped["outcome"] == "failed" and f"no process named {name} is running" in stopped["message"], stopped


def test_no_services_section_skips_with_reason(suite, tmp_path):
    suite.config({"service": "services-test", "root": str(tmp_path)})
    suite.run("-m", "postmaintenance", CHECK, *FAST)
    tests = _results(suite)
    assert tests and all(t["outcome"] == "skipped" for t in tests.values())
    assert {t["message"] for t in tests.values()} == {"no services section in maintenance.yaml"}


def test_a_zombie_is_not_a_running_process(tmp_path):
    """A daemon that died and was not reaped still has a process table entry (state Z): it is not running."""
    import shutil
    import subprocess

    import testinfra

    from opsproof.hosts.target import Target
    from opsproof.system.services import process_state

    require_tool("ps")
    daemon = tmp_path / "opsproof-zomb"
    shutil.copy("/bin/sleep", daemon)
    child = subprocess.Popen([str(daemon), "30"])
    target = Target(testinfra.get_host("local://"), 10)
    try:
        assert process_state(target, "opsproof-zomb").pids == [child.pid]
        child.kill()                      # dies, and is not reaped until wait(): a zombie
        wait_for(lambda: open(f"/proc/{child.pid}/stat").read().split(") ")[1].startswith("Z"), timeout=10,
                 what="the killed child to become a zombie")
        assert process_state(target, "opsproof-zomb").pids == []
    finally:
        child.kill()
        child.wait()
