"""Benchmark: start-up — the six daily checks as a whole process, and `--co`, against plain pytest-testinfra.

    python bench/bench_startup.py                  # this checkout
    python bench/bench_startup.py --suite DIR      # another checkout of the suite (e.g. before a change)

Rows:
- `pytest -m daily` on the example service (examples/app, started in a scratch folder on a free port, its
  maintenance.yaml pointed there) against bench/peer_testinfra: the same six checks (disk, inodes, newest backup
  + integrity, error log, health, port) as a plain pytest-testinfra + requests suite writes them.
- `pytest -m daily --co` against a bare pytest + pytest-html + testinfra run collecting one trivial test: the
  goal is a difference under 0.4 s.
Each side runs as in its own clean virtualenv: pytest plugins of packages that side would not have installed
(hypothesis, pytest-benchmark, xdist ... on a developer's machine) are blocked with `-p no:NAME`, and bytecode
caches are written (a warm-up run first), as in a user's venv. Fastest of --repeat, peak RSS from GNU time.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from typing import Iterable, Optional

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import Row, measure, print_rows  # noqa: E402

# The README's command: the `pytest` script beside this interpreter (the checkout is not on sys.path then).
_SCRIPT = os.path.join(os.path.dirname(sys.executable), "pytest")
PYTEST = [_SCRIPT] if os.access(_SCRIPT, os.X_OK) else [sys.executable, "-m", "pytest"]
OURS = ("opsproof", "pytest-html", "pytest-metadata", "pytest-testinfra")   # what `pip install -e .` brings
TESTINFRA = ("pytest-testinfra",)
BARE = ("pytest-html", "pytest-metadata", "pytest-testinfra")


def clean_venv(installed: Iterable[str]) -> list[str]:
    """`-p no:NAME` for every pytest plugin whose package a venv holding only `installed` would not have."""
    keep = {name.lower() for name in installed}
    out = []
    for ep in entry_points(group="pytest11"):
        dist = (ep.dist.metadata["Name"] if ep.dist else "").lower()
        if dist not in keep:
            out += ["-p", f"no:{ep.name}"]
    return out


def run_env(suite: str = ROOT, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "OPSPROOF_CONFIG")}
    if os.path.abspath(suite) != ROOT:
        env["PYTHONPATH"] = os.path.abspath(suite)  # that checkout's opsproof, not the installed one
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_seconds(stdout: str) -> Optional[float]:
    """The time pytest reports for its session ("... in 1.23s"), or None."""
    found = re.findall(r" in (\d+(?:\.\d+)?)s", stdout)
    return float(found[-1]) if found else None


class Example:
    """The example service in a scratch folder on a free port, and a maintenance.yaml pointed at it."""

    def __init__(self, workdir: str, suite: str = ROOT) -> None:
        self.root, self.port = os.path.join(workdir, "example"), free_port()
        os.makedirs(self.root)
        for name in ("package.json", "package-lock.json", "requirements.txt"):
            if os.path.exists(os.path.join(suite, "examples/app", name)):
                subprocess.run(["cp", os.path.join(suite, "examples/app", name), self.root], check=True)
        self.env = run_env(suite, EXAMPLE_ROOT=self.root, EXAMPLE_PORT=str(self.port))
        self.ctl = [sys.executable, os.path.join(suite, "examples/app/ctl.py")]
        with open(os.path.join(suite, "maintenance.yaml")) as fh:
            data = yaml.safe_load(fh)
        data["root"] = self.root
        data["health"][0]["url"] = f"http://127.0.0.1:{self.port}/health"
        data["services"]["ports"] = [self.port]
        self.config = os.path.join(workdir, "maintenance.yaml")
        with open(self.config, "w") as fh:
            yaml.safe_dump(data, fh, sort_keys=False)
        self.reports = os.path.join(workdir, "reports")

    def __enter__(self) -> "Example":
        up = subprocess.run(self.ctl + ["up"], env=self.env, capture_output=True, text=True, timeout=120)
        if up.returncode != 0:
            raise RuntimeError(f"the example service did not start: {up.stdout[-500:]} {up.stderr[-500:]}")
        return self

    def __exit__(self, *_: object) -> None:
        subprocess.run(self.ctl + ["down"], env=self.env, capture_output=True, timeout=120)


def _timed(argv: list[str], repeat: int, **kw):
    measure(argv, 1, **kw)  # warm-up: bytecode caches written, files in the page cache
    return measure(argv, repeat, **kw)


def _side_by_side(ours: tuple[list[str], dict], peer: tuple[list[str], dict], repeat: int):
    """Both sides' fastest of `repeat`, run alternately (ours, peer, ours, ...) after a warm-up of each, so a change
    of the machine's load reaches both: on this shared machine a peer timed after ours swung 0.39-0.55 s."""
    for argv, kw in (ours, peer):
        measure(argv, 1, **kw)
    runs: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for side, (argv, kw) in zip(runs, (ours, peer)):
            side.append(measure(argv, 1, **kw))
    return tuple(min(side, key=lambda m: m.seconds) for side in runs)


