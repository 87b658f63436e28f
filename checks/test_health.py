"""Health endpoints: every configured endpoint answers as expected, in time."""
import pytest

from opsproof.system.health import unanswered, unhealthy

pytestmark = [pytest.mark.daily, pytest.mark.postmaintenance, pytest.mark.postdeploy]


def test_endpoint_healthy(health, endpoint, evidence):
    """Each health endpoint answers with the expected status and body (health[].status, json, contains)."""
    timeout = endpoint.setting("timeout_s")
    evidence.require(health.error is None, f"{unanswered(health)} ({timeout.key} = {timeout.value:g} s, "
                     f"{endpoint.setting('retries').key} = {endpoint.retries}) — is the service running and "
                     f"reachable at {endpoint.key}.url? start it, or look at why it stopped answering")
    evidence.compare(f"HTTP status of {health.name} ({health.url})", health.status, "==", endpoint.setting("status"),
                     hint="the service answers but reports a problem: read its logs and the body in the evidence")
    evidence.require(not health.problems, f"{unhealthy(health)}; {endpoint.key}.json and .contains say what a "
                     "healthy answer holds — read the service's logs and fix what it reports")
    evidence.compare(f"{health.name} latency", health.latency_ms, "<=", endpoint.setting("max_latency_ms"), unit=" ms",
                     hint="the endpoint answers, but slowly: look at load and dependencies")
