"""`gooseterm verify` and the dashboard's verification: a ledger (with its derived state) or an
audit bundle, optionally evidence archives, and the outcome kept for `gooseterm exporter`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gooseterm.exports.archive import verify_archives
from gooseterm.ledger.verifier import BundleFiles, NoteError, Report, parse_vkey, verify_bundle

from ..errors import GoosetermError
from ..projections import verify_ledger_state
from ..settings import Settings
from ..verification_record import record_verification


@dataclass(frozen=True)
class Verification:
    """What was verified, the report, and why the outcome was not recorded (None when it was,
    or when the target is not the configured ledger)."""

    target: Path
    report: Report
    unrecorded: str | None = None


def verify(settings: Settings, target: Path | None = None, *, trusted_checkpoint: bytes | None = None,
           ledger_vkey: str | None = None, jobs: int = 1, archives: Sequence[Path] = (),
           progress: Callable[[int, int], None] | None = None) -> Verification:
    """Verify `target` (default: the configured ledger): a bundle folder or zip with the standalone
    verifier's checks, a ledger file with those and its projections replayed; then `archives`."""
    path = target or settings.ledger_path
    if not path.exists():
        raise GoosetermError(f"no ledger at {path}")
    if ledger_vkey:
        try:
            parse_vkey(ledger_vkey)
        except NoteError as exc:
            raise GoosetermError(f"--ledger-key: {exc}") from None
    check = verify_bundle if path.is_dir() or BundleFiles.is_zip(str(path)) else verify_ledger_state
    try:
        report = check(str(path), trusted_checkpoint=trusted_checkpoint, ledger_vkey=ledger_vkey, jobs=jobs, progress=progress)
    except (OSError, NoteError) as exc:
        raise GoosetermError(f"could not verify {path}: {exc}") from None
    except RecursionError:
        raise GoosetermError(f"could not verify {path}: a file in it nests too deeply to read") from None
    if archives:
        verify_archives(report, path, list(archives), ledger_vkey)
    return Verification(path, report, record_verification(settings, path, report))
