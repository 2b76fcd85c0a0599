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
import hashlib
import json
from dataclasses import dataclass, field

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError

HASH_SIZE = 32

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
    if size1 == size2:  # nothing to prove: the roots must simply be the same bytes
        if proof:
            raise ProofError("equal tree sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal tree sizes with different roots")
        return
    if size1 == 0:
        raise ProofError("no consistency proof from an empty tree (RFC 9162 2.1.4.2)")
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


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse a name+hex(keyid)+base64(0x01||pub) verifier key, checking the id matches."""
    parts = vkey.strip().split("+", 2)  # the base64 part may itself contain '+'
    if len(parts) != 3:
        raise NoteError(f"malformed verifier key {vkey!r}: want name+keyid+key")
    name, hexid, b64 = parts
    if not _valid_key_name(name):
        raise NoteError(f"malformed verifier key name {name!r}")
    try:
        kid = bytes.fromhex(hexid)
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"malformed verifier key {vkey!r}: {exc}") from None
    if len(kid) != 4 or len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError(f"verifier key {vkey!r} is not an Ed25519 signed-note key")
    pub = raw[1:]
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
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise NoteError(f"checkpoint size {size_s!r} is not a decimal number")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error:
        raise NoteError("checkpoint root is not base64") from None
    if len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root is {len(root)} bytes, want {HASH_SIZE}")
    if any(not e for e in ext):
        raise NoteError("checkpoint has an empty extension line")
    return Checkpoint(origin, int(size_s), root, tuple(ext))


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

    A signature without a keyid, or with one not in `keys`, is skipped (securesystemslib rule);
    each trusted key counts once however often it signed.
    """
    if env.payload_type not in payload_types:
        raise EnvelopeError(f"unsupported payloadType {env.payload_type!r}")
    message = pae(env.payload_type, env.payload)
    good: list[str] = []
    for keyid, sig in env.signatures:
        pub = keys.get(keyid) if keyid else None
        if pub is None or keyid in good:
            continue
        if ed25519_verify(pub, sig, message):
            good.append(keyid)
    if len(good) < threshold:
        raise EnvelopeError(f"{len(good)} valid signature(s) from trusted keys, need {threshold}")
    return good
