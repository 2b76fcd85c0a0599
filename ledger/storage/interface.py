"""The storage seam: everything the ledger keeps, behind one interface, whatever engine holds it.

The ledger (store.py) signs, chains and hashes; a driver only keeps bytes and finds them again by
key or range. `Storage` is the read side plus `begin()`; `WriteTxn` is one write transaction, which
also reads (and sees its own writes). SQLite (sqlite.py) is the first driver, the way Tessera keeps
its drivers under storage/. No code outside the drivers runs SQL; the one exception is the
standalone verifier (verifier.py), which reads an SQLite ledger file itself because it is copied
into audit bundles and may import nothing but the standard library and PyNaCl.

How a PostgreSQL driver (with blobs in S3-compatible storage) satisfies each part:

- `begin()`: take a pooled connection, `BEGIN ISOLATION LEVEL READ COMMITTED`, then serialise
  writers across hosts with `pg_advisory_xact_lock(<ledger id>)` (or `SELECT ... FOR UPDATE` on a
  one-row head table); the lock is released by COMMIT or ROLLBACK. Lock waits are bounded by
  `lock_timeout` and retried with jitter like SQLite's busy retries, ending in LedgerBusy.
- `WriteTxn.head()`: read inside the locked transaction (the head row, or the last entry), so the
  next seq, previous chain and last time cannot change under the writer.
- `append()`: a multi-row INSERT (or COPY) into entries and tree_nodes; the seq primary key and
  append-only triggers (or REVOKE UPDATE, DELETE) keep the same guarantees.
- `put_checkpoint()`, `put_projection()` (INSERT ... ON CONFLICT DO UPDATE), `archive_blobs()` and
  `restore_blob()`: plain statements in the same transaction, committed or rolled back with it.
- Blobs in S3: `put_blob()` uploads the object under its digest before the row that names it is
  committed (content addressing makes a retried or orphaned upload harmless; the metadata row is
  written in the transaction); `blob_chunks()` streams a ranged GET; archival deletes the object
  after the metadata row says so is committed.
- `commit()` / `rollback()`: COMMIT or ROLLBACK on that connection, which releases the advisory
  lock and returns the connection to the pool; `rollback()` after a lost connection is a no-op
  (the server has already rolled back).
- Reads (`entry`, `entries`, `entry_range`, `kinds_mark`, `first_seq_since`, `last_seq_before`,
  checkpoints, `projection*`, `meta`): the same statements over the same indexes (seq primary
  key; kind, service and promotion with seq); `entry_range` streams with a server-side cursor;
  `blobs_cited` reads the leaf's "blobs" list with `jsonb_array_elements_text` over the leaf
  bytes. Outside a transaction any pooled connection serves: entries, tree nodes and
  checkpoints are append-only, so a read bounded by a size read first never sees half an append.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol

from ..blobs import BlobInfo

Row = tuple[int, str, str, "str | None", "str | None", bytes, bytes, bytes, bytes]
"""One stored entry: (seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig)."""

Node = tuple[int, int, bytes]
"""One stored Merkle node: (level, idx, hash)."""


class Head(NamedTuple):
    """The end of the log as a writer sees it: how many entries, the last chain and writer time."""

    size: int
    chain: bytes | None
    time: str | None


class Reader(Protocol):
    """Reads by key or range. Entries, tree nodes and checkpoints are append-only, so what a read
    returns stays true; projections and blob bytes are the only values that may change."""

    def meta(self) -> dict[str, str]:
        """The ledger's fixed metadata (format, origin, ledger_key, checkpoint_every)."""

    def size(self) -> int:
        """The number of entries (seqs are 0..size-1, gapless)."""

    def entry(self, seq: int) -> Row | None:
        """The entry at seq, or None."""

    def entries(self, *, after: int = -1, service: str | None = None, kind: str | None = None,
                kinds: Sequence[str] | None = None, promotion: str | None = None, limit: int | None = None,
                newest_first: bool = False) -> list[Row]:
        """Entries with seq > after, matching every filter given, in seq order (or newest first),
        at most `limit`. `kind` ending in '.' matches that family (a prefix); `kinds` is a set of
        exact kinds."""

    def entry_range(self, first: int, last: int) -> Iterator[Row]:
        """Entries first..last inclusive, in seq order, streamed (memory stays bounded)."""

    def kinds_mark(self, kinds: Sequence[str]) -> tuple[int, int | None]:
        """(count, largest seq) of the entries of these kinds: it changes whenever one is appended."""

    def first_seq_since(self, time: str, size: int) -> int | None:
        """The smallest seq below `size` whose writer time is at or after `time`, or None."""

    def last_seq_before(self, time: str, size: int) -> int | None:
        """The largest seq below `size` whose writer time is before `time`, or None."""

    def tree_node(self, level: int, idx: int) -> bytes | None:
        """The stored hash of the perfect subtree (level, idx), or None."""

    def checkpoint(self, size: int) -> bytes | None:
        """The stored checkpoint note for `size`, or None."""

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every stored (size, note), oldest first."""

    def latest_checkpoint(self) -> bytes | None:
        """The note of the largest stored checkpoint, or None."""

    def blob_info(self, digest: str) -> BlobInfo | None:
        """A blob's metadata without its bytes, or None."""

    def blob_chunks(self, digest: str) -> Iterator[bytes]:
        """A blob's raw bytes as an iterator of chunks (bounded memory for large evidence).

        Raises KeyError for an unknown blob and LookupError for an archived one when called,
        before the first chunk; ValueError while reading bytes that do not decompress."""

    def blob(self, digest: str) -> bytes:
        """A blob's raw bytes at once; the errors of blob_chunks."""

    def blobs_held(self) -> set[str]:
        """Digests of the blobs whose bytes are stored (not archived)."""

    def blobs_archived(self) -> dict[str, int]:
        """Archived blobs: digest -> size."""

    def blobs_cited(self, *, before: str | None = None, since: str | None = None) -> set[str]:
        """Digests cited by the leaves of entries written before `before` or at/after `since`."""

    def projection(self, name: str, key: str) -> dict | None:
        """One projected value, or None."""

    def projection_items(self, name: str) -> dict[str, dict]:
        """Every projected value under a name, by key."""


