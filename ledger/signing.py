"""The signing side of the ledger: Ed25519 keys, C2SP signed notes, DSSE envelopes, statements.

Everything here produces bytes that `ledger.verifier` checks; the formats, key ids and encodings
are defined there (and in docs/CRYPTO.md) and only reused here.
"""

from __future__ import annotations

import base64
import json
import os
import re

from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

from gooseterm.ledger.verifier import (
    ALG_ED25519,
    INTOTO_PAYLOAD_TYPE,
    SIG_PREFIX,
    STATEMENT_TYPE,
    EnvelopeError,
    NoteError,
    NoteVerifier,
    valid_key_name,
    canonical_json,
    key_id,
    pae,
    parse_envelope,
    split_key,
    split_note,
)

SEED_SIZE = 32
SKEY_PREFIX = "PRIVATE+KEY+"
_SIGNATURE_SIZE = 64
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# C2SP signed-note: valid UTF-8 with no ASCII control character other than newline.
_NOTE_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f]")


class Signer:
    """An Ed25519 signing key with a signed-note key name; its repr never shows the seed."""

    __slots__ = ("_secret", "_verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        if not valid_key_name(name):
            raise ValueError(f"invalid key name {name!r}: it must be non-empty, printable, without '+' or spaces")
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, got {len(seed)}")
        public_key, secret = crypto_sign_seed_keypair(bytes(seed))
        self._secret = secret  # libsodium's 64-byte form: seed || public key
        self._verifier = NoteVerifier(name, key_id(name, public_key), public_key)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new key with a random seed from the operating system."""
        return cls(name, os.urandom(SEED_SIZE))

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse a PRIVATE+KEY+name+hex(keyid)+base64(0x01||seed) key, checking its id."""
        text = skey.strip()
        if not text.startswith(SKEY_PREFIX):
            raise NoteError(f"signer key does not start with {SKEY_PREFIX!r}")
        name, kid, seed = split_key(text[len(SKEY_PREFIX) :], "signer key", "PRIVATE+KEY+name+keyid+key")
        signer = cls(name, seed)
        if signer.id != kid:
            raise NoteError(f"signer key for {name!r}: key id {kid.hex()} does not match name and key")
        return signer

    def __repr__(self) -> str:
        return f"Signer({self.keyid!r})"

    @property
    def name(self) -> str:
        """The signed-note key name."""
        return self._verifier.name

    @property
    def id(self) -> bytes:
        """The 4-byte signed-note key id."""
        return self._verifier.id

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._verifier.public_key

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier key."""
        return self._verifier

    @property
    def vkey(self) -> str:
        """The public key in signed-note form: name+hex(keyid)+base64(0x01||pub)."""
        return self._verifier.vkey

    @property
    def keyid(self) -> str:
        """The DSSE keyid: name+hex(keyid)."""
        return self._verifier.keyid

    @property
    def seed(self) -> bytes:
        """The 32-byte Ed25519 seed (RFC 8032 private key). A secret."""
        return self._secret[:SEED_SIZE]

    @property
    def skey(self) -> str:
        """The private key in signed-note form: PRIVATE+KEY+name+hex(keyid)+base64(0x01||seed). A secret."""
        return f"{SKEY_PREFIX}{self.keyid}+" + base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of message (RFC 8032 section 5.1.6)."""
        # crypto_sign directly: the SigningKey wrapper's per-call overhead shows at 25k rows/s.
        return crypto_sign(message, self._secret)[:_SIGNATURE_SIZE]

    def note_signature_line(self, text: bytes) -> bytes:
        """The signed-note line for text: em dash, space, name, space, base64(keyid || signature), newline."""
        _check_note_text(text)
        b64 = base64.b64encode(self.id + self.sign(text)).decode()
        return f"{SIG_PREFIX}{self.name} {b64}\n".encode()

    def sign_note(self, text: bytes) -> bytes:
        """A signed note of text with this key's signature (C2SP signed-note)."""
        return sign_note(text, [self])


def _check_note_text(text: bytes) -> None:
    if not text.endswith(b"\n"):
        raise NoteError("note text must end in a newline")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("note text is not UTF-8") from None
    if _NOTE_CONTROL.search(text):
        raise NoteError("note text contains an ASCII control character other than newline")


def sign_note(text: bytes, signers: list[Signer]) -> bytes:
    """A signed note: text, a blank line, then one signature line per signer in order."""
    if not signers:
        raise NoteError("a note needs at least one signer")
    seen: set[tuple[str, bytes]] = set()
    for s in signers:
        if (s.name, s.id) in seen:
            raise NoteError(f"duplicate signer {s.keyid}")
        seen.add((s.name, s.id))
    return text + b"\n" + b"".join(s.note_signature_line(text) for s in signers)


def add_note_signature(note: bytes, signer: Signer) -> bytes:
    """Cosign a signed note: its bytes unchanged, plus one signature line by signer at the end."""
    parsed = split_note(note)
    if any(sig.name == signer.name and sig.id == signer.id for sig in parsed.signatures):
        raise NoteError(f"note is already signed by {signer.keyid}")
    return note + signer.note_signature_line(parsed.text)


def _envelope_signature(signer: Signer, payload_type: str, payload: bytes) -> dict[str, str]:
    return {"keyid": signer.keyid, "sig": base64.b64encode(signer.sign(pae(payload_type, payload))).decode()}


def sign_envelope(payload: bytes, signers: list[Signer], payload_type: str = INTOTO_PAYLOAD_TYPE) -> bytes:
    """DSSE envelope JSON bytes: standard base64, a keyid on every signature, deterministic form."""
    if not payload_type:
        raise EnvelopeError("payloadType must not be empty")
    if not signers:
        raise EnvelopeError("an envelope needs at least one signer")
    keyids = [s.keyid for s in signers]
    if len(set(keyids)) != len(keyids):
        raise EnvelopeError(f"duplicate signer in {keyids}")
    return canonical_json(
        {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": payload_type,
            "signatures": [_envelope_signature(s, payload_type, payload) for s in signers],
        }
    )


def add_envelope_signature(envelope: bytes, signer: Signer) -> bytes:
    """The envelope with one more signature by signer (an approval by several keys); others kept as they are."""
    env = parse_envelope(envelope)
    if any(keyid == signer.keyid for keyid, _ in env.signatures):
        raise EnvelopeError(f"envelope is already signed by {signer.keyid}")
    obj = json.loads(envelope)
    obj["signatures"].append(_envelope_signature(signer, env.payload_type, env.payload))
    return canonical_json(obj)


def make_statement(subject: list[dict], predicate_type: str, predicate: dict) -> bytes:
    """Canonical in-toto Statement v1 JSON bytes (UTF-8, sorted keys, no spaces)."""
    if not subject:
        raise ValueError("a statement needs at least one subject")
    if not predicate_type:
        raise ValueError("predicateType must not be empty")
    if not isinstance(predicate, dict):
        raise TypeError("predicate must be a JSON object")
    entries = []
    for i, s in enumerate(subject):
        name, digest = s.get("name"), s.get("digest")
        if not isinstance(name, str) or not name:
            raise ValueError(f"subject[{i}] needs a non-empty name")
        if not isinstance(digest, dict) or not _SHA256_HEX.fullmatch(str(digest.get("sha256", ""))):
            raise ValueError(f"subject[{i}] ({name}) needs digest.sha256 as 64 lowercase hex digits")
        entries.append({"name": name, "digest": dict(digest)})
    statement = {"_type": STATEMENT_TYPE, "subject": entries, "predicateType": predicate_type, "predicate": predicate}
    return canonical_json(statement, ascii_only=False)
