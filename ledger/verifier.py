"""gooseterm's standalone verifier: everything needed to check a ledger or an audit bundle.

This one file needs only the Python standard library and PyNaCl, so an audit bundle carries a
copy of it and an auditor can read it in one sitting. Nothing in it trusts gooseterm's database:
it recomputes every hash, every signature and every proof from the stored bytes.

Sections: hashing (RFC 6962 / RFC 9162), Ed25519 (libsodium's strict rules), Merkle proofs
(RFC 9162 section 2.1), C2SP signed notes and checkpoints, DSSE envelopes, and the ledger walk.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError

HASH_SIZE = 32
LEDGER_FORMAT = "gooseterm-ledger/2"
"""Format 2: every statement signs its binding (format 1 leaves carried none)."""

# ---------------------------------------------------------------------------------------------
# Hashing: RFC 6962 section 2.1 domain separation, plus gooseterm's chain (0x02) and row message.

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
CHAIN_PREFIX = b"\x02"
GENESIS_CHAIN = bytes(HASH_SIZE)
EMPTY_ROOT = hashlib.sha256(b"").digest()
ROW_CONTEXT = b"gooseterm/row/v1\n"


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def chain_hash(prev_chain: bytes, leaf_digest: bytes) -> bytes:
    """Hash chain link: SHA-256(0x02 || previous chain || leaf hash); seq 0 links to 32 zero bytes."""
    return hashlib.sha256(CHAIN_PREFIX + prev_chain + leaf_digest).digest()


def row_message(origin: str, seq: int, chain: bytes) -> bytes:
    """The bytes the ledger key signs for a row: a domain-separated (origin, seq, chain)."""
    return ROW_CONTEXT + origin.encode() + b"\n" + str(seq).encode() + b"\n" + chain


def root_from_leaf_hashes(hashes: list[bytes]) -> bytes:
    """Merkle tree hash MTH over leaf hashes (RFC 6962 section 2.1), iteratively, O(n)."""
    if not hashes:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
    for h in hashes:
        height, node = 0, h
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            node = node_hash(left, node)
            height += 1
        stack.append((height, node))
    _, node = stack.pop()
    while stack:
        _, left = stack.pop()
        node = node_hash(left, node)
    return node


# ---------------------------------------------------------------------------------------------
# Ed25519. libsodium (through PyNaCl) rejects non-canonical S (S >= L, RFC 8032 section 5.1.7),
# small-order public keys and R values, and non-canonical point encodings: the strict policy
# recorded in docs/CRYPTO.md and checked against Wycheproof.


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when signature is a valid strict Ed25519 signature of message by public_key."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Merkle proofs: RFC 9162 sections 2.1.3.2 and 2.1.4.2, with transparency-dev's strict rules
# (every hash exactly 32 bytes; no consistency proof from size 0; proofs of the exact length).


class ProofError(ValueError):
    """A Merkle proof did not verify; the message says which check failed."""


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, want {HASH_SIZE}")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """Check that leaf hash `leaf` is at `index` in the tree of `size` with `root` (RFC 9162 2.1.3.2)."""
    _check_hash("leaf hash", leaf)
    _check_hash("root", root)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    if index < 0 or size <= 0 or index >= size:
        raise ProofError(f"index {index} is beyond tree size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if r != root:
        raise ProofError("calculated root does not match the given root")


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of size1/root1 is a prefix of size2/root2 (RFC 9162 2.1.4.2)."""
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size2 {size2} is smaller than size1 {size1}")
    # Checked before the equal-size case, so 0 -> 0 is refused too (transparency-dev/merkle #236).
    if size1 == 0:
        raise ProofError("no consistency proof from an empty tree (RFC 9162 2.1.4.2)")
    if size1 == size2:  # nothing to prove: the roots must simply be the same bytes
        if proof:
            raise ProofError("equal tree sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal tree sizes with different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("calculated root1 does not match the given root1")
    if sr != root2:
        raise ProofError("calculated root2 does not match the given root2")


# ---------------------------------------------------------------------------------------------
# C2SP signed notes (signed-note.md) and checkpoints (tlog-checkpoint.md).

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # an em dash and a space start every signature line


class NoteError(ValueError):
    """A signed note, a key or a checkpoint is malformed or did not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte signed-note key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name) and name.isprintable()


@dataclass(frozen=True)
class NoteVerifier:
    """A verifier key: name, 4-byte key id and Ed25519 public key."""

    name: str
    id: bytes
    public_key: bytes

    @property
    def vkey(self) -> str:
        """The key in signed-note form: name+hex(keyid)+base64(0x01||pub)."""
        return f"{self.name}+{self.id.hex()}+" + base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()

    @property
    def keyid(self) -> str:
        """The DSSE keyid of this key: name+hex(keyid)."""
        return f"{self.name}+{self.id.hex()}"


def split_key(text: str, kind: str, shape: str) -> tuple[str, bytes, bytes]:
    """Split a signed-note key body name+hex(keyid)+base64(0x01||32 bytes) and check its form.

    Returns (name, 4-byte key id, 32 bytes of key material); the caller checks the id against
    the key, since a verifier key holds the public key and a signer key the seed.
    """
    parts = text.split("+", 2)  # the base64 part may itself contain '+'
    if len(parts) != 3:
        raise NoteError(f"malformed {kind}: want {shape}")
    name, hexid, b64 = parts
    if not _valid_key_name(name):
        raise NoteError(f"malformed {kind} name {name!r}")
    try:
        kid = bytes.fromhex(hexid)
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"malformed {kind} for {name!r}: {exc}") from None
    if len(kid) != 4 or len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError(f"{kind} for {name!r} is not an Ed25519 signed-note key")
    return name, kid, raw[1:]


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse a name+hex(keyid)+base64(0x01||pub) verifier key, checking the id matches."""
    name, kid, pub = split_key(vkey.strip(), "verifier key", "name+keyid+key")
    if key_id(name, pub) != kid:
        raise NoteError(f"verifier key {vkey!r}: key id does not match name and key")
    return NoteVerifier(name, kid, pub)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A signed note split into its text and signature lines."""

    text: bytes
    signatures: tuple[NoteSignature, ...]


def split_note(data: bytes) -> Note:
    """Split a signed note into text and signatures without checking any (C2SP signed-note)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("note is not UTF-8") from None
    sep = data.rfind(b"\n\n")
    if sep < 0:
        raise NoteError("note has no blank line before its signatures")
    text, sigblock = data[: sep + 1], data[sep + 2 :]
    if not sigblock.endswith(b"\n"):
        raise NoteError("note does not end in a newline")
    sigs = []
    for line in sigblock[:-1].decode().split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        fields = line[len(SIG_PREFIX) :].split(" ")
        if len(fields) != 2 or not _valid_key_name(fields[0]):
            raise NoteError(f"malformed signature line {line!r}")
        try:
            raw = base64.b64decode(fields[1], validate=True)
        except binascii.Error:
            raise NoteError(f"signature line {line!r} is not base64") from None
        if len(raw) < 5:
            raise NoteError(f"signature line {line!r} is too short")
        sigs.append(NoteSignature(fields[0], raw[:4], raw[4:]))
    if not sigs:
        raise NoteError("note has no signatures")
    return Note(text, tuple(sigs))


def open_note(data: bytes, verifiers: list[NoteVerifier]) -> tuple[Note, list[NoteVerifier]]:
    """Verify a note: returns the note and the known verifiers whose signatures are valid.

    Signatures by unknown keys are ignored (signed-note.md); a signature by a known key that does
    not verify is an error; at least one known key must have signed.
    """
    note = split_note(data)
    known = {(v.name, v.id): v for v in verifiers}
    good: list[NoteVerifier] = []
    for sig in note.signatures:
        v = known.get((sig.name, sig.id))
        if v is None:
            continue
        if not ed25519_verify(v.public_key, sig.signature, note.text):
            raise NoteError(f"invalid signature by {v.name}+{v.id.hex()}")
        if v not in good:
            good.append(v)
    if not good:
        raise NoteError("note has no signature by a known key")
    return note, good


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        """The checkpoint text that gets signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return ("\n".join(lines) + "\n").encode()


MAX_UINT64 = 2**64 - 1


def parse_decimal(text: str) -> int:
    """A C2SP decimal (checkpoint size, seq): ASCII digits without a leading zero, at most a uint64.

    Python's int() would also take '٣', '1_000', ' 7', '+7' and refuse 4301 digits with a bare
    ValueError; this raises ValueError naming the text, which each caller turns into its own error.
    """
    if not (text.isascii() and text.isdigit()) or (text != "0" and text.startswith("0")):
        raise ValueError(f"{text[:40]!r} is not a decimal number (ASCII digits, no leading zero)")
    if len(text) > len(str(MAX_UINT64)) or int(text) > MAX_UINT64:
        raise ValueError(f"{text[:40]!r} is larger than a 64-bit unsigned integer")
    return int(text)


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse a checkpoint body (the note text) per C2SP tlog-checkpoint."""
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise NoteError("checkpoint is not UTF-8") from None
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("checkpoint needs origin, size and root lines, each ending in a newline")
    origin, size_s, root_s, *ext = lines[:-1]
    if not origin:
        raise NoteError("checkpoint origin is empty")
    try:
        size = parse_decimal(size_s)
    except ValueError as exc:
        raise NoteError(f"checkpoint size {exc}") from None
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error:
        raise NoteError("checkpoint root is not base64") from None
    if len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root is {len(root)} bytes, want {HASH_SIZE}")
    if any(not e for e in ext):
        raise NoteError("checkpoint has an empty extension line")
    return Checkpoint(origin, size, root, tuple(ext))


# ---------------------------------------------------------------------------------------------
# DSSE envelopes (secure-systems-lab/dsse protocol.md) holding in-toto Statements v1.

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


class EnvelopeError(ValueError):
    """A DSSE envelope is malformed or its signatures do not meet the threshold."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def b64decode_any(value: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not (DSSE accepts both)."""
    if not isinstance(value, str):
        raise EnvelopeError("base64 field is not a string")
    s = value.strip()
    s += "=" * (-len(s) % 4)
    try:
        if "-" in s or "_" in s:
            return base64.b64decode(s, altchars=b"-_", validate=True)
        return base64.b64decode(s, validate=True)
    except binascii.Error:
        raise EnvelopeError("field is not valid base64") from None


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: payload type, payload bytes and (keyid, signature) pairs."""

    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]


def parse_envelope(data: bytes | dict) -> Envelope:
    """Parse DSSE JSON (bytes or an already-decoded dict) into an Envelope."""
    if isinstance(data, (bytes, bytearray)):
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"envelope is not JSON: {exc}") from None
    else:
        obj = data
    if not isinstance(obj, dict):
        raise EnvelopeError("envelope is not a JSON object")
    ptype, payload, sigs = obj.get("payloadType"), obj.get("payload"), obj.get("signatures")
    if not isinstance(ptype, str) or not isinstance(payload, str) or not isinstance(sigs, list):
        raise EnvelopeError("envelope needs payloadType, payload and signatures")
    pairs = []
    for i, s in enumerate(sigs):
        if not isinstance(s, dict) or not isinstance(s.get("sig"), str):
            raise EnvelopeError(f"signatures[{i}] has no sig")
        pairs.append((s.get("keyid") if isinstance(s.get("keyid"), str) else "", b64decode_any(s["sig"])))
    return Envelope(ptype, b64decode_any(payload), tuple(pairs))


def verify_envelope(
    env: Envelope, keys: dict[str, bytes], threshold: int = 1, payload_types: tuple[str, ...] = (INTOTO_PAYLOAD_TYPE,)
) -> list[str]:
    """Return the distinct trusted keyids with a valid signature; raise if fewer than threshold.

    The keyid is an unauthenticated hint that only narrows the keys to try (DSSE protocol.md):
    a signature naming a keyid not in `keys` is skipped, one without a keyid is tried against
    every trusted key not yet counted; each trusted key counts once however often it signed.
    """
    if env.payload_type not in payload_types:
        raise EnvelopeError(f"unsupported payloadType {env.payload_type!r}")
    message = pae(env.payload_type, env.payload)
    good: list[str] = []
    for keyid, sig in env.signatures:
        candidates = [keyid] if keyid else list(keys)
        for kid in candidates:
            pub = keys.get(kid)
            if pub is not None and kid not in good and ed25519_verify(pub, sig, message):
                good.append(kid)
                break
    if len(good) < threshold:
        raise EnvelopeError(f"{len(good)} valid signature(s) from trusted keys, need {threshold}")
    return good


# ---------------------------------------------------------------------------------------------
# The ledger walk: every fault class of DESIGN.md, each with its own code and the first bad seq.

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
}
# Where two faults share a seq, the cause is listed before its consequences.
_FAULT_ORDER = {code: i for i, code in enumerate(FAULT_CLASSES)}
_WHOLE_FILE_FIRST = ("file_damaged", "foreign_file", "manifest_signature_bad")

GENESIS_KIND, KEY_ADDED_KIND, KEY_REVOKED_KIND = "ledger.genesis", "ledger.key_added", "ledger.key_revoked"
APPROVAL_KIND = "approval.granted"
REQUEST_KIND = "promotion.requested"
REJECTION_KIND = "approval.rejected"
ADMIN = "admin"
CHUNK_ROWS = 20_000


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


@dataclass(frozen=True)
class TrustedKey:
    """A key with its roles and the seqs bounding its validity: [added, revoked)."""

    vkey: str
    public_key: bytes
    roles: tuple[str, ...]
    added: int
    revoked: int | None

    @property
    def keyid(self) -> str:
        """The DSSE keyid: name+hex(id)."""
        return "+".join(self.vkey.split("+", 2)[:2])  # name+hex(id); the base64 key after them may hold '+' too

    def valid_at(self, seq: int) -> bool:
        """True when the key may sign the entry at seq."""
        return self.added <= seq and (self.revoked is None or seq < self.revoked)


# ---------------------------------------------------------------------------------------------
# Bindings and decisions. Every statement's predicate carries a signed `binding`: the ledger's
# origin, the entry's kind, service, promotion and blobs, the time its actor made it and, for an
# entry that answers a promotion request, that request's seq and leaf hash. The leaf's own fields
# are an index checked against the binding, so whoever rewrites leaves (an insider holds the ledger
# key) can neither move a decision to another promotion nor count it twice.

PREDICATE_BASE = "https://gooseterm.dev/predicates/"
BINDING = "binding"
CLOCK_SKEW = timedelta(minutes=5)
"""How far an entry's time may differ from its actor's signed time, or fall behind earlier entries."""
APPROVER_ROLE = "approver"
DECIDER_ROLES = (APPROVER_ROLE, "admin")
"""Key roles that may approve or reject a promotion."""
OVERRIDE_KIND = "promotion.overridden"
DECIDING_KINDS = ("promotion.approved", "promotion.promoted")
"""Kinds that complete a promotion: each must meet its request's approval policy, or follow an override."""
ENDING_KINDS = ("promotion.promoted", "promotion.rejected", "promotion.expired", "promotion.failed")
"""Kinds after which nothing completes the promotion again."""
BLOCKED_KIND = "promotion.blocked"
"""After it, only an override completes the promotion: new evidence or a demoted dependency voided the approvals."""


def canonical_json(obj: object, *, ascii_only: bool = True) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, no NaN; UTF-8 when not ascii_only."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=ascii_only, allow_nan=False).encode()


def predicate_type(kind: str) -> str:
    """gooseterm's versioned predicate type for an entry kind."""
    return f"{PREDICATE_BASE}{kind}/v1"


def make_binding(origin: str, kind: str, service: str | None, promotion: str | None, blobs: tuple[str, ...] | list[str],
                 time: str, request: tuple[int, bytes] | None) -> dict:
    """The binding an actor signs: where the statement belongs and when it was made."""
    return {"origin": origin, "kind": kind, "service": service, "promotion": promotion, "blobs": list(blobs),
            "time": time, "request": None if request is None else {"seq": request[0], "leaf_hash": request[1].hex()}}


def parse_time(value: str) -> datetime:
    """An RFC 3339 UTC time as the ledger writes it (`2026-03-02T09:00:01.000000Z`); ValueError otherwise."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ValueError(f"time {value!r} is not RFC 3339 UTC")
    return datetime.fromisoformat(value[:-1] + "+00:00")


def key_name(keyid: str) -> str:
    """The signed-note name of a keyid (name+hex(id)): the person or system the key belongs to."""
    return keyid.rpartition("+")[0]


def policy_digest(policy: dict | None) -> str | None:
    """The digest an approver signs of the approval policy a request recorded."""
    return None if policy is None else "sha256:" + hashlib.sha256(canonical_json(policy)).hexdigest()


def promotion_id(service: str, seq: int) -> str:
    """A promotion is named by its service and the seq of its request."""
    return f"{service}-{seq}"


@dataclass(frozen=True)
class Approval:
    """An approval as quorums count it: who, of which evidence and policy, and when they signed."""

    seq: int
    person: str
    time: datetime
    evidence_digest: str | None
    policy_digest: str | None


@dataclass(frozen=True)
class QuorumStatus:
    """Whether a request's approval policy is met: the approvals counted and the groups still missing."""

    met: bool
    counted: tuple[Approval, ...]
    missing_groups: tuple[str, ...]
    required: int


def _json_count(value: object, name: str) -> int:
    """A count recorded in a signed policy: a JSON integer, never a string, a float or a boolean."""
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} is {value!r}, not a whole number")
    return value


