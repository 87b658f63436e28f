"""`opsproof baseline --maint-config=PATH`: record config_audit.files' checksums as the approved baseline."""
from __future__ import annotations

import sys
from typing import Optional

from .. import config as cfg
from ..hosts.target import Target, TargetError
from .confaudit import write_baseline


def run(maint: cfg.Maint, host: Optional[str] = None) -> int:
    """Write the baseline on `host` (a testinfra spec; default the local machine); 0 written, 1 failed, 4 no section."""
    import testinfra

    if maint.config_audit is None:
        print(f"opsproof: {maint.path} has no config_audit section: nothing to baseline", file=sys.stderr)
        return 4
    target = Target(testinfra.get_host(host or "local://"), maint.command_timeout_s)
    try:
        written = write_baseline(target, maint.config_audit, maint.root)
    except TargetError as exc:
        print(f"opsproof: baseline not written: {exc}", file=sys.stderr)
        return 1
    if not written.written:
        for pattern in written.unmatched:
            print(f"opsproof: config_audit.files: {pattern} matches no file on {target.name}", file=sys.stderr)
        print(f"opsproof: baseline not written: fix config_audit.files in {maint.path} (globs relative to root)",
              file=sys.stderr)
        return 1
    print(f"{written.path}: {len(written.files)} file(s) recorded (check with: cd {maint.root} && sha256sum -c "
          f"{written.path})")
    return 0
