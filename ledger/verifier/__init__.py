"""gooseterm's standalone verifier: everything needed to check a ledger or an audit bundle.

It needs only the Python standard library and PyNaCl, and nothing in it trusts gooseterm's
database: it recomputes every hash, every signature and every proof from the stored bytes. Its
modules import each other relatively, so the folder works wherever it is copied; an audit bundle
carries it as one generated file, verifier.py (gooseterm.exports.standalone).

One concept per module, leaves first:

- hashing: RFC 6962 leaf and node hashes, gooseterm's chain link and row message
- ed25519: strict Ed25519 signature checks (libsodium)
- merkle: Merkle roots, inclusion and consistency proofs (RFC 9162 2.1)
- note, checkpoint: C2SP signed notes and keys; tlog checkpoints
- dsse: DSSE envelopes and PAE
- report: fault classes, Fault and Report
- kinds: the entry kinds and key roles the checks know
- trust: which keys were valid when; statement signatures
- binding: the signed binding of each statement to its place in the ledger
- decisions: the promotion replay (requests, approvals, quorums, overrides)
- rows: the checks on a run of entries that both walks share
- ledger_walk: verify_ledger, a SQLite ledger file
- bundle_files, bundle_format, bundle_walk: reading an audit bundle, its layout, verify_bundle
- analysis: a bundle's analysis.db, derived from the entries and checked against them
- cli: the command line (`python -m gooseterm.ledger.verifier`)
"""

from __future__ import annotations

from .hashing import (
    CHAIN_PREFIX, EMPTY_ROOT, GENESIS_CHAIN, HASH_SIZE, LEAF_PREFIX, NODE_PREFIX, ROW_CONTEXT, chain_hash,
    leaf_hash, node_hash, row_message,
)
from .ed25519 import ed25519_verify
from .merkle import (
    ProofError, root_from_inclusion_proof, root_from_leaf_hashes, roots_at_sizes, verify_consistency,
    verify_inclusion,
)
from .note import (
    ALG_ED25519, Note, NoteError, NoteSignature, NoteVerifier, SIG_PREFIX, key_id, open_note, parse_vkey,
    split_key, split_note, valid_key_name, read_note_file,
)
from .checkpoint import Checkpoint, MAX_UINT64, parse_checkpoint, parse_decimal
from .dsse import (
    Envelope, EnvelopeError, INTOTO_PAYLOAD_TYPE, STATEMENT_TYPE, b64decode_any, pae, parse_envelope,
    verify_envelope,
)
from .report import FAULT_CLASSES, Fault, Report
from .kinds import (
    ADMIN, APPROVAL_KIND, APPROVER_ROLE, DECIDER_ROLES, DECIDING_KINDS, GATE_RESULT_KIND, GENESIS_KIND, KEY_ADDED_KIND,
    KEY_REVOKED_KIND, OVERRIDE_KIND, REJECTION_KIND, REQUEST_KIND, TRUST_KINDS,
)
from .trust import TrustedKey, signature_faults, trust_timeline
from .binding import (
    BINDING, CLOCK_SKEW, PREDICATE_BASE, binding_faults, canonical_json, make_binding, parse_time, predicate_type,
)
from .decisions import (
    Approval, Decision, QuorumStatus, check_decisions, decision_of, key_name, policy_digest, promotion_id,
    quorum_status, read_decision,
)
from .rows import RowChecks, check_across_rows, check_rows, classify_misplaced, merge_row_checks
from .ledger_walk import CHUNK_ROWS, LEDGER_FORMAT, open_readonly, verify_ledger
from .bundle_files import BundleFiles, BundleUnreadable
from .bundle_format import (
    BUNDLE_FORMAT, CHECKPOINT_NOTE, CITED, CITED_ROWS, CONSISTENCY, ENTRIES, MANIFEST, MANIFEST_NOTE, ROWS,
    cited_seqs, entry_cites, manifest_note_body,
)
from .analysis import (
    ANALYSIS_DB, TABLES, Table, analysis_faults, analysis_rows, expected_rows,
)
from .bundle_walk import BUNDLE_CHUNK, verify_bundle
from .cli import main

__all__ = [
    "CHAIN_PREFIX", "EMPTY_ROOT", "GENESIS_CHAIN", "HASH_SIZE", "LEAF_PREFIX", "NODE_PREFIX", "ROW_CONTEXT",
    "chain_hash", "leaf_hash", "node_hash", "row_message", "ed25519_verify", "ProofError",
    "root_from_inclusion_proof", "root_from_leaf_hashes", "roots_at_sizes", "verify_consistency",
    "verify_inclusion", "ALG_ED25519", "Note", "NoteError", "NoteSignature", "NoteVerifier", "SIG_PREFIX",
    "key_id", "open_note", "parse_vkey", "split_key", "split_note", "valid_key_name", "read_note_file", "Checkpoint", "MAX_UINT64",
    "parse_checkpoint", "parse_decimal", "Envelope", "EnvelopeError", "INTOTO_PAYLOAD_TYPE", "STATEMENT_TYPE",
    "b64decode_any", "pae", "parse_envelope", "verify_envelope", "FAULT_CLASSES", "Fault", "Report", "ADMIN",
    "APPROVAL_KIND", "APPROVER_ROLE", "DECIDER_ROLES", "DECIDING_KINDS", "GATE_RESULT_KIND", "GENESIS_KIND",
    "KEY_ADDED_KIND", "KEY_REVOKED_KIND", "OVERRIDE_KIND", "REJECTION_KIND", "REQUEST_KIND", "TRUST_KINDS",
    "TrustedKey", "signature_faults", "trust_timeline", "BINDING", "CLOCK_SKEW", "PREDICATE_BASE",
    "binding_faults", "canonical_json", "make_binding", "parse_time", "predicate_type", "Approval", "Decision",
    "QuorumStatus", "check_decisions", "decision_of", "key_name", "policy_digest", "promotion_id", "quorum_status",
    "read_decision", "RowChecks", "check_across_rows", "check_rows", "classify_misplaced", "merge_row_checks",
    "CHUNK_ROWS", "LEDGER_FORMAT", "open_readonly", "verify_ledger", "BundleFiles", "BundleUnreadable",
    "BUNDLE_FORMAT", "CHECKPOINT_NOTE", "CITED", "CITED_ROWS", "CONSISTENCY", "ENTRIES", "MANIFEST",
    "MANIFEST_NOTE", "ROWS", "cited_seqs", "entry_cites", "manifest_note_body", "ANALYSIS_DB", "TABLES", "Table",
    "analysis_faults", "analysis_rows", "expected_rows", "BUNDLE_CHUNK", "verify_bundle", "main",
]
