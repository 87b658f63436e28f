"""What the benchmarks share: a scratch input that is always removed, one way to time a whole process and
read its peak memory, and the row every benchmark hands to `bench/run.py`.

Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the `time` apt package, installed by
`scripts/bootstrap --test`): a child forked straight from this Python process inherits its high-water
mark (Linux carries maxrss over fork and exec), so wait4's figure would be this process's, not the tool's.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

MB = 1024 * 1024
GNU_TIME = "/usr/bin/time"


@dataclass
class Measured:
    seconds: float              # fastest wall time of the repeats
    peak_rss_mib: Optional[float]
    returncode: int
    stdout: str = ""
    stderr: str = ""            # only with measure(keep_stderr=True)


def measure(argv: list[str], repeat: int = 1, env: Optional[dict] = None, cwd: Optional[str] = None,
            stdin_path: Optional[str] = None, timeout: Optional[float] = None, keep_stderr: bool = False) -> Measured:
    """Run `argv` `repeat` times as its own process: fastest wall seconds, peak RSS (MiB), status, stdout (and
    stderr with `keep_stderr`: where a command that fails before its work says why)."""
    best, peak, status, out, err = float("inf"), None, 0, "", ""
    wrap = os.path.exists(GNU_TIME)
    for _ in range(repeat):
        with tempfile.NamedTemporaryFile("r") as stats:
            wrapped = [GNU_TIME, "-f", "%M", "-o", stats.name, *argv] if wrap else list(argv)
            stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
            try:
                t0 = time.perf_counter()
                done = subprocess.run(wrapped, stdin=stdin, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE if keep_stderr else subprocess.DEVNULL,
                                      env=env, cwd=cwd, timeout=timeout)
                seconds = time.perf_counter() - t0
            finally:
                if stdin_path:
                    stdin.close()
            best = min(best, seconds)
            status = status or done.returncode
            out = done.stdout.decode(errors="replace")
            err = done.stderr.decode(errors="replace") if keep_stderr else ""
            lines = stats.read().strip().splitlines()
            if wrap and lines and lines[-1].isdigit():
                peak = max(peak or 0.0, int(lines[-1]) / 1024)
    return Measured(best, peak, status, out, err)


@dataclass
class Row:
    """One line of `bench/run.py`'s table: our time against the peer's on the same input in the same run."""
    work: str
    ours_s: float
    peer: str
    peer_s: float
    goal: str = ""                      # e.g. "<= 1.5x" — the target, shown beside the ratio
    goal_ratio: Optional[float] = None  # the same as a number, to print "met"/"not met"
    rss_mib: Optional[float] = None     # our peak RSS
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours_s / self.peer_s if self.peer_s > 0 else float("inf")

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def print_rows(found: list[Row], as_json: bool) -> None:
    """A benchmark script's own output: one line per row, and the rows as one JSON line with --json."""
    for row in found:
        print(f"{row.work}: {row.ours_s:.4g} s vs {row.peer}: {row.peer_s:.4g} s = {row.ratio:.3g}x"
              f" (goal {row.goal or '-'}; {row.note})")
    if as_json:
        print(json.dumps([row.as_dict() for row in found]))


def on_generated(name: str, folder: str | None, make: Callable[[str], None], bench: Callable[[str, str], Any],
                 as_json: bool) -> int:
    """Generate `name` in a scratch folder with `make(path)`, run `bench(path, folder)`, remove it all, report."""
    return report(scratch(name, folder, make, bench), as_json)


def scratch(name: str, folder: str | None, make: Callable[[str], None], bench: Callable[[str, str], Any]) -> Any:
    """`bench(path, workdir)` on a file `make(path)` generated in a scratch folder that is removed afterwards."""
    workdir = tempfile.mkdtemp(prefix=f"opsproof-bench-{os.path.splitext(name)[0]}-", dir=folder)
    path = os.path.join(workdir, name)
    try:
        started = time.perf_counter()
        make(path)
        print(f"generated {os.path.getsize(path) / MB:.0f} MB in {time.perf_counter() - started:.1f} s")
        return bench(path, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report(result: Any, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result))
    return 0