def quorum_status(policy: dict, request_time: datetime, evidence_digest: str | None, approvals, now: datetime) -> QuorumStatus:
    """Count approvals under a request's recorded policy, as the application and both verifiers do.

    An approval counts once per person, only from a person the policy lists as eligible (with the
    groups it lists for them), only for the request's evidence and policy, only if given before the
    request expired and while it is itself unexpired at `now`.
    """
    ttl = timedelta(seconds=_json_count(policy["expires_after_seconds"], "expires_after_seconds"))
    eligible: dict = policy.get("approvers") or {}
    digest = policy_digest(policy)
    counted: list[Approval] = []
    seen: set[str] = set()
    for a in approvals:
        if a.person in seen or a.person not in eligible:
            continue
        if a.evidence_digest != evidence_digest or a.policy_digest != digest:
            continue
        if a.time >= request_time + ttl or a.time + ttl <= now:
            continue
        seen.add(a.person)
        counted.append(a)
    covered = {g for a in counted for g in eligible[a.person]}
    missing = tuple(g for g in policy["groups_required"] if g not in covered)
    required = _json_count(policy["required"], "required")
    return QuorumStatus(len(counted) >= required and not missing, tuple(counted), missing, required)


_DECISION_FIELDS = ("policy", "evidence_digest", "requested_by", "person", "decision", "policy_digest", "quorum", "override")


