"""State that must survive between runs, one JSON file per host and concern under state_dir."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any


class StateStore:
    def __init__(self, state_dir: str, host_id: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", host_id) or "local"
        self.dir = Path(state_dir, safe)

    def load(self, name: str) -> dict[str, Any]:
        try:
            return json.loads(Path(self.dir, f"{name}.json").read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # a damaged state file means "no reference point": the first-run behaviour

    def save(self, name: str, data: dict[str, Any]) -> None:
        """Write atomically: a crash leaves the old state or the new, never half of one."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, Path(self.dir, f"{name}.json"))
