"""Damaged, nested and bomb zips handed to `verify`, `archive restore` and `restore`.

Each must end in bounded time and memory with exit 2 ("could not run") and one line, leave the
ledger as it was, and never be unpacked to disk. A well-formed bundle still verifies.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from security.hostile import demo, tree  # noqa: F401  (demo is a fixture)

COMMANDS = [("verify",), ("archive", "restore"), ("restore", "--force"), ("verify", "--archive")]


@pytest.fixture
def bundle(cli, demo: Path, tmp_path: Path) -> Path:
    out = tmp_path / "good.zip"
    run = cli("export", "--out", out)
    assert run.code == 0, run.text
    return out


@pytest.fixture
def archive(cli, demo: Path, tmp_path: Path) -> Path:
    """An evidence archive of every blob (the demo's history ends before 2026-03-10)."""
    out = tmp_path / "good.zip"
    run = cli("archive", "--before", "2026-03-10", "--out", out)
    assert run.code == 0, run.text
    return out


def rewrite(src: Path, dst: Path, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None,
            method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A copy of the zip `src` with some members replaced or added."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", method) as new:
        for info in old.infolist():
            new.writestr(info.filename, (replace or {}).get(info.filename, old.read(info)), compress_type=method)
        for name, data in (extra or {}).items():
            new.writestr(name, data, compress_type=method)
    return dst


def largest(src: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(src) as z:
        return max(z.infolist(), key=lambda i: i.compress_size)


def zero_bomb(src: Path, dst: Path, mib: int = 128) -> Path:
    """The zip with its largest member replaced by `mib` MiB of zeros (deflate makes that ~1000 fold)."""
    victim = largest(src).filename
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != victim:
                new.writestr(info.filename, old.read(info))
        member = zipfile.ZipInfo(victim)
        member.compress_type = zipfile.ZIP_DEFLATED
        with new.open(member, "w", force_zip64=True) as fh:
            chunk = bytes(1 << 20)
            for _ in range(mib):
                fh.write(chunk)
    return dst


def lying_sizes(src: Path, dst: Path) -> Path:
    """The bundle with every central-directory entry claiming 4 GiB - 1 uncompressed."""
    data = bytearray(src.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        struct.pack_into("<I", data, at + 24, 0xFFFFFFFE)
        at = data.find(b"PK\x01\x02", at + 4)
    dst.write_bytes(bytes(data))
    return dst


def truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def flipped(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    info = largest(src)
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def bzip2(src: Path, dst: Path) -> Path:
    return rewrite(src, dst, method=zipfile.ZIP_BZIP2)


HOSTILE = {
    "bomb": (zero_bomb, "more than 100 fold: a zip bomb; it was not unpacked"),
    "lying": (lying_sizes, "more than 100 fold: a zip bomb; it was not unpacked"),
    "truncated": (truncated, "not a readable zip"),
    "flipped": (flipped, "is damaged ("),
    "bzip2": (bzip2, "uses compression method 12; a bundle uses stored or deflate only"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c))
def test_a_hostile_zip_is_one_line_exit_2_and_changes_nothing(cli, request, demo: Path, tmp_path: Path,
                                                              kind: str, command: tuple[str, ...]):
    make, message = HOSTILE[kind]
    if command[0] == "restore":
        message = "is not a ledger file"
    good = request.getfixturevalue("archive" if "archive" in " ".join(command) else "bundle")
    hostile = make(good, tmp_path / f"{kind}.zip")
    before = tree(demo.parent)
    start = time.monotonic()
    run = cli(*command, hostile, timeout=60)
    assert time.monotonic() - start < 30
    assert run.code == 2, run.text
    assert message in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1
    assert tree(demo.parent) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["good.zip", f"{kind}.zip"])


def test_a_bomb_is_refused_before_it_is_inflated(bundle: Path, tmp_path: Path):
    """The standalone verifier, as an auditor runs it, in 400 MiB of address space: the 512 MiB bomb
    could not even be inflated there, yet the run ends cleanly with exit 2."""
    import resource

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (400 << 20, 400 << 20))

    bomb = zero_bomb(bundle, tmp_path / "bomb.zip", mib=512)
    proc = subprocess.run([sys.executable, "-m", "gooseterm.ledger.verifier", str(bomb)],
                          capture_output=True, text=True, timeout=60, preexec_fn=cap_memory)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("verifier: could not verify: ") and "a zip bomb" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_nesting_deep_names_and_zips_in_zips_are_only_names_and_bytes(cli, bundle: Path, tmp_path: Path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("a/" * 200 + "x", b"x")
    hostile = rewrite(bundle, tmp_path / "nested.zip",
                      extra={"a/" * 500 + "deep.txt": b"x", "inner.zip": inner.read_bytes(), "../outside": b"x"})
    run = cli("verify", hostile)
    assert run.code == 1
    assert "bundle_file_mismatch" in run.out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["good.zip", "inner.zip", "nested.zip"])


def test_a_deeply_nested_manifest_cannot_run(cli, bundle: Path, tmp_path: Path):
    hostile = rewrite(bundle, tmp_path / "deep.zip", replace={"manifest.json": b"[" * 200_000 + b"]" * 200_000})
    run = cli("verify", hostile)
    assert run.code == 2
    assert run.err.strip() == f"gooseterm: could not verify {hostile}: a file in it nests too deeply to read"


def test_the_good_bundle_still_verifies(cli, bundle: Path):
    run = cli("verify", bundle)
    assert run.code == 0, run.text
    assert "VALID" in run.out


def test_restore_takes_a_real_backup(cli, demo: Path, tmp_path: Path):
    copy = tmp_path / "copy.db"
    assert cli("backup", "--out", copy).code == 0
    run = cli("restore", copy, "--force")
    assert run.code == 0, run.text
    assert "replaced (same entries)" in run.out