@dataclass(frozen=True)
class Decision:
    """What the decision checks read of an entry that requests or answers a promotion."""

    seq: int
    kind: str
    service: str | None
    promotion: str
    leaf_hash: bytes
    time: datetime
    request: dict | None
    signers: frozenset[str]
    fields: dict


def binding_faults(seq: int, origin: str, record: dict, statement: object) -> tuple[list[Fault], datetime | None]:
    """Check a leaf's index fields against the binding its actor signed; return faults and the signed time."""
    predicate = statement.get("predicate") if isinstance(statement, dict) else None
    binding = predicate.get(BINDING) if isinstance(predicate, dict) else None
    if not isinstance(binding, dict):
        return [Fault("index_mismatch", seq, "the statement carries no signed binding")], None
    index = {"origin": origin, "kind": record.get("kind"), "service": record.get("service"),
             "promotion": record.get("promotion"), "blobs": record.get("blobs")}
    differ = [k for k, v in index.items() if binding.get(k) != v]
    faults = [Fault("index_mismatch", seq, f"{', '.join(differ)} differ from the signed binding")] if differ else []
    try:
        signed, written = parse_time(binding.get("time")), parse_time(record.get("time"))
    except (ValueError, TypeError):
        return faults + [Fault("index_mismatch", seq, "the entry's time or its signed time is not RFC 3339 UTC")], None
    if abs(written - signed) > CLOCK_SKEW:
        faults.append(Fault("index_mismatch", seq, f"written at {record.get('time')}, signed at {binding.get('time')}: "
                                                   f"more than {int(CLOCK_SKEW.total_seconds())} s apart"))
    return faults, signed


def _decision_of(seq: int, record: dict, predicate: dict, leaf_hash_: bytes, signed: datetime, good: frozenset[str]) -> Decision:
    return Decision(seq, record["kind"], record.get("service"), record["promotion"], leaf_hash_, signed,
                    predicate[BINDING].get("request"), good, {k: predicate[k] for k in _DECISION_FIELDS if k in predicate})


def read_decision(seq: int, leaf: bytes, leaf_hash_: bytes, origin: str, keys: dict, report: Report) -> Decision | None:
    """One stored entry as the decision checks read it, its signatures checked against `keys`; faults go
    to `report` and an entry that is unreadable, unbound or about no promotion gives None."""
    try:
        record = json.loads(leaf)
        env = parse_envelope(record["envelope"])
        statement = json.loads(env.payload)
    except (ValueError, KeyError, TypeError) as exc:
        report.faults.append(Fault("leaf_modified", seq, f"entry is not a readable gooseterm leaf ({exc})"))
        return None
    faults, good = _signature_faults(seq, env, keys)
    bound, signed = binding_faults(seq, origin, record, statement)
    report.faults += faults + bound
    if bound or signed is None or not record.get("promotion"):
        return None
    return _decision_of(seq, record, statement["predicate"], leaf_hash_, signed, good)


def check_decisions(decisions: list[Decision], keys: dict, report: Report) -> None:
    """Replay the promotions: each answer is bound to its promotion's request; approvals, rejections and
    overrides are signed by keys with the role they need, in the name they give; and what completes a
    promotion meets the approval policy its request recorded, or follows an override. A bundle of a
    period carries the requests and approvals its entries cite (`cited_seqs`), so the same checks hold.
    """
    requests: dict[str, Decision] = {}
    approvals: dict[int, tuple[str, Approval]] = {}
    overrides: dict[str, int] = {}
    ended: dict[str, str] = {}  # promotion -> the ending or blocking kind it last reached
    for d in sorted(decisions, key=lambda d: d.seq):
        names = {key_name(k) for k in d.signers}
        if d.kind == REQUEST_KIND:
            if d.promotion != promotion_id(d.service or "", d.seq):
                report.faults.append(Fault("request_mismatch", d.seq, f"a request at seq {d.seq} names promotion {d.promotion}"))
            elif d.fields.get("requested_by") not in names:
                report.faults.append(Fault("signer_not_authorised", d.seq, f"requested by {d.fields.get('requested_by')!r}, signed by {', '.join(sorted(names)) or 'nobody'}"))
            else:
                requests[d.promotion] = d
            continue
        request = requests.get(d.promotion)
        if request is None:
            report.faults.append(Fault("request_mismatch", d.seq, f"answers promotion {d.promotion}, which has no valid request"))
            continue
        if d.request != {"seq": request.seq, "leaf_hash": request.leaf_hash.hex()}:
            report.faults.append(Fault("request_mismatch", d.seq, f"signed as an answer to another request than promotion {d.promotion}'s (seq {request.seq})"))
            continue
        person = d.fields.get("person")
        if d.kind in (APPROVAL_KIND, REJECTION_KIND, OVERRIDE_KIND):
            roles = ("admin",) if d.kind == OVERRIDE_KIND else DECIDER_ROLES
            deciders = {key_name(k) for k in d.signers if keys.get(k) is not None and set(keys[k].roles) & set(roles)}
            if person not in deciders:
                report.faults.append(Fault("signer_not_authorised", d.seq, f"{d.kind} in the name of {person!r} is not signed by "
                                                                         f"their key with role {' or '.join(roles)}"))
                continue
            if d.kind == APPROVAL_KIND:
                approvals[d.seq] = (d.promotion, Approval(d.seq, person, d.time, d.fields.get("evidence_digest"), d.fields.get("policy_digest")))
            elif d.kind == OVERRIDE_KIND:
                overrides.setdefault(d.promotion, d.seq)
            continue
        closed = ended.get(d.promotion)
        if d.kind in ENDING_KINDS or d.kind == BLOCKED_KIND:
            ended[d.promotion] = d.kind
        if d.kind not in DECIDING_KINDS:
            continue
        policy = request.fields.get("policy")
        quorum = d.fields.get("quorum")
        override = d.fields.get("override")
        overridden = isinstance(override, dict) and overrides.get(d.promotion) == override.get("seq")
        if closed in ENDING_KINDS or (closed == BLOCKED_KIND and not overridden):
            report.faults.append(Fault("promotion_ended", d.seq, f"{d.kind} of promotion {d.promotion}, which was {closed.removeprefix('promotion.')}"
                                                                 + (" (only an override completes it now)" if closed == BLOCKED_KIND else "")))
        if overridden:
            continue
        if policy is None and quorum is None:
            continue
        cited = quorum.get("approvals") if isinstance(quorum, dict) else None
        if not isinstance(policy, dict) or not isinstance(cited, list):
            report.faults.append(Fault("approval_quorum_not_met", d.seq, f"promotion {d.promotion} is completed with no quorum and no override"))
            continue
        mine = [approvals[s][1] for s in cited if isinstance(s, int) and s < d.seq and approvals.get(s, ("",))[0] == d.promotion]
        try:
            status = quorum_status(policy, request.time, request.fields.get("evidence_digest"), mine, d.time)
        except (KeyError, TypeError, ValueError) as exc:
            report.faults.append(Fault("approval_quorum_not_met", d.seq, f"promotion {d.promotion}'s recorded policy is unreadable ({exc})"))
            continue
        if not status.met or quorum.get("evidence_digest") != request.fields.get("evidence_digest"):
            why = f"{len(status.counted)} valid distinct approvals for promotion {d.promotion}, {status.required} required"
            if status.missing_groups:
                why += f"; none from {', '.join(status.missing_groups)}"
            report.faults.append(Fault("approval_quorum_not_met", d.seq, why))


