"""Fuzz the bundle reader (ledger/verifier/bundle_walk.py verify_bundle) on mutated bundles made by
`gooseterm export`: a number in rows.jsonl, checkpoint.note or consistency.json replaced by
number-shaped text, or any file's bytes cut, spliced or flipped, folder or zip. verify_bundle
reports faults, or raises BundleUnreadable for a zip it cannot read at all (the CLI's exit 2,
"could not run"), and nothing else; within bounded time and memory; any change to a folder bundle
is caught (the manifest is signed and lists every file's hash)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gooseterm.ledger.verifier import BundleUnreadable, verify_bundle
from tests.helpers.exports import export, make_demo

from .fuzzing import FUZZ, NUMBER_TEXT, bounded

BUNDLE_FUZZ = settings(FUZZ, max_examples=30)
"""Fewer: each example copies and verifies a whole bundle (the demo's ~60 entries)."""

NUMBER_FILES = ["rows.jsonl", "checkpoint.note", "consistency.json", "entries.jsonl"]
_NUMBER = re.compile(rb"(?<![A-Za-z0-9+/=])[0-9]+(?![A-Za-z0-9+/=])")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("home")
    make_demo(home)
    out = tmp_path_factory.mktemp("bundles")
    folder = export(home, out / "bundle", "--since", "2026-03-06")
    archive = export(home, out / "bundle.zip", "--since", "2026-03-06")
    assert verify_bundle(str(folder)).ok and verify_bundle(str(archive)).ok
    return folder, archive


def _copy(folder: Path, where: Path) -> Path:
    target = where / "b"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target)
    return target


def _check(path: Path, changed: bool) -> None:
    report = bounded(verify_bundle, str(path), allowed=(BundleUnreadable,))
    assert isinstance(report, BundleUnreadable) or not (changed and report.ok), "a changed bundle verified"


@BUNDLE_FUZZ
@given(st.sampled_from(NUMBER_FILES), st.integers(min_value=0, max_value=10_000), NUMBER_TEXT)
@example("checkpoint.note", 0, "٣")  # str.isdigit() then int(): other scripts' digits were read
@example("checkpoint.note", 0, "²")  # isdigit() true, int() refuses: a traceback
@example("rows.jsonl", 0, "9" * 4301)
@example("rows.jsonl", 0, '"3"')  # int("3"): a seq written as a string was read
def test_a_number_replaced(exported: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, name: str, which: int,
                           text: str) -> None:
    bundle = _copy(exported[0], tmp_path_factory.getbasetemp())
    path = bundle / name
    data = path.read_bytes()
    spots = list(_NUMBER.finditer(data))
    if not spots:
        return
    spot = spots[which % len(spots)]
    mutated = data[:spot.start()] + text.encode() + data[spot.end():]
    path.write_bytes(mutated)
    _check(bundle, mutated != data)


@BUNDLE_FUZZ
@given(st.data())
def test_any_file_spliced(exported: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    bundle = _copy(exported[0], tmp_path_factory.getbasetemp())
    files = sorted(p for p in bundle.rglob("*") if p.is_file())
    path = data.draw(st.sampled_from(files), label="file")
    original = path.read_bytes()
    at = data.draw(st.integers(min_value=0, max_value=len(original)), label="at")
    cut = data.draw(st.integers(min_value=0, max_value=16), label="cut")
    insert = data.draw(st.binary(max_size=16), label="insert")
    mutated = original[:at] + insert + original[at + cut:]
    path.write_bytes(mutated)
    _check(bundle, mutated != original)


@BUNDLE_FUZZ
@given(st.integers(min_value=0), st.binary(min_size=1, max_size=8), st.integers(min_value=0, max_value=64))
@example(0, b"\x00", 1)  # a damaged member header: zipfile.BadZipFile escaped verify_bundle (now BundleUnreadable)
@example(0, b"\x00", 2)  # a negative member offset: OSError from seek
def test_zip_bytes_spliced(exported: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, at: int, insert: bytes,
                           cut: int) -> None:
    original = exported[1].read_bytes()
    at %= len(original)
    target = tmp_path_factory.getbasetemp() / "b.zip"
    target.write_bytes(original[:at] + insert + original[at + cut:])
    _check(target, changed=False)  # a zip may carry bytes around its members and still hold the same files
