"""A finished run's line in the ledger: assembled from what the run wrote and how it ended, masked, appended.

The line names every file the run wrote (HTML report, JSON summary, JUnit XML when asked: `run_files`) with its
SHA-256, the run's verdict, its failures, warnings, waived checks and configured waivers (`run_line`, built by
ledger.py's `entry`). Every string passes the run's redactor first, all but the digests (`masked`). `append_run`
appends it, remembered as the head this machine wrote in the run's state_dir (so `opsproof verify-ledger` names a
ledger cut short at its end), and says, in one line, what went wrong: the head this machine remembers not kept (the line is in), or no
line at all — then the run's state (error-log offsets, SLO aggregates) must stay unsaved, no --textfile is written,
and the run exits 4 (`EXIT_NO_LINE`). The pytest wiring (engine/ledger.py) calls these at the run's very end.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from .ledger import HeadNotKept, LedgerError, append, entry
from .redact import Redactor
from .run import RunRecord
from .summary import judged

EXIT_NO_LINE = 4
_REPLACED = (0, 1, 5)    # pytest's exit statuses a missing ledger line turns into EXIT_NO_LINE; 2-4 say more already


def run_files(html: Path, junit: Optional[str] = None) -> list[Path]:
    """What a run wrote that an auditor is handed, those of them that exist: the HTML report, the JSON summary beside
    it, the JUnit XML (`junit`: its path as given, when one was asked for)."""
    candidates = [html, html.with_suffix(".json")] + ([Path(junit).absolute()] if junit else [])
    return [path for path in candidates if path.is_file()]


def masked(line: Mapping[str, Any], red: Redactor) -> dict[str, Any]:
    """The line through the run's redactor, all but the digests (hex a short secret could match inside)."""
    out = red.data({key: value for key, value in line.items() if key != "files"})
    out["config"]["sha256"] = line["config"]["sha256"]
    out["files"] = [{"name": red.text(f["name"]), "sha256": f["sha256"]} for f in line["files"]]
    return out


def run_line(run: RunRecord, tests: list[Mapping[str, Any]], outcome: Mapping[str, int], files: list[Path],
             directory: Path, exit_status: int, verdict: Optional[str], waivers: Optional[list[Any]],
             red: Redactor) -> dict[str, Any]:
    """The run's ledger line, masked: `tests` are the summary's entries (masked already), `waivers` as the summary
    lists them."""
    failed = [t["id"] for t in tests if t["outcome"] in ("failed", "error")]
    judgement = {**judged(tests), "waivers": waivers}
    return masked(entry(run, outcome, failed, files, directory, exit_status, verdict, judgement), red)


@dataclass(frozen=True)
class Appended:
    """How an append went: whether the line is in the ledger, and one line to say (None when all went well)."""

    written: bool
    said: Optional[str] = None


def append_run(path: Path, line: Mapping[str, Any], state_dir: str, textfile: bool = False) -> Appended:
    """Append the run's line to the ledger at `path` (remembered as this machine's head in `state_dir`); `textfile`:
    a --textfile was asked for (the message says it is not written either)."""
    try:
        append(path, line, state_dir=state_dir)
    except HeadNotKept as exc:
        return Appended(True, f"opsproof: {exc}")
    except (OSError, LedgerError) as exc:
        why = exc if isinstance(exc, LedgerError) else f"{path}: {exc.strerror or exc}"
        skipped = ", no --textfile written" if textfile else ""
        return Appended(False, f"opsproof: no ledger line written ({why}): this run's state not saved (error-log "
                               f"offsets, SLO aggregates: the next run starts where this one did){skipped}; exit 4")
    return Appended(True)


def exit_status(current: int) -> int:
    """The run's exit status when its ledger line could not be written."""
    return EXIT_NO_LINE if current in _REPLACED else current