@dataclass
class _ChunkResult:
    faults: list[Fault] = field(default_factory=list)
    misplaced: list[tuple[int, int]] = field(default_factory=list)  # (position, seq the leaf claims)
    blob_refs: set[str] = field(default_factory=set)
    decisions: list[Decision] = field(default_factory=list)
    statements: dict[int, int] = field(default_factory=dict)  # first 8 bytes of the payload's SHA-256 -> seq
    replayed: list[tuple[int, int]] = field(default_factory=list)  # (seq, seq of the first copy)
    times: list[tuple[int, datetime, datetime]] = field(default_factory=list)  # per run: (seq of its minimum, minimum, maximum)
    rows: int = 0


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection. A reader of a WAL database creates its -shm file beside it; in a
    folder it may not write to, with no -wal there (so no writer is mid-way), the file is opened
    as immutable instead, so a read-only copy or mount reads as what it is."""
    import os
    import pathlib

    file = pathlib.Path(path).resolve()
    uri = f"{file.as_uri()}?mode=ro"
    if not os.access(file.parent, os.W_OK) and not pathlib.Path(f"{file}-wal").exists():
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _signature_faults(seq: int, env: Envelope, keys: dict[str, TrustedKey]) -> tuple[list[Fault], frozenset[str]]:
    """Check every statement signature against the keys valid at seq; return faults and good signers."""
    faults, good = [], set()
    message = pae(env.payload_type, env.payload)
    known = False
    for keyid, sig in env.signatures:
        key = keys.get(keyid)
        if key is None:
            continue
        known = True
        if not key.valid_at(seq):
            when = f"added at seq {key.added}" + (f", revoked at seq {key.revoked}" if key.revoked is not None else "")
            faults.append(Fault("key_outside_validity", seq, f"signed by {keyid} ({when})"))
        elif not ed25519_verify(key.public_key, sig, message):
            faults.append(Fault("statement_signature_bad", seq, f"signature by {keyid} does not verify"))
        else:
            good.add(keyid)
    if not known:
        names = ", ".join(k or "(no keyid)" for k, _ in env.signatures) or "nobody"
        faults.append(Fault("unknown_key", seq, f"signed by {names}, never trusted by this ledger"))
    return faults, frozenset(good)


def _check_rows(rows, prev_chain: bytes | None, origin: str, ledger_pub: bytes, keys: dict[str, TrustedKey],
                records: list | None = None) -> _ChunkResult:
    """Check a run of consecutive rows: leaf, columns, chain, row signature, statement signatures, the
    signed binding and time; collect what the whole-ledger checks need (decisions, statement ids).

    `records`: the leaves already decoded by the caller, row by row (a bundle's worker decodes each
    once); None decodes them here.
    """
    out = _ChunkResult()
    low: tuple[int, datetime] | None = None
    high: datetime | None = None
    for i, (seq, time, kind, service, promotion, leaf, stored_leaf_hash, chain, row_sig) in enumerate(rows):
        out.rows += 1
        if leaf_hash(leaf) != stored_leaf_hash:
            out.faults.append(Fault("leaf_modified", seq, "entry bytes do not hash to the stored leaf hash"))
        if prev_chain is not None and chain_hash(prev_chain, stored_leaf_hash) != chain:
            out.faults.append(Fault("chain_broken", seq, "chain hash does not follow from the previous entry"))
        prev_chain = chain
        if not ed25519_verify(ledger_pub, row_sig, row_message(origin, seq, chain)):
            out.faults.append(Fault("row_signature_bad", seq, "ledger key signature over (origin, seq, chain) is invalid"))
        try:
            record = records[i] if records is not None and records[i] is not None else json.loads(leaf)
            env = parse_envelope(record["envelope"])
            claimed = record["seq"]
            columns = (record["time"], record["kind"], record["service"], record["promotion"])
            statement = json.loads(env.payload)
        except (ValueError, KeyError, TypeError) as exc:
            out.faults.append(Fault("leaf_modified", seq, f"entry is not a readable gooseterm leaf ({exc})"))
            continue
        if type(claimed) is not int:
            out.faults.append(Fault("leaf_modified", seq, f"the leaf's seq {claimed!r} is not a whole number"))
            continue
        if claimed != seq:
            out.misplaced.append((seq, claimed))
        if columns != (time, kind, service, promotion):
            out.faults.append(Fault("leaf_modified", seq, "row columns (time, kind, service, promotion) differ from the signed leaf"))
        faults, good = _signature_faults(seq, env, keys)
        out.faults += faults
        out.blob_refs.update(b for b in record.get("blobs") or () if isinstance(b, str))
        statement_id = int.from_bytes(hashlib.sha256(env.payload).digest()[:8], "big")
        first = out.statements.setdefault(statement_id, seq)
        if first != seq:
            out.replayed.append((seq, first))
        faults, signed = binding_faults(seq, origin, record, statement)
        out.faults += faults
        try:
            written = parse_time(time)
        except (ValueError, TypeError):
            continue  # binding_faults named it
        if high is not None and written < high - CLOCK_SKEW:
            out.faults.append(Fault("time_regressed", seq, _regressed(written, high)))
        high = written if high is None else max(high, written)
        if low is None or written < low[1]:
            low = (seq, written)
        if signed is not None and not faults and promotion:
            out.decisions.append(_decision_of(seq, record, statement["predicate"], stored_leaf_hash, signed, good))
    if low is not None and high is not None:
        out.times.append((low[0], low[1], high))
    return out


_ROW_COLUMNS = "seq, time, kind, service, promotion, leaf, leaf_hash, chain, row_sig"
_worker_ctx: dict = {}


def _worker_init(path: str, origin: str, ledger_pub: bytes, keys: dict[str, TrustedKey]) -> None:
    _worker_ctx.update(path=path, origin=origin, ledger_pub=ledger_pub, keys=keys)


def _verify_chunk(bounds: tuple[int, int]) -> _ChunkResult:
    start, stop = bounds
    ctx = _worker_ctx
    conn = open_readonly(ctx["path"])
    try:
        prev = conn.execute("SELECT chain FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT 1", (start,)).fetchone()
        prev_chain = prev[0] if prev else (GENESIS_CHAIN if start == 0 else None)
        rows = conn.execute(f"SELECT {_ROW_COLUMNS} FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq", (start, stop))
        return _check_rows(rows, prev_chain, ctx["origin"], ctx["ledger_pub"], ctx["keys"])
    finally:
        conn.close()


TRUST_KINDS = (GENESIS_KIND, KEY_ADDED_KIND, KEY_REVOKED_KIND)


def trust_timeline(rows, origin: str, ledger_key: NoteVerifier, report: Report) -> dict[str, TrustedKey]:
    """Replay genesis and key events, (seq, kind, leaf) in seq order, into each key's validity window.

    Reports a missing or wrong genesis and key events not signed by a valid admin key.
    """
    keys: dict[str, TrustedKey] = {}
    rows = list(rows)
    if not rows or rows[0][0] != 0 or rows[0][1] != GENESIS_KIND:
        report.faults.append(Fault("genesis_invalid", 0, "entry 0 is missing or is not a genesis"))
    for seq, kind, leaf in rows:
        try:
            env = parse_envelope(json.loads(leaf)["envelope"])
            predicate = json.loads(env.payload)["predicate"]
        except (ValueError, KeyError, TypeError):
            continue  # the row walk reports the unreadable leaf
        if kind == GENESIS_KIND:
            if seq != 0 or predicate.get("origin") != origin or predicate.get("ledger_key") != ledger_key.vkey:
                report.faults.append(Fault("genesis_invalid", seq, "genesis does not name this ledger's origin and key"))
                continue
            try:
                for k in predicate["keys"]:
                    v = parse_vkey(k["vkey"])
                    keys[v.keyid] = TrustedKey(v.vkey, v.public_key, tuple(k.get("roles", ())), 0, None)
            except (NoteError, KeyError, TypeError) as exc:
                report.faults.append(Fault("genesis_invalid", seq, f"genesis key list is malformed ({exc})"))
            continue
        admins = {k: v for k, v in keys.items() if ADMIN in v.roles and v.revoked is None}
        faults, good = _signature_faults(seq, env, admins)
        if not good:
            report.faults.append(Fault("signer_not_authorised", seq, f"{kind} is not signed by a valid admin key"))
            continue
        try:
            if kind == KEY_ADDED_KIND:
                v = parse_vkey(predicate["vkey"])
                if v.keyid not in keys:
                    keys[v.keyid] = TrustedKey(v.vkey, v.public_key, tuple(predicate.get("roles", ())), seq, None)
            else:
                old = keys.get(predicate["keyid"])
                if old is not None and old.revoked is None:
                    keys[predicate["keyid"]] = TrustedKey(old.vkey, old.public_key, old.roles, old.added, seq)
        except (NoteError, KeyError, TypeError):
            report.faults.append(Fault("signer_not_authorised", seq, f"{kind} names no valid key"))
    return keys


def _classify_misplaced(misplaced: list[tuple[int, int]], report: Report) -> None:
    """Turn leaves whose signed seq differs from their position into deleted/inserted/reordered.

    Only a change of offset (signed seq minus position) starts a finding, so one deletion
    followed by renumbering is one `row_deleted`, not a fault on every later row.
    """
    offsets = dict(misplaced)
    claimers: dict[int, list[int]] = {}
    for pos, claimed in misplaced:
        claimers.setdefault(claimed, []).append(pos)
    claimed_anywhere = sorted(claimers)
    reordered: list[tuple[int, int]] = []  # [low, high) runs of seqs that a reordering skipped over
    for pos, claimed in sorted(misplaced):
        expected = pos + (offsets[pos - 1] - (pos - 1) if pos - 1 in offsets else 0)
        if claimed == expected:
            continue
        detail = f"position {pos} holds the entry signed as seq {claimed}"
        if claimed > expected:
            i = bisect.bisect_left(claimed_anywhere, expected)
            if i < len(claimed_anywhere) and claimed_anywhere[i] < claimed:  # a skipped seq is held elsewhere
                reordered.append((expected, claimed))
                report.faults.append(Fault("row_reordered", pos, detail))
            else:
                report.faults.append(Fault("row_deleted", expected, detail + f"; seq {expected}..{claimed - 1} missing"))
        elif any(low <= claimed < high for low, high in reordered):
            continue
        elif len(claimers[claimed]) > 1 or claimed < pos:
            report.faults.append(Fault("row_inserted", claimed, detail + "; an entry was inserted before it"))


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
    return _roots_of(conn.execute("SELECT leaf_hash FROM entries ORDER BY seq"), sizes)


def _roots_of(leaf_hashes, sizes: set[int]) -> dict[int, bytes]:
    """Merkle roots at the given sizes of a stream of (leaf hash,) tuples, in one pass (RFC 6962 2.1)."""
    roots: dict[int, bytes] = {}
    stack: list[tuple[int, bytes]] = []
    n = 0
    wanted = max(sizes, default=0)
    for (h,) in leaf_hashes:
        if n >= wanted:
            break
        height, node = 0, h
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
        n += 1
        if n in sizes:
            acc = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                acc = node_hash(left, acc)
            roots[n] = acc
    return roots


def _check_blobs(conn: sqlite3.Connection, refs: set[str], report: Report) -> None:
    import zlib

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


def _regressed(written: datetime, latest: datetime) -> str:
    return f"written at {written:%Y-%m-%dT%H:%M:%S.%fZ}, after an entry written at {latest:%Y-%m-%dT%H:%M:%S.%fZ}"


def _check_across_rows(merged: _ChunkResult, keys: dict[str, TrustedKey], report: Report) -> None:
    """What no single run of rows can judge: replayed statements, time across runs, and the decisions."""
    for seq, first in sorted(set(merged.replayed)):
        report.faults.append(Fault("statement_replayed", seq, f"the statement signed at seq {first} appears again"))
    high: datetime | None = None
    for seq, low, top in sorted(merged.times, key=lambda t: t[0]):
        if high is not None and low < high - CLOCK_SKEW:
            report.faults.append(Fault("time_regressed", seq, _regressed(low, high)))
        high = top if high is None else max(high, top)
    check_decisions(merged.decisions, keys, report)


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
    import multiprocessing
    import pathlib

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
    merged = _ChunkResult()
    if jobs > 1 and len(chunks) > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, initializer=_worker_init, initargs=args) as pool:
            results = pool.imap_unordered(_verify_chunk, chunks)
            for r in results:
                _merge(merged, r)
                done += r.rows
                if progress:
                    progress(done, report.size)
    else:
        _worker_init(*args)
        for c in chunks:
            r = _verify_chunk(c)
            _merge(merged, r)
            done += r.rows
            if progress:
                progress(done, report.size)
    report.faults += merged.faults
    _classify_misplaced(merged.misplaced, report)
    _check_across_rows(merged, keys, report)

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


def _merge(into: _ChunkResult, r: _ChunkResult) -> None:
    into.faults += r.faults
    into.misplaced += r.misplaced
    into.blob_refs |= r.blob_refs
    into.decisions += r.decisions
    for statement_id, seq in r.statements.items():
        first = into.statements.setdefault(statement_id, seq)
        if first != seq:
            into.replayed.append((max(first, seq), min(first, seq)))
    into.replayed += r.replayed
    into.times += r.times
    into.rows += r.rows


# ---------------------------------------------------------------------------------------------
# Audit bundles: the same checks on an export, read from a folder or a zip without extracting it.

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


class BundleUnreadable(Exception):
    """A bundle or archive that cannot be read at all: a damaged zip, a zip bomb, or a folder nested
    past reason. Verification could not run (exit 2); nothing about the ledger is claimed."""


class BundleFiles:
    """Read-only access to a bundle folder or zip; names outside the bundle are never opened.

    Nothing is extracted. A zip member that is a symbolic link, or whose name appears twice (an
    extracting tool might keep the other copy), is not read and is named in `problems`; so is a
    symbolic link in a folder, which is never followed.

    A zip is untrusted input, so it is measured before any member is inflated: more than
    ZIP_MAX_MEMBERS members, a compression other than stored or deflate, or members declaring more
    than ZIP_MAX_RATIO times the zip's own size (ZIP_RATIO_FLOOR at least) raise BundleUnreadable;
    so does a member that is damaged or inflates past its declared size. Memory and time are thus
    bounded by the zip's size on disk, whatever its headers claim.
    """

    ZIP_MAX_MEMBERS = 1_000_000
    ZIP_MAX_RATIO = 100  # a bundle's JSON and evidence deflate 3-50 fold; bombs reach 1000 fold and more
    ZIP_RATIO_FLOOR = 64 << 20

    def __init__(self, path: str):
        import pathlib
        import stat
        import zipfile

        self.path = pathlib.Path(path)
        self.zip = None
        self.problems: list[str] = []
        unreadable: set[str] = set()
        if self.path.is_file():
            self.zip = self._open_zip(zipfile)
            names: list[str] = []
            seen: set[str] = set()
            for info in self.zip.infolist():
                name = info.filename
                if name.endswith("/"):
                    continue
                if name in seen:
                    self.problems.append(f"{name} appears more than once in the zip")
                    unreadable.add(name)
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    self.problems.append(f"{name} is a symbolic link, not a file")
                    unreadable.add(name)
                names.append(name)
                seen.add(name)
            self._names = names
        else:
            root = self.path.resolve()
            names = []
            try:
                for p in sorted(root.rglob("*")):
                    if p.is_symlink():
                        self.problems.append(f"{p.relative_to(root)} is a symbolic link, not a file")
                    elif p.is_file():
                        names.append(str(p.relative_to(root)))
            except RecursionError:
                raise BundleUnreadable(f"{self.path}: its folders nest too deeply to read") from None
            self._names = names
        self._readable = set(self._names) - unreadable

    def _open_zip(self, zipfile):
        """The zip, after its central directory was measured against the limits."""
        try:
            archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise BundleUnreadable(f"{self.path}: not a readable zip ({exc})") from None
        infos = archive.infolist()
        stored = max(self.path.stat().st_size, 1)
        declared = sum(info.file_size for info in infos)
        odd = next((i for i in infos if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)), None)
        problem = None
        if len(infos) > self.ZIP_MAX_MEMBERS:
            problem = f"holds {len(infos)} members, more than {self.ZIP_MAX_MEMBERS}"
        elif odd is not None:
            problem = f"{odd.filename} uses compression method {odd.compress_type}; a bundle uses stored or deflate only"
        elif declared > max(self.ZIP_RATIO_FLOOR, self.ZIP_MAX_RATIO * stored):
            problem = (f"its members declare {declared} bytes from {stored} bytes of zip, "
                       f"more than {self.ZIP_MAX_RATIO} fold: a zip bomb")
        if problem is not None:
            archive.close()
            raise BundleUnreadable(f"{self.path}: {problem}; it was not unpacked")
        return archive

    def names(self) -> list[str]:
        """Every file in the bundle, as relative names."""
        return list(self._names)

    def read(self, name: str) -> bytes | None:
        """A file's bytes, or None when it is absent, a link, or its name would leave the bundle."""
        import zipfile
        import zlib

        if name.startswith(("/", "\\")) or ".." in name.split("/") or name not in self._readable:
            return None
        if self.zip is None:
            return (self.path / name).read_bytes()
        try:
            return self.zip.read(name)  # stops at the declared size, then checks the CRC
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
            raise BundleUnreadable(f"{self.path}: member {name} is damaged ({exc})") from None

    @staticmethod
    def is_zip(path: str) -> bool:
        """True when `path` is, or claims to be, a zip (its name, its first bytes or its end):
        a damaged zip is then reported as such, not as a foreign ledger file."""
        import pathlib
        import zipfile

        p = pathlib.Path(path)
        if not p.is_file():
            return False
        with open(p, "rb") as fh:
            head = fh.read(4)
        return p.suffix.lower() == ".zip" or head == b"PK\x03\x04" or zipfile.is_zipfile(p)


