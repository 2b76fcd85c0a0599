"""Retention: old evidence bytes move to a signed, reproducible zip; the ledger keeps their digests.

A blob is archived when every entry that cites it was written before the cut-off day. The archive
holds `blobs/<hex>` plus a manifest (format, origin, ledger key, cut-off, each blob's size and media
type, each file's SHA-256) signed by the ledger key, like an audit bundle. Its bytes leave the
ledger only after the zip is on disk and read back correct; storage keeps every blob's digest and
size (SQLite's triggers let `data` become NULL but never change them), so verification still knows
every digest and reports those blobs as archived, and checks them again when the archive is given back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from gooseterm.ledger import blobs as blobstore
from gooseterm.ledger.signing import sign_note
from gooseterm.ledger.storage import Reader
from gooseterm.ledger.store import Ledger, LedgerError
from gooseterm.ledger.verifier import (
    MANIFEST,
    MANIFEST_NOTE,
    BundleFiles,
    BundleUnreadable,
    Fault,
    NoteError,
    NoteVerifier,
    Report,
    manifest_note_body,
    open_note,
    parse_vkey,
)

from .bundle import ExportError, write_bundle

ARCHIVE_FORMAT = "gooseterm-archive/1"


@dataclass(frozen=True)
class ArchiveResult:
    """What `archive_blobs` or `restore_archive` did (no path: there was nothing to archive)."""

    path: Path | None
    blobs: int
    bytes: int
    skipped: int = 0

    def to_json(self) -> dict:
        """JSON form for --json."""
        return {"archive": self.path and str(self.path), "blobs": self.blobs, "bytes": self.bytes, "skipped": self.skipped}


def archivable(ledger: Ledger, before: date) -> list[str]:
    """Digests still stored whose every citing entry was written before `before` (UTC day)."""
    return _archivable(ledger.storage, before)


def _archivable(reader: Reader, before: date) -> list[str]:
    # The leaf's "blobs" list is the citation.
    cut = before.isoformat()
    return sorted((reader.blobs_cited(before=cut) - reader.blobs_cited(since=cut)) & reader.blobs_held())


def build_archive(ledger: Ledger, digests: list[str], before: date) -> dict[str, bytes]:
    """Every file of the archive: the blobs and the manifest signed by the ledger key."""
    files: dict[str, bytes] = {}
    listed: dict[str, dict] = {}
    for digest in digests:
        info = ledger.blob_info(digest)
        files["blobs/" + digest.removeprefix(blobstore.DIGEST_PREFIX)] = ledger.blob(digest)
        listed[digest] = {"size": info.size, "media_type": info.media_type}
    manifest = {
        "format": ARCHIVE_FORMAT,
        "origin": ledger.origin,
        "ledger_key": ledger.ledger_key.vkey,
        "before": before.isoformat(),
        "blobs": listed,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    data = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    files[MANIFEST] = data
    files[MANIFEST_NOTE] = sign_note(manifest_note_body(ledger.origin, data, ARCHIVE_FORMAT), [ledger.signer])
    return files


def archive_blobs(ledger: Ledger, before: date, out: Path) -> ArchiveResult:
    """Write the archive of the blobs cited only before `before`, check it, then drop their bytes.

    Needs the ledger key. Writes nothing when no blob qualifies. A blob cited again by an entry
    written meanwhile keeps its bytes (it is in the archive too, which does no harm).
    """
    if out.suffix != ".zip":
        raise ExportError(f"{out}: an archive is a zip; give a name ending in .zip")
    digests = archivable(ledger, before)
    if not digests:
        return ArchiveResult(None, 0, 0)
    files = build_archive(ledger, digests, before)
    write_bundle(files, out)
    archived = read_archive(out, ledger.ledger_key)
    if sorted(archived) != digests:
        raise ExportError(f"{out} did not read back as written; the ledger still holds every blob")
    now = ledger.clock()
    with ledger.transaction() as txn:
        still = set(_archivable(txn.reader, before))
        drop = [d for d in digests if d in still]
        txn.archive_blobs(drop, now)
    return ArchiveResult(out, len(drop), sum(len(archived[d]) for d in drop), len(digests) - len(drop))


class ArchiveError(ExportError):
    """An archive is not what it claims: unsigned, edited, or holding bytes that do not match."""


def read_archive(path: Path, ledger_key: NoteVerifier) -> dict[str, bytes]:
    """The archive's blobs by digest, after checking its signature, manifest and every digest.

    Reads the zip in place (nothing is extracted); raises ArchiveError naming the first problem.
    """
    problems, blobs = check_archive_files(path, ledger_key)
    if problems:
        raise ArchiveError(f"{path}: {problems[0].detail}")
    return blobs


def check_archive_files(path: Path, ledger_key: NoteVerifier) -> tuple[list[Fault], dict[str, bytes]]:
    """Every fault of an archive (signature, manifest, file hashes, blob digests) and its good blobs."""
    faults: list[Fault] = []
    try:
        files = BundleFiles(str(path))
    except (OSError, ValueError) as exc:
        return [Fault("foreign_file", None, f"{path} is not an archive zip: {exc}")], {}
    if files.zip is None:
        return [Fault("foreign_file", None, f"{path} is not an archive zip")], {}
    manifest_bytes, note = files.read(MANIFEST), files.read(MANIFEST_NOTE)
    try:
        manifest = json.loads(manifest_bytes or b"")
        if manifest.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        opened, _ = open_note(note or b"", [ledger_key])
        if opened.text != manifest_note_body(manifest["origin"], manifest_bytes, ARCHIVE_FORMAT):
            raise NoteError(f"{MANIFEST} was edited after it was signed")
    except (ValueError, KeyError, TypeError, AttributeError, NoteError) as exc:
        return [Fault("manifest_signature_bad", None, f"archive {path.name}: {exc}")], {}
    except RecursionError:
        raise BundleUnreadable(f"{path}: {MANIFEST} nests too deeply to read") from None
    for problem in files.problems:
        faults.append(Fault("bundle_file_mismatch", None, f"archive {path.name}: {problem}"))
    listed = manifest.get("files", {})
    for name in files.names():
        if name not in listed and name not in (MANIFEST, MANIFEST_NOTE):
            faults.append(Fault("bundle_file_mismatch", None, f"archive {path.name}: {name} is not listed in its manifest"))
    blobs: dict[str, bytes] = {}
    for digest, info in sorted(manifest.get("blobs", {}).items()):
        name = "blobs/" + digest.removeprefix(blobstore.DIGEST_PREFIX)
        data = files.read(name)
        if data is None:
            faults.append(Fault("blob_missing", None, f"archive {path.name} lists {digest} but does not hold it"))
        elif blobstore.blob_digest(data) != digest or len(data) != info.get("size"):
            faults.append(Fault("blob_digest_mismatch", None, f"archive {path.name}: blob {digest} does not hash to its digest"))
        elif hashlib.sha256(data).hexdigest() != listed.get(name):
            faults.append(Fault("bundle_file_mismatch", None, f"archive {path.name}: {name} differs from its manifest's hash"))
        else:
            blobs[digest] = data
    return faults, blobs


def archived_in(target: Path, ledger_vkey: str | None = None) -> tuple[NoteVerifier, dict[str, int | None]]:
    """The ledger key and the archived blobs (digest: size, when known) of a ledger file or a bundle."""
    if BundleFiles.is_zip(str(target)) or target.is_dir():
        files = BundleFiles(str(target))
        manifest = json.loads(files.read(MANIFEST) or b"{}")
        key = parse_vkey(ledger_vkey or manifest.get("ledger_key", ""))
        return key, {d: None for d in manifest.get("archived_blobs", [])}
    with Ledger.open(target, readonly=True) as ledger:
        key = parse_vkey(ledger_vkey) if ledger_vkey else ledger.ledger_key
        return key, ledger.storage.blobs_archived()


def verify_archives(report: Report, target: Path, archives: list[Path], ledger_vkey: str | None = None) -> None:
    """Add archives' checks to the report of a ledger or bundle: their own faults, and their bytes.

    Each blob the target lists as archived that an archive holds, with the right digest and size,
    moves from `blobs_archived` to `blobs_checked`; other blobs of an archive are not counted.
    """
    try:
        ledger_key, archived = archived_in(target, ledger_vkey)
    except (NoteError, ValueError, LedgerError):
        return  # the target itself is unreadable, and its own verification says so
    for path in archives:
        faults, blobs = check_archive_files(path, ledger_key)
        report.faults += faults
        for digest, data in blobs.items():
            if digest not in archived:
                continue
            size = archived.pop(digest)
            if size is not None and size != len(data):
                report.faults.append(Fault("blob_digest_mismatch", None,
                                           f"archive {path.name}: blob {digest} has {len(data)} bytes, the ledger says {size}"))
            else:
                report.blobs_checked += 1
                report.blobs_archived -= 1


def restore_archive(ledger: Ledger, path: Path) -> ArchiveResult:
    """Put an archive's bytes back into the ledger, all or nothing, after checking every digest."""
    blobs = read_archive(path, ledger.ledger_key)
    restore: list[tuple[str, bytes]] = []
    for digest, data in sorted(blobs.items()):
        info = ledger.blob_info(digest)
        if info is None:
            raise ArchiveError(f"{path}: blob {digest} is not one of this ledger's; nothing was restored")
        if info.size != len(data):
            raise ArchiveError(f"{path}: blob {digest} has {len(data)} bytes, the ledger says {info.size}; nothing was restored")
        if info.archived is not None:
            restore.append((digest, data))
    with ledger.transaction() as txn:
        for digest, data in restore:
            txn.restore_blob(digest, data)
    return ArchiveResult(path, len(restore), sum(len(d) for _, d in restore), len(blobs) - len(restore))
