"""Thresholds by key path (opsproof.config.lookup): the key a check names is the value it reads."""
from datetime import timedelta
from pathlib import Path

import pytest

from opsproof import config as cfg
from opsproof.config.lookup import KeyPathError, lookup

CONFIG = """
service: demo
disk: {paths: ["/"], max_used_percent: 70}
health:
  - {name: api, url: "http://127.0.0.1:1/health", max_latency_ms: 250}
  - {url: "http://127.0.0.1:2/ready", max_latency_ms: 900}
attestations: {file: att.yaml, tasks: {team-training: 31d}}
"""


@pytest.fixture
def maint(tmp_path: Path):
    path = tmp_path / "maintenance.yaml"
    path.write_text(CONFIG)
    return cfg.load(path)


def test_dotted_names_read_the_setting(maint):
    assert lookup(maint, "disk.max_used_percent") == 70
    assert lookup(maint, "disk.max_inodes_used_percent") == 90          # the default is what was read


def test_list_items_by_name_label_or_position(maint):
    assert lookup(maint, "health[api].max_latency_ms") == 250
    assert lookup(maint, "health[127.0.0.1:2/ready].max_latency_ms") == 900   # an unnamed endpoint's label
    assert lookup(maint, "health[1].max_latency_ms") == 900


def test_mapping_keys(maint):
    assert lookup(maint, "attestations.tasks[team-training]") == timedelta(days=31)


@pytest.mark.parametrize("path", ["disk.max_used", "health[web].max_latency_ms", "health[7].timeout_s",
                                  "backups.max_age_hours", "disk..paths", "", "disk.max_used_percent]"])
def test_a_path_that_names_nothing_is_an_error(maint, path):
    with pytest.raises(KeyPathError):
        lookup(maint, path)
