"""The SQLite driver: one ledger file, in WAL mode, every write in `BEGIN IMMEDIATE`.

Every SQL statement of gooseterm (but the standalone verifier's read-only reader, see
interface.py) is here: the schema, the reads, the write transaction, and the file operations of
backup and restore (SQLite's online backup API). Pragmas: `synchronous=FULL` so an acknowledged
entry survives a crash; a busy timeout plus jittered retries of `BEGIN IMMEDIATE` for writers.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..blobs import DIGEST_PREFIX, BlobInfo, pack
from ..errors import ForeignFile, LedgerBusy, LedgerDamaged, LedgerError, LedgerNotFound
from ..signing import canonical_json
from ..verifier import open_readonly
from .interface import Head, Node, Row

BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 8
CHUNK = 1 << 20  # blob bytes read or written per step
SPOOL = 8 << 20  # a streamed blob is held in memory up to this size, then in a temporary file
_ENTRY_COLUMNS = "seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig"
_UNCITED = '%"blobs":[]%'  # a canonical leaf (sorted keys) that cites no blob holds this

# The schema. Triggers guard against accidents (a stray UPDATE in a shell); cryptography guards
# against adversaries, who can drop triggers. Blobs may lose their bytes (archival) and get them
# back, but never change digest or size.
DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    seq        INTEGER PRIMARY KEY,
    time       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    service    TEXT,
    promotion  TEXT,
    leaf       BLOB NOT NULL,
    leaf_hash  BLOB NOT NULL,
    chain      BLOB NOT NULL,
    row_sig    BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_service ON entries (service, seq);
CREATE INDEX IF NOT EXISTS entries_by_kind ON entries (kind, seq);
CREATE INDEX IF NOT EXISTS entries_by_promotion ON entries (promotion, seq) WHERE promotion IS NOT NULL;
CREATE TABLE IF NOT EXISTS tree_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size    INTEGER PRIMARY KEY,
    note    BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    digest      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    compression TEXT NOT NULL,
    data        BLOB,
    archived    TEXT
);
CREATE TABLE IF NOT EXISTS projections (
    name  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_no_update BEFORE UPDATE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'gooseterm Merkle tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_no_delete BEFORE DELETE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'gooseterm Merkle tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'gooseterm checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'gooseterm checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger metadata is fixed at creation'); END;
CREATE TRIGGER IF NOT EXISTS meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger metadata is fixed at creation'); END;
CREATE TRIGGER IF NOT EXISTS blobs_no_delete BEFORE DELETE ON blobs
BEGIN SELECT RAISE(ABORT, 'gooseterm blobs are kept; archive their bytes instead'); END;
CREATE TRIGGER IF NOT EXISTS blobs_fixed_identity BEFORE UPDATE ON blobs
WHEN NEW.digest IS NOT OLD.digest OR NEW.size IS NOT OLD.size
BEGIN SELECT RAISE(ABORT, 'a blob keeps its digest and size'); END;
"""


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = open_readonly(str(path))
        conn.isolation_level = None
    else:
        conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def check_ledger_file(path: Path) -> None:
    """Raise LedgerNotFound or ForeignFile unless path is a non-empty file.

    The file is deliberately not opened here: closing any descriptor of a database file drops
    every POSIX lock this process holds on it, including those of an open SQLite connection
    (sqlite.org/howtocorrupt.html 2.2). SQLite itself tells a foreign file apart on open.
    """
    if not path.exists():
        raise LedgerNotFound(f"no ledger at {path}; create one with `gooseterm init` or set --ledger")
    if path.is_dir():
        raise ForeignFile(f"{path} is a directory, not a ledger file")
    if path.stat().st_size == 0:
        raise ForeignFile(f"{path} is empty, not a gooseterm ledger")


def _open_error(path: Path, exc: sqlite3.DatabaseError) -> LedgerError:
    if "not a database" in str(exc):
        return ForeignFile(f"{path} is not an SQLite file, so not a gooseterm ledger")
    if not os.access(path.parent, os.W_OK) or not os.access(path, os.W_OK):
        return LedgerError(f"{path} cannot be opened for writing: it or its folder is read-only ({exc}); "
                           "commands that only read it work, the others need it writable")
    return LedgerDamaged(f"{path} cannot be read as SQLite ({exc}); restore it from a backup")


