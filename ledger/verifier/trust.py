"""Which keys the ledger trusted when: genesis and key events replayed into validity windows, and
each statement's signatures checked against the keys valid at its seq."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .dsse import Envelope, pae, parse_envelope
from .ed25519 import ed25519_verify
from .kinds import ADMIN, GENESIS_KIND, KEY_ADDED_KIND
from .note import NoteError, NoteVerifier, parse_vkey
from .report import Fault, Report


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


def signature_faults(seq: int, env: Envelope, keys: dict[str, TrustedKey]) -> tuple[list[Fault], frozenset[str]]:
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
        faults, good = signature_faults(seq, env, admins)
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
