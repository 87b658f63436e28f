"""SLOs from a real Prometheus (backfilled by promtool) agree with the same traffic read from an access log."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import testinfra

from helpers import free_port
from helpers.prom import PromServer, traffic
from opsproof.config import Objective, SloSource
from opsproof.slo import status
from opsproof.slo.accesslog import buckets
from opsproof.slo.prometheus import Prometheus, PromError, PromSource
from opsproof.hosts.target import Target

SETTINGS = {"format": "combined", "time_field": "time", "status_field": "status", "duration_field": "request_time",
            "duration_unit": "s"}
OBJECTIVES = [
    Objective(name="availability", target=99.0, window="30d"),
    Objective(name="availability-429-bad", target=95.0, window="7d", bad_status=[429]),
    Objective(name="fast", sli="latency", threshold_ms=300, target=60.0, window="30d"),
]
SLOTH = Objective(name="sloth-style", target=99.0, window="30d",
                  error_query='sum(rate(http_requests_total{job="api",code=~"5.."}[{{window}}]))',
                  total_query='sum(rate(http_requests_total{job="api"}[{{window}}]))')


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Three hours of traffic ending two minutes ago, in an access log and in a running Prometheus."""
    directory = tmp_path_factory.mktemp("prom")
    now = time.time()
    made = traffic(now - 3 * 3600 + 60, now - 120, 3000)
    log = directory / "access.log"
    log.write_text(made.access_log(offset_hours=5.5))
    server = PromServer(directory)
    server.backfill(made.openmetrics(now - 3 * 3600, now - 60))
    server.start("count(last_over_time(http_requests_total[1d]))")
    target = Target(testinfra.get_host("local://"), 30)
    agg, read, _ = buckets.update(target, str(log), SETTINGS, [300], {}, now, 93 * 86400)
    assert read.error is None and read.malformed == 0
    cfg = SloSource(prometheus=server.url, selector='job="api"', timeout_s=10)
    yield SimpleNamespace(now=now, made=made, log=status.LogSource(agg, read), server=server,
                          prom=PromSource(Prometheus(server.url, 10), cfg), cfg=cfg)
    server.stop()


def test_access_log_numbers_are_the_traffic_made(world):
    reqs = world.made.requests
    st = status.evaluate(world.log, OBJECTIVES[0], world.now)
    assert st.total == len(reqs) and st.bad == sum(r.status >= 500 for r in reqs)
    fast = status.evaluate(world.log, OBJECTIVES[2], world.now)
    assert fast.good == sum(r.seconds <= 0.3 for r in reqs)      # 0.3 s counts as fast, 0.301 s does not


@pytest.mark.parametrize("objective", OBJECTIVES + [SLOTH], ids=lambda o: o.name)
def test_access_log_and_prometheus_agree(world, objective):
    log_objective = objective if not objective.total_query else OBJECTIVES[0]   # the same SLI, as the log computes it
    from_log = status.evaluate(world.log, log_objective, world.now)
    from_prom = status.evaluate(world.prom, objective, world.now)
    assert from_log.error is None and from_prom.error is None, (from_log.error, from_prom.error)
    # increase() extrapolates every series by the same factor, so the ratios are the same; counts nearly so.
    assert from_prom.sli_percent == pytest.approx(from_log.sli_percent, abs=1e-6)
    assert from_prom.budget_remaining_percent == pytest.approx(from_log.budget_remaining_percent, abs=1e-3)
    assert from_prom.burn_rate == pytest.approx(from_log.burn_rate, abs=1e-5)
    if not objective.total_query:
        assert from_prom.total == pytest.approx(from_log.total, rel=0.01)


def test_daily_performance_agrees(world):
    from_log = status.performance(world.log, world.now)
    from_prom = status.performance(world.prom, world.now)
    assert from_prom.error is None, from_prom.error
    assert from_prom.requests == pytest.approx(from_log.requests, rel=0.02)
    assert from_prom.errors == pytest.approx(from_log.errors, rel=0.02)
    days = [d for d in from_prom.numbers if d["requests"]]
    assert days and all(d["p50_ms"] and d["p99_ms"] >= d["p95_ms"] >= d["p50_ms"] for d in days)


def test_page_burn_from_prometheus_is_evaluated(world):
    burn = status.burn(world.prom, OBJECTIVES[0], world.now)
    assert burn.error is None, burn.error
    assert [n["factor"] for n in burn.numbers] == pytest.approx([14.4, 6.0])
    # 1 in 50 requests fails: an error ratio of 2 % against a 1 % budget burns at 2x: no page.
    assert burn.numbers[1]["long_burn"] == pytest.approx(2.0, rel=0.15) and not burn.firing


def test_promql_error_fails_with_the_reason(world):
    broken = Objective(name="broken", target=99, window="30d", error_query="sum(rate(http_requests_total[{{window}}])",
                       total_query="sum(rate(http_requests_total[{{window}}]))")
    st = status.evaluate(world.prom, broken, world.now)
    assert st.error and "PromQL error" in st.error and "sum(rate(http_requests_total[" in st.error


def test_missing_histogram_bucket_names_the_buckets_there_are(world):
    st = status.evaluate(world.prom, Objective(name="f", sli="latency", threshold_ms=250, target=90, window="30d"),
                         world.now)
    assert st.error and "no bucket le=0.25" in st.error and "0.3" in st.error


def test_no_matching_series_is_could_not_observe(world):
    source = PromSource(Prometheus(world.server.url, 10), world.cfg.model_copy(update={"selector": 'job="nope"'}))
    st = status.evaluate(source, OBJECTIVES[0], world.now)
    assert st.error and "could not observe" in st.error


def test_server_down_fails_with_the_reason_quickly():
    client = Prometheus(f"http://127.0.0.1:{free_port()}", timeout_s=5)
    started = time.monotonic()
    with pytest.raises(PromError, match="cannot connect"):
        client.query("vector(1)")
    assert time.monotonic() - started < 5


def test_hanging_server_fails_within_the_timeout(http_server):
    http_server.behaviour.hang = True
    client = Prometheus(http_server.url(""), timeout_s=1)
    started = time.monotonic()
    with pytest.raises(PromError, match=r"did not answer within 1 s"):
        client.query("vector(1)")
    assert time.monotonic() - started < 1 + 3


def test_non_prometheus_answer_fails_with_the_reason(http_server):
    http_server.behaviour.body = b"<html>login</html>"
    with pytest.raises(PromError, match="without JSON"):
        Prometheus(http_server.url(""), timeout_s=2).query("vector(1)")


def test_a_password_in_the_url_never_reaches_records_or_messages():
    client = Prometheus(f"http://reader:pa55-w0rd@127.0.0.1:{free_port()}/prom", timeout_s=2)
    assert client.url.startswith("http://reader@127.0.0.1:") and "pa55-w0rd" not in client.url
    with pytest.raises(PromError) as err:
        client.query("vector(1)")
    assert "pa55-w0rd" not in str(err.value)
    assert "pa55-w0rd" not in PromSource(client, SloSource(prometheus=client.base)).label