def rows(size_mb: int = 0, folder: str | None = None, repeat: int = 5, suite: str = ROOT) -> list[Row]:
    """The daily run against the testinfra peer, and --co against a bare pytest (size_mb is not used)."""
    pytest_ = PYTEST + ["-q", "-p", "no:cacheprovider"]
    with tempfile.TemporaryDirectory(prefix="opsproof-bench-startup-", dir=folder) as work, Example(work, suite) as ex:
        ours_args = ["-m", "daily", f"--maint-config={ex.config}", f"--report-dir={ex.reports}", *clean_venv(OURS)]
        print("daily: opsproof and the testinfra peer, alternately ...", flush=True)
        ours, peer = _side_by_side((pytest_ + ours_args, {"env": ex.env, "cwd": suite}),
                                   (pytest_ + clean_venv(TESTINFRA),
                                    {"env": ex.env, "cwd": os.path.join(HERE, "peer_testinfra")}), repeat)
        trivial = os.path.join(work, "trivial")
        os.makedirs(trivial)
        with open(os.path.join(trivial, "test_trivial.py"), "w") as fh:
            fh.write("def test_trivial():\n    assert True\n")
        with open(os.path.join(trivial, "pytest.ini"), "w") as fh:
            fh.write("[pytest]\n")
        print("--co: opsproof, bare pytest ...", flush=True)
        ours_co = _timed(pytest_ + ["--co", *ours_args], repeat, env=ex.env, cwd=suite)
        bare_co = _timed(pytest_ + ["--co", *clean_venv(BARE)], repeat, env=ex.env, cwd=trivial)
    inside = pytest_seconds(ours.stdout)
    daily = Row("the six daily checks, healthy example, whole process (`pytest -m daily`)", ours.seconds,
                "pytest-testinfra + requests, same six checks", peer.seconds, "<= 1.5x", 1.5, ours.peak_rss_mib,
                note=(f"{inside:.2f} s inside pytest; " if inside else "") + f"exit {ours.returncode}/{peer.returncode}",
                extra={"peer_rss_mib": peer.peak_rss_mib})
    difference = ours_co.seconds - bare_co.seconds
    co = Row("`pytest -m daily --co` (collection only)", ours_co.seconds,
             "bare pytest + pytest-html + testinfra, one trivial test", bare_co.seconds, "difference < 0.4 s", None,
             ours_co.peak_rss_mib, note=f"difference {difference:.2f} s",
             extra={"max_difference_s": 0.4, "difference_s": difference})
    return [daily, co]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=0, help="not used (the runner passes it to every benchmark)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per side; the fastest counts (default 5)")
    parser.add_argument("--suite", default=ROOT, help="the suite checkout to measure (default: this one)")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line at the end")
    args = parser.parse_args(argv)
    found = rows(int(args.size_mb), repeat=args.repeat, suite=os.path.abspath(args.suite))
    print_rows(found, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
