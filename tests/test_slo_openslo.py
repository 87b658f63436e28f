"""OpenSLO v1 documents as objectives; an invalid one stops the run like a bad config (exit 4, file, key path)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers.slo import OPENSLO_LATENCY
from opsproof.config import ConfigError, load

AVAILABILITY = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-availability, displayName: API availability}
spec:
  service: api
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_requests_total[{{window}}]))'}}}
  objectives: [{displayName: mostly fine, target: 0.995}]
---
apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {description: ignored}
"""

def write(directory: Path, slo: str, docs: dict[str, str]) -> Path:
    (directory / "slo").mkdir(exist_ok=True)
    for name, text in docs.items():
        (directory / "slo" / name).write_text(textwrap.dedent(text))
    config = directory / "maintenance.yaml"
    config.write_text(f"service: t\nroot: .\nslo:\n{textwrap.indent(slo, '  ')}")
    return config


def test_documents_become_objectives(tmp_path):
    config = write(tmp_path, "source: {prometheus: 'http://127.0.0.1:9'}\nopenslo: ['slo/*.yaml']\n",
                   {"a.yaml": AVAILABILITY, "b.yaml": OPENSLO_LATENCY.replace("type: opsproof", "type: Prometheus")
                    .replace("{sli: latency, threshold_ms: 250}", "{query: 'sum(rate(x_bucket{le=\"0.25\"}[{{window}}]))'}")
                    .replace("{type: Prometheus}}", "{type: Prometheus, spec: {query: 'sum(rate(x_count[{{window}}]))'}}}")})
    maint = load(config)
    by_name = {o.name: o for o in maint.slo.objectives}
    avail = by_name["api-availability"]
    assert avail.target == pytest.approx(99.5) and avail.window.days == 28
    assert avail.error_query == 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))'
    assert avail.total_query == "sum(rate(http_requests_total[{{window}}]))"
    assert avail.description == "OpenSLO a.yaml"
    latency = by_name["checkout-latency"]
    assert latency.good_query and latency.target == 99.5 and latency.window.days == 7


def test_opsproof_source_reads_the_access_log(tmp_path):
    config = write(tmp_path, "source: {access_log: logs/access.log}\nopenslo: ['slo/*.yaml']\n"
                             "objectives: [{name: own, target: 99}]\n", {"b.yaml": OPENSLO_LATENCY})
    maint = load(config)
    names = [o.name for o in maint.slo.objectives]
    assert names == ["own", "checkout-latency"]
    latency = maint.slo.objectives[1]
    assert latency.sli == "latency" and latency.threshold_ms == 250 and latency.total_query is None
    assert maint.slo.source.access_log == str(tmp_path / "logs" / "access.log")


@pytest.mark.parametrize("change,key,words", [
    (("target: 0.995", "target: 99.5"), "document 0: spec.objectives[0].target", "fraction between 0 and 1"),
    (("budgetingMethod: Occurrences", "budgetingMethod: Timeslices"), "document 0: spec.budgetingMethod",
     "not supported"),
    (("isRolling: true", "isRolling: false"), "document 0: spec.timeWindow[0].isRolling", "rolling"),
    (("duration: 28d", "duration: soon"), "document 0: spec.timeWindow[0].duration", "not a duration"),
    (("[{{window}}]", "[5m]"), "document 0: spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
     "{{window}}"),
    (("type: Prometheus, spec: {query: 'sum(rate(http_requests_total[", "type: Datadog, spec: {query: 'sum(rate(http_requests_total["),
     "document 0: spec.indicator.spec.ratioMetric.total.metricSource.type", "differs"),
    (("apiVersion: openslo/v1\nkind: SLO", "apiVersion: openslo/v1alpha\nkind: SLO"), "document 0: apiVersion", "openslo/v1"),
    (("  objectives: [{displayName: mostly fine, target: 0.995}]\n", ""), "document 0: spec.objectives",
     "required key is missing"),
])
def test_invalid_documents_name_file_and_key_path(tmp_path, change, key, words):
    old, new = change
    assert old in AVAILABILITY
    config = write(tmp_path, "source: {prometheus: 'http://127.0.0.1:9'}\nopenslo: ['slo/*.yaml']\n",
                   {"a.yaml": AVAILABILITY.replace(old, new, 1)})
    with pytest.raises(ConfigError) as err:
        load(config)
    assert err.value.file.endswith("a.yaml"), str(err.value)
    assert err.value.key == key, str(err.value)
    assert words in str(err.value)


def test_glob_matching_nothing_is_a_config_error(tmp_path):
    config = write(tmp_path, "source: {access_log: a.log}\nopenslo: ['slo/none-*.yaml']\n", {})
    with pytest.raises(ConfigError) as err:
        load(config)
    assert err.value.key == "slo.openslo[0]" and "matches no file" in str(err.value)


def test_duplicate_names_and_queries_without_prometheus_are_config_errors(tmp_path):
    config = write(tmp_path, "source: {access_log: a.log}\nopenslo: ['slo/*.yaml']\n", {"a.yaml": AVAILABILITY})
    with pytest.raises(ConfigError) as err:
        load(config)
    assert err.value.key == "slo" and "need slo.source.prometheus" in str(err.value)
    config = write(tmp_path, "source: {access_log: a.log}\nopenslo: ['slo/*.yaml']\n"
                             "objectives: [{name: checkout-latency, target: 99}]\n", {"a.yaml": OPENSLO_LATENCY})
    with pytest.raises(ConfigError) as err:
        load(config)
    assert (err.value.key, err.value.problem) == (
        "slo.objectives[1].name", "slo.objectives[0] and slo.objectives[1] are both named 'checkout-latency' (the "
        "second from OpenSLO a.yaml): names must be unique"), err.value


@pytest.mark.parametrize("slo,key", [
    ("source: {access_log: a.log, prometheus: 'http://x'}", "slo.source"),
    ("source: {}", "slo.source"),
    ("source: {access_log: a.log}\nobjectives: [{name: l, sli: latency, target: 99}]", "slo.objectives[0]"),
    ("source: {access_log: a.log}\nobjectives: [{name: a, target: 100}]", "slo.objectives[0].target"),
    ("source: {access_log: a.log}\nobjectives: [{name: a, target: 99, window: 1 month}]", "slo.objectives[0].window"),
    ("source: {access_log: a.log}\nobjectives: [{name: a, target: 99, bad_status: [700]}]", "slo.objectives[0]"),
    ("source: {access_log: a.log, fromat: json}", "slo.source.fromat"),
    ("source: {prometheus: 'http://x'}\nobjectives: [{name: a, target: 99, error_query: 'x'}]", "slo.objectives[0]"),
])
def test_bad_slo_config_names_the_key(tmp_path, slo, key):
    config = write(tmp_path, slo + "\n", {})
    with pytest.raises(ConfigError) as err:
        load(config)
    assert err.value.key == key, str(err.value)


def test_invalid_document_stops_the_suite_with_exit_4(suite):
    (suite.path / "slo").mkdir()
    (suite.path / "slo" / "bad.yaml").write_text(AVAILABILITY.replace("target: 0.995", "target: 1.5"))
    suite.config({"service": "t", "root": ".", "slo": {"source": {"prometheus": "http://127.0.0.1:9"},
                                                        "openslo": ["slo/*.yaml"]}})
    result = suite.run("-m", "daily")
    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    text = result.stdout.str() + result.stderr.str()
    assert "bad.yaml: document 0: spec.objectives[0].target" in text, text
