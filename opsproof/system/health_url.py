"""Which URL probes a target's health endpoint, from the machine running the suite: the one rule every caller uses.

`{host}` in a URL becomes the target's host name, so one endpoint line serves a fleet (testinfra names this machine
"local", which no resolver knows: it becomes localhost). A loopback URL cannot reach a remote target from here: it
would be answered by the wrong machine, so it is not probed for that target, and the reason says what to write.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

from .health import HealthResult, probe_all

LOOPBACK = ("localhost", "127.0.0.1", "::1", "ip6-localhost")


def is_loopback(url: str) -> bool:
    hostname = urlsplit(url).hostname or ""
    return hostname in LOOPBACK or hostname.startswith("127.")


def url_for(url: str, target: Any) -> tuple[str, Optional[str]]:
    """(the URL to probe for `target` — a hosts.target.Target: its is_local, hostname, name —, why it cannot be
    probed from here, or None when it can)."""
    url = url.replace("{host}", "localhost" if target.is_local else target.hostname)
    if not target.is_local and is_loopback(url):
        return url, (f"loopback URL {url} cannot reach remote host {target.name} from here; "
                     "write {host} in the URL to probe each target")
    return url, None


def key_of(endpoint: Any) -> str:
    """An endpoint's settings as one string: each host's config has its own, equal, endpoint objects, and comparing
    these is cheap where comparing 200 models 200 times is not (labels are unique within one config)."""
    return endpoint.model_dump_json(by_alias=True)


@dataclass
class TargetProbes:
    """Every endpoint of one target: the results of those probed from here, why the others could not be, and what
    limit of this process held the probes back (`ulimit -n`, `-v`), if one did."""

    results: dict[str, HealthResult] = field(default_factory=dict)   # by key_of(endpoint)
    unprobed: dict[str, str] = field(default_factory=dict)          # key_of(endpoint) -> why, with the label
    limit: Optional[str] = None

    def of(self, endpoint: Any) -> tuple[Optional[HealthResult], Optional[str]]:
        """(the endpoint's result, None) or (None, why it was not probed)."""
        key = key_of(endpoint)
        return (None, self.unprobed[key]) if key in self.unprobed else (self.results[key], None)


def probe_target(endpoints: list[Any], target: Any, concurrency: int) -> TargetProbes:
    """Every endpoint probed at `target`'s URL, all at once; a URL that cannot reach it from here is not probed."""
    out, todo = TargetProbes(), []
    for endpoint in endpoints:
        url, why = url_for(endpoint.url, target)
        if why:
            out.unprobed[key_of(endpoint)] = f"{endpoint.label}: {why}"
        else:
            todo.append((endpoint, url))
    probes = probe_all(todo, concurrency)
    out.results = {key_of(e): r for (e, _), r in zip(todo, probes)}
    out.limit = probes.limit
    return out


def problems(endpoints: list[Any], target: Any, concurrency: int) -> list[str]:
    """Every endpoint probed at `target`'s URL: one line per endpoint that is unhealthy, or that cannot be probed
    from here (a gate that cannot see an endpoint cannot vouch for it); [] when all answer as configured."""
    probes = probe_target(endpoints, target, concurrency)
    return list(probes.unprobed.values()) + [f"{r.name}: {r.error or '; '.join(r.problems)}"
                                             for r in probes.results.values() if not r.ok]
