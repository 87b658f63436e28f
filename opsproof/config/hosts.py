"""`hosts:` — the fleet: named groups of hosts, each with overrides of any per-host section.

```yaml
hosts:
  web: {hosts: ["ssh://web1:2222", "ssh://web2"], overrides: {health: [{name: api, url: "http://{host}/health"}]}}
  db:  {overrides: {root: /srv/db, backups: {dir: backups, pattern: "daily_*.tar.gz"}}}   # an Ansible group
  db1: {overrides: {disk: {paths: ["/"], max_used_percent: 70}}}                           # one host
```

A group's name matches the hosts listed under it, an Ansible inventory group of that name (with
`--ansible-inventory`) and a host of that name or spec. A host takes the overrides of every group it
matches, in the order they are written; an override replaces the whole section (a top-level key). Each
group's overrides are validated with the same models as the top level when the file is loaded (errors name
`hosts.<group>.overrides.<key path>`), and so is each combination of groups a host listed in the file takes
(`listed_together`). Settings read once for the whole run cannot be overridden.
"""
from __future__ import annotations

from typing import Any, Callable

from pydantic import Field, field_validator

from .base import ConfigError
from .section import Section

# Read once per run, not per host: overriding them per group would be silently ignored, so it is refused.
FLEET_WIDE = ("service", "hosts", "state_dir", "window", "notify", "user_facing", "attestations", "cadences",
              "schedule", "waivers", "max_waiver_days", "runbooks")


class Group(Section):
    """One group of hosts: testinfra host specs (or `ansible://pattern`) and the sections they override."""

    hosts: list[str] = []
    overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("hosts")
    @classmethod
    def _specs(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not spec.strip() or "," in spec:
                raise ValueError(f"{spec!r} is not one host spec (ssh://web1:2222, paramiko://db1, ansible://web)")
        return [spec.strip() for spec in value]

    @field_validator("overrides")
    @classmethod
    def _per_host(cls, value: dict[str, Any]) -> dict[str, Any]:
        fleet_wide = [key for key in value if key in FLEET_WIDE]
        if fleet_wide:
            raise ValueError(f"{', '.join(fleet_wide)} applies to the whole run: set it at the top level, "
                             "not per group")
        return value


def listed_together(groups: dict[str, Group]) -> list[list[str]]:
    """Each set of two or more groups a host listed in the file takes (under them, or a group of its spec's name),
    in file order: the settings a run on that host validates, known before any inventory is read."""
    specs = dict.fromkeys(spec for group in groups.values() for spec in group.hosts)
    together = {tuple(name for name, group in groups.items() if spec in group.hosts or name == spec) for spec in specs}
    return [list(names) for names in sorted(together) if len(names) > 1]


def merged(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The top level's raw settings with a group's overrides in place (each replaces its whole section)."""
    out = {key: value for key, value in data.items() if key != "hosts"}
    out.update(overrides)
    return out


def validated(file: str, groups: list[str], data: dict[str, Any], overrides: list[dict[str, Any]],
              build: Callable[[dict], Any]) -> Any:
    """`build(merged settings)` (the loader's validation); its ConfigError names hosts.<group>.overrides.<key>."""
    settings = data
    for override in overrides:
        settings = merged(settings, override)
    try:
        return build(settings)
    except ConfigError as exc:
        top = exc.key.split(".")[0].split("[")[0]
        named = [g for g, o in zip(groups, overrides) if top in o] or groups  # the group whose override is at fault
        key = f"hosts.{named[-1]}.overrides" + (f".{exc.key}" if exc.key else "")
        others = ", ".join(g for g in groups if g != named[-1])
        also = f" (on a host that also takes {others})" if others else ""
        raise ConfigError(file, key, exc.problem + also, exc.hint) from None
