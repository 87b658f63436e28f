"""The fleet of one run: every host, the `hosts:` groups it takes overrides from, its config and its test id.

Pure of pytest: engine/target.py asks `plan` once per process and parametrizes the checks with its members.
Where the hosts come from, in order: `--hosts` (specs and `ansible://pattern`), else the hosts listed under the
config's `hosts:` groups, else this machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .inventory import ANSIBLE_PREFIX, Entry, InventoryError, connect, entries, host_id, read_inventory
from .target import is_local


@dataclass(frozen=True, eq=False)
class Member:
    """One host of the run."""

    id: str                   # its test id: host and port (`ssh://10.0.0.5:2222`, `ansible://web1@10.0.0.5:2222`)
    entry: Entry
    groups: tuple[str, ...]   # the `hosts:` groups whose overrides it took, in file order
    maint: Any                # the config in effect on this host (the top level with those overrides)
    host: Any                 # the testinfra host
    overridden: dict[str, str] = field(default_factory=dict)   # section -> the group whose override it took
    settings: dict[str, Any] = field(default_factory=dict)     # section -> the override as written

    @property
    def is_local(self) -> bool:
        return is_local(self.host)

    def describe(self) -> dict[str, Any]:
        """What the report shows: which settings this host got, and from where."""
        return {"id": self.id, "inventory_groups": list(self.entry.groups), "config_groups": list(self.groups),
                "overridden": dict(self.overridden), "settings": dict(self.settings), "root": self.maint.root,
                "connect_timeout_s": self.maint.connect_timeout_s,
                "command_timeout_s": self.maint.command_timeout_s, "config_sha256": self.maint.sha256}


# testinfra's connection options (its own command-line names) with their defaults: what `connect` passes on.
CONNECTION_OPTIONS = {"connection": None, "ssh_config": None, "ssh_identity_file": None, "sudo": False,
                      "sudo_user": None, "force_ansible": False}


def connection_options(option: Any) -> dict[str, Any]:
    """testinfra's connection options as a run's parsed command line holds them (defaults where it has none)."""
    return {name: getattr(option, name, default) for name, default in CONNECTION_OPTIONS.items()}


def specs(option_hosts: Optional[str], maint: Any) -> list[str]:
    """The host specs of this run: --hosts, else every host listed under `hosts:`, else this machine ("")."""
    if option_hosts is not None:
        named = list(dict.fromkeys(s.strip() for s in option_hosts.split(",") if s.strip()))
        if not named:   # a run that checks no host must not pass
            raise InventoryError(f"--hosts={option_hosts!r} names no host: give one or more, comma-separated")
        return named
    listed = [spec for group in (maint.hosts or {}).values() for spec in group.hosts]
    return list(dict.fromkeys(listed)) or [""]


def needs_inventory(run_specs: list[str]) -> bool:
    return any(spec.startswith(ANSIBLE_PREFIX) for spec in run_specs)


def config_groups(entry: Entry, maint: Any) -> tuple[str, ...]:
    """The `hosts:` groups an entry takes overrides from (file order): listed there, its inventory group, its name."""
    out = []
    for name, group in (maint.hosts or {}).items():
        if name in entry.groups or name in (entry.name, entry.spec) or entry.spec in group.hosts \
                or entry.name in group.hosts:
            out.append(name)
    return tuple(out)


def plan(run_specs: list[str], maint: Any, configure: Callable[[Any, list[str]], Any],
         inventory_file: Optional[str], inventory: Optional[dict], options: dict[str, Any]) -> list[Member]:
    """Every member of the run, sorted by id. `configure(maint, groups)` is the config loader's for_groups;
    InventoryError and the loader's ConfigError say what is wrong."""
    members: dict[str, Member] = {}
    for entry in entries(run_specs, inventory_file, inventory):
        groups = config_groups(entry, maint)
        config = configure(maint, list(groups))
        if config is not maint:
            config = config.model_copy(update={"state_dir": maint.state_dir})  # --state-dir holds for every host
        host = connect(entry, inventory, config.connect_timeout_s, options)
        overridden = {key: group for group in groups for key in maint.hosts[group].overrides}
        settings = {key: maint.hosts[group].overrides[key] for key, group in overridden.items()}
        member = Member(host_id(host, entry), entry, groups, config, host, overridden, settings)
        members.setdefault(member.id, member)
    return [members[key] for key in sorted(members)]


def load_inventory(run_specs: list[str], inventory_file: Optional[str], timeout_s: float) -> Optional[dict]:
    """The inventory, read once, when a spec needs it (ansible://...); None otherwise."""
    if not needs_inventory(run_specs):
        return None
    if not inventory_file:
        wanted = next(s for s in run_specs if s.startswith(ANSIBLE_PREFIX))
        raise InventoryError(f"{wanted} needs --ansible-inventory=FILE (the inventory that defines it)")
    return read_inventory(inventory_file, timeout_s)
