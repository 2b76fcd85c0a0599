"""Backup and restore of a ledger file with SQLite's online backup API.

A backup copies every page of the live ledger inside one read transaction (WAL lets writers go
on meanwhile), so the copy is the ledger at one instant, never half an append. It is verified end
to end before it is kept. A restore takes only a copy that verifies and that is the same history
as the live ledger (equal Merkle roots at the smaller size): a fork is refused, an older prefix
(which would drop entries) needs `allow_rollback`. The copy's pages go into the live file through
the same API, in one write transaction, so readers and writers of the live ledger never see a
mixture and no stale WAL is ever applied to a replaced file. The page copies are the SQLite
driver's (storage/sqlite.py); this module decides what may be copied where.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .storage.sqlite import check_ledger_file, copy_into, fsync, remove_file, standalone_copy
from .store import ForeignFile, Ledger, LedgerError
from .verifier import Report, verify_ledger


class BackupError(LedgerError):
    """A backup or restore was refused; nothing was changed."""


@dataclass(frozen=True)
class RestorePlan:
    """How a copy relates to the live ledger: sizes, and whether one is a prefix of the other."""

    copy_size: int
    live_size: int | None  # None: no live ledger, or one that does not verify
    relation: str  # "new", "same", "extends", "rollback", "fork", "live_invalid"


def backup(src: Path, out: Path, jobs: int = 1, progress: Callable[[int, int], None] | None = None) -> Report:
    """Copy the ledger at `src` to the new file `out`, verify the copy, and keep it only if valid.

    Raises BackupError (and leaves nothing at `out`) when `out` exists or the copy does not verify.
    """
    check_ledger_file(src)
    if out.exists():
        raise BackupError(f"{out} already exists; a backup never overwrites (choose a new name)")
    tmp = standalone_copy(src, out, ".partial", progress)
    try:
        report = verify_ledger(str(tmp), jobs=jobs)
        if not report.ok:
            f = report.first
            raise BackupError(f"the copy of {src} does not verify ({f.code} at seq {f.seq}: {f.detail}); it was removed. "
                              "Run `gooseterm verify` on the ledger itself")
        os.replace(tmp, out)
        fsync(out.parent)
        return report
    finally:
        remove_file(tmp)


def _root_at(path: Path, size: int) -> bytes:
    with Ledger.open(path, readonly=True) as ledger:
        return ledger.root(size)


def plan_restore(copy: Path, live: Path, jobs: int = 1) -> tuple[RestorePlan, Report]:
    """Verify the copy and compare it with the live ledger; raises BackupError if the copy is bad."""
    check_ledger_file(copy)
    report = verify_ledger(str(copy), jobs=jobs)
    if not report.ok:
        f = report.first
        if f.code == "foreign_file":
            raise ForeignFile(f"{copy} is not a ledger file ({f.detail}); restore takes a copy written by "
                              "`gooseterm backup`; nothing was restored")
        raise BackupError(f"{copy} does not verify ({f.code} at seq {f.seq}: {f.detail}); nothing was restored")
    if not live.exists():
        return RestorePlan(report.size, None, "new"), report
    try:
        live_report = verify_ledger(str(live), jobs=jobs)
    except (OSError, FileNotFoundError):
        return RestorePlan(report.size, None, "live_invalid"), report
    if not live_report.ok:
        return RestorePlan(report.size, None, "live_invalid"), report
    with Ledger.open(copy, readonly=True) as c, Ledger.open(live, readonly=True) as lv:
        if (c.origin, c.ledger_key.vkey) != (lv.origin, lv.ledger_key.vkey):
            return RestorePlan(report.size, live_report.size, "fork"), report
    n = min(report.size, live_report.size)
    if _root_at(copy, n) != _root_at(live, n):
        relation = "fork"
    elif report.size == live_report.size:
        relation = "same"
    else:
        relation = "extends" if report.size > live_report.size else "rollback"
    return RestorePlan(report.size, live_report.size, relation), report


def restore(copy: Path, live: Path, force: bool = False, allow_rollback: bool = False, jobs: int = 1) -> RestorePlan:
    """Replace the live ledger with a verified copy of the same history, atomically.

    Refuses (BackupError): a copy that does not verify; a fork (another origin, key or tree);
    replacing an existing ledger without `force`; an older prefix without `allow_rollback`.
    A live ledger that does not verify may be replaced with `force` (that is what restores are for).
    """
    plan, _ = plan_restore(copy, live, jobs)
    if plan.relation == "fork":
        raise BackupError(f"{copy} forks from {live}: at size {min(plan.copy_size, plan.live_size or 0)} their Merkle roots "
                          "differ (or their origin or ledger key do); nothing was restored")
    if plan.relation != "new" and not force:
        what = "does not verify" if plan.relation == "live_invalid" else f"has {plan.live_size} entries"
        raise BackupError(f"{live} exists and {what}; pass --force to replace it with {copy} ({plan.copy_size} entries)")
    if plan.relation == "rollback" and not allow_rollback:
        raise BackupError(f"{copy} has {plan.copy_size} entries, {live} has {plan.live_size}: restoring would drop "
                          f"{plan.live_size - plan.copy_size} entries; pass --allow-rollback if that is what you want")
    if plan.relation in ("new", "live_invalid"):
        _replace_file(copy, live)
    else:
        copy_into(copy, live)
    return plan


def _replace_file(copy: Path, live: Path) -> None:
    """No usable live ledger: put a copy of the file in its place (rename, so all or nothing)."""
    tmp = standalone_copy(copy, live, ".restoring", None)
    try:
        for suffix in ("-wal", "-shm"):  # a damaged file's WAL must not be applied to the new one
            Path(str(live) + suffix).unlink(missing_ok=True)
        os.replace(tmp, live)
        fsync(live.parent)
    finally:
        tmp.unlink(missing_ok=True)