class WriteTxn(Reader, Protocol):
    """One write transaction, holding the ledger's single writer lock from `Storage.begin()` to
    `commit()` or `rollback()`. Its reads see its own writes; nothing is visible to others before
    commit, and everything is durable (survives a crash) once commit returns."""

    def head(self) -> Head:
        """The end of the log, read under the writer lock."""

    def append(self, rows: Sequence[Row], nodes: Iterable[Node]) -> None:
        """Add entries (seqs continuing the head, in order) and the Merkle nodes they complete."""

    def put_blob(self, data: bytes, media_type: str) -> str:
        """Store bytes once under their digest and return it; storing known bytes again is a no-op."""

    def put_blob_stream(self, chunks: Iterable[bytes], media_type: str) -> str:
        """put_blob for bytes given as chunks, without holding them all in memory at once."""

    def put_checkpoint(self, size: int, note: bytes, created: str) -> None:
        """Store the checkpoint note for `size` (one per size, never replaced)."""

    def put_projection(self, name: str, key: str, value: dict, seq: int) -> None:
        """Set a projected value, stamped with the seq that produced it."""

    def archive_blobs(self, digests: Iterable[str], when: str) -> None:
        """Drop the bytes of these blobs, keeping digest, size and media type; `when` is recorded.
        A blob already archived is left as it is."""

    def restore_blob(self, digest: str, data: bytes) -> None:
        """Put an archived blob's bytes back (the caller checked they hash to its digest)."""

    def commit(self) -> None:
        """Make every write durable and visible, and release the writer lock."""

    def rollback(self) -> None:
        """Discard every write and release the writer lock; safe after a failed or interrupted commit."""


class Storage(Reader, Protocol):
    """One ledger's storage: reads at any time, writes through one transaction at a time."""

    def begin(self) -> WriteTxn:
        """Start a write transaction, waiting (with jittered retries) for other writers;
        raises LedgerBusy when the lock stays held for longer than the retries allow."""

    def close(self) -> None:
        """Release the connection(s)."""