class SQLiteReader:
    """The read side of the interface on one SQLite connection (also usable on a connection
    someone else opened, e.g. a test that edits the file as an attacker would)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def meta(self) -> dict[str, str]:
        """The ledger's fixed metadata."""
        return dict(self._conn.execute("SELECT key, value FROM meta"))

    def size(self) -> int:
        """The number of entries."""
        row = self._conn.execute("SELECT max(seq) FROM entries").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def entry(self, seq: int) -> Row | None:
        """The entry at seq, or None."""
        return self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE seq = ?", (seq,)).fetchone()

    def entries(self, *, after: int = -1, service: str | None = None, kind: str | None = None,
                kinds: Sequence[str] | None = None, promotion: str | None = None, limit: int | None = None,
                newest_first: bool = False) -> list[Row]:
        """Entries with seq > after matching every filter, in seq order (or newest first), at most `limit`."""
        where, args = ["seq > ?"], [after]
        if service is not None:
            where.append("service = ?")
            args.append(service)
        if kind is not None:
            if kind.endswith("."):
                where.append("kind >= ? AND kind < ?")
                args += [kind, kind[:-1] + "/"]
            else:
                where.append("kind = ?")
                args.append(kind)
        if kinds is not None:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            args += kinds
        if promotion is not None:
            where.append("promotion = ?")
            args.append(promotion)
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE {' AND '.join(where)} ORDER BY seq"
        sql += " DESC" if newest_first else ""
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self._conn.execute(sql, args).fetchall()

    def entry_range(self, first: int, last: int) -> Iterator[Row]:
        """Entries first..last inclusive, in seq order, streamed from the cursor."""
        return self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE seq >= ? AND seq <= ? ORDER BY seq",
                                  (first, last))

    def kinds_mark(self, kinds: Sequence[str]) -> tuple[int, int | None]:
        """(count, largest seq) of the entries of these kinds."""
        return self._conn.execute(f"SELECT count(*), max(seq) FROM entries WHERE kind IN ({', '.join('?' * len(kinds))})",
                                  tuple(kinds)).fetchone()

    def first_seq_since(self, time: str, size: int) -> int | None:
        """The smallest seq below `size` written at or after `time`, or None."""
        return self._conn.execute("SELECT min(seq) FROM entries WHERE time >= ? AND seq < ?", (time, size)).fetchone()[0]

    def last_seq_before(self, time: str, size: int) -> int | None:
        """The largest seq below `size` written before `time`, or None."""
        return self._conn.execute("SELECT max(seq) FROM entries WHERE time < ? AND seq < ?", (time, size)).fetchone()[0]

    def tree_node(self, level: int, idx: int) -> bytes | None:
        """The stored hash of the perfect subtree (level, idx), or None."""
        row = self._conn.execute("SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", (level, idx)).fetchone()
        return row[0] if row else None

    def checkpoint(self, size: int) -> bytes | None:
        """The stored checkpoint note for `size`, or None."""
        row = self._conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
        return row[0] if row else None

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every stored (size, note), oldest first."""
        return self._conn.execute("SELECT size, note FROM checkpoints ORDER BY size").fetchall()

    def latest_checkpoint(self) -> bytes | None:
        """The note of the largest stored checkpoint, or None."""
        row = self._conn.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def blob_info(self, digest: str) -> BlobInfo | None:
        """A blob's metadata, or None."""
        row = self._conn.execute("SELECT digest, size, media_type, archived FROM blobs WHERE digest = ?", (digest,)).fetchone()
        return BlobInfo(*row) if row else None

    def blob_chunks(self, digest: str) -> Iterator[bytes]:
        """A blob's raw bytes, CHUNK of stored bytes at a time; KeyError if unknown, LookupError if archived."""
        row = self._conn.execute("SELECT rowid, compression, data IS NULL, archived FROM blobs WHERE digest = ?",
                                 (digest,)).fetchone()
        if row is None:
            raise KeyError(f"no blob {digest}")
        rowid, compression, gone, archived = row
        if gone:
            raise LookupError(f"blob {digest} was archived at {archived}; restore it from the archive")
        if compression not in ("none", "zlib"):
            raise ValueError(f"unknown blob compression {compression!r}")
        return self._read_blob(rowid, compression == "zlib")

    def _read_blob(self, rowid: int, compressed: bool) -> Iterator[bytes]:
        inflate = zlib.decompressobj() if compressed else None
        with self._conn.blobopen("blobs", "data", rowid, readonly=True) as stored:
            while piece := stored.read(CHUNK):
                if inflate is None:
                    yield piece
                    continue
                try:
                    while piece:
                        out = inflate.decompress(piece, CHUNK)
                        piece = inflate.unconsumed_tail
                        if out:
                            yield out
                except zlib.error as exc:
                    raise ValueError(f"compressed blob is damaged: {exc}") from None
        if inflate is not None and not inflate.eof:
            raise ValueError("compressed blob is damaged: incomplete or truncated stream")

    def blob(self, digest: str) -> bytes:
        """A blob's raw bytes at once."""
        return b"".join(self.blob_chunks(digest))

    def blobs_held(self) -> set[str]:
        """Digests of the blobs whose bytes are stored."""
        return {r[0] for r in self._conn.execute("SELECT digest FROM blobs WHERE data IS NOT NULL")}

    def blobs_archived(self) -> dict[str, int]:
        """Archived blobs: digest -> size."""
        return dict(self._conn.execute("SELECT digest, size FROM blobs WHERE data IS NULL"))

    def blobs_cited(self, *, before: str | None = None, since: str | None = None) -> set[str]:
        """Digests in the leaves' "blobs" lists of the entries written before `before` or at/after `since`."""
        where, args = ["e.leaf NOT LIKE ?"], [_UNCITED]
        if before is not None:
            where.append("e.time < ?")
            args.append(before)
        if since is not None:
            where.append("e.time >= ?")
            args.append(since)
        sql = ("SELECT DISTINCT j.value FROM entries AS e, json_each(CAST(e.leaf AS TEXT), '$.blobs') AS j "
               f"WHERE {' AND '.join(where)}")
        return {r[0] for r in self._conn.execute(sql, args)}

    def projection(self, name: str, key: str) -> dict | None:
        """One projected value, or None."""
        row = self._conn.execute("SELECT value FROM projections WHERE name = ? AND key = ?", (name, key)).fetchone()
        return json.loads(row[0]) if row else None

    def projection_items(self, name: str) -> dict[str, dict]:
        """Every projected value under a name, by key."""
        rows = self._conn.execute("SELECT key, value FROM projections WHERE name = ? ORDER BY key", (name,))
        return {k: json.loads(v) for k, v in rows}


