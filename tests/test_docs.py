"""The README is the front door, the manual lives in docs/: held as tests, not as a wish."""
from __future__ import annotations

import re
import subprocess
import sys

import yaml

from helpers import ROOT, require_tool


def test_the_readme_is_a_front_door_of_at_most_200_lines_without_dated_figures():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200, "the README is the front door: move the manual's text to docs/"
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "a dated figure in the README goes stale: put it in docs/"
    for command in ("scripts/bootstrap && python examples/app/ctl.py up && pytest -m daily",
                    "scripts/bootstrap --test && python3 -m pytest tests -n 2 --dist worksteal"):
        assert command in text, f"the README's two commands: {command!r} is missing"


def test_every_page_the_readme_and_the_nav_name_exists():
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    pages = {page for entry in nav for page in entry.values()}
    assert pages == {p.name for p in (ROOT / "docs").glob("*.md")}, "a page outside the nav, or a nav entry with no page"
    for link in re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text()):
        assert (ROOT / link).is_file(), link


def test_ci_runs_the_readme_test_command_and_builds_the_manual():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "mkdocs build --strict" in ci and "python3 -m pytest tests -n 2 --dist worksteal" in ci


def test_the_manual_builds_without_a_warning(tmp_path):
    require_tool("mkdocs")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
