"""C2SP signed notes (signed-note.md): verifier keys, key ids, and opening a signed note."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from .ed25519 import ed25519_verify

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # an em dash and a space start every signature line


class NoteError(ValueError):
    """A signed note, a key or a checkpoint is malformed or did not verify."""


MAX_NOTE_BYTES = 64 << 10
"""A note from a file (a checkpoint someone holds) is read up to this size: a real one is a few hundred bytes."""


def read_note_file(path) -> bytes:
    """A note's bytes from a file, refusing one larger than MAX_NOTE_BYTES before reading more of it."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_NOTE_BYTES + 1)
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"{path} is larger than {MAX_NOTE_BYTES} bytes, so not a checkpoint note")
    return data


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte signed-note key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def valid_key_name(name: str) -> bool:
    """A C2SP signed-note key name: non-empty, printable, without '+' or whitespace."""
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
    if not valid_key_name(name):
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
        if len(fields) != 2 or not valid_key_name(fields[0]):
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
