"""What the hostile-input tests share: a demo home to attack, and a fingerprint of a folder to prove
that a refused command wrote nothing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers.exports import make_demo


def tree(folder: Path) -> dict[str, str]:
    """Every file and link under `folder` (relative name: SHA-256 of its bytes, or where a link points).

    SQLite's shared-memory file and an empty write-ahead log, which any reader of a WAL ledger may
    create, hold no data and are left out."""
    out = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if name.endswith("-shm") or (name.endswith("-wal") and path.stat().st_size == 0):
            continue
        if path.is_symlink():
            out[name] = "-> " + str(path.readlink())
        elif path.is_file():
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[name] = "dir"
    return out


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory, isolated_home: Path) -> Path:
    """The test's home holding the demo ledger and keys (you sign as carol); returns the ledger.

    Built once per session and copied, modes and all, into each test's home."""
    built = tmp_path_factory.getbasetemp() / "hostile-demo-home"
    if not built.exists():
        make_demo(built)
    shutil.copytree(built, isolated_home, dirs_exist_ok=True, symlinks=True)
    return isolated_home / "ledger.db"


def secret_of(key_file: Path) -> str:
    """The seed part of a private key file (the thing that must never be printed)."""
    return key_file.read_text().strip().split("+", 4)[4]
