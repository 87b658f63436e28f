"""Thresholds as typed values (opsproof/config/section.py): a section's setting carries its value, key path,
warning level and origin, and a check passes the setting to evidence.compare, never a key path as text."""
from __future__ import annotations

import ast
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from helpers.slo import OPENSLO_LATENCY
from opsproof import config as cfg
from opsproof.config.section import KeyPathError, Section

ROOT = Path(__file__).resolve().parents[1]
CHECKS = sorted((ROOT / "checks").glob("test_*.py"))
CONFIG = """
service: demo
disk: {paths: ["/"], max_used_percent: 70, warn_used_percent: 60}
backups: {dir: b, pattern: "*.gz", restore: {rpo_hours: 12}}
health:
  - {name: api, url: "http://127.0.0.1:1/health", max_latency_ms: 250, warn_latency_ms: 100}
  - {url: "http://127.0.0.1:2/ready", max_latency_ms: 900}
security: {tls: [{host: a.example, min_days: 30}, {host: b.example, min_days: 20, warn_days: 40}]}
slo:
  source: {access_log: logs/access.log}
  objectives: [{name: availability, target: 99.9, warn_target: 99.95}]
  openslo: ["slo/*.yaml"]
attestations: {file: att.yaml, tasks: {team-training: 31d}}
hosts:
  db: {overrides: {disk: {paths: ["/srv"], max_used_percent: 50}}}
"""


@pytest.fixture
def maint(tmp_path: Path) -> cfg.Maint:
    (tmp_path / "slo").mkdir()
    (tmp_path / "slo" / "latency.yaml").write_text(textwrap.dedent(OPENSLO_LATENCY))
    path = tmp_path / "maintenance.yaml"
    path.write_text(CONFIG)
    return cfg.load(path)


def test_a_setting_carries_its_value_key_path_and_warning_level(maint):
    used = maint.disk.setting("max_used_percent")
    assert (used.value, used.key, used.warn, used.warn_key, used.source) == (
        70, "disk.max_used_percent", 60, "disk.warn_used_percent", "disk.max_used_percent")
    inodes = maint.disk.setting("max_inodes_used_percent")          # the default is what was read; no level set
    assert (inodes.value, inodes.key, inodes.warn, inodes.warn_key) == (90, "disk.max_inodes_used_percent", None, "")
    assert maint.backups.restore.setting("rpo_hours").key == "backups.restore.rpo_hours"
    assert maint.backups.setting("max_age_hours").value == 26 == maint.backups.max_age_hours   # values stay plain


def test_list_items_are_named_by_name_label_or_position(maint):
    api, ready = maint.health
    assert (api.key, api.setting("max_latency_ms").warn_key) == ("health[api]", "health[api].warn_latency_ms")
    assert ready.setting("max_latency_ms").key == "health[127.0.0.1:2/ready].max_latency_ms"  # an unnamed one's label
    assert [t.setting("min_days").key for t in maint.security.tls] == ["security.tls[0].min_days",
                                                                       "security.tls[1].min_days"]
    target = maint.slo.objectives[0].setting("target")
    assert (target.key, target.warn, target.warn_key) == ("slo.objectives[availability].target", 99.95,
                                                          "slo.objectives[availability].warn_target")


def test_an_openslo_objective_says_where_it_came_from(maint):
    """Objectives added from OpenSLO documents after validation (a model_copy) are placed too."""
    latency = {o.name: o for o in maint.slo.objectives}["checkout-latency"].setting("target")
    assert (latency.key, latency.origin) == ("slo.objectives[checkout-latency].target", "from latency.yaml")
    assert latency.source == "slo.objectives[checkout-latency].target (from latency.yaml)"


def test_a_mapping_entry_and_its_missing_warning_level(maint):
    period = maint.attestations.setting("tasks", "team-training")
    assert (period.value, period.key, period.warn) == (timedelta(days=31), "attestations.tasks[team-training]", None)


def test_a_groups_config_has_the_same_key_paths_with_its_own_values(maint):
    db = cfg.for_groups(maint, ["db"]).disk.setting("max_used_percent")
    assert (db.value, db.key) == (50, "disk.max_used_percent")
    copied = maint.model_copy(update={"state_dir": "/tmp/elsewhere"})
    assert copied.health[0].setting("max_latency_ms").key == "health[api].max_latency_ms"


def test_a_section_made_on_its_own_names_keys_from_itself():
    backups = cfg.Backups(dir="b", pattern="*.gz")
    assert backups.setting("keep").key == "keep"
    assert backups.restore.setting("rto_minutes").key == "restore.rto_minutes"


@pytest.mark.parametrize("ask", [lambda m: m.disk.setting("max_used"), lambda m: m.disk.setting("paths[0]"),
                                 lambda m: m.attestations.setting("tasks", "fire-drill"),
                                 lambda m: m.disk.setting("max_used_percent", "x")])
def test_a_setting_that_is_not_there_is_an_error(maint, ask):
    with pytest.raises(KeyPathError):
        ask(maint)


# ---- fitness: thresholds travel as settings

def _calls(source: Path, name: str) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(source.read_text(), str(source)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name]


def _text(node: ast.AST) -> bool:
    """A string written in the check: a literal, an f-string, or strings joined."""
    if isinstance(node, ast.BinOp):
        return _text(node.left) or _text(node.right)
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_no_check_passes_a_key_path_as_text_to_compare():
    """evidence.compare(what, measured, op, setting, ...): the fourth argument is a Setting, never a string."""
    found, wrong = 0, []
    for source in CHECKS:
        for call in _calls(source, "compare"):
            found += 1
            given = call.args[3] if len(call.args) > 3 else next(
                (k.value for k in call.keywords if k.arg == "setting"), None)
            if given is None or _text(given):
                wrong.append(f"{source.name}:{call.lineno}: {ast.unparse(given) if given else 'no setting'}")
    assert found >= 20, "the checks' comparisons were not found"
    assert not wrong, f"pass maint.<section>.setting(name) instead of a key path: {wrong}"


def test_every_setting_a_check_names_is_a_field_of_a_section():
    """A misspelt setting would fail only when its check runs: name a field some section has."""
    def sections(cls: type) -> list[type]:
        return [cls] + [s for sub in cls.__subclasses__() for s in sections(sub)]

    fields = {name for cls in sections(Section) for name in cls.model_fields}
    unknown = [f"{source.name}:{call.lineno}: {ast.unparse(call)}" for source in CHECKS
               for call in _calls(source, "setting")
               if not (call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value in fields)]
    assert not unknown, f"not a setting of any section: {unknown}"


def test_a_check_that_asks_for_maint_uses_it():
    unused = []
    for source in CHECKS:
        for node in ast.parse(source.read_text(), str(source)).body:
            if isinstance(node, ast.FunctionDef) and "maint" in [a.arg for a in node.args.args]:
                if not any(isinstance(n, ast.Name) and n.id == "maint" for n in ast.walk(node)):
                    unused.append(f"{source.name}::{node.name}")
    assert not unused, f"these checks request maint and never read it: {unused}"
