"""Benchmark: verify a backup archive end to end against gzip -t and pigz -t on the same file, in the same run.

    python bench/bench_verify.py                  # a 1 GiB .tar.gz (about 3 GiB inside), then deleted
    python bench/bench_verify.py --size-mb 512    # the issue's size
    python bench/bench_verify.py --file X.tar.gz  # an archive you have (kept)

opsproof's verification does more than the others: every gzip CRC and length, every tar header,
member names, the SHA-256 of every member against MANIFEST.json. Each tool runs as its own process
on a warm page cache, timed and its peak RSS read by bench.common.measure, in `--repeat` rounds of
one run of each (the fastest counts: a burst of load on the shared cores hits every tool alike). The same run also times the stages alone — igzip inflating on one core with no
tar walk and no hashing, and SHA-256 of as many bytes — which is where the limit is: with the walk
and the hashing on the other core, a verification cannot be quicker than its inflate alone.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import Measured, Row, measure, scratch  # noqa: E402
from opsproof.backups.archive import inflater_name  # noqa: E402

GOALS = {"gzip -t": 0.30, "pigz -t": 0.50}      # issue 11: inflate on one core, walk and hash on the other

_INFLATE_ONLY = """
import sys
from isal import isal_zlib
buf, n = bytearray(1 << 20), 0
with open(sys.argv[1], "rb", buffering=0) as fh:
    reader = isal_zlib._GzipReader(fh, 256 << 10)
    while (got := reader.readinto(buf)):
        n += got
print(n)
"""

_SHA_ONLY = """
import hashlib, sys
buf, h, left = memoryview(bytes(1 << 20)), hashlib.sha256(), int(sys.argv[1])
while left > 0:
    h.update(buf[:min(left, 1 << 20)])
    left -= 1 << 20
"""


def _sample(n: int, seed: int = 7) -> bytes:
    """Text like a SQL dump (compresses about 3:1 with igzip level 2, the backup action's)."""
    rnd = random.Random(seed)
    words = [("w%d" % i) * rnd.randint(1, 3) for i in range(5000)]
    out, size = [], 0
    while size < n:
        line = "INSERT INTO orders VALUES (%d,'%s',%d,'%s');\n" % (
            rnd.getrandbits(40), rnd.choice(words), rnd.randint(1, 999),
            hashlib.md5(str(rnd.random()).encode()).hexdigest()[:rnd.randint(0, 32)])
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


class _Repeat(io.RawIOBase):
    def __init__(self, chunk: bytes, size: int) -> None:
        self.chunk, self.size, self.pos = chunk, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        left = self.size - self.pos
        if left <= 0:
            return 0
        off = self.pos % len(self.chunk)
        n = min(len(buf), left, len(self.chunk) - off)
        buf[:n] = self.chunk[off:off + n]
        self.pos += n
        return n


def _members(total: int) -> list[tuple[str, int]]:
    small = [(f"extra/file-{i:03d}.sql", 64 * 1024) for i in range(64)]
    return [("app.dump", max(1, total - sum(s for _, s in small)))] + small


def make_archive(path: str, compressed_mib: float) -> None:
    """An archive in the backup format (MANIFEST.json first) of about `compressed_mib` MiB on disk."""
    chunk = _sample(8 << 20)
    try:
        from isal import igzip as gz
        level = 2                      # what the backup action writes with (opsproof.backups.take)
    except ImportError:
        import gzip as gz
        level = 6
    ratio = len(chunk) / len(gz.compress(chunk, compresslevel=level))
    members = _members(int(compressed_mib * (1 << 20) * ratio))
    digests = []
    for name, size in members:  # hash first, so MANIFEST can lead the archive
        h, src = hashlib.sha256(), io.BufferedReader(_Repeat(chunk, size), 1 << 20)
        while block := src.read(1 << 20):
            h.update(block)
        digests.append({"name": name, "size": size, "sha256": h.hexdigest()})
    manifest = json.dumps({"format": 1, "engine": "sqlite", "source": "bench", "dump": "app.dump",
                           "created_at": "2026-01-01T00:00:00Z", "members": digests, "tables": {"orders": 1}}).encode()
    with open(path, "wb") as raw, gz.GzipFile(fileobj=raw, mode="wb", compresslevel=level) as out, \
            tarfile.open(fileobj=out, mode="w", copybufsize=1 << 20) as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        for name, size in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BufferedReader(_Repeat(chunk, size), 1 << 20))


