"""The ledger: an append-only SQLite file of signed, hash-chained, Merkle-checkpointed entries.

Actors sign statements (DSSE envelopes holding in-toto Statements); the ledger key signs
positions (origin, seq, chain). Every write runs in one `BEGIN IMMEDIATE` transaction that also
updates the Merkle tree, the key trust table and the caller's projections, so a reader never
sees an entry without its tree nodes or a projection without its entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import blobs as blobstore
from .schema import DDL
from .signing import Signer, canonical_json, make_statement, sign_envelope, sign_note
from .tree import Frontier, TreeReader
from .verifier import (
    BINDING,
    CLOCK_SKEW,
    GENESIS_CHAIN,
    LEDGER_FORMAT,
    TRUST_KINDS,
    Checkpoint,
    NoteVerifier,
    Report,
    TrustedKey,
    chain_hash,
    leaf_hash,
    make_binding,
    open_readonly,
    parse_envelope,
    parse_time,
    parse_vkey,
    predicate_type,
    row_message,
    trust_timeline,
)

GENESIS, KEY_ADDED, KEY_REVOKED = TRUST_KINDS
ADMIN_ROLE, LEDGER_ROLE = "admin", "ledger"
DEFAULT_CHECKPOINT_EVERY = 1000
BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 8


class LedgerError(Exception):
    """Base of every ledger error; the message says what failed and what to do."""


class LedgerNotFound(LedgerError):
    """No ledger at that path."""


class ForeignFile(LedgerError):
    """The file is not a gooseterm ledger (not SQLite, or SQLite without gooseterm's metadata)."""


class LedgerDamaged(LedgerError):
    """The SQLite file is damaged."""


class LedgerBusy(LedgerError):
    """Another writer held the ledger for longer than the retries allow."""


class Refused(LedgerError):
    """An append was refused before anything was written (bad kind, untrusted signer...)."""


class PartialAppend(LedgerError):
    """A bulk append failed after earlier batches were committed: those entries stay, and
    `receipts` says which they are (in draft order); `cause` is the error that stopped the rest."""

    def __init__(self, cause: Exception, receipts: list[Receipt]) -> None:
        self.cause = cause
        self.receipts = receipts
        super().__init__(f"{cause} (the first {len(receipts)} entries were committed, "
                         f"seq {receipts[0].seq}..{receipts[-1].seq})")


def utc_now() -> str:
    """Writer time: RFC 3339 UTC with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Draft:
    """An entry to be appended: its kind, predicate and the names it is filed under.

    `request` is the (seq, leaf hash) of the promotion request the entry answers, if any. The
    statement signs all of these (the binding), so the leaf's own fields are only an index.
    """

    kind: str
    predicate: dict
    service: str | None = None
    promotion: str | None = None
    blobs: tuple[str, ...] = ()
    request: tuple[int, bytes] | None = None

    def statement(self, origin: str, time: str) -> bytes:
        """The in-toto Statement v1 bytes for this draft, made at `time`."""
        binding = make_binding(origin, self.kind, self.service, self.promotion, self.blobs, time, self.request)
        predicate = {**self.predicate, BINDING: binding}
        body = canonical_json(predicate)
        subject = [{"name": self.service or origin, "digest": {"sha256": hashlib.sha256(body).hexdigest()}}]
        subject += [{"name": d, "digest": {"sha256": d.removeprefix(blobstore.DIGEST_PREFIX)}} for d in self.blobs]
        return make_statement(subject, predicate_type(self.kind), predicate)


@dataclass(frozen=True)
class Receipt:
    """What an acknowledged append returns."""

    seq: int
    leaf_hash: bytes
    chain: bytes
    time: str


@dataclass(frozen=True)
class Entry:
    """One stored entry, with its statement decoded on demand."""

    seq: int
    time: str
    kind: str
    service: str | None
    promotion: str | None
    leaf: bytes
    leaf_hash: bytes
    chain: bytes
    row_sig: bytes

    @property
    def record(self) -> dict:
        """The leaf as JSON: seq, time, kind, service, promotion, blobs and the envelope."""
        return json.loads(self.leaf)

    @property
    def statement(self) -> dict:
        """The in-toto Statement inside the envelope."""
        return json.loads(parse_envelope(self.record["envelope"]).payload)

    @property
    def predicate(self) -> dict:
        """What the actor stated: the statement's predicate less its binding."""
        predicate = dict(self.statement.get("predicate", {}))
        predicate.pop(BINDING, None)
        return predicate

    @property
    def binding(self) -> dict:
        """Where the actor signed that the statement belongs (origin, kind, service, promotion, blobs,
        time, request); empty for a leaf without one, which the verifiers name."""
        return self.statement.get("predicate", {}).get(BINDING) or {}

    @property
    def signers(self) -> list[str]:
        """Keyids on the envelope."""
        return [s.get("keyid", "") for s in self.record["envelope"]["signatures"]]


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


class Ledger:
    """An open ledger file. Reads need no key; appends need the ledger signer."""

    def __init__(self, path: Path, conn: sqlite3.Connection, signer: Signer | None, clock: Callable[[], str]):
        self.path = path
        self.conn = conn
        self.signer = signer
        self.clock = clock
        self._keys: tuple[tuple, dict[str, TrustedKey]] | None = None
        self.on_append: AppendHook | None = None
        """Called inside the write transaction for every appended entry, in seq order (projections)."""
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        self.origin: str = meta["origin"]
        self.ledger_key: NoteVerifier = parse_vkey(meta["ledger_key"])
        self.checkpoint_every = int(meta.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY))
        if signer is not None and signer.vkey != self.ledger_key.vkey:
            raise Refused(
                f"key {signer.keyid} is not this ledger's key {self.ledger_key.keyid}; "
                "appends need the ledger key named at `gooseterm init`"
            )

    # -- opening and creating -------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path | str, signer: Signer | None = None, readonly: bool = False, clock: Callable[[], str] = utc_now
    ) -> "Ledger":
        """Open an existing ledger; refuses a missing, foreign or damaged file with a clear error."""
        path = Path(path)
        check_ledger_file(path)
        try:
            conn = _connect(path, readonly)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables or "entries" not in tables:
                conn.close()
                raise ForeignFile(f"{path} is an SQLite file without gooseterm's tables; it is not a ledger")
            fmt = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise _open_error(path, exc) from None
        if fmt is None or fmt[0] != LEDGER_FORMAT:
            conn.close()
            raise ForeignFile(f"{path} has format {fmt[0] if fmt else 'none'!r}, want {LEDGER_FORMAT!r}"
                              " (a format-1 ledger's statements sign no binding: start a new ledger)")
        try:
            return cls(path, conn, signer, clock)
        except BaseException:
            conn.close()
            raise

    @classmethod
    def create(
        cls,
        path: Path | str,
        origin: str,
        signer: Signer,
        admins: Iterable[tuple[str, list[str]]],
        clock: Callable[[], str] = utc_now,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        genesis_signers: Iterable[Signer] = (),
    ) -> "Ledger":
        """Create a ledger whose genesis pins origin, the ledger key and the first admin keys.

        `admins` is (vkey, roles) pairs. Refuses to overwrite an existing file.
        """
        path = Path(path)
        if path.exists():
            raise Refused(f"{path} already exists; gooseterm never overwrites a ledger")
        if not origin or "\n" in origin:
            raise Refused("the ledger origin must be one non-empty line")
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = [{"vkey": signer.vkey, "roles": [LEDGER_ROLE]}]
        for vkey, roles in admins:
            parse_vkey(vkey)
            keys.append({"vkey": vkey, "roles": sorted(set(roles) | {ADMIN_ROLE})})
        tmp = path.with_name(path.name + ".creating")
        tmp.unlink(missing_ok=True)
        conn = _connect(tmp, readonly=False)
        try:
            conn.executescript(DDL)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("format", LEDGER_FORMAT),
                    ("origin", origin),
                    ("ledger_key", signer.vkey),
                    ("checkpoint_every", str(checkpoint_every)),
                ],
            )
            conn.execute("COMMIT")
            ledger = cls(tmp, conn, signer, clock)
            genesis = Draft(GENESIS, {"origin": origin, "ledger_key": signer.vkey, "keys": keys})
            ledger.append(genesis, [signer, *genesis_signers])
            ledger.checkpoint()
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
        return cls.open(path, signer=signer, clock=clock)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator["Txn"]:
        """One write transaction (BEGIN IMMEDIATE, retried with jitter); commits on success."""
        if self.signer is None:
            raise Refused("this ledger was opened without its signing key; appends need the ledger key")
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(random.uniform(0, min(0.02 * 2**attempt, 1.0)))
        else:
            raise LedgerBusy(f"{self.path} stayed locked by another writer; try again")
        try:
            txn = Txn(self)
            yield txn
            self.conn.execute("COMMIT")
        except BaseException:
            # An interrupt (SIGINT) can land just after COMMIT, when there is nothing to roll back.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def append(self, draft: Draft, signers: list[Signer]) -> Receipt:
        """Sign and append one entry durably; returns once it is committed."""
        with self.transaction() as txn:
            return txn.append(draft, signers)

    def append_many(self, drafts: Iterable[Draft], signers: list[Signer], batch_size: int = 2000) -> list[Receipt]:
        """Append many entries, `batch_size` per transaction (the bulk-import path).

        An error after some batches were committed raises PartialAppend carrying their receipts;
        an error in the first batch leaves the ledger as it was and is raised as it is.
        """
        receipts: list[Receipt] = []
        batch: list[Draft] = []
        try:
            for draft in drafts:
                batch.append(draft)
                if len(batch) >= batch_size:
                    receipts += self._append_batch(batch, signers)
                    batch = []
            if batch:
                receipts += self._append_batch(batch, signers)
        except Exception as exc:
            if receipts:
                raise PartialAppend(exc, receipts) from exc
            raise
        return receipts

    def _append_batch(self, batch: list[Draft], signers: list[Signer]) -> list[Receipt]:
        with self.transaction() as txn:
            return txn.append_batch(batch, signers)

    def checkpoint(self, cosigners: Iterable[Signer] = ()) -> bytes:
        """Write (or return the stored) signed checkpoint note for the current size."""
        with self.transaction() as txn:
            return txn.checkpoint(cosigners)

    # -- reading ---------------------------------------------------------------------------

    def size(self) -> int:
        """Number of entries."""
        row = self.conn.execute("SELECT max(seq) FROM entries").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def entry(self, seq: int) -> Entry:
        """The entry at seq; KeyError if there is none."""
        row = self.conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise KeyError(f"no entry at seq {seq} (ledger size {self.size()})")
        return Entry(*row)

    def entries(
        self,
        service: str | None = None,
        kind: str | None = None,
        promotion: str | None = None,
        after: int = -1,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Entry]:
        """Entries filtered by service, kind (a prefix ending in '.' matches a family) and promotion."""
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
        if promotion is not None:
            where.append("promotion = ?")
            args.append(promotion)
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE {' AND '.join(where)} ORDER BY seq"
        sql += " DESC" if newest_first else ""
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [Entry(*r) for r in self.conn.execute(sql, args)]

    def scan(self, batch: int = 5000) -> Iterator[Entry]:
        """Every entry in seq order, read `batch` at a time (memory stays bounded on a large ledger)."""
        after = -1
        while True:
            rows = self.conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch)).fetchall()
            if not rows:
                return
            yield from (Entry(*r) for r in rows)
            after = rows[-1][0]

    def root(self, size: int | None = None) -> bytes:
        """Merkle root of the first `size` entries (default: all)."""
        return TreeReader(self.conn).root(self.size() if size is None else size)

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of entry seq in the tree of `size` (default: all)."""
        return TreeReader(self.conn).inclusion_proof(seq, self.size() if size is None else size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from size1 to size2 (default: all)."""
        return TreeReader(self.conn).consistency_proof(size1, self.size() if size2 is None else size2)

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Stored (size, note) pairs, oldest first."""
        return list(self.conn.execute("SELECT size, note FROM checkpoints ORDER BY size"))

    def latest_checkpoint(self) -> bytes | None:
        """The newest stored checkpoint note."""
        row = self.conn.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        """Store evidence bytes (deduplicated) and return their digest."""
        with self.transaction() as txn:
            return txn.put_blob(data, media_type)

    def blob(self, digest: str) -> bytes:
        """A blob's raw bytes."""
        return blobstore.get(self.conn, digest)

    def blob_info(self, digest: str) -> blobstore.BlobInfo | None:
        """A blob's metadata."""
        return blobstore.info(self.conn, digest)

    def projection(self, name: str, key: str) -> dict | None:
        """One projected value, or None."""
        row = self.conn.execute("SELECT value FROM projections WHERE name = ? AND key = ?", (name, key)).fetchone()
        return json.loads(row[0]) if row else None

    def projection_items(self, name: str) -> dict[str, dict]:
        """Every projected value under a name, by key."""
        rows = self.conn.execute("SELECT key, value FROM projections WHERE name = ? ORDER BY key", (name,))
        return {k: json.loads(v) for k, v in rows}

    def keys(self) -> dict[str, TrustedKey]:
        """Every key the ledger has trusted, with roles and validity, by keyid.

        Replayed from the signed genesis and key events themselves (a handful of entries), as the
        verifier replays them: never read from a table that an edit of the file could make lie.
        A key event whose admin signature does not verify is refused here, and named by `verify`.
        """
        marker = self.conn.execute("SELECT count(*), max(seq) FROM entries WHERE kind IN (?, ?, ?)", TRUST_KINDS).fetchone()
        if self._keys is None or self._keys[0] != marker:
            rows = self.conn.execute("SELECT seq, kind, leaf FROM entries WHERE kind IN (?, ?, ?) ORDER BY seq", TRUST_KINDS)
            report = Report(source=str(self.path))
            keys = trust_timeline(rows, self.origin, self.ledger_key, report)
            if report.faults:
                first = report.first
                raise LedgerDamaged(f"{self.path}: the key events do not verify (seq {first.seq}: {first.detail}); "
                                    "run `gooseterm verify` and restore from a backup")
            self._keys = (marker, keys)
        return self._keys[1]


