"""What an audit bundle holds: its file names, the manifest note the ledger key signs, and which
earlier entries an entry cites (so a bundle carrying it carries them too)."""

from __future__ import annotations

import hashlib
import json

from .binding import BINDING
from .dsse import parse_envelope

BUNDLE_FORMAT = "gooseterm-bundle/1"
MANIFEST, MANIFEST_NOTE, CHECKPOINT_NOTE = "manifest.json", "manifest.note", "checkpoint.note"
ENTRIES, ROWS, CONSISTENCY = "entries.jsonl", "rows.jsonl", "consistency.json"
CITED, CITED_ROWS = "cited.jsonl", "cited-rows.jsonl"  # a partial bundle's entries from outside its period that others cite


def _dig(obj: object, *path: str) -> object:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def cited_seqs(kind: str, record: dict, statement: dict) -> set[int]:
    """The earlier entries an entry cites, by seq: what checking it reads, so a bundle that carries
    the entry must carry them too (in its period, or in cited.jsonl with inclusion proofs).

    The one place that knows how entries cite each other, all of it signed:
    - an entry answering a promotion request names it in its binding (`predicate.binding.request.seq`);
    - a decision cites the approvals of its quorum (`predicate.quorum.approvals`), and a break-glass
      promotion the override entry (`predicate.override.seq`).
    Only earlier seqs count: an entry cannot cite itself or what was written after it.
    """
    seq = record.get("seq")
    if type(seq) is not int:
        return set()
    predicate = _dig(statement, "predicate")
    found = [_dig(predicate, "override", "seq"), _dig(predicate, BINDING, "request", "seq")]
    approvals = _dig(predicate, "quorum", "approvals")
    if isinstance(approvals, list):
        found += approvals
    return {s for s in found if type(s) is int and 0 <= s < seq}


def entry_cites(record: dict) -> set[int]:
    """`cited_seqs` of a decoded leaf; a leaf whose statement cannot be read cites nothing (the row
    checks report it)."""
    try:
        statement = json.loads(parse_envelope(record["envelope"]).payload)
    except (ValueError, KeyError, TypeError):
        return set()
    return cited_seqs(record.get("kind"), record, statement)


def manifest_note_body(origin: str, manifest: bytes, fmt: str = BUNDLE_FORMAT) -> bytes:
    """The text the ledger key signs to vouch for a bundle's (or a blob archive's) manifest."""
    return f"{fmt}\n{origin}\nsha256:{hashlib.sha256(manifest).hexdigest()}\n".encode()
