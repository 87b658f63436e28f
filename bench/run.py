"""Run every benchmark, each against its peer in the same run, and print one table of ratios and peak RSS.

    python bench/run.py                        # every bench/bench_*.py
    python bench/run.py --size-mb 128          # smaller generated inputs (a quick run)
    python bench/run.py --only health          # the benchmarks whose name contains "health"
    python bench/run.py --json                 # the rows as JSON too (one line, at the end)
    python bench/run.py --only fleet --repeat 1   # runs per side, for the benchmarks whose rows() take `repeat`

Each `bench/bench_<name>.py` exposes `rows(size_mb, folder) -> list[common.Row]` (bench/common.py); this imports
every such module it finds and calls it. A benchmark that fails is one row saying why; the others still run.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import inspect
import json
import os
import sys
import traceback
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Row  # noqa: E402

HEADER = ("benchmark", "work", "opsproof", "peer", "ratio", "goal", "met?", "peak RSS")


def modules(only: Optional[str] = None) -> list[str]:
    """The benchmark modules, by name (`bench_errorlog` ...), sorted; those containing `only` when given."""
    names = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "bench_*.py")))
    return [n for n in names if not only or only in n]


def run_one(name: str, size_mb: int, folder: Optional[str], repeat: Optional[int] = None) -> tuple[list[Row], str]:
    """The module's rows, or none and the error (its last traceback line) when importing or running it failed.
    `repeat` goes to a rows() that takes it; the others keep their own."""
    try:
        spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module      # as `import` would: a dataclass in it looks its module up there
        spec.loader.exec_module(module)
        if not hasattr(module, "rows"):
            return [], "no rows(size_mb, folder) function"
        kwargs = {"repeat": repeat} if repeat and "repeat" in inspect.signature(module.rows).parameters else {}
        return list(module.rows(size_mb, folder, **kwargs)), ""
    except BaseException as exc:  # noqa: BLE001 - one benchmark's failure is its row, the others still run
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc()
        return [], f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def met(row: Row) -> str:
    limit = row.extra.get("max_difference_s") if row.extra else None
    if limit is not None:
        return "yes" if row.ours_s - row.peer_s < limit else "no"
    if row.goal_ratio is None:
        return ""
    return "yes" if row.ratio <= row.goal_ratio else "no"


def cells(name: str, row: Row) -> tuple[str, ...]:
    rss = f"{row.rss_mib:.0f} MiB" if row.rss_mib is not None else "—"
    work = row.work + (f" ({row.note})" if row.note else "")
    ratio = f"{row.ratio:.3f}x" if row.ratio < 0.1 else f"{row.ratio:.2f}x"
    return (name, work, f"{row.ours_s:.3f} s", f"{row.peer}: {row.peer_s:.3f} s", ratio, row.goal, met(row), rss)


def table(lines: list[tuple[str, ...]]) -> str:
    """A Markdown table (it reads as plain text too, and pastes into the README)."""
    out = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join("---" for _ in HEADER) + " |"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines]
    return "\n".join(out)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=512, help="size of generated inputs in MB (default 512)")
    parser.add_argument("--only", help="run only the benchmarks whose module name contains this")
    parser.add_argument("--dir", default=None, help="where generated inputs go (default: the temp folder)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per side for the benchmarks that take it (default: each benchmark's own)")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line at the end")
    args = parser.parse_args(argv)
    names = modules(args.only)
    if not names:
        print(f"no benchmark matches {args.only!r}", file=sys.stderr)
        return 2
    lines: list[tuple[str, ...]] = []
    found: list[dict] = []
    failed = False
    for name in names:
        print(f"== {name}", flush=True)
        rows, error = run_one(name, args.size_mb, args.dir, args.repeat)
        if error:
            failed = True
            lines.append((name, f"FAILED: {error}", "—", "—", "—", "—", "—", "—"))
            found.append({"benchmark": name, "error": error})
        for row in rows:
            lines.append(cells(name, row))
            found.append({"benchmark": name, **row.as_dict(), "met": met(row)})
    print()
    print(table(lines))
    if args.json:
        print(json.dumps(found))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
