"""State that must survive between runs, one JSON file per host and concern under state_dir."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..config import inputs
from ..files import Staged, stage

MAX_BYTES = 16 << 20  # a year of hourly capacity samples is about 1 MiB a filesystem; SLO aggregates are compressed


class StateStore:
    def __init__(self, state_dir: str, host_id: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", host_id) or "local"
        self.dir = Path(state_dir, safe)

    def load(self, name: str) -> dict[str, Any]:
        """The saved state, {} when there is none. A damaged one (not JSON, not an object, larger than MAX_BYTES, not
        a regular file: a FIFO there is never waited on) means "no reference point": the first-run behaviour."""
        path = Path(self.dir, f"{name}.json")
        try:
            data = inputs.json_of(inputs.read_bytes(path, MAX_BYTES), str(path))
        except (OSError, inputs.InputError):
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, name: str, data: dict[str, Any]) -> None:
        """Write atomically: a crash leaves the old state or the new, never half of one."""
        self.stage(name, data).commit()

    def stage(self, name: str, data: dict[str, Any]) -> Staged:
        """Write the new state aside, not yet in effect: `commit()` puts it in place (one rename), `discard()` drops
        it. A change that must happen whole (a ledger line and the offsets it records) stages first, writes the
        rest, then commits."""
        return stage(Path(self.dir, f"{name}.json"), json.dumps(data, indent=1, sort_keys=True), mode=0o600)

    def update(self, name: str, entries: dict[str, Any]) -> None:
        """Replace these entries of a state file, keeping the others."""
        saved = self.load(name)
        saved.update(entries)
        self.save(name, saved)


class Pending:
    """State updates held until the run is recorded (its report, summary and ledger line written): a run that could
    not record what it saw consumes nothing (error-log offsets, SLO aggregates). Plain values, so a pytest-xdist
    worker can hand its own to the controller."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, dict[str, Any]]] = []   # (a host's state folder, file name, entries)

    def add(self, store: StateStore, name: str, entries: dict[str, Any]) -> None:
        self.updates.append((str(store.dir), name, entries))

    def extend(self, handed: list) -> None:
        """Another process's `updates` (lists, as they travel)."""
        self.updates.extend((directory, name, entries) for directory, name, entries in handed)

    def save(self) -> None:
        """Apply every held update, in the order they were made, then hold none."""
        for directory, name, entries in self.updates:
            where = Path(directory)
            StateStore(str(where.parent), where.name).update(name, entries)  # the folder a host id made, as it is
        self.updates = []
