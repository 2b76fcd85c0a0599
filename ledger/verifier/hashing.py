"""RFC 6962 section 2.1 hashing, with gooseterm's chain link and row message.

Every hash is SHA-256 behind a one-byte domain prefix (leaf 0x00, node 0x01, chain 0x02), so no
value of one kind can be passed off as another (docs/CRYPTO.md, "Hashes and domain separation").
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
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