class SQLiteWriteTxn(SQLiteReader):
    """One `BEGIN IMMEDIATE` transaction on the storage's connection (SQLite's lock is the
    database's single writer lock, so no other process appends until commit or rollback)."""

    def head(self) -> Head:
        """The last entry's seq + 1, chain and time, read under the write lock."""
        row = self._conn.execute("SELECT seq, chain, time FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return Head(row[0] + 1, row[1], row[2]) if row else Head(0, None, None)

    def append(self, rows: Sequence[Row], nodes: Iterable[Node]) -> None:
        """Insert entries and Merkle nodes."""
        self._conn.executemany(f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self._conn.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)

    def put_blob(self, data: bytes, media_type: str) -> str:
        """Store bytes once under their digest (compressed when it pays)."""
        return self.put_blob_stream((data,), media_type)

    def put_blob_stream(self, chunks: Iterable[bytes], media_type: str) -> str:
        """Hash and compress the chunks as they come (spooled to a temporary file past SPOOL bytes),
        then write the smaller of raw and compressed into the row CHUNK bytes at a time."""
        sha, deflate, size = hashlib.sha256(), zlib.compressobj(6), 0
        with tempfile.SpooledTemporaryFile(SPOOL) as raw, tempfile.SpooledTemporaryFile(SPOOL) as packed:
            for chunk in chunks:
                sha.update(chunk)
                size += len(chunk)
                raw.write(chunk)
                packed.write(deflate.compress(chunk))
            packed.write(deflate.flush())
            digest = DIGEST_PREFIX + sha.hexdigest()
            if self._conn.execute("SELECT 1 FROM blobs WHERE digest = ?", (digest,)).fetchone():
                return digest
            compression, source = ("zlib", packed) if packed.tell() < size else ("none", raw)
            length = source.tell()
            source.seek(0)
            cursor = self._conn.execute(
                "INSERT INTO blobs (digest, size, media_type, compression, data) VALUES (?, ?, ?, ?, zeroblob(?))",
                (digest, size, media_type, compression, length),
            )
            with self._conn.blobopen("blobs", "data", cursor.lastrowid) as stored:
                while piece := source.read(CHUNK):
                    stored.write(piece)
        return digest

    def put_checkpoint(self, size: int, note: bytes, created: str) -> None:
        """Insert the checkpoint note for `size`."""
        self._conn.execute("INSERT INTO checkpoints (size, note, created) VALUES (?, ?, ?)", (size, note, created))

    def put_projection(self, name: str, key: str, value: dict, seq: int) -> None:
        """Upsert a projected value as canonical JSON."""
        self._conn.execute(
            "INSERT INTO projections (name, key, value, seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value, seq = excluded.seq",
            (name, key, canonical_json(value).decode(), seq),
        )

    def archive_blobs(self, digests: Iterable[str], when: str) -> None:
        """Set `data` to NULL (the triggers allow only that) where it is still held."""
        self._conn.executemany("UPDATE blobs SET data = NULL, archived = ? WHERE digest = ? AND data IS NOT NULL",
                               [(when, d) for d in digests])

    def restore_blob(self, digest: str, data: bytes) -> None:
        """Put bytes back into an archived blob's row, compressed when it pays."""
        compression, stored = pack(data)
        self._conn.execute("UPDATE blobs SET compression = ?, data = ?, archived = NULL WHERE digest = ? AND data IS NULL",
                           (compression, stored, digest))

    def commit(self) -> None:
        """COMMIT (durable: synchronous=FULL)."""
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        """ROLLBACK, unless there is nothing to roll back (an interrupt that landed just after COMMIT)."""
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


class SQLiteStorage(SQLiteReader):
    """A ledger file opened with gooseterm's pragmas (WAL, synchronous=FULL, busy timeout)."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        super().__init__(conn)
        self.path = path

    @classmethod
    def open(cls, path: Path, readonly: bool) -> "SQLiteStorage":
        """Open an existing ledger file; LedgerNotFound, ForeignFile, LedgerDamaged or LedgerError
        (read-only file opened for writing) when it cannot serve as one."""
        check_ledger_file(path)
        try:
            conn = _connect(path, readonly)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables or "entries" not in tables:
                conn.close()
                raise ForeignFile(f"{path} is an SQLite file without gooseterm's tables; it is not a ledger")
            storage = cls(path, conn)
            storage.meta()  # a damaged file fails here, with the errors of an open, rather than later
        except sqlite3.DatabaseError as exc:
            raise _open_error(path, exc) from None
        return storage

    @classmethod
    @contextmanager
    def creating(cls, path: Path, meta: dict[str, str]) -> Iterator["SQLiteStorage"]:
        """A new ledger file holding the schema and `meta`, built beside `path` and renamed to it
        only when the block completes (WAL folded in); on an error nothing is left behind."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".creating")
        tmp.unlink(missing_ok=True)
        conn = _connect(tmp, readonly=False)
        try:
            conn.executescript(DDL)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
            conn.execute("COMMIT")
            yield cls(tmp, conn)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        except BaseException:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
            raise
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        os.replace(tmp, path)

    def begin(self) -> SQLiteWriteTxn:
        """BEGIN IMMEDIATE, retried with jittered exponential backoff while another writer holds the file."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return SQLiteWriteTxn(self._conn)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(random.uniform(0, min(0.02 * 2**attempt, 1.0)))
        raise LedgerBusy(f"{self.path} stayed locked by another writer; try again")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


# -- file operations: backup and restore with SQLite's online backup API ------------------------


def fsync(path: Path) -> None:
    """fsync a file or folder."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_pages(src: sqlite3.Connection, dst: sqlite3.Connection, progress: Callable[[int, int], None] | None) -> None:
    # pages=-1: the whole database in one step, so one read transaction and one consistent snapshot
    # (a stepwise backup restarts whenever another connection writes the source).
    src.backup(dst, pages=-1, progress=(lambda status, remaining, total: progress(total - remaining, total)) if progress else None)


def standalone_copy(src: Path, beside: Path, suffix: str, progress: Callable[[int, int], None] | None) -> Path:
    """Copy the ledger at `src` page by page into a new, fsynced, self-contained file (no WAL
    beside it, whatever the source's journal mode) in the folder of `beside`; returns its path."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=suffix, dir=beside.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
        source.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        target = sqlite3.connect(tmp)
        try:
            _copy_pages(source, target, progress)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
            source.close()
        fsync(tmp)
    except BaseException:
        remove_file(tmp)
        raise
    return tmp


def copy_into(copy: Path, live: Path) -> None:
    """Write every page of `copy` into the live ledger file in one write transaction, so its
    readers and writers see the old ledger or the new one, never a mixture."""
    source = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(live)
    target.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        _copy_pages(source, target, None)
    finally:
        target.close()
        source.close()


def remove_file(path: Path) -> None:
    """Delete a database file and its journal, WAL and shared-memory files, if any."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
