"""Benchmark: verify a backup archive end to end against gzip -t, pigz -t and tar -tzf on the same file.

    python bench/bench_verify.py                  # a 1 GiB .tar.gz (about 3 GiB inside), then deleted
    python bench/bench_verify.py --size 128       # a quick run
    python bench/bench_verify.py --file X.tar.gz  # an archive you have (kept)

opsproof's verification does more than the others: every gzip CRC and length, every tar header,
member names, the SHA-256 of every member against MANIFEST.json. Each tool runs as its own process
on a warm page cache, `--repeat` times (the fastest run counts); peak memory is the child's
maxrss from wait4. Prints times, peak RSS and the ratios the README quotes.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from opsproof.backups.archive import inflater_name  # noqa: E402


def _sample(n: int, seed: int = 7) -> bytes:
    """Text like a SQL dump (compresses about 3:1 with gzip -6)."""
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


def _members(total: int, chunk: bytes) -> list[tuple[str, int]]:
    small = [(f"extra/file-{i:03d}.sql", 64 * 1024) for i in range(64)]
    return [("app.dump", max(1, total - sum(s for _, s in small)))] + small


def make_archive(path: str, compressed_mib: int) -> None:
    """An archive in the backup format (MANIFEST.json first) of about `compressed_mib` MiB on disk."""
    chunk = _sample(8 << 20)
    try:
        from isal import igzip as gz
        level = 1
    except ImportError:
        import gzip as gz
        level = 6
    ratio = len(chunk) / len(gz.compress(chunk, compresslevel=level))
    members = _members(int(compressed_mib * (1 << 20) * ratio), chunk)
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


def run(argv: list[str], repeat: int) -> tuple[float, Optional[float], int]:
    """(fastest wall seconds, peak RSS MiB or None, exit status) of `argv`.

    Peak RSS comes from GNU time (`apt-get install time`): a child forked from this Python process
    would inherit its high-water mark, so wait4's figure would be this process's, not the tool's.
    """
    best, peak, status = float("inf"), None, 0
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    for _ in range(repeat):
        with tempfile.NamedTemporaryFile("r") as stats:
            wrapped = [gnu_time, "-f", "%M", "-o", stats.name] + argv if gnu_time else argv
            t0 = time.perf_counter()
            done = subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t0)
            status = status or done.returncode
            text = stats.read().strip().splitlines()
            if gnu_time and text and text[-1].isdigit():
                peak = max(peak or 0.0, int(text[-1]) / 1024)
    return best, peak, status


def ours(path: str, inflater: str) -> list[str]:
    code = ("import sys; sys.path.insert(0, %r); from opsproof.backups.archive import verify; "
            "r = verify(%r, inflater=%r); sys.exit(0 if r.ok else print(r.reason) or 1)" % (ROOT, path, inflater))
    return [sys.executable, "-c", code]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="archive size in MiB (compressed), default 1024")
    parser.add_argument("--file", help="benchmark this archive instead of generating one (kept)")
    parser.add_argument("--dir", default=None, help="where to generate the archive (default: the temp folder)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--make", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_archive(args.make, args.size)
        return 0
    workdir = None
    if args.file:
        path = args.file
    else:
        workdir = tempfile.mkdtemp(prefix="opsproof-bench-", dir=args.dir)
        path = os.path.join(workdir, "daily_bench.tar.gz")
        t0 = time.perf_counter()
        # In a child process, so this one stays small.
        subprocess.run([sys.executable, __file__, "--make", path, "--size", str(args.size)], check=True)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:  # warm the page cache: every tool reads from memory
            while fh.read(8 << 20):
                pass
        tools = [("gzip -t", ["gzip", "-t", path]), ("pigz -t", ["pigz", "-t", path]),
                 ("tar -tzf", ["tar", "-tzf", path])]
        tools = [(n, a) for n, a in tools if shutil.which(a[0])]
        tools.append((f"opsproof verify ({inflater_name()})", ours(path, inflater_name())))
        if inflater_name() != "zlib":
            tools.append(("opsproof verify (zlib)", ours(path, "zlib")))
        results = {}
        print(f"archive: {size / (1 << 20):.0f} MiB on disk; {os.cpu_count()} CPUs; repeat {args.repeat}")
        for name, argv in tools:
            seconds, rss, status = run(argv, args.repeat)
            results[name] = seconds
            memory = f"{rss:6.1f} MiB" if rss is not None else "n/a (no /usr/bin/time)"
            print(f"{name:28s} {seconds:7.2f} s  {size / seconds / (1 << 20):7.0f} MiB/s  peak RSS {memory}"
                  + ("" if status == 0 else f"  EXIT {status}"))
        mine = results[f"opsproof verify ({inflater_name()})"]
        for ref in ("gzip -t", "pigz -t", "tar -tzf"):
            if ref in results:
                print(f"ratio opsproof / {ref:9s} = {mine / results[ref]:.2f}")
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
