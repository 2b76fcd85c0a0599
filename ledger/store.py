"""The ledger: an append-only log of signed, hash-chained, Merkle-checkpointed entries.

Actors sign statements (DSSE envelopes holding in-toto Statements); the ledger key signs
positions (origin, seq, chain). Every write runs in one storage write transaction (storage/) that
also updates the Merkle tree and the projector's projections, so a reader never sees an entry
without its tree nodes or a projection without its entry.

Projections are wired explicitly: a ledger opened for domain writes is given the domain's
projector (`projector=` of `open` and `create`), which runs inside every append's transaction.
There is no hook to set afterwards, and the Orchestrator refuses a writable ledger opened without
it, so domain entries cannot be appended with their projections left stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import blobs as blobstore
from .errors import ForeignFile, LedgerBusy, LedgerDamaged, LedgerError, LedgerNotFound, Refused
from .signing import Signer, canonical_json, make_statement, sign_envelope, sign_note
from .storage.interface import Reader, Storage, WriteTxn
from .storage.sqlite import SQLiteStorage
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
# The errors live in errors.py because the storage drivers raise them too (LedgerBusy,
# LedgerNotFound); callers import every ledger error from here.


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


class Ledger:
    """An open ledger file. Reads need no key; appends need the ledger signer."""

    def __init__(self, path: Path, storage: Storage, signer: Signer | None, clock: Callable[[], str],
                 projector: Projector | None = None):
        self.path = path
        self._storage = storage
        self.signer = signer
        self.clock = clock
        self._projector = projector
        self._keys: tuple[tuple, dict[str, TrustedKey]] | None = None
        meta = storage.meta()
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
        cls, path: Path | str, signer: Signer | None = None, readonly: bool = False, clock: Callable[[], str] = utc_now,
        projector: Projector | None = None,
    ) -> "Ledger":
        """Open an existing ledger file; refuses a missing, foreign or damaged file with a clear error.

        `projector` runs inside every append's transaction (see the module docstring)."""
        path = Path(path)
        storage = SQLiteStorage.open(path, readonly)
        try:
            fmt = storage.meta().get("format")
            if fmt != LEDGER_FORMAT:
                raise ForeignFile(f"{path} has format {fmt if fmt is not None else 'none'!r}, want {LEDGER_FORMAT!r}"
                                  " (a format-1 ledger's statements sign no binding: start a new ledger)")
            return cls(path, storage, signer, clock, projector)
        except BaseException:
            storage.close()
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
        projector: Projector | None = None,
    ) -> "Ledger":
        """Create a ledger whose genesis pins origin, the ledger key and the first admin keys.

        `admins` is (vkey, roles) pairs. Refuses to overwrite an existing file. Returns it open
        for appends, with `projector` as in `open`.
        """
        path = Path(path)
        if path.exists():
            raise Refused(f"{path} already exists; gooseterm never overwrites a ledger")
        if not origin or "\n" in origin:
            raise Refused("the ledger origin must be one non-empty line")
        keys = [{"vkey": signer.vkey, "roles": [LEDGER_ROLE]}]
        for vkey, roles in admins:
            parse_vkey(vkey)
            keys.append({"vkey": vkey, "roles": sorted(set(roles) | {ADMIN_ROLE})})
        meta = {"format": LEDGER_FORMAT, "origin": origin, "ledger_key": signer.vkey,
                "checkpoint_every": str(checkpoint_every)}
        with SQLiteStorage.creating(path, meta) as storage:
            ledger = cls(storage.path, storage, signer, clock, projector)
            genesis = Draft(GENESIS, {"origin": origin, "ledger_key": signer.vkey, "keys": keys})
            ledger.append(genesis, [signer, *genesis_signers])
            ledger.checkpoint()
        return cls.open(path, signer=signer, clock=clock, projector=projector)

    @property
    def projector(self) -> Projector | None:
        """What runs inside every append's transaction (the domain's projections), fixed at open."""
        return self._projector

    @property
    def storage(self) -> Reader:
        """The storage's read side, for readers by range or key (exports); writes go through `transaction`."""
        return self._storage

    def close(self) -> None:
        """Close the storage."""
        self._storage.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator["Txn"]:
        """One write transaction (the storage's writer lock, waited for with jittered retries);
        commits on success, rolls back on any error or interrupt."""
        if self.signer is None:
            raise Refused("this ledger was opened without its signing key; appends need the ledger key")
        write = self._storage.begin()
        try:
            yield Txn(self, write)
            write.commit()
        except BaseException:
            write.rollback()
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
        return self._storage.size()

    def entry(self, seq: int) -> Entry:
        """The entry at seq; KeyError if there is none."""
        row = self._storage.entry(seq)
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
        rows = self._storage.entries(after=after, service=service, kind=kind, promotion=promotion, limit=limit,
                                     newest_first=newest_first)
        return [Entry(*r) for r in rows]

    def scan(self, batch: int = 5000) -> Iterator[Entry]:
        """Every entry in seq order, read `batch` at a time (memory stays bounded on a large ledger)."""
        after = -1
        while True:
            rows = self._storage.entries(after=after, limit=batch)
            if not rows:
                return
            yield from (Entry(*r) for r in rows)
            after = rows[-1][0]

    def root(self, size: int | None = None) -> bytes:
        """Merkle root of the first `size` entries (default: all)."""
        return TreeReader(self._storage).root(self.size() if size is None else size)

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of entry seq in the tree of `size` (default: all)."""
        return TreeReader(self._storage).inclusion_proof(seq, self.size() if size is None else size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from size1 to size2 (default: all)."""
        return TreeReader(self._storage).consistency_proof(size1, self.size() if size2 is None else size2)

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Stored (size, note) pairs, oldest first."""
        return self._storage.checkpoints()

    def latest_checkpoint(self) -> bytes | None:
        """The newest stored checkpoint note."""
        return self._storage.latest_checkpoint()

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        """Store evidence bytes (deduplicated) and return their digest."""
        with self.transaction() as txn:
            return txn.put_blob(data, media_type)

    def blob(self, digest: str) -> bytes:
        """A blob's raw bytes; KeyError if unknown, LookupError if archived."""
        return self._storage.blob(digest)

    def blob_info(self, digest: str) -> blobstore.BlobInfo | None:
        """A blob's metadata."""
        return self._storage.blob_info(digest)

    def projection(self, name: str, key: str) -> dict | None:
        """One projected value, or None."""
        return self._storage.projection(name, key)

    def projection_items(self, name: str) -> dict[str, dict]:
        """Every projected value under a name, by key."""
        return self._storage.projection_items(name)

    def keys(self) -> dict[str, TrustedKey]:
        """Every key the ledger has trusted, with roles and validity, by keyid.

        Replayed from the signed genesis and key events themselves (a handful of entries), as the
        verifier replays them: never read from a table that an edit of the file could make lie.
        A key event whose admin signature does not verify is refused here, and named by `verify`.
        """
        return self._trusted(self._storage)

    def _trusted(self, reader: Reader) -> dict[str, TrustedKey]:
        """keys() as `reader` sees the ledger (inside a write transaction: with its own appends)."""
        marker = tuple(reader.kinds_mark(TRUST_KINDS))
        if self._keys is None or self._keys[0] != marker:
            rows = [(r[0], r[2], r[5]) for r in reader.entries(kinds=TRUST_KINDS)]
            report = Report(source=str(self.path))
            keys = trust_timeline(rows, self.origin, self.ledger_key, report)
            if report.faults:
                first = report.first
                raise LedgerDamaged(f"{self.path}: the key events do not verify (seq {first.seq}: {first.detail}); "
                                    "run `gooseterm verify` and restore from a backup")
            self._keys = (marker, keys)
        return self._keys[1]


