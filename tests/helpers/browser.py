"""The tests' real headless Chromium: open a page, dump its DOM, print it to PDF on A4 or Letter, screenshot it, and
run axe-core (from the npm registry) in it."""
from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

from helpers import require_tool, unavailable

# What runs here as root, in a container, with no display, D-Bus or network: no sandbox, no GPU, nothing fetched.
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# axe-core, as scripts/bootstrap --test installs it (one pinned version; the directory can be moved by the variable).
AXE_VERSION = "4.14.1"
AXE_DIR = Path(os.environ.get("OPSPROOF_AXE_DIR") or Path.home() / ".cache" / "opsproof" / "axe")
_profiles = itertools.count()


def chromium(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile (nothing remembered between runs)."""
    require_tool("chromium")
    profile = tmp_path / f"chromium-profile-{next(_profiles)}"
    return subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=timeout)


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=120, check=True).stdout


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def with_head(page: Path, extra: str, out: Path) -> Path:
    """A copy of `page` with `extra` (a <style> or <script>) added at the end of its <head>."""
    out.write_text(page.read_text().replace("</head>", extra + "</head>", 1))
    return out


def print_pdf(tmp_path: Path, page: Path, paper: str) -> Path:
    """`page` printed to PDF as a reader would, on `paper` (A4 or letter): a copy says its paper size (headless
    Chromium takes no paper option), printed without the browser's header and footer."""
    require_tool("chromium", "pdftotext", "pdfinfo")
    sized = with_head(page, f"<style>@page {{ size: {paper}; }}</style>", tmp_path / f"{page.stem}-{paper}.html")
    pdf = tmp_path / f"{page.stem}-{paper}.pdf"
    run = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", sized.as_uri())
    assert run.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-", run.stderr[-2000:]
    return pdf


def screenshot(tmp_path: Path, page: Path, out: Path, width: int, height: int) -> Path:
    run = chromium(tmp_path, "--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={out}",
                   page.as_uri())
    assert run.returncode == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", run.stderr[-2000:]
    return out


def axe_script() -> Path:
    """axe-core's browser script: where scripts/bootstrap --test put it, else installed there now with npm (from the
    registry npm is configured for); a machine without it or npm skips (fails under CI)."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        require_tool("npm")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--prefix", str(AXE_DIR), "--no-save", "--no-package-lock",
                               "--no-audit", "--no-fund", f"axe-core@{AXE_VERSION}"], capture_output=True, text=True,
                              timeout=300)
        if not script.is_file():
            unavailable(f"axe-core is not installed in {AXE_DIR} (scripts/bootstrap --test installs it): "
                        f"{done.stderr[-500:]}")
    return script


RUNNER = """<script>
window.addEventListener('load', () => {
  document.getElementById('show_all_details')?.click();   // pytest-html's passed rows start collapsed: open them
  axe.run(document, {runOnly: {type: 'rule', values: RULES}, resultTypes: ['violations']}).then((result) => {
    const out = document.createElement('pre');
    out.id = 'axe-result';
    out.textContent = JSON.stringify(result.violations.map((v) => ({rule: v.id, nodes: v.nodes.map((n) => (
      {target: n.target.join(' '), why: n.failureSummary, html: n.html.slice(0, 160)}))})));
    document.body.appendChild(out);
  });
});
</script>"""


def axe(tmp_path: Path, page: Path, rules: tuple[str, ...] = ("color-contrast",)) -> list[dict]:
    """The axe-core violations of `rules` in `page` as Chromium renders it on screen (every row expanded): a copy of the
    page with axe's script and a small runner inlined, its DOM dumped once the run wrote its result."""
    import html
    import json

    script = axe_script().read_text().replace("</script", "<\\/script")
    runner = RUNNER.replace("RULES", json.dumps(list(rules)))
    copy = tmp_path / f"{page.stem}-axe.html"
    copy.write_text(page.read_text().replace("</body>", f"<script>{script}</script>{runner}</body>", 1))
    run = chromium(tmp_path, "--virtual-time-budget=60000", "--dump-dom", copy.as_uri())
    found = re.search(r'<pre id="axe-result">(.*?)</pre>', run.stdout, re.S)
    assert found, f"axe-core wrote no result: {run.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))