BUNDLE_CHUNK = 1 << 12  # lines per task; a power of two, so a full chunk of a complete bundle is one Merkle node
_bundle: dict = {}  # the bundle's lines and what the checks need, set before the workers fork


@dataclass
class _BundleChunk(_ChunkResult):
    """A chunk's checks plus what only the whole bundle can judge: seqs in line order, trust entries
    seen, blobs cited within the selection, and the chunk's Merkle subtree (or its leaf hashes)."""

    seqs: list[int] = field(default_factory=list)
    trust: list[tuple[int, int, str]] = field(default_factory=list)  # (line, seq, kind)
    refs: set[str] = field(default_factory=set)
    cites: dict[int, int] = field(default_factory=dict)  # cited seq -> the first seq citing it (partial bundles)
    edges: dict[int, str] = field(default_factory=dict)  # writer time of the entries just outside the period
    subtree: bytes | None = None
    hashes: list[bytes] = field(default_factory=list)


def _parse_row_line(meta: bytes) -> tuple[int, bytes, bytes, bytes, list[bytes]] | None:
    """A rows.jsonl line: (seq, leaf hash, chain, row signature, inclusion proof), or None."""
    try:
        m = json.loads(meta)
        seq = m["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_UINT64:
            return None
        return (seq, *(base64.b64decode(m[k]) for k in ("leaf_hash", "chain", "row_sig")),
                [base64.b64decode(p) for p in m.get("proof", [])])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _verify_bundle_chunk(bounds: tuple[int, int]) -> _BundleChunk:
    """Check lines [start, stop) of the loaded bundle: each line is parsed here, once, in the worker;
    the chain restarts at every gap in seq (a partial export has several runs)."""
    start, stop = bounds
    b = _bundle
    leaves, metas, cp = b["leaves"], b["metas"], b["checkpoint"]
    first, last, service = b["range"]
    out = _BundleChunk()
    rows: list[tuple] = []
    records: list[object] = []
    for n in range(start, stop):
        meta = _parse_row_line(metas[n])
        if meta is None:
            out.faults.append(Fault("leaf_modified", None, f"{ROWS} line {n + 1} is not a row record"))
            continue
        seq, lh, chain, sig, proof = meta
        leaf = leaves[n]
        try:
            record = json.loads(leaf)
            cols = (record.get("time"), record.get("kind"), record.get("service"), record.get("promotion"))
        except (ValueError, AttributeError):
            record, cols = None, (None, None, None, None)
        out.seqs.append(seq)
        if seq in (first - 1, last + 1) and isinstance(cols[0], str):
            out.edges[seq] = cols[0]
        if cols[1] in TRUST_KINDS:
            out.trust.append((n, seq, cols[1]))
        if isinstance(record, dict) and first <= seq <= last and (service is None or cols[2] == service):
            refs = record.get("blobs") or ()
            out.refs.update(r for r in refs if isinstance(r, str))
        if not b["complete"]:
            try:
                verify_inclusion(seq, cp.size, lh, proof, cp.root)
            except ProofError as exc:
                out.faults.append(Fault("leaf_modified", seq, f"entry is not in the checkpoint's tree ({exc})"))
            if isinstance(record, dict):
                for cited in entry_cites(record):
                    out.cites[cited] = min(out.cites.get(cited, seq), seq)
        rows.append((seq, *cols, leaf, lh, chain, sig))
        records.append(record)
    before = _parse_row_line(metas[start - 1]) if start else None

    def flush(lo: int, hi: int, before_seq: int | None, before_chain: bytes | None) -> None:
        if lo == hi:
            return
        head = rows[lo][0]
        prev_chain = GENESIS_CHAIN if head == 0 else (before_chain if before_seq == head - 1 else None)
        _merge(out, _check_rows(rows[lo:hi], prev_chain, b["origin"], b["ledger_pub"], b["keys"], records[lo:hi]))

    lo = 0
    before_seq, before_chain = (before[0], before[2]) if before else (None, None)
    for i in range(1, len(rows)):
        if rows[i][0] != rows[i - 1][0] + 1:
            flush(lo, i, before_seq, before_chain)
            before_seq, before_chain, lo = rows[i - 1][0], rows[i - 1][7], i
    flush(lo, len(rows), before_seq, before_chain)
    hashes = [r[6] for r in rows]
    if b["complete"]:
        if len(rows) == BUNDLE_CHUNK and start % BUNDLE_CHUNK == 0 and out.seqs == list(range(start, stop)):
            out.subtree = root_from_leaf_hashes(hashes)
        else:
            out.hashes = hashes
    return out


def _merge_bundle(into: _BundleChunk, r: _BundleChunk) -> None:
    _merge(into, r)
    into.seqs += r.seqs
    into.trust += r.trust
    into.refs |= r.refs
    for cited, by in r.cites.items():
        into.cites[cited] = min(into.cites.get(cited, by), by)
    into.edges.update(r.edges)


def _complete_root(results: list[_BundleChunk]) -> bytes:
    """The Merkle root from the chunks' subtrees (full chunks) and leaf hashes (the last one)."""
    level = BUNDLE_CHUNK.bit_length() - 1
    stack: list[tuple[int, bytes]] = []

    def push(height: int, node: bytes) -> None:
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))

    for r in results:
        if r.subtree is not None:
            push(level, r.subtree)
        for h in r.hashes:
            push(0, h)
    if not stack:
        return EMPTY_ROOT
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


