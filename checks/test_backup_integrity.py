"""Backup verification: each archive reads end to end (the guide's weekly `tar -tzf`, done thoroughly)."""
import pytest


def _intact(checked, maint, evidence) -> None:
    __tracebackhide__ = True
    damaged = [check.damage(within=maint.backups.dir) for check, _ in checked if not check.ok]
    evidence.require(not damaged, f"{len(damaged)} of {len(checked)} archive(s) checked do not read end to end: "
                     + "; ".join(damaged) + f" (in backups.dir {maint.backups.dir}) — a damaged backup cannot be "
                     "restored: take a fresh one (pytest -m daily --apply), keep the damaged file for analysis and find "
                     "what cut or altered it (the dump step, the disk, a copy)")
    for _, size in checked:
        if size.previous is not None:
            evidence.compare(f"size of {size.path} against {size.previous}", size.ratio, ">=",
                             maint.backups.setting("min_size_ratio"),
                             hint=f"{size.size} B after {size.previous_size} B: was the dump cut short, or did a "
                             "table lose its rows?")


@pytest.mark.daily
@pytest.mark.premaintenance
def test_newest_archive_is_intact(newest_archive_checked, maint, evidence):
    """The newest backup reads end to end (gzip CRC and length, safe names, MANIFEST checksums) and did not shrink."""
    _intact(newest_archive_checked, maint, evidence)


@pytest.mark.weekly
def test_kept_archive_is_intact(kept_archives_checked, maint, evidence):
    """Every kept backup reads end to end (gzip CRC and length, safe names, MANIFEST checksums) and did not shrink."""
    _intact(kept_archives_checked, maint, evidence)