_ENTRY_COLUMNS = "seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig"
AppendHook = Callable[["Txn", Draft, Receipt, list[Signer]], None]
_KINDS_SEEN: set[str] = set()  # kinds already checked for their characters


class Txn:
    """The inside of one write transaction: append, store blobs, update projections."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.conn = ledger.conn
        self.size = ledger.size()
        row = self.conn.execute("SELECT chain, time FROM entries WHERE seq = ?", (self.size - 1,)).fetchone()
        self.prev_chain = row[0] if row else GENESIS_CHAIN
        self.last_time: str | None = row[1] if row else None
        self.frontier = Frontier.load(self.conn, self.size)
    def keys(self) -> dict[str, TrustedKey]:
        """The trust table as of this transaction."""
        return self.ledger.keys()

    def _authorise(self, draft: Draft, signers: list[Signer], seq: int) -> None:
        if not signers:
            raise Refused(f"a {draft.kind} entry needs at least one signer")
        if draft.kind == GENESIS:
            if seq != 0:
                raise Refused("a ledger has exactly one genesis entry, at seq 0")
            return
        if seq == 0:
            raise Refused("the first entry of a ledger must be its genesis")
        keys = self.keys()
        for s in signers:
            rec = keys.get(s.keyid)
            if rec is None:
                raise Refused(f"key {s.keyid} is not trusted by this ledger; an admin adds it with `gooseterm keys add`")
            if not rec.valid_at(seq):
                raise Refused(f"key {s.keyid} was revoked at seq {rec.revoked}; it can no longer sign")
        if draft.kind in (KEY_ADDED, KEY_REVOKED) and not any(ADMIN_ROLE in keys[s.keyid].roles for s in signers):
            raise Refused(f"{draft.kind} must be signed by an admin key")
        self._check_trust_event(draft)

    def _check_trust_event(self, draft: Draft) -> None:
        """Refuse a key event that the trust replay would ignore: a known key again, or an impossible revocation."""
        p = draft.predicate
        if draft.kind == KEY_ADDED:
            v = parse_vkey(p["vkey"])
            if v.keyid in self.keys():
                raise Refused(f"key {v.keyid} is already known to this ledger; a revoked key cannot come back")
        elif draft.kind == KEY_REVOKED:
            rec = self.keys().get(p.get("keyid", ""))
            if rec is None:
                raise Refused(f"no key {p.get('keyid')!r} to revoke")
            if rec.revoked is not None:
                raise Refused(f"key {rec.keyid} was already revoked at seq {rec.revoked}")
            if LEDGER_ROLE in rec.roles:
                raise Refused("the ledger key cannot be revoked; start a new ledger instead")

    def _leaf(self, draft: Draft, envelope: bytes, seq: int, now: str) -> bytes:
        """canonical_json of {v, seq, time, kind, service, promotion, blobs, envelope}, with the
        (already canonical) envelope bytes spliced in rather than parsed and written again."""
        return b"".join((
            b'{"blobs":', canonical_json(list(draft.blobs)),
            b',"envelope":', envelope,
            b',"kind":', canonical_json(draft.kind),
            b',"promotion":', canonical_json(draft.promotion),
            b',"seq":', str(seq).encode(),
            b',"service":', canonical_json(draft.service),
            b',"time":', canonical_json(now),
            b',"v":1}',
        ))

    def _check_draft(self, draft: Draft) -> None:
        if BINDING in draft.predicate:
            raise Refused(f"a predicate may not carry {BINDING!r}: the ledger writes the signed binding itself")
        if draft.kind not in _KINDS_SEEN:
            if not draft.kind or not all(c.isalnum() or c in "._-" for c in draft.kind):
                raise Refused(f"entry kind {draft.kind!r} must be letters, digits, '.', '_' or '-'")
            _KINDS_SEEN.add(draft.kind)
        for d in draft.blobs:
            if blobstore.info(self.conn, d) is None:
                raise Refused(f"entry refers to blob {d}, which is not stored; store it first")

    def append(self, draft: Draft, signers: list[Signer]) -> Receipt:
        """Append one signed entry inside this transaction."""
        return self.append_batch([draft], signers)[0]

    def append_batch(self, drafts: list[Draft], signers: list[Signer]) -> list[Receipt]:
        """Append entries in order inside this transaction."""
        ledger = self.ledger
        origin, row_signer = ledger.origin, ledger.signer
        rows, nodes, receipts = [], [], []
        for draft in drafts:
            seq = self.size
            self._check_draft(draft)
            self._authorise(draft, signers, seq)
            now = self._now()
            envelope = sign_envelope(draft.statement(origin, now), signers)
            leaf = self._leaf(draft, envelope, seq, now)
            lh = leaf_hash(leaf)
            chain = chain_hash(self.prev_chain, lh)
            sig = row_signer.sign(row_message(origin, seq, chain))
            rows.append((seq, now, draft.kind, draft.service, draft.promotion, leaf, lh, chain, sig))
            nodes += self.frontier.push(lh)
            self.prev_chain = chain
            self.size += 1
            receipts.append(Receipt(seq, lh, chain, now))
            if draft.kind in TRUST_KINDS:
                self._flush(rows, nodes)
                rows, nodes = [], []
        self._flush(rows, nodes)
        if ledger.on_append is not None:
            for draft, receipt in zip(drafts, receipts):
                ledger.on_append(self, draft, receipt, signers)
        every = ledger.checkpoint_every
        if every and receipts and (receipts[0].seq // every) != (self.size // every):
            self.checkpoint(())
        return receipts

    def _now(self) -> str:
        """The writer clock, refused when it runs behind the ledger's last entry by more than the allowed skew."""
        now = self.ledger.clock()
        if self.last_time is not None and parse_time(now) < parse_time(self.last_time) - CLOCK_SKEW:
            raise Refused(f"this machine's clock ({now}) is behind the ledger's last entry ({self.last_time}) by more than "
                          f"{int(CLOCK_SKEW.total_seconds())} s; set the clock right before writing")
        if self.last_time is None or parse_time(now) > parse_time(self.last_time):
            self.last_time = now
        return now

    def _flush(self, rows: list[tuple], nodes: list[tuple[int, int, bytes]]) -> None:
        self.conn.executemany(f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.conn.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)

    def put_blob(self, data: bytes, media_type: str) -> str:
        """Store evidence bytes in this transaction."""
        return blobstore.put(self.conn, data, media_type)

    def project(self, name: str, key: str, value: dict, seq: int | None = None) -> None:
        """Set a projected value, stamped with the seq that produced it."""
        self.conn.execute(
            "INSERT INTO projections (name, key, value, seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value, seq = excluded.seq",
            (name, key, canonical_json(value).decode(), self.size - 1 if seq is None else seq),
        )

    def projection(self, name: str, key: str) -> dict | None:
        """Read a projected value inside the transaction (for precondition checks)."""
        return self.ledger.projection(name, key)

    def projection_items(self, name: str) -> dict[str, dict]:
        """Read every projected value under a name inside the transaction."""
        return self.ledger.projection_items(name)

    def checkpoint(self, cosigners: Iterable[Signer]) -> bytes:
        """Sign and store a checkpoint of the current tree, or return the one already stored."""
        row = self.conn.execute("SELECT note FROM checkpoints WHERE size = ?", (self.size,)).fetchone()
        if row:
            return row[0]
        body = Checkpoint(self.ledger.origin, self.size, self.frontier.root()).body()
        note = sign_note(body, [self.ledger.signer, *cosigners])
        self.conn.execute(
            "INSERT INTO checkpoints (size, note, created) VALUES (?, ?, ?)", (self.size, note, self.ledger.clock())
        )
        return note