def _run_bundle_chunks(chunks: list[tuple[int, int]], jobs: int, progress, total: int) -> list[_BundleChunk]:
    import multiprocessing

    results: list[_BundleChunk] = []
    done = 0
    if jobs > 1 and len(chunks) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for r in pool.imap(_verify_bundle_chunk, chunks):  # in order: seqs and subtrees are positional
                results.append(r)
                done += r.rows
                if progress:
                    progress(done, total)
    else:
        for c in chunks:
            results.append(_verify_bundle_chunk(c))
            done += results[-1].rows
            if progress:
                progress(done, total)
    return results


def _split_lines(data: bytes | None) -> list[bytes]:
    lines = (data or b"").split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def verify_bundle(
    path: str, trusted_checkpoint: bytes | None = None, ledger_vkey: str | None = None, jobs: int = 1, progress=None
) -> Report:
    """Verify an audit bundle (folder or zip) with the same fault classes as a ledger file."""
    report = Report(source=str(path))
    try:
        files = BundleFiles(path)
    except (OSError, ValueError) as exc:
        report.faults.append(Fault("foreign_file", None, f"not a bundle folder or zip: {exc}"))
        return report
    manifest_bytes, note = files.read(MANIFEST), files.read(MANIFEST_NOTE)
    if manifest_bytes is None or note is None:
        report.faults.append(Fault("foreign_file", None, f"no {MANIFEST} and {MANIFEST_NOTE}: not a gooseterm bundle"))
        return report
    try:
        manifest = json.loads(manifest_bytes)
        origin = manifest["origin"]
        ledger_key = parse_vkey(ledger_vkey or manifest["ledger_key"])
        if manifest.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
    except (ValueError, KeyError, TypeError, NoteError) as exc:
        report.faults.append(Fault("manifest_signature_bad", None, f"{MANIFEST} is unreadable: {exc}"))
        return report
    if ledger_vkey and manifest["ledger_key"] != ledger_key.vkey:
        report.faults.append(Fault("genesis_invalid", None, "the bundle names a different ledger key than the one pinned"))
    try:
        opened, _ = open_note(note, [ledger_key])
        if opened.text != manifest_note_body(origin, manifest_bytes):
            raise NoteError(f"{MANIFEST} was edited after it was signed")
    except NoteError as exc:
        report.faults.append(Fault("manifest_signature_bad", None, str(exc)))

    listed = manifest.get("files", {})
    for problem in files.problems:
        report.faults.append(Fault("bundle_file_mismatch", None, problem))
    for name in files.names():
        if name not in listed and name not in (MANIFEST, MANIFEST_NOTE):
            report.faults.append(Fault("bundle_file_mismatch", None, f"{name} is not listed in the manifest"))
    kept: dict[str, bytes | None] = {}
    for name, digest in sorted(listed.items()):
        data = files.read(name)
        if name in (ENTRIES, ROWS, CITED, CITED_ROWS):
            kept[name] = data  # read (and for a zip, inflated) once
        if data is None:
            report.faults.append(Fault("bundle_file_mismatch", None, f"{name} is listed in the manifest but missing"))
        elif hashlib.sha256(data).hexdigest() != digest:
            report.faults.append(Fault("bundle_file_mismatch", None, f"{name} differs from the manifest's hash"))

    try:
        cp_note = files.read(CHECKPOINT_NOTE) or b""
        cp = parse_checkpoint(open_note(cp_note, [ledger_key])[0].text)
        if cp.origin != origin:
            raise NoteError(f"checkpoint is for origin {cp.origin!r}")
    except NoteError as exc:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{CHECKPOINT_NOTE}: {exc}"))
        return report
    report.size, report.root = cp.size, cp.root
    report.checkpoints_checked += 1

    def pair(entries: str, rows: str) -> tuple[list[bytes], list[bytes]]:
        """The lines of an entries file and its rows file, as many of each."""
        leaves = _split_lines(kept[entries] if entries in kept else files.read(entries))
        metas = _split_lines(kept[rows] if rows in kept else files.read(rows))
        if len(leaves) != len(metas):
            report.faults.append(Fault("leaf_modified", None, f"{entries} has {len(leaves)} lines but {rows} has {len(metas)}"))
        n = min(len(leaves), len(metas))
        return leaves[:n], metas[:n]

    # The period's lines, then the cited entries' (one walk; a chunk never spans the two files).
    leaves, metas = pair(ENTRIES, ROWS)
    cited_leaves, cited_metas = pair(CITED, CITED_ROWS)
    kept.clear()
    lines = len(leaves)
    leaves += cited_leaves
    metas += cited_metas
    first, last = manifest.get("range", [0, -1])
    complete = bool(manifest.get("complete"))
    sel_service = (manifest.get("selection") or {}).get("service")

    # Trust entries decide which keys were valid when, so they come before the signature checks:
    # found here by a quick look for their kind, then confirmed by the workers' full parse of every
    # line (an entry that hid its kind from the quick look makes the checks run again).
    trust = []
    for n in range(len(leaves)):
        if b"ledger." in leaves[n]:
            meta = _parse_row_line(metas[n])
            try:
                kind = json.loads(leaves[n]).get("kind")
            except (ValueError, AttributeError):
                continue
            if meta is not None and kind in TRUST_KINDS:
                trust.append((n, meta[0], kind))
    chunks = [(a, min(a + BUNDLE_CHUNK, lines)) for a in range(0, lines, BUNDLE_CHUNK)]
    entry_chunks = len(chunks)
    chunks += [(a, min(a + BUNDLE_CHUNK, len(leaves))) for a in range(lines, len(leaves), BUNDLE_CHUNK)]
    global _bundle
    try:
        for _ in range(2):
            timeline = Report(source=report.source)
            keys = trust_timeline([(seq, kind, leaves[n]) for n, seq, kind in sorted(trust, key=lambda t: t[1])],
                                  origin, ledger_key, timeline)
            _bundle = {"leaves": leaves, "metas": metas, "checkpoint": cp, "range": (first, last, sel_service),
                       "complete": complete, "origin": origin, "ledger_pub": ledger_key.public_key, "keys": keys}
            results = _run_bundle_chunks(chunks, jobs, progress, len(leaves))
            seen = [t for r in results for t in r.trust]
            if seen == trust:
                break
            trust = seen
    finally:
        _bundle = {}
    merged = _BundleChunk()
    for r in results[:entry_chunks]:
        _merge_bundle(merged, r)
    seqs = list(merged.seqs)
    for r in results[entry_chunks:]:
        _merge_bundle(merged, r)
    cited = merged.seqs[len(seqs):]
    report.faults += timeline.faults + merged.faults

    present = set(seqs)
    for s in range(first, last + 1):
        if s not in present:
            report.faults.append(Fault("row_deleted", s, f"seq {s} of the exported range {first}..{last} is missing"))
            break
    carried = seqs + cited
    if len(set(carried)) != len(carried):
        seen_seqs: set[int] = set()
        dup = next(s for s in carried if s in seen_seqs or seen_seqs.add(s))
        report.faults.append(Fault("row_inserted", dup, f"seq {dup} appears more than once"))
    for name, order in ((ENTRIES, seqs), (CITED, cited)):
        if order != sorted(order):
            bad = next(i for i in range(1, len(order)) if order[i] < order[i - 1])
            report.faults.append(Fault("row_reordered", order[bad], f"seq {order[bad]} comes after seq {order[bad - 1]} in {name}"))
    if any(s >= cp.size for s in carried):
        report.faults.append(Fault("row_inserted", max(carried), f"seq {max(carried)} lies beyond the checkpoint's {cp.size} entries"))
    # Every entry carried must have what it cites carried too, or its checks (a quorum against the
    # request's policy, an approval's request) would pass on what is not there.
    carried_set = set(carried)
    for s, by in sorted(merged.cites.items()):
        if s not in carried_set and not first <= s <= last:
            report.faults.append(Fault("row_deleted", s, f"seq {s}, cited by seq {by}, is neither in the period nor in {CITED}"))
    if not complete:
        _check_period_edges(first, last, cp.size, manifest.get("selection") or {}, merged.edges, report)
    _classify_misplaced(merged.misplaced, report)
    _check_across_rows(merged, keys, report)

    try:
        proofs = {parse_decimal(k): [base64.b64decode(p) for p in v] for k, v in json.loads(files.read(CONSISTENCY) or b"{}").items()}
    except (ValueError, AttributeError, binascii.Error):
        proofs = {}
        report.faults.append(Fault("bundle_file_mismatch", None, f"{CONSISTENCY} is unreadable"))
    root_at = None
    if complete and seqs == list(range(cp.size)):
        if _complete_root(results[:entry_chunks]) != cp.root:
            report.faults.append(Fault("checkpoint_root_mismatch", cp.size - 1, "the entries do not produce the checkpoint's root"))

        def root_at(size: int) -> bytes:
            """Every leaf is here: a root at any size comes from the leaves themselves."""
            return _roots_of(((_parse_row_line(m) or (0, b""))[1:2] for m in metas[:lines]), {size}).get(size, b"")

    notes = [(files.read(n) or b"", False) for n in sorted(files.names()) if n.startswith("checkpoints/") and n.endswith(".note")]
    notes += [(trusted_checkpoint, True)] if trusted_checkpoint is not None else []
    for note_bytes, trusted in notes:
        _check_bundle_checkpoint(note_bytes, cp, proofs, root_at, ledger_key, report, trusted=trusted)
    _check_bundle_blobs(files, merged.refs, set(manifest.get("archived_blobs", [])), report)
    return report


