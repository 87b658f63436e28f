"""Which URL probes a target's health endpoint, from the machine running the suite: the one rule every caller uses.

`{host}` in a URL becomes the target's host name, so one endpoint line serves a fleet (testinfra names this machine
"local", which no resolver knows: it becomes localhost). A loopback URL cannot reach a remote target from here: it
would be answered by the wrong machine, so it is not probed for that target, and the reason says what to write.
"""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from .health import probe_all

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


def problems(endpoints: list[Any], target: Any, concurrency: int) -> list[str]:
    """Every endpoint probed at `target`'s URL: one line per endpoint that is unhealthy, or that cannot be probed
    from here (a gate that cannot see an endpoint cannot vouch for it); [] when all answer as configured."""
    todo, found = [], []
    for endpoint in endpoints:
        url, why = url_for(endpoint.url, target)
        if why:
            found.append(f"{endpoint.label}: {why}")
        else:
            todo.append((endpoint, url))
    return found + [f"{r.name}: {r.error or '; '.join(r.problems)}" for r in probe_all(todo, concurrency) if not r.ok]
