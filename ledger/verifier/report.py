"""What a verification finds: every fault class of DESIGN.md, each with its own code and the first bad seq."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from .hashing import EMPTY_ROOT

FAULT_CLASSES = {
    "file_damaged": "the SQLite file is damaged",
    "foreign_file": "the file is not a gooseterm ledger",
    "genesis_invalid": "entry 0 is not a valid genesis for this ledger",
    "row_deleted": "an entry is missing (gap in the sequence)",
    "row_inserted": "an entry was inserted into the sequence",
    "row_reordered": "entries are out of order",
    "tail_truncated": "entries after the last one were cut off (a trusted checkpoint is larger)",
    "leaf_modified": "an entry's bytes differ from its leaf hash or its row columns",
    "chain_broken": "an entry's chain hash does not follow from the previous entry",
    "row_signature_bad": "the ledger key's signature over (origin, seq, chain) is invalid",
    "statement_signature_bad": "a statement signature by a trusted key is invalid",
    "unknown_key": "a statement is signed by no key the ledger ever trusted",
    "key_outside_validity": "a statement is signed by a key before it was added or after it was revoked",
    "signer_not_authorised": "an entry is not signed by a key with the role it needs, or names a signer other than its key",
    "index_mismatch": "an entry's index fields (kind, service, promotion, blobs, time) differ from what its actor signed",
    "statement_replayed": "a signed statement appears a second time",
    "time_regressed": "an entry's time goes backwards by more than the allowed clock skew",
    "request_mismatch": "an entry answers a request other than the one its promotion was requested by",
    "promotion_ended": "a promotion is completed after it ended, or by its approvals after it was blocked",
    "approval_quorum_not_met": "a decision cites fewer valid, distinct approvals than it requires",
    "checkpoint_signature_bad": "a checkpoint's signature by the ledger key is invalid or missing",
    "checkpoint_root_mismatch": "a stored checkpoint's root differs from the tree at its size",
    "checkpoint_inconsistent": "the ledger is inconsistent with a trusted checkpoint (fork or rollback)",
    "tree_mismatch": "the stored Merkle tree nodes differ from the tree of the entries",
    "blob_digest_mismatch": "a blob's bytes do not hash to its digest",
    "blob_missing": "an entry refers to a blob that is neither stored nor archived",
    "projection_mismatch": "derived state differs from the state replayed from the entries",
    "manifest_signature_bad": "a bundle's manifest is not signed by the ledger key, or was edited",
    "bundle_file_mismatch": "a bundle file's bytes differ from the hash its manifest lists",
    "analysis_mismatch": "a row of a bundle's analysis.db differs from what the signed entries give",
}


# Where two faults share a seq, the cause is listed before its consequences.
_FAULT_ORDER = {code: i for i, code in enumerate(FAULT_CLASSES)}


_WHOLE_FILE_FIRST = ("file_damaged", "foreign_file", "manifest_signature_bad")


@dataclass(frozen=True)
class Fault:
    """One finding: its class, the seq it concerns (None for the file as a whole) and details."""

    code: str
    seq: int | None
    detail: str

    def to_json(self) -> dict:
        """JSON form."""
        return {"code": self.code, "seq": self.seq, "detail": self.detail}


@dataclass
class Report:
    """The outcome of a verification: size, root and every fault found."""

    source: str
    size: int = 0
    root: bytes = EMPTY_ROOT
    faults: list[Fault] = field(default_factory=list)
    checkpoints_checked: int = 0
    blobs_checked: int = 0
    blobs_archived: int = 0
    trusted_checkpoint: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.faults

    def sorted_faults(self) -> list[Fault]:
        """Faults by seq, causes before consequences: a damaged or foreign file first, then faults
        at a seq, then those of the whole (blobs, checkpoints, a bundle's file hashes)."""

        def key(f: Fault) -> tuple[int, int, int]:
            band = 0 if f.code in _WHOLE_FILE_FIRST else (1 if f.seq is not None else 2)
            return band, f.seq or 0, _FAULT_ORDER.get(f.code, 99)

        return sorted(self.faults, key=key)

    @property
    def first(self) -> Fault | None:
        """The first fault: the earliest seq, and at that seq the likeliest cause."""
        faults = self.sorted_faults()
        return faults[0] if faults else None

    def by_class(self) -> dict[str, dict]:
        """Per fault class: the first bad seq, how many, and the first detail."""
        out: dict[str, dict] = {}
        for f in self.sorted_faults():
            c = out.setdefault(f.code, {"first_seq": f.seq, "count": 0, "detail": f.detail})
            c["count"] += 1
        return out

    def to_json(self) -> dict:
        """JSON form, for `verify --json`."""
        first = self.first
        return {
            "source": self.source,
            "valid": self.ok,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "checkpoints_checked": self.checkpoints_checked,
            "trusted_checkpoint_size": self.trusted_checkpoint,
            "blobs_checked": self.blobs_checked,
            "blobs_archived": self.blobs_archived,
            "first_fault": first.to_json() if first else None,
            "faults_by_class": self.by_class(),
            "faults": [f.to_json() for f in self.sorted_faults()[:1000]],
        }