def _check_period_edges(first: int, last: int, size: int, selection: dict, edges: dict[int, str], report: Report) -> None:
    """The entries just before and after a period prove where it starts and ends: each must be in the
    bundle and dated outside the selected days, or an entry of the period was left out of it."""
    import datetime

    since, until = selection.get("since"), selection.get("until")
    try:
        end = (datetime.date.fromisoformat(until) + datetime.timedelta(days=1)).isoformat() if until else None
    except (TypeError, ValueError):
        end = None
    for seq, bound, outside in ((first - 1, since, lambda t: t < since), (last + 1, end, lambda t: t >= end)):
        if not 0 <= seq < size:
            continue
        if seq not in edges:
            report.faults.append(Fault("row_deleted", seq, f"seq {seq}, just outside the exported range {first}..{last}, is missing"))
        elif not isinstance(bound, str) or not outside(edges[seq]):
            report.faults.append(Fault("row_deleted", seq, f"seq {seq} ({edges[seq]}) belongs to the selected days but not to the exported range {first}..{last}"))


def _check_bundle_checkpoint(note: bytes, cp: Checkpoint, proofs: dict, root_at, ledger_key: NoteVerifier,
                             report: Report, trusted: bool) -> None:
    """An older (or auditor-held) checkpoint against the bundle's: by the consistency proof the bundle
    carries (RFC 9162 2.1.4.2), or, in a complete bundle without one, by the root the leaves give."""
    label = "trusted checkpoint" if trusted else "checkpoint"
    code = "checkpoint_inconsistent" if trusted else "checkpoint_root_mismatch"
    try:
        old = parse_checkpoint(open_note(note, [ledger_key])[0].text)
    except NoteError as exc:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{label}: {exc}"))
        return
    if trusted:
        report.trusted_checkpoint = old.size
    else:
        report.checkpoints_checked += 1
    if old.origin != cp.origin:
        report.faults.append(Fault("checkpoint_signature_bad", None, f"{label} is for origin {old.origin!r}"))
    elif old.size > cp.size:
        report.faults.append(Fault("tail_truncated", cp.size, f"{label} covers {old.size} entries, the bundle's checkpoint {cp.size}"))
    elif old.size == 0:
        return
    elif old.size == cp.size:
        if old.root != cp.root:
            report.faults.append(Fault(code, cp.size - 1, f"{label} of the same size has another root (fork)"))
    elif old.size in proofs:
        try:
            verify_consistency(old.size, cp.size, proofs[old.size], old.root, cp.root)
        except ProofError as exc:
            report.faults.append(Fault(code, old.size - 1, f"{label} of size {old.size} is not a prefix of the bundle's tree ({exc})"))
    elif root_at is not None:
        if root_at(old.size) != old.root:
            report.faults.append(Fault(code, old.size - 1, f"{label} of size {old.size} has a root the entries do not produce"))
    else:
        report.faults.append(Fault(code, old.size - 1, f"the bundle carries no consistency proof from {label} size {old.size}"))


