"""Reading an audit bundle, a folder or a zip, as untrusted input: nothing extracted, no link followed."""

from __future__ import annotations

import pathlib
import stat
import zipfile
import zlib


class BundleUnreadable(Exception):
    """A bundle or archive that cannot be read at all: a damaged zip, a zip bomb, or a folder nested
    past reason. Verification could not run (exit 2); nothing about the ledger is claimed."""


class BundleFiles:
    """Read-only access to a bundle folder or zip; names outside the bundle are never opened.

    Nothing is extracted. A zip member that is a symbolic link, or whose name appears twice (an
    extracting tool might keep the other copy), is not read and is named in `problems`; so is a
    symbolic link in a folder, which is never followed.

    A zip is untrusted input, so it is measured before any member is inflated: more than
    ZIP_MAX_MEMBERS members, a compression other than stored or deflate, or members declaring more
    than ZIP_MAX_RATIO times the zip's own size (ZIP_RATIO_FLOOR at least) raise BundleUnreadable;
    so does a member that is damaged or inflates past its declared size. Memory and time are thus
    bounded by the zip's size on disk, whatever its headers claim.
    """

    ZIP_MAX_MEMBERS = 1_000_000
    ZIP_MAX_RATIO = 100  # a bundle's JSON and evidence deflate 3-50 fold; bombs reach 1000 fold and more
    ZIP_RATIO_FLOOR = 64 << 20

    def __init__(self, path: str):
        self.path = pathlib.Path(path)
        self.zip = None
        self.problems: list[str] = []
        unreadable: set[str] = set()
        if self.path.is_file():
            self.zip = self._open_zip()
            names: list[str] = []
            seen: set[str] = set()
            for info in self.zip.infolist():
                name = info.filename
                if name.endswith("/"):
                    continue
                if name in seen:
                    self.problems.append(f"{name} appears more than once in the zip")
                    unreadable.add(name)
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    self.problems.append(f"{name} is a symbolic link, not a file")
                    unreadable.add(name)
                names.append(name)
                seen.add(name)
            self._names = names
        else:
            root = self.path.resolve()
            names = []
            try:
                for p in sorted(root.rglob("*")):
                    if p.is_symlink():
                        self.problems.append(f"{p.relative_to(root)} is a symbolic link, not a file")
                    elif p.is_file():
                        names.append(str(p.relative_to(root)))
            except RecursionError:
                raise BundleUnreadable(f"{self.path}: its folders nest too deeply to read") from None
            self._names = names
        self._readable = set(self._names) - unreadable

    def _open_zip(self) -> zipfile.ZipFile:
        """The zip, after its central directory was measured against the limits."""
        try:
            archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise BundleUnreadable(f"{self.path}: not a readable zip ({exc})") from None
        infos = archive.infolist()
        stored = max(self.path.stat().st_size, 1)
        declared = sum(info.file_size for info in infos)
        odd = next((i for i in infos if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)), None)
        problem = None
        if len(infos) > self.ZIP_MAX_MEMBERS:
            problem = f"holds {len(infos)} members, more than {self.ZIP_MAX_MEMBERS}"
        elif odd is not None:
            problem = f"{odd.filename} uses compression method {odd.compress_type}; a bundle uses stored or deflate only"
        elif declared > max(self.ZIP_RATIO_FLOOR, self.ZIP_MAX_RATIO * stored):
            problem = (f"its members declare {declared} bytes from {stored} bytes of zip, "
                       f"more than {self.ZIP_MAX_RATIO} fold: a zip bomb")
        if problem is not None:
            archive.close()
            raise BundleUnreadable(f"{self.path}: {problem}; it was not unpacked")
        return archive

    def names(self) -> list[str]:
        """Every file in the bundle, as relative names."""
        return list(self._names)

    def read(self, name: str) -> bytes | None:
        """A file's bytes, or None when it is absent, a link, or its name would leave the bundle."""
        if name.startswith(("/", "\\")) or ".." in name.split("/") or name not in self._readable:
            return None
        if self.zip is None:
            return (self.path / name).read_bytes()
        try:
            return self.zip.read(name)  # stops at the declared size, then checks the CRC
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
            raise BundleUnreadable(f"{self.path}: member {name} is damaged ({exc})") from None

    @staticmethod
    def is_zip(path: str) -> bool:
        """True when `path` is, or claims to be, a zip (its name, its first bytes or its end):
        a damaged zip is then reported as such, not as a foreign ledger file."""
        p = pathlib.Path(path)
        if not p.is_file():
            return False
        with open(p, "rb") as fh:
            head = fh.read(4)
        return p.suffix.lower() == ".zip" or head == b"PK\x03\x04" or zipfile.is_zipfile(p)
