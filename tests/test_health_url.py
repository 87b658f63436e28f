"""The one rule for which URL probes a target's health endpoint (opsproof/system/health_url.py), and the callers
that use it: the health checks and the post-update health gate of update-dependencies."""
from __future__ import annotations

import testinfra

from opsproof.config import Endpoint
from opsproof.hosts.target import Target
from opsproof.system.health_url import key_of, probe_target, problems as health_problems, url_for


def test_loopback_url_is_skipped_for_a_remote_host_only():
    remote = Target(testinfra.get_host("ssh://web1.example.invalid"), 5)  # not connected: nothing runs on it
    local = Target(testinfra.get_host("local://"), 5)
    for url in ("http://127.0.0.1:8080/health", "http://localhost/health", "http://127.0.1.1/x", "http://[::1]:80/"):
        assert url_for(url, remote)[1] is not None, url
        assert url_for(url, local) == (url, None), url
    assert url_for("http://{host}:8080/health", remote) == ("http://web1.example.invalid:8080/health", None)
    assert url_for("http://{host}:8080/health", local) == ("http://localhost:8080/health", None)


def test_the_health_gate_probes_each_target_at_its_own_url(http_server):
    """The post-update gate (security/update's health check) uses the same rule: `{host}` filled in for the target,
    a loopback URL a problem for a remote target (it cannot be seen from here), never probed on the wrong machine."""
    local = Target(testinfra.get_host("local://"), 5)
    remote = Target(testinfra.get_host("ssh://web1.example.invalid"), 5)
    templated = [Endpoint(url=f"http://{{host}}:{http_server.port}/health", name="api", timeout_s=10)]
    assert health_problems(templated, local, 4) == []
    loopback = [Endpoint(url=http_server.url("/health"), name="api", timeout_s=10)]
    assert health_problems(loopback, local, 4) == []
    found = health_problems(loopback, remote, 4)
    assert len(found) == 1 and "cannot reach remote host ssh://web1.example.invalid" in found[0], found


def test_probe_target_answers_per_endpoint_and_says_why_one_was_not_probed(http_server):
    """What the health fixture reads: each endpoint's result by its settings, or the reason it was not probed."""
    remote = Target(testinfra.get_host("ssh://web1.example.invalid"), 5)
    local = Target(testinfra.get_host("local://"), 5)
    api = Endpoint(url=f"http://{{host}}:{http_server.port}/health", name="api", timeout_s=10)
    loop = Endpoint(url=http_server.url("/health"), name="loop", timeout_s=10)
    here = probe_target([api, loop], local, 4)
    assert here.unprobed == {} and here.limit is None and set(here.results) == {key_of(api), key_of(loop)}
    result, why = here.of(Endpoint(**api.model_dump(by_alias=True)))   # another host's config: an equal endpoint
    assert why is None and result.ok and result.name == "api"
    there = probe_target([loop], remote, 4)
    assert there.results == {} and there.of(loop)[0] is None
    assert there.of(loop)[1].startswith(f"loop: loopback URL {loop.url} cannot reach remote host")
