"""Ed25519 signature checks under libsodium's strict rules.

libsodium (through PyNaCl) rejects non-canonical S (S >= L, RFC 8032 section 5.1.7), small-order
public keys and R values, and non-canonical point encodings: the strict policy recorded in
docs/CRYPTO.md and checked against Wycheproof.
"""

from __future__ import annotations

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when signature is a valid strict Ed25519 signature of message by public_key."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True
