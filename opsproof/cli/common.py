"""What every `opsproof` command shares: the config it works on, and the usage errors that exit 4."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, Optional

from .. import config as cfg

CONFIG_DEFAULT = f"${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME}"


def load_maint(path: Optional[str]) -> Optional[cfg.Maint]:
    """The config a command works on (--maint-config, else $OPSPROOF_CONFIG, else ./maintenance.yaml), or None
    after saying on stderr what is wrong with it (the command then exits 4)."""
    found, source = cfg.find(path, str(Path.cwd()))
    try:
        return cfg.load(found, source)
    except cfg.ConfigError as exc:
        print(f"opsproof: bad maintenance config: {exc}", file=sys.stderr)
        return None


def load_with(path: Optional[str], section: str, without: str) -> Optional[cfg.Maint]:
    """The config, when it loads and has `section`; else None after saying why on stderr (the command exits 4)."""
    maint = load_maint(path)
    if maint is not None and getattr(maint, section) is None:
        print(f"opsproof: {maint.path} has no {section} section: {without}", file=sys.stderr)
        return None
    return maint


def config_in_effect(path: Optional[str]) -> Optional[tuple[Path, str]]:
    """The config file a command would read and where it was named, when there is one to read: --maint-config or
    $OPSPROOF_CONFIG given, else ./maintenance.yaml present; None otherwise (the command uses the defaults)."""
    found, source = cfg.find(path, str(Path.cwd()))
    return (found, source) if path or source == cfg.ENV_VAR or found.is_file() else None


class Parser(argparse.ArgumentParser):
    """argparse with opsproof's exit status for bad usage, 4 (argparse's is 2); its subcommands' parsers are of this
    class too (add_subparsers makes them of their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(4, f"{self.prog}: error: {message}\n")


def out_problem(out: Path, endings: tuple[str, ...], force: bool, ours: bytes = b"") -> Optional[str]:
    """Why a command must not write its --out file (one line; None when it may): a name without one of `endings`,
    a directory, a folder that is not there, or an existing file — unless --force, or the file starts with `ours`
    (a page this command wrote before, made again)."""
    if not out.name.endswith(endings):
        return f"--out {out}: name a file ending in {' or '.join(endings)}"
    if out.is_dir():
        return f"--out {out} is a directory: name a file"
    if not out.parent.is_dir():
        return f"--out {out}: the folder {out.parent} does not exist (nothing is written outside --out: create it)"
    if (out.exists() or out.is_symlink()) and not force:
        if ours and out.is_file() and not out.is_symlink():
            with open(out, "rb") as handle:
                if handle.read(len(ours)) == ours:
                    return None
        return f"--out {out} exists: pass --force to replace it, or name another file"
    return None