Projector = Callable[["Txn", Draft, Receipt, list[Signer]], None]
"""Called inside the write transaction for every appended entry, in seq order (projections)."""
_KINDS_SEEN: set[str] = set()  # kinds already checked for their characters


class Txn:
    """The inside of one write transaction: append, store blobs, update projections."""

    def __init__(self, ledger: Ledger, write: WriteTxn):
        self.ledger = ledger
        self.write = write
        head = write.head()
        self.size = head.size
        self.prev_chain = head.chain or GENESIS_CHAIN
        self.last_time: str | None = head.time
        self.frontier = Frontier.load(write, self.size)

    @property
    def reader(self) -> Reader:
        """Reads inside this transaction (they see its own writes)."""
        return self.write

    def keys(self) -> dict[str, TrustedKey]:
        """The trust table as of this transaction."""
        return self.ledger._trusted(self.write)

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
            if self.write.blob_info(d) is None:
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
        if ledger.projector is not None:
            for draft, receipt in zip(drafts, receipts):
                ledger.projector(self, draft, receipt, signers)
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
        self.write.append(rows, nodes)

    def put_blob(self, data: bytes, media_type: str) -> str:
        """Store evidence bytes in this transaction."""
        return self.write.put_blob(data, media_type)

    def archive_blobs(self, digests: Iterable[str], when: str) -> None:
        """Drop the bytes of these blobs (kept in an archive), recording when; digests and sizes stay."""
        self.write.archive_blobs(digests, when)

    def restore_blob(self, digest: str, data: bytes) -> None:
        """Put an archived blob's bytes back; the caller checked they hash to its digest."""
        self.write.restore_blob(digest, data)

    def project(self, name: str, key: str, value: dict, seq: int | None = None) -> None:
        """Set a projected value, stamped with the seq that produced it."""
        self.write.put_projection(name, key, value, self.size - 1 if seq is None else seq)

    def projection(self, name: str, key: str) -> dict | None:
        """Read a projected value inside the transaction (for precondition checks)."""
        return self.write.projection(name, key)

    def projection_items(self, name: str) -> dict[str, dict]:
        """Read every projected value under a name inside the transaction."""
        return self.write.projection_items(name)

    def checkpoint(self, cosigners: Iterable[Signer]) -> bytes:
        """Sign and store a checkpoint of the current tree, or return the one already stored."""
        stored = self.write.checkpoint(self.size)
        if stored is not None:
            return stored
        body = Checkpoint(self.ledger.origin, self.size, self.frontier.root()).body()
        note = sign_note(body, [self.ledger.signer, *cosigners])
        self.write.put_checkpoint(self.size, note, self.ledger.clock())
        return note
