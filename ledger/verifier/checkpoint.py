"""C2SP checkpoints (tlog-checkpoint.md): the signed note body naming a tree's origin, size and root."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .hashing import HASH_SIZE
from .note import NoteError


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
