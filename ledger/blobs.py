"""Content-addressed, compressed, deduplicated evidence blobs."""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from dataclasses import dataclass

DIGEST_PREFIX = "sha256:"


def blob_digest(data: bytes) -> str:
    """The content address of raw bytes: "sha256:<hex>"."""
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def pack(data: bytes) -> tuple[str, bytes]:
    """Compress when it pays: returns (compression, stored bytes)."""
    packed = zlib.compress(data, 6)
    return ("zlib", packed) if len(packed) < len(data) else ("none", data)


def unpack(compression: str, stored: bytes) -> bytes:
    """Inverse of pack; raises ValueError on unknown compression or damaged bytes."""
    if compression == "none":
        return stored
    if compression == "zlib":
        try:
            return zlib.decompress(stored)
        except zlib.error as exc:
            raise ValueError(f"compressed blob is damaged: {exc}") from None
    raise ValueError(f"unknown blob compression {compression!r}")


@dataclass(frozen=True)
class BlobInfo:
    """What the ledger knows of a blob without reading its bytes."""

    digest: str
    size: int
    media_type: str
    archived: str | None


def put(conn: sqlite3.Connection, data: bytes, media_type: str) -> str:
    """Store bytes once under their digest (a second put of the same bytes is a no-op)."""
    digest = blob_digest(data)
    compression, stored = pack(data)
    conn.execute(
        "INSERT OR IGNORE INTO blobs (digest, size, media_type, compression, data) VALUES (?, ?, ?, ?, ?)",
        (digest, len(data), media_type, compression, stored),
    )
    return digest


def get(conn: sqlite3.Connection, digest: str) -> bytes:
    """The raw bytes of a blob; KeyError if unknown, LookupError if archived."""
    row = conn.execute("SELECT compression, data, archived FROM blobs WHERE digest = ?", (digest,)).fetchone()
    if row is None:
        raise KeyError(f"no blob {digest}")
    compression, stored, archived = row
    if stored is None:
        raise LookupError(f"blob {digest} was archived at {archived}; restore it from the archive")
    return unpack(compression, stored)


def info(conn: sqlite3.Connection, digest: str) -> BlobInfo | None:
    """Metadata of a blob, or None."""
    row = conn.execute("SELECT digest, size, media_type, archived FROM blobs WHERE digest = ?", (digest,)).fetchone()
    return BlobInfo(*row) if row else None