def _check_bundle_blobs(files: BundleFiles, refs: set[str], archived: set[str], report: Report) -> None:
    """Every blob file hashes to its name; every blob the selected entries cite is present or archived."""
    for name in files.names():
        data = files.read(name) if name.startswith("blobs/") else None
        if data is None:  # not a blob, or a link or duplicate already reported
            continue
        report.blobs_checked += 1
        digest = "sha256:" + name.removeprefix("blobs/")
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            report.faults.append(Fault("blob_digest_mismatch", None, f"blob {digest} does not hash to its name"))
    for digest in sorted(refs):
        if digest in archived:
            report.blobs_archived += 1
        elif files.read("blobs/" + digest.removeprefix("sha256:")) is None:
            report.faults.append(Fault("blob_missing", None, f"blob {digest} is referred to but not in the bundle"))


def main(argv: list[str] | None = None) -> int:
    """`python verifier.py BUNDLE|LEDGER.db [--trusted-checkpoint F] [--ledger-key VKEY] [--jobs N] [--json]`."""
    import argparse
    import os
    import pathlib
    import sys

    ap = argparse.ArgumentParser(description="Verify a gooseterm audit bundle or ledger file offline.")
    ap.add_argument("target", help="bundle folder, bundle zip, or ledger SQLite file")
    ap.add_argument("--trusted-checkpoint", help="a checkpoint note you hold from elsewhere")
    ap.add_argument("--ledger-key", help="pin the ledger's public key (name+id+key)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    target = pathlib.Path(a.target)
    if not target.exists():
        print(f"verifier: no such file or folder: {target}", file=sys.stderr)
        return 2
    try:
        trusted = pathlib.Path(a.trusted_checkpoint).read_bytes() if a.trusted_checkpoint else None
        with open(target, "rb") if target.is_file() else open(os.devnull, "rb") as fh:
            is_db = fh.read(16) == b"SQLite format 3\x00"
        fn = verify_ledger if is_db else verify_bundle
        report = fn(str(target), trusted_checkpoint=trusted, ledger_vkey=a.ledger_key, jobs=max(1, a.jobs))
    except BundleUnreadable as exc:
        print(f"verifier: could not verify: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print(f"verifier: could not verify {target}: a file in it nests too deeply to read", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"verifier: could not verify {target}: {exc}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        print(f"{target}: {'VALID' if report.ok else 'INVALID'}  size {report.size}")
        for code, c in report.by_class().items():
            where = "whole" if c["first_seq"] is None else f"first seq {c['first_seq']}"
            print(f"  {code:<26} {where:<16} x{c['count']}  {c['detail']}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
