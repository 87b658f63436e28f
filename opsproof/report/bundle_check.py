"""An audit bundle's period, its manifest, and verifying the ledger inside an unpacked bundle.

A bundle (bundle.py) holds the whole ledger, so the chain verifies, but only the files of the runs in its period: the
ledger's lines of other runs name reports the bundle does not hold. `relax` turns exactly those "missing" findings
into one note; every other finding stays — an in-period report altered or removed, a broken link, an orphan.
The period comes from the bundle's manifest (`bundle.json`, beside `reports/`), and the note names it, so a reader
sees which runs were checked against their files. What it cannot see: a manifest whose period was narrowed
afterwards (the index, printed or kept, shows the period it was made for).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional

from ..config import inputs
from .ledger_file import NAME
from .ledger_verify import Verification, missing
from .run import parse_utc

MANIFEST = "bundle.json"
FORMAT = "opsproof-bundle/1"
REPORTS = "reports"          # the folder inside a bundle: the ledger, its signature and the period's files
MANIFEST_BYTES = 1 << 20
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """Whole UTC days, both ends included: a run belongs to the period its start falls in."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str, last: str) -> "Period":
        """From `YYYY-MM-DD` texts; ValueError saying which one is wrong and how."""
        days = []
        for option, text in (("--from", first), ("--to", last)):
            try:
                if not _DATE.match(text or ""):
                    raise ValueError
                days.append(date.fromisoformat(text))
            except ValueError:
                raise ValueError(f"{option} {text!r} is not a date: write YYYY-MM-DD (UTC), e.g. 2026-12-01") \
                    from None
        if days[0] > days[1]:
            raise ValueError(f"--from {first} is after --to {last}: the period would hold no day")
        return cls(days[0], days[1])

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), timezone.utc)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), timezone.utc)

    def holds(self, entry: Mapping[str, Any]) -> bool:
        return self.start <= parse_utc(entry["started"]) < self.end

    def text(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()} (UTC, both days included)"


def inside(name: str) -> bool:
    """A file name a ledger line may hold that a bundle can carry: relative, no `..`, no empty part."""
    parts = PurePosixPath(name).parts
    return bool(parts) and not PurePosixPath(name).is_absolute() and all(p not in ("..", ".", "") for p in parts)


def bundle_top(where: str | os.PathLike[str]) -> Optional[Path]:
    """The unpacked bundle `where` is (its top folder, its reports/ folder or the ledger in it); None when it is not
    one (a manifest beside reports/ holding a ledger)."""
    path = Path(where)
    for top in ((path, path.parent) if path.is_dir() else (path.parent.parent,)):
        if (top / MANIFEST).is_file() and (top / REPORTS / NAME).is_file():
            return top
    return None


def read_manifest(top: Path) -> dict[str, Any]:
    """The bundle's manifest; InputError when it is not one (not JSON, another format, no period)."""
    name = str(top / MANIFEST)
    data = inputs.load_json(top / MANIFEST, MANIFEST_BYTES)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise inputs.InputError(name, "format", f"not an opsproof bundle manifest ({FORMAT})")
    try:
        Period.parse(str(data.get("from")), str(data.get("to")))
    except ValueError as exc:
        raise inputs.InputError(name, "from/to", str(exc)) from None
    return data


def relax(result: Verification, manifest: Mapping[str, Any]) -> None:
    """The findings of `verify` on a bundle's ledger, less the files the bundle leaves out by design (runs outside
    its period, files named outside the report directory), with one note saying how many and why."""
    period = Period.parse(manifest["from"], manifest["to"])
    absent = {missing(f["name"], e)
              for e in result.entries for f in e["files"] if not period.holds(e) or not inside(f["name"])}
    kept = [p for p in result.problems if p not in absent]
    left = len(result.problems) - len(kept)
    result.problems[:] = kept
    result.notes.insert(0, f"audit bundle for {period.text()}: {left} file(s) of runs outside the period (or named "
                           "outside the report directory) are not in it; their digests stay in the ledger, unchecked "
                           "here")