def ours(path: str, inflater: str) -> list[str]:
    code = ("import sys; sys.path.insert(0, %r); from opsproof.backups.archive import verify; "
            "r = verify(%r, inflater=%r); print(r.uncompressed); sys.exit(0 if r.ok else print(r.reason) or 1)"
            % (ROOT, path, inflater))
    return [sys.executable, "-c", code]


def measure_all(path: str, repeat: int) -> dict[str, Measured]:
    """Every tool and stage on `path` (page cache warmed first): the fastest of `repeat` rounds, the highest peak."""
    with open(path, "rb") as fh:
        while fh.read(8 << 20):
            pass
    tools = {"gzip -t": ["gzip", "-t", path], "pigz -t": ["pigz", "-t", path]}
    found = {name: argv for name, argv in tools.items() if shutil.which(argv[0])}
    found[f"opsproof verify ({inflater_name()})"] = ours(path, inflater_name())
    if inflater_name() != "zlib":
        found["opsproof verify (zlib)"] = ours(path, "zlib")
        found["igzip inflate alone, one core"] = [sys.executable, "-c", _INFLATE_ONLY, path]
    inflated = measure(found[f"opsproof verify ({inflater_name()})"]).stdout.split()
    if inflated and inflated[0].isdigit():
        found["SHA-256 alone, as many bytes"] = [sys.executable, "-c", _SHA_ONLY, inflated[0]]
    runs: dict[str, list[Measured]] = {name: [] for name in found}
    for _ in range(repeat):     # rounds, each tool once per round: a burst of load hits them all alike
        for name, argv in found.items():
            runs[name].append(measure(argv))
    results = {}
    for name, measured in runs.items():
        peaks = [m.peak_rss_mib for m in measured if m.peak_rss_mib is not None]
        results[name] = Measured(min(m.seconds for m in measured), max(peaks) if peaks else None,
                                 max(m.returncode for m in measured), measured[0].stdout)
    return results


def rows_for(path: str, repeat: int) -> list[Row]:
    results = measure_all(path, repeat)
    mine_name = f"opsproof verify ({inflater_name()})"
    mine = results[mine_name]
    floor = results.get("igzip inflate alone, one core")
    sha = results.get("SHA-256 alone, as many bytes")
    note = (f"limit: igzip inflate alone {floor.seconds:.2f} s, SHA-256 alone {sha.seconds:.2f} s"
            if floor and sha else "")
    size_mib = os.path.getsize(path) / (1 << 20)
    out = []
    for peer, goal in GOALS.items():
        if peer in results:
            out.append(Row(f"backup verify, {size_mib:.0f} MiB .tar.gz", mine.seconds, peer, results[peer].seconds,
                           goal=f"<= {goal:.2f}x", goal_ratio=goal, rss_mib=mine.peak_rss_mib, note=note,
                           extra={name: {"seconds": m.seconds, "peak_rss_mib": m.peak_rss_mib,
                                         "returncode": m.returncode} for name, m in results.items()}))
    return out


def rows(size_mb: int, folder: Optional[str] = None, repeat: int = 3) -> list[Row]:
    """Verify a generated archive of `size_mb` MiB against gzip -t and pigz -t, in the same run."""
    return scratch("daily_bench.tar.gz", folder, lambda path: make_archive(path, size_mb),
                   lambda path, _: rows_for(path, repeat))


def _print(path: str, repeat: int) -> None:
    results = measure_all(path, repeat)
    size = os.path.getsize(path)
    print(f"archive: {size / (1 << 20):.0f} MiB on disk; {os.cpu_count()} CPUs; repeat {repeat}; "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, m in results.items():
        memory = f"{m.peak_rss_mib:6.1f} MiB" if m.peak_rss_mib is not None else "n/a (no /usr/bin/time)"
        print(f"{name:32s} {m.seconds:7.2f} s  {size / m.seconds / (1 << 20):7.0f} MiB/s  peak RSS {memory}"
              + ("" if m.returncode == 0 else f"  EXIT {m.returncode}"))
    mine = results[f"opsproof verify ({inflater_name()})"].seconds
    for ref, goal in GOALS.items():
        if ref in results:
            print(f"ratio opsproof / {ref:8s} = {mine / results[ref].seconds:.2f}  (goal <= {goal:.2f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", "--size", dest="size", type=float, default=1024,
                        help="archive size in MiB (compressed), default 1024")
    parser.add_argument("--file", help="benchmark this archive instead of generating one (kept)")
    parser.add_argument("--dir", default=None, help="where to generate the archive (default: the temp folder)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args()
    if args.file:
        _print(args.file, args.repeat)
    else:
        scratch("daily_bench.tar.gz", args.dir, lambda path: make_archive(path, args.size),
                lambda path, _: _print(path, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
