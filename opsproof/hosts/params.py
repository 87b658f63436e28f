"""Which values each host's checks run over: one item per configured value, per host's own config.

A check module parametrized over configured values (disk paths, kept archives, TLS endpoints) gets one item per
value; in a fleet where hosts have different configs, a value belongs to the hosts whose config lists it, and two
different values under one name get one item each (the second named after its group, or its host). A section left
out, or an empty list, is one item that is skipped saying why: never an empty, silently green selection.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Union

NOT_CONFIGURED = "not-configured"     # the section is left out of the config
NONE_CONFIGURED = "none-configured"   # the section lists nothing of this kind

Values = Union[Optional[Iterable[Any]], Callable[[Any], Optional[Iterable[Any]]]]


def skip_reasons(section: str, file: str) -> dict[str, str]:
    """Why the marker items are skipped, by id."""
    return {NOT_CONFIGURED: f"no {section} section in {file}",
            NONE_CONFIGURED: f"{section}: nothing of this kind listed in {file}"}


def choices(config: Any, section: str, values: Values, ids: Optional[Callable[[Any], str]]) -> list[tuple[str, Any]]:
    """(id, value) of each value a config lists; a section left out or an empty list is one marker entry."""
    if getattr(config, section) is None:
        return [(NOT_CONFIGURED, None)]
    found = values(config) if callable(values) else values
    if not found:
        return [(NONE_CONFIGURED, None)]
    return [((ids(v) if ids else str(v)), v) for v in found]


def per_host(owners: Iterable[tuple[str, Any, str]], section: str, values: Values,
             ids: Optional[Callable[[Any], str]] = None) -> dict[str, tuple[Any, set[str]]]:
    """Item id -> (value, the ids of the hosts it belongs to), from each host's (id, config, group label).

    The same name with other settings on another host is a second item, `name@group` (or `name@host` when the
    group label is taken too), so neither host's value hides the other's."""
    chosen: dict[str, tuple[Any, set[str]]] = {}
    for member_id, config, label in owners:
        for value_id, value in choices(config, section, values, ids):
            key = value_id
            if key in chosen and chosen[key][0] != value:
                key = f"{value_id}@{label}" if f"{value_id}@{label}" not in chosen else f"{value_id}@{member_id}"
            chosen.setdefault(key, (value, set()))[1].add(member_id)
    return chosen


def host_of_item(nodeid: str, host_ids: Iterable[str]) -> Optional[str]:
    """The host an item's id names (its id comes last, as testinfra's did), None when it names none. `host_ids`
    longest first, so `web1:2222` is not taken for `web1`."""
    for host in host_ids:
        if nodeid.endswith((f"[{host}]", f"-{host}]")):
            return host
    return None
