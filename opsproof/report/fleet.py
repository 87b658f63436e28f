"""The report's fleet section: which hosts ran, which settings each got, which could not be reached. Pure."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .html import esc


def fleet_summary(hosts: Iterable[Mapping[str, Any]], unreachable: Mapping[str, str]) -> dict[str, Any]:
    """The JSON summary's `fleet` (each host's settings, and why it was unreachable) and `unreachable` keys."""
    rows = [dict(host, unreachable=unreachable.get(host["id"])) for host in hosts]
    return {"fleet": rows, "unreachable": dict(sorted(unreachable.items()))}


def fleet_html(summary: Mapping[str, Any]) -> str:
    """The header's hosts table: unreachable hosts first and named, then every host with its overrides."""
    down = summary.get("unreachable") or {}
    parts = []
    if down:
        items = "".join(f"<li><code>{esc(h)}</code>: {esc(why)}</li>" for h, why in down.items())
        parts.append(f"<h3>Unreachable hosts ({len(down)})</h3><ul class='opsproof-unreachable'>{items}</ul>")
    rows = []
    for host in summary.get("fleet") or []:
        taken = ", ".join(f"{key} (from {group})" for key, group in host["overridden"].items()) or "none: the top level"
        state = "unreachable" if host.get("unreachable") else ""
        rows.append(f"<tr><td><code>{esc(host['id'])}</code></td><td>{esc(', '.join(host['config_groups']) or '-')}</td>"
                    f"<td>{esc(taken)}</td><td><code>{esc(host['root'])}</code></td>"
                    f"<td>{esc(host['connect_timeout_s'])} s</td><td>{state}</td></tr>")
    if len(rows) > 1 or down or any(h["config_groups"] for h in summary.get("fleet") or []):
        parts.append("<h3>Hosts and their settings</h3><table class='opsproof-fleet'><tr><th>host</th>"
                     "<th>hosts: groups</th><th>overridden sections</th><th>root</th><th>connect timeout</th>"
                     "<th></th></tr>" + "".join(rows) + "</table>")
    return "".join(parts)
