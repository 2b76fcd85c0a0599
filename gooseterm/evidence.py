"""Evidence intake: parse a file, store its bytes as a blob, append its typed statement.

The latest evidence of each kind per service lives in the `evidence` projection (kept by the
projector), so gates read it without scanning history; every gate result names the digests it read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gooseterm.adapters.evidence import EVIDENCE_KINDS, EvidenceFacts
from gooseterm.ledger.store import Draft, Txn

from .kinds import EntryKind
from .projections import EVIDENCE, evidence_key

MEDIA_TYPES = {
    "junit": "application/xml",
    "sarif": "application/sarif+json",
    "coverage": "application/octet-stream",
    "metrics": "application/json",
    "spec": "application/yaml",
    "kubernetes": "application/json",
    "mesh": "application/json",
    "environment_approvals": "application/json",
}


@dataclass(frozen=True)
class EvidenceRecord:
    """The latest evidence of one kind for a service, as the projection holds it."""

    service: str
    kind: str
    digest: str
    seq: int
    time: str
    source: str
    collector: str
    facts: dict

    @classmethod
    def from_projection(cls, value: dict) -> "EvidenceRecord":
        """Rebuild from the projection's JSON."""
        return cls(**value)


def record_evidence(
    txn: Txn, signer, service: str, kind: str, data: bytes, facts: EvidenceFacts, source: str, collector: str = "cli"
) -> EvidenceRecord:
    """Store and append one piece of evidence, with the facts already parsed from `data`, inside a
    write transaction.

    `collector` says how it arrived ("cli" by hand, or an adapter such as "files", "github"),
    which the success metrics use to measure how much evidence collection is automated.
    """
    digest = txn.put_blob(data, MEDIA_TYPES.get(kind, "application/octet-stream"))
    predicate = {"kind": kind, "digest": digest, "size": len(data), "source": source, "collector": collector,
                 "facts": facts.model_dump(mode="json")}
    txn.append(Draft(EntryKind.evidence(kind), predicate, service=service, blobs=(digest,)), [signer])
    return EvidenceRecord.from_projection(txn.projection(EVIDENCE, evidence_key(service, kind)))


def latest_evidence(read, service: str) -> dict[str, EvidenceRecord]:
    """The latest evidence per kind for a service; `read` is a Ledger or a Txn."""
    out = {}
    for kind in EVIDENCE_KINDS:
        value = read.projection(EVIDENCE, evidence_key(service, kind))
        if value is not None:
            out[kind] = EvidenceRecord.from_projection(value)
    return out


def evidence_digest(records: dict[str, EvidenceRecord]) -> str:
    """One digest over the latest evidence of every kind: what an approval is bound to."""
    lines = "".join(f"{kind}={records[kind].digest}\n" for kind in sorted(records))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
