"""Servers the security tests start on 127.0.0.1: an npm registry (packuments, tarballs, bulk advisories),
a PEP 503 simple index, an OSV API (for pip-audit --osv-url); and an npm project that installs from the registry."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose `answer(method, path, body)` the subclass gives."""

    def __init__(self) -> None:
        owner = self
        self.requests: list[tuple[str, str, Any]] = []
        self.hang = False

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                owner.requests.append((method, self.path, body))
                if owner.hang:
                    time.sleep(30)
                    return
                status, ctype, data = owner.answer(method, self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        raise NotImplementedError

    def close(self) -> None:
        self.hang = False
        self.server.shutdown()
        self.server.server_close()


def _json(data: Any, status: int = 200) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(data).encode()


def tarball(name: str, version: str, dependencies: Optional[dict] = None) -> bytes:
    """An npm package tarball: package/package.json (and an index.js) under the conventional prefix."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, text in (("package/package.json", json.dumps({"name": name, "version": version,
                                                                   "dependencies": dependencies or {}})),
                             ("package/index.js", f"module.exports = {json.dumps(version)};\n")):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class NpmRegistry(_Server):
    """Packages {name: {version: dependencies}}; advisories {name: [advisory]} answered by the bulk endpoint."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, dict]] = {}
        self.advisories: dict[str, list[dict]] = {}
        self._tarballs: dict[str, bytes] = {}
        super().__init__()

    def publish(self, name: str, *versions: str, dependencies: Optional[dict] = None) -> None:
        for version in versions:
            self.packages.setdefault(name, {})[version] = dependencies or {}
            self._tarballs[f"/{name}/-/{name}-{version}.tgz"] = tarball(name, version, dependencies)

    def advise(self, name: str, vulnerable: str, severity: str, ident: int, title: str = "") -> None:
        self.advisories.setdefault(name, []).append({
            "id": ident, "url": f"https://github.com/advisories/GHSA-test-{ident}", "title": title or f"{name} flaw",
            "severity": severity, "vulnerable_versions": vulnerable, "cwe": ["CWE-400"],
            "cvss": {"score": 7.5, "vectorString": None}})

    def packument(self, name: str) -> dict:
        versions = {}
        for version, deps in self.packages[name].items():
            data = self._tarballs[f"/{name}/-/{name}-{version}.tgz"]
            versions[version] = {"name": name, "version": version, "dependencies": deps, "dist": {
                "tarball": f"{self.url}/{name}/-/{name}-{version}.tgz",
                "shasum": hashlib.sha1(data).hexdigest(),
                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}}
        latest = max(self.packages[name], key=lambda v: tuple(int(p) for p in v.split(".")))
        return {"name": name, "dist-tags": {"latest": latest}, "versions": versions}

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if method == "POST" and path.startswith("/-/npm/v1/security/advisories/bulk"):
            asked = json.loads(body or b"{}")
            return _json({name: self.advisories[name] for name in asked if name in self.advisories})
        if path in self._tarballs:
            return 200, "application/octet-stream", self._tarballs[path]
        name = path.lstrip("/").split("?")[0]
        if method == "GET" and name in self.packages:
            return _json(self.packument(name))
        return _json({"error": "not found"}, 404)


class SimpleIndex(_Server):
    """A PEP 503 simple index: /simple/<name>/ lists wheel file names (pip list --outdated reads versions from them)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[str]] = {}
        super().__init__()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.versions:
            name = parts[1].replace("-", "_")
            links = "".join(f'<a href="/files/{name}-{v}-py3-none-any.whl">{name}-{v}-py3-none-any.whl</a>\n'
                            for v in self.versions[parts[1]])
            return 200, "text/html", f"<!DOCTYPE html><html><body>{links}</body></html>".encode()
        return 404, "text/html", b"not found"


class OsvApi(_Server):
    """OSV's POST /v1/query: {package: {name, ecosystem}, version} -> {vulns: [...]} for pip-audit --osv-url."""

    def __init__(self) -> None:
        self.vulns: dict[tuple[str, str], list[dict]] = {}
        super().__init__()

    def vulnerable(self, name: str, version: str, ident: str, fixed: str, summary: str = "") -> None:
        self.vulns.setdefault((name, version), []).append({
            "id": ident, "summary": summary or f"{name} flaw", "aliases": [f"CVE-2099-{abs(hash(ident)) % 10000}"],
            "affected": [{"package": {"name": name, "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]})

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        query = json.loads(body or b"{}")
        key = (query.get("package", {}).get("name", ""), query.get("version", ""))
        return _json({"vulns": self.vulns[key]} if key in self.vulns else {})


def npm_project(path: Path, registry: NpmRegistry, deps: dict, lock: bool = True, install: bool = False) -> Path:
    """An npm project using the test registry (.npmrc), locked at the lowest versions, optionally installed."""
    path.mkdir(parents=True, exist_ok=True)
    (path / ".npmrc").write_text(f"registry={registry.url}/\n")
    (path / "package.json").write_text(json.dumps({"name": "svc", "version": "1.0.0", "dependencies": deps}))
    env = dict(os.environ, npm_config_cache=str(path.parent / "npm-cache"))
    if lock or install:
        pinned = [f"{name}@{rng.lstrip('^~')}" for name, rng in deps.items()]
        subprocess.run(["npm", "i", "--package-lock-only", *pinned], cwd=path, env=env, check=True,
                       capture_output=True, timeout=120)
        (path / "package.json").write_text(json.dumps({"name": "svc", "version": "1.0.0", "dependencies": deps}))
    if install:
        subprocess.run(["npm", "ci"], cwd=path, env=env, check=True, capture_output=True, timeout=120)
    return path
