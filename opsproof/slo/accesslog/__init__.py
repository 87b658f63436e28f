"""Reading access logs into per-minute counts: every reader of nginx/Apache/JSON access logs, in one place.

- `lines`: one line's fields (time with its offset, status, duration) for each supported format; standard library.
- `fastpath`: nginx's combined format a chunk at a time with numpy, each distinct minute parsed once.
- `parse`: a chunk of lines into per-minute counts (`Parser`, `Chunk`), the fast path first.
- `localread`: a large local file split by line boundaries and read on every core.
- `reducer`: the same counts computed on a remote target by its python3 (shipped: standard library only).
- `buckets`: the log and its rotated copies since the last run, from the state's reference points (`LogRead`).

Import-free on purpose: opsproof.hosts.ship bundles each package's __init__ with a shipped module.
"""
