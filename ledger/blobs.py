"""Content-addressed, compressed, deduplicated evidence blobs: their addresses and encoding.

The storage drivers keep the bytes (ledger/storage/); this module says how they are named and
compressed, the same for every driver.
"""

from __future__ import annotations

import hashlib
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


@dataclass(frozen=True)
class BlobInfo:
    """What the ledger knows of a blob without reading its bytes."""

    digest: str
    size: int
    media_type: str
    archived: str | None
