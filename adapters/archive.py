"""CI artifact archives (zip) unpacked safely, in memory, into evidence files.

An artifact is untrusted input: a name may climb out with `../` or start at `/`, an entry may be a
symlink to /etc, and a few kilobytes may inflate to gigabytes. Nothing here writes to disk, so no
name can land anywhere; still, an archive whose names or links would escape its root is refused
whole, because a tool never writes one and a person should look at it. Sizes are checked on the
declared lengths first and again while inflating, since the declared ones can lie.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
import zlib
from dataclasses import dataclass

from gooseterm.adapters.documents import MAX_EVIDENCE_BYTES
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.files import kind_of

MAX_MEMBERS = 1000
"""Most entries an archive may hold."""
MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""Most bytes all entries may inflate to together."""
MAX_RATIO = 200
"""Largest inflated/compressed ratio accepted for an entry over RATIO_FLOOR bytes (zip bombs)."""
RATIO_FLOOR = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on one archive."""

    max_members: int = MAX_MEMBERS
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_file_bytes: int = MAX_EVIDENCE_BYTES
    max_ratio: int = MAX_RATIO


@dataclass(frozen=True)
class Member:
    """One regular file of an archive, by its normalised path inside it."""

    path: str
    data: bytes

    @property
    def kind(self) -> str | None:
        """The evidence kind its file name stands for (adapters.files.kind_of), or None."""
        return kind_of(posixpath.basename(self.path))


def _safe_name(name: str, source: str) -> str:
    if "\\" in name or "\x00" in name:
        raise EvidenceError(f"archive entry {name!r} has a backslash or NUL in its name", path=source,
                            hint="the artifact was not written by a normal zip tool; refusing it whole")
    normal = posixpath.normpath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or normal == ".." or normal.startswith("../"):
        raise EvidenceError(f"archive entry {name!r} points outside the archive", path=source,
                            hint="an entry with an absolute path or '..' could overwrite files; refusing the artifact whole")
    return normal


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def unpack_zip(data: bytes, source: str, limits: ArchiveLimits = ArchiveLimits()) -> list[Member]:
    """The regular files of a zip, refusing path escapes, links out, too many or too large entries
    and zip bombs; symlinks that stay inside are skipped (they hold a path, not evidence)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise EvidenceError(f"not a readable zip archive ({exc})", path=source,
                            hint="the download is corrupt or truncated; run collect again") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise EvidenceError(f"archive has {len(infos)} entries, more than {limits.max_members}", path=source)
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_total_bytes:
            raise EvidenceError(f"archive inflates to {declared} bytes, more than {limits.max_total_bytes}", path=source,
                                hint="upload smaller artifacts, or only the reports gooseterm reads")
        seen: set[str] = set()
        members: list[Member] = []
        total = 0
        for info in infos:
            name = _safe_name(info.filename, source)
            if name in seen:
                raise EvidenceError(f"archive holds {name!r} twice", path=source,
                                    hint="two entries with one name make it ambiguous which is the evidence")
            seen.add(name)
            if _is_symlink(info):
                target = archive.read(info).decode("utf-8", "replace")
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                    raise EvidenceError(f"archive entry {name!r} is a symlink to {target!r}, outside the archive",
                                        path=source, hint="a link out of the artifact could read local files; refusing it whole")
                continue
            if info.is_dir():
                continue
            if info.file_size > limits.max_file_bytes:
                raise EvidenceError(f"archive entry {name!r} is {info.file_size} bytes, more than {limits.max_file_bytes}",
                                    path=source)
            if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise EvidenceError(f"archive entry {name!r} inflates {info.file_size // max(info.compress_size, 1)}-fold, "
                                    "a zip bomb", path=source)
            body = _read(archive, info, min(limits.max_file_bytes, limits.max_total_bytes - total), source)
            total += len(body)
            members.append(Member(name, body))
    return members


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, source: str) -> bytes:
    """Inflate one entry, stopping as soon as it passes `cap` (its declared size may lie)."""
    chunks, size = [], 0
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise EvidenceError(f"archive entry {info.filename!r} inflates past {cap} bytes (its header said "
                                        f"{info.file_size}): a zip bomb or a lie", path=source)
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise EvidenceError(f"archive entry {info.filename!r} is corrupt ({exc})", path=source,
                            hint="the download is corrupt or truncated; run collect again") from None
    return b"".join(chunks)


def evidence_members(members: list[Member]) -> list[Member]:
    """The members whose file names stand for an evidence kind, by kind then path."""
    return sorted((m for m in members if m.kind is not None), key=lambda m: (m.kind, m.path))
