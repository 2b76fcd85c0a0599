"""The ledger walk: a gooseterm SQLite ledger checked end to end, read-only, in parallel chunks."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pathlib
import sqlite3
import zlib

from .checkpoint import parse_checkpoint
from .hashing import EMPTY_ROOT, GENESIS_CHAIN, node_hash
from .kinds import TRUST_KINDS
from .merkle import roots_at_sizes
from .note import NoteError, NoteVerifier, open_note, parse_vkey, split_note
from .report import Fault, Report
from .rows import RowChecks, check_across_rows, check_rows, classify_misplaced, merge_row_checks
from .trust import TrustedKey, trust_timeline

LEDGER_FORMAT = "gooseterm-ledger/2"
"""Format 2: every statement signs its binding (format 1 leaves carried none)."""
CHUNK_ROWS = 20_000


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection. A reader of a WAL database creates its -shm file beside it; in a
    folder it may not write to, with no -wal there (so no writer is mid-way), the file is opened
    as immutable instead, so a read-only copy or mount reads as what it is."""
    file = pathlib.Path(path).resolve()
    uri = f"{file.as_uri()}?mode=ro"
    if not os.access(file.parent, os.W_OK) and not pathlib.Path(f"{file}-wal").exists():
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


_ROW_COLUMNS = "seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig"
_worker_ctx: dict = {}


def _worker_init(path: str, origin: str, ledger_pub: bytes, keys: dict[str, TrustedKey]) -> None:
    _worker_ctx.update(path=path, origin=origin, ledger_pub=ledger_pub, keys=keys)


def _verify_chunk(bounds: tuple[int, int]) -> RowChecks:
    start, stop = bounds
    ctx = _worker_ctx
    conn = open_readonly(ctx["path"])
    try:
        prev = conn.execute("SELECT chain FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT 1", (start,)).fetchone()
        prev_chain = prev[0] if prev else (GENESIS_CHAIN if start == 0 else None)
        rows = conn.execute(f"SELECT {_ROW_COLUMNS} FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq", (start, stop))
        return check_rows(rows, prev_chain, ctx["origin"], ctx["ledger_pub"], ctx["keys"])
    finally:
        conn.close()


def _check_tree(conn: sqlite3.Connection, size: int, report: Report) -> None:
    """Compare every stored Merkle node with the one the entries give, level by level.

    Level 0 must equal the entries' leaf hashes; each node above must hash its two children.
    Induction makes every stored node checked; a fault names the first leaf the node covers.
    """
    below = conn.cursor()
    here = conn.cursor()
    level_rows = [(r[0],) for r in conn.execute("SELECT leaf_hash FROM entries ORDER BY seq")]
    stored = here.execute("SELECT idx, hash FROM tree_nodes WHERE level = 0 ORDER BY idx").fetchall()
    if len(stored) != size or any(i != n or h != lh for n, ((i, h), (lh,)) in enumerate(zip(stored, level_rows))):
        bad = next((n for n, ((i, h), (lh,)) in enumerate(zip(stored, level_rows)) if i != n or h != lh), min(len(stored), size))
        report.faults.append(Fault("tree_mismatch", bad, f"stored Merkle leaf node {bad} differs from the entry's leaf hash"))
        return
    del level_rows
    level = 0
    while size >> (level + 1):
        children = below.execute("SELECT idx, hash FROM tree_nodes WHERE level = ? ORDER BY idx", (level,))
        parents = here.execute("SELECT idx, hash FROM tree_nodes WHERE level = ? ORDER BY idx", (level + 1,))
        want = size >> (level + 1)
        n = 0
        for n, (idx, node) in enumerate(parents):
            left, right = children.fetchone(), children.fetchone()
            if idx != n or left is None or right is None or node_hash(left[1], right[1]) != node:
                report.faults.append(Fault("tree_mismatch", n << (level + 1), f"stored Merkle node ({level + 1}, {n}) is not the hash of its children"))
                return
            n += 1
        if n != want:
            report.faults.append(Fault("tree_mismatch", n << (level + 1), f"level {level + 1} of the stored tree has {n} nodes, want {want}"))
            return
        level += 1
    extra = conn.execute("SELECT count(*) FROM tree_nodes WHERE level > ?", (level,)).fetchone()[0]
    if extra:
        report.faults.append(Fault("tree_mismatch", None, f"{extra} stored Merkle nodes lie beyond the tree of {size} entries"))


def _check_checkpoint(note: bytes, ledger_key: NoteVerifier, origin: str, roots: dict[int, bytes], size: int,
                      report: Report, trusted: bool) -> None:
    label = "trusted checkpoint" if trusted else "checkpoint"
    try:
        opened, _ = open_note(note, [ledger_key])
        cp = parse_checkpoint(opened.text)
    except NoteError as exc:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{label}: {exc}"))
        return
    if cp.origin != origin:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{label} is for origin {cp.origin!r}, not {origin!r}"))
        return
    if cp.size > size:
        report.faults.append(Fault("tail_truncated", size, f"{label} covers {cp.size} entries, the ledger has {size}"))
        return
    if cp.size and roots.get(cp.size) != cp.root:
        code = "checkpoint_inconsistent" if trusted else "checkpoint_root_mismatch"
        report.faults.append(Fault(code, cp.size - 1, f"{label} of size {cp.size} has a root the entries do not produce"))


def _roots_at(conn: sqlite3.Connection, sizes: set[int]) -> dict[int, bytes]:
    """Merkle roots of the stored leaf hashes at the given sizes, in one streaming pass."""
    return roots_at_sizes(conn.execute("SELECT leaf_hash FROM entries ORDER BY seq"), sizes)


