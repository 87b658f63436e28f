"""update-dependencies with the real npm: planned without --apply; applied with --apply (window ignored here);
an update that breaks the health check is rolled back to the saved lockfile and reinstalled, and says so."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import require_tool
from helpers.registries import NpmRegistry, npm_project

CHECK = "checks/test_dependencies.py"


class Health:
    """/health answers 500 while node_modules/alpha is the version the test calls broken."""

    def __init__(self, app: Path, broken: str) -> None:
        owner = self
        self.app, self.broken = app, broken

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                installed = json.loads((owner.app / "node_modules/alpha/package.json").read_text())["version"]
                status = 500 if installed == owner.broken else 200
                body = json.dumps({"status": "ok" if status == 200 else "broken", "alpha": installed}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup(tmp_path):
    require_tool("npm")
    registry = NpmRegistry()
    registry.publish("alpha", "1.0.0", "1.0.5", "2.0.0")
    registry.publish("beta", "1.0.0", "1.1.0")
    app = npm_project(tmp_path / "app", registry, {"alpha": "^1.0.0", "beta": "^1.0.0"}, install=True)
    health = Health(app, broken="1.0.5")
    yield app, health
    health.close()
    registry.close()


def _config(suite, app: Path, health: Health) -> None:
    suite.config({"service": "update-test", "root": str(app), "dependencies": {"npm_outdated": {}},
                  "health": [{"name": "api", "url": health.url}]})


def _installed(app: Path) -> str:
    return json.loads((app / "node_modules/alpha/package.json").read_text())["version"]


def _test(suite) -> dict:
    return next(t for t in suite.summary()["tests"] if "test_update_dependencies" in t["id"])


def test_plan_without_apply_changes_nothing_and_refuses_without_window(suite, setup):
    app, health = setup
    _config(suite, app, health)
    lock = (app / "package-lock.json").read_text()
    assert suite.run("-m", "monthly", CHECK).ret == 0
    test = _test(suite)
    assert test["outcome"] == "skipped" and test["message"].startswith("plan only (no --apply"), test
    assert "alpha 1.0.0 -> 1.0.5" in test["message"]
    data = test["evidence"][-1]["data"]
    assert data["mode"] == "plan"
    assert "alpha 1.0.0 -> 1.0.5" in str(data["planned"]) and "beta 1.0.0 -> 1.1.0" in str(data["planned"])
    assert "latest 2.0.0: outside the range" in str(data["held_back"])
    assert (app / "package-lock.json").read_text() == lock and _installed(app) == "1.0.0"

    assert suite.run("-m", "monthly", "--apply", CHECK).ret == 1
    assert "update-dependencies is disruptive and maintenance.yaml has no window: section" in _test(suite)["message"]
    assert (app / "package-lock.json").read_text() == lock and _installed(app) == "1.0.0"


def test_update_that_breaks_health_is_rolled_back(suite, setup):
    app, health = setup
    _config(suite, app, health)
    lock = (app / "package-lock.json").read_text()
    result = suite.run("-m", "monthly", "--apply", "--ignore-window", "--approved-by", "cto", "--reason", "test", CHECK)
    assert result.ret == 1, result.stdout.str()
    message = _test(suite)["message"]
    assert "the health checks failed after npm update (api: " in message
    assert "the saved lockfile was restored" in message and "reinstall it (npm ci): ok" in message
    assert "health after the rollback: ok" in message
    assert (app / "package-lock.json").read_text() == lock and _installed(app) == "1.0.0"


def test_update_that_keeps_health_is_kept(suite, setup):
    app, health = setup
    health.broken = "none"
    _config(suite, app, health)
    result = suite.run("-m", "monthly", "--apply", "--ignore-window", "--approved-by", "cto", "--reason", "test", CHECK)
    assert result.ret == 0, result.stdout.str()
    data = _test(suite)["evidence"][-1]["data"]
    assert data["mode"] == "apply" and not data["rolled_back"]
    assert _installed(app) == "1.0.5", "npm update stays within ^1.0.0"
    assert "1.0.5" in (app / "package-lock.json").read_text()


def test_update_without_health_checks_is_not_applied(suite, setup):
    """The update is kept only if the health checks pass: with no `health:` section nothing could say so, so
    --apply changes nothing and fails saying why (it would otherwise keep any update: a pass over nothing)."""
    app, _ = setup
    suite.config({"service": "update-test", "root": str(app), "dependencies": {"npm_outdated": {}}})
    lock = (app / "package-lock.json").read_text()
    assert suite.run("-m", "monthly", "--apply", "--ignore-window", "--approved-by", "cto", "--reason", "test", CHECK).ret == 1
    test = _test(suite)
    assert test["outcome"] == "failed" and "no health: section" in test["message"], test
    assert (app / "package-lock.json").read_text() == lock and _installed(app) == "1.0.0"


def test_the_plan_says_what_npm_update_would_change_and_what_it_holds_back():
    from opsproof.security.update import UpdateResult, planned

    plan = UpdateResult(".", planned=["left-pad 1.0.0 -> 1.3.0"], held_back=["lodash 3.10.1 (latest 4.17.21: outside"
                                                                             " the range in package.json)"])
    assert planned(plan) == ("plan only (no --apply, in the window or with --ignore-window): npm update would change "
                             "left-pad 1.0.0 -> 1.3.0; newer majors held back by package.json: lodash 3.10.1 (latest "
                             "4.17.21: outside the range in package.json)")
    assert planned(UpdateResult(".")).endswith("npm update would change nothing")


def test_without_health_checks_the_update_is_refused_before_anything_runs(tmp_path):
    from opsproof.config import Maint
    from opsproof.security.update import update_dependencies

    class Untouchable:  # the target: nothing may run on it
        def __getattr__(self, name):
            raise AssertionError(f"the target was used: {name}")

    maint = Maint.model_validate({"service": "s", "root": str(tmp_path), "dependencies": {"npm_outdated": {"dir": "."}}})
    result = update_dependencies(Untouchable(), maint)
    assert result.mode == "apply" and result.steps == [] and "has no health: section: nothing was changed" in result.error


def test_what_the_update_changes_is_read_after_it(suite, setup):
    """The update (npm update, then after_update: a restart) changes the host: a check after it reads the host again,
    not the survey taken at the run's first check — here after_update writes an error line, and the error-log check
    that runs after the update sees it (it used to be answered from the survey: a false pass)."""
    app, health = setup
    health.broken = "none"
    (app / "logs").mkdir()
    (app / "logs" / "error.log").write_text("INFO started\n")
    suite.config({"service": "update-test", "root": str(app),
                  "dependencies": {"npm_outdated": {}, "after_update": "echo 'ERROR restart failed' >> logs/error.log"},
                  "health": [{"name": "api", "url": health.url}],
                  "logs": {"error_log": "logs/error.log", "error_pattern": "ERROR", "max_new_errors": 0}})
    result = suite.run("-m", "monthly or daily", "--apply", "--ignore-window", "--approved-by", "cto", "--reason",
                       "test", CHECK, "checks/test_errorlog.py")
    tests = {t["id"]: t for t in suite.summary()["tests"]}
    update = next(t for i, t in tests.items() if "test_update_dependencies" in i)
    errors = next(t for i, t in tests.items() if "test_no_new_errors" in i)
    assert update["outcome"] == "passed", update
    assert errors["outcome"] == "failed" and errors["comparisons"][0]["measured"] == 1, errors
    assert result.ret == 1
