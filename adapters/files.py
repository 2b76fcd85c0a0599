"""The local-files evidence source: a directory of CI outputs, one sub-folder per service.

The embedded default source: CI (or a person) drops what its tools wrote into
`<dir>/<service>/`, and `collect` records each file as evidence of the kind its name says.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from gooseterm.adapters.documents import MAX_EVIDENCE_BYTES
from gooseterm.adapters.errors import EvidenceError

# File name patterns by evidence kind, matched case-insensitively against the file name.
PATTERNS: dict[str, tuple[str, ...]] = {
    "junit": ("junit*.xml", "test-results*.xml", "TEST-*.xml"),
    "sarif": ("*.sarif", "*.sarif.json"),
    "coverage": ("coverage.xml", "coverage.json", "lcov.info", "*.lcov", "cobertura*.xml"),
    "metrics": ("metrics*.json",),
}


@dataclass(frozen=True)
class FoundEvidence:
    """One evidence file found for a service."""

    kind: str
    path: Path
    data: bytes


def kind_of(name: str) -> str | None:
    """The evidence kind a file name stands for, or None."""
    lowered = name.lower()
    for kind, patterns in PATTERNS.items():
        if any(fnmatch(lowered, p.lower()) for p in patterns):
            return kind
    return None


def read_inside(path: Path, folder: Path, limit: int = MAX_EVIDENCE_BYTES) -> bytes:
    """The bytes of `path`, a regular file inside `folder` once links are followed, at most `limit` of them.

    A link that leaves the folder (to /etc/shadow, to a key store) is refused before it is opened,
    so nothing of what it points at can reach an error message; so are devices, FIFOs and folders
    (which could block or never end), and files over the limit (checked before reading, and again
    on what is read, in case the file grows meanwhile).
    """
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise EvidenceError("links outside its folder, which is refused", path=str(path),
                            hint=f"copy the file into {folder} instead of linking to it")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise EvidenceError(f"cannot read it ({exc.strerror})", path=str(path)) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise EvidenceError("not a regular file", path=str(path))
        # read what fstat says plus one byte (to see growth), never `limit`: read(n) reserves n bytes first
        data = fh.read(info.st_size + 1) if info.st_size <= limit else b""
    if info.st_size > limit or len(data) > limit:
        raise EvidenceError(f"file is larger than {limit} bytes", path=str(path))
    return data


def find_evidence(root: Path, service: str) -> list[FoundEvidence]:
    """Every evidence file in `root/service/`, sorted by kind then name; refuses links that leave it."""
    folder = (root / service).resolve()
    if not folder.is_dir():
        raise EvidenceError(f"no evidence folder for {service}", path=str(root / service),
                            hint=f"create it and put the CI outputs of {service} there")
    found = []
    for path in sorted(folder.iterdir()):
        kind = kind_of(path.name)
        if kind is None or not path.is_file():
            continue
        found.append(FoundEvidence(kind, path, read_inside(path, folder)))
    by_kind: dict[str, list[str]] = {}
    for f in found:
        by_kind.setdefault(f.kind, []).append(f.path.name)
    for kind, names in sorted(by_kind.items()):
        # A gate reads one report per kind; a second would let a passing report hide a failing one.
        if len(names) > 1:
            raise EvidenceError(f"{len(names)} {kind} files ({', '.join(names)}) for {service}", path=str(folder),
                                hint=f"keep one {kind} report per service (SARIF can hold several runs in one log)")
    return sorted(found, key=lambda f: (f.kind, f.path.name))