def _check_blobs(conn: sqlite3.Connection, refs: set[str], report: Report) -> None:
    stored = set()
    for digest, compression, data in conn.execute("SELECT digest, compression, data FROM blobs"):
        stored.add(digest)
        if data is None:
            report.blobs_archived += 1
            continue
        report.blobs_checked += 1
        try:
            raw = zlib.decompress(data) if compression == "zlib" else data
        except zlib.error:
            raw = None
        if raw is None or "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
            report.faults.append(Fault("blob_digest_mismatch", None, f"blob {digest} does not hash to its digest"))
    for digest in sorted(refs - stored):
        report.faults.append(Fault("blob_missing", None, f"blob {digest} is referred to but neither stored nor archived"))


def verify_ledger(
    path: str,
    trusted_checkpoint: bytes | None = None,
    ledger_vkey: str | None = None,
    jobs: int = 1,
    progress=None,
) -> Report:
    """Verify a ledger file end to end; `progress(done, total)` is called as rows are checked.

    A trusted checkpoint (held outside the ledger) catches a cut tail and forks; `ledger_vkey`
    pins the ledger key when the auditor knows it (otherwise the file's own key is used).
    """
    report = Report(source=str(path))
    p = pathlib.Path(path)
    # The file is read only through SQLite: closing a plain descriptor of it would drop the POSIX
    # locks of any connection this process holds on it (sqlite.org/howtocorrupt.html 2.2).
    if not p.is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    if p.stat().st_size == 0:
        report.faults.append(Fault("foreign_file", None, "an empty file, not an SQLite file"))
        return report
    try:
        conn = open_readonly(str(p))
        check = conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            report.faults.append(Fault("file_damaged", None, "; ".join(r[0] for r in check[:5])))
            return report
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            report.faults.append(Fault("foreign_file", None, "not an SQLite file"))
        elif "no such table" in str(exc):
            report.faults.append(Fault("foreign_file", None, "SQLite file without gooseterm ledger metadata"))
        else:
            report.faults.append(Fault("file_damaged", None, str(exc)))
        return report
    if meta.get("format") != LEDGER_FORMAT or "origin" not in meta or "ledger_key" not in meta:
        report.faults.append(Fault("foreign_file", None, "SQLite file without gooseterm ledger metadata"))
        return report
    origin = meta["origin"]
    try:
        ledger_key = parse_vkey(ledger_vkey or meta["ledger_key"])
    except NoteError as exc:
        report.faults.append(Fault("genesis_invalid", None, f"ledger key: {exc}"))
        return report
    if ledger_vkey and meta["ledger_key"] != ledger_key.vkey:
        report.faults.append(Fault("genesis_invalid", None, "the file names a different ledger key than the one pinned"))

    trust_rows = conn.execute("SELECT seq, kind, leaf FROM entries WHERE kind IN (?, ?, ?) ORDER BY seq", TRUST_KINDS)
    keys = trust_timeline(trust_rows, origin, ledger_key, report)
    seqs = [r[0] for r in conn.execute("SELECT seq FROM entries ORDER BY seq")]
    report.size = len(seqs)
    expected = 0
    for s in seqs:
        if s != expected:
            report.faults.append(Fault("row_deleted", expected, f"seq {expected} is missing; the next entry is seq {s}"))
        expected = s + 1
    top = seqs[-1] + 1 if seqs else 0
    report.size = top  # the length the ledger claims; missing rows are reported above
    chunks = [(a, min(a + CHUNK_ROWS, top)) for a in range(0, top, CHUNK_ROWS)]
    args = (str(p), origin, ledger_key.public_key, keys)
    done = 0
    merged = RowChecks()
    if jobs > 1 and len(chunks) > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, initializer=_worker_init, initargs=args) as pool:
            results = pool.imap_unordered(_verify_chunk, chunks)
            for r in results:
                merge_row_checks(merged, r)
                done += r.rows
                if progress:
                    progress(done, report.size)
    else:
        _worker_init(*args)
        for c in chunks:
            r = _verify_chunk(c)
            merge_row_checks(merged, r)
            done += r.rows
            if progress:
                progress(done, report.size)
    report.faults += merged.faults
    classify_misplaced(merged.misplaced, report)
    check_across_rows(merged, keys, report)

    notes = [n for _, n in conn.execute("SELECT size, note FROM checkpoints ORDER BY size")]
    sizes = {report.size}
    parsed_sizes = []
    for note in notes + ([trusted_checkpoint] if trusted_checkpoint else []):
        try:
            parsed_sizes.append(parse_checkpoint(split_note(note).text).size)
        except NoteError:
            pass
    sizes.update(s for s in parsed_sizes if s <= report.size)
    roots = _roots_at(conn, sizes)
    report.root = roots.get(report.size, EMPTY_ROOT)
    for note in notes:
        _check_checkpoint(note, ledger_key, origin, roots, report.size, report, trusted=False)
        report.checkpoints_checked += 1
    if trusted_checkpoint is not None:
        _check_checkpoint(trusted_checkpoint, ledger_key, origin, roots, report.size, report, trusted=True)
        try:
            report.trusted_checkpoint = parse_checkpoint(split_note(trusted_checkpoint).text).size
        except NoteError:
            pass
    _check_tree(conn, report.size, report)
    _check_blobs(conn, merged.blob_refs, report)
    conn.close()
    return report
