"""Keeping a ledger: evidence archives (`gooseterm archive`, `verify --archive`, `archive restore`)
and backups (`gooseterm backup`, `gooseterm restore`), on copies of the demo ledger.

The demo's entries fall on fixed days (tests/helpers/exports.py): the onboarding specs and
service-c's evidence before 2026-03-06, service-b's and service-a's evidence later.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from datetime import date
from pathlib import Path

import pytest
from helpers.exports import append_notes, export, gooseterm, make_demo, open_ledger, verify_both, verify_with_gooseterm
from helpers.orgs import clone_home, evidence_bytes

from gooseterm.exports.archive import ARCHIVE_FORMAT, archivable
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.signing import Signer, sign_note
from gooseterm.ledger.store import Draft
from gooseterm.ledger.verifier import manifest_note_body, verify_ledger

CUT = "2026-03-06"
MALLORY = Signer("mallory.example", bytes([6]) * 32)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    make_demo(home)
    return home


@pytest.fixture
def home(demo: Path, tmp_path: Path) -> Path:
    return clone_home(demo, tmp_path / "home")


def blobs(home: Path) -> dict[str, tuple[int, bool, str | None]]:
    """digest: (size, bytes stored, archived time)."""
    with sqlite3.connect(home / "ledger.db") as conn:
        rows = conn.execute("SELECT digest, size, data IS NOT NULL, archived FROM blobs").fetchall()
    return {d: (size, bool(stored), archived) for d, size, stored, archived in rows}


def cited_before_only(home: Path, cut: str) -> set[str]:
    """What the archive should take, computed the slow way from the entries."""
    with open_ledger(home) as ledger:
        old, recent = set(), set()
        for e in ledger.entries():
            (old if e.time < cut else recent).update(e.record["blobs"])
    return old - recent


def archive(home: Path, out: Path, before: str = CUT) -> dict:
    code, stdout, stderr = gooseterm(home, "archive", "--before", before, "--out", str(out), "--json")
    assert code == 0, stderr
    return json.loads(stdout)


def verify_ledger_json(home: Path, *args: str) -> tuple[int, dict]:
    code, stdout, stderr = gooseterm(home, "verify", "--json", "--jobs", "1", *args)
    assert code in (0, 1), stderr
    return code, json.loads(stdout)


# -- archive ---------------------------------------------------------------------------------------


def test_archive_moves_the_bytes_of_evidence_cited_only_before_the_day(home: Path, tmp_path: Path) -> None:
    before = blobs(home)
    expected = cited_before_only(home, CUT)
    assert expected and expected != set(before)  # some blobs go, some stay
    result = archive(home, tmp_path / "old.zip")
    after = blobs(home)
    assert result["blobs"] == len(expected)
    assert {d for d, (_, stored, _) in after.items() if not stored} == expected
    assert all(after[d][2] is not None for d in expected)
    assert {d: s for d, (s, _, _) in after.items()} == {d: s for d, (s, _, _) in before.items()}  # digests and sizes kept
    with zipfile.ZipFile(tmp_path / "old.zip") as zf:
        names = sorted(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert names == sorted(["manifest.json", "manifest.note", *("blobs/" + d.removeprefix("sha256:") for d in expected)])
    assert manifest["format"] == ARCHIVE_FORMAT and manifest["before"] == CUT and set(manifest["blobs"]) == expected


def test_verify_reports_archived_blobs_as_archived_and_checks_them_again_with_the_archive(home: Path, tmp_path: Path) -> None:
    archive(home, tmp_path / "old.zip")
    n = len(cited_before_only(home, CUT))
    code, report = verify_ledger_json(home)
    assert code == 0 and report["valid"] and report["blobs_archived"] == n
    code, again = verify_ledger_json(home, "--archive", str(tmp_path / "old.zip"))
    assert code == 0 and again["blobs_archived"] == 0 and again["blobs_checked"] == report["blobs_checked"] + n


def test_a_tampered_archive_is_caught_by_verify(home: Path, tmp_path: Path) -> None:
    good = tmp_path / "old.zip"
    archive(home, good)
    with zipfile.ZipFile(good) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    first_blob = min(n for n in members if n.startswith("blobs/"))

    def rezip(name: str, change) -> Path:
        out = tmp_path / name
        files = dict(members)
        change(files)
        with zipfile.ZipFile(out, "w") as zf:
            for n, data in files.items():
                zf.writestr(n, data)
        return out

    swapped = rezip("swapped.zip", lambda f: f.update({first_blob: b"not the evidence"}))
    edited = rezip("edited.zip", lambda f: f.update({"manifest.json": f["manifest.json"].replace(CUT.encode(), b"2027-01-01")}))
    manifest = members["manifest.json"]
    forged = rezip("forged.zip", lambda f: f.update(
        {"manifest.note": sign_note(manifest_note_body("gooseterm.example/demo-org", manifest, ARCHIVE_FORMAT), [MALLORY])}))
    for bad, code_ in ((swapped, "blob_digest_mismatch"), (edited, "manifest_signature_bad"), (forged, "manifest_signature_bad")):
        code, report = verify_ledger_json(home, "--archive", str(bad))
        assert code == 1 and code_ in report["faults_by_class"], (bad.name, report["faults_by_class"])


def test_the_same_ledger_gives_the_same_archive_byte_for_byte(home: Path, demo: Path, tmp_path: Path) -> None:
    twin = clone_home(demo, tmp_path / "twin")
    archive(home, tmp_path / "one.zip")
    archive(twin, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_archive_restore_puts_the_bytes_back_after_checking_them(home: Path, tmp_path: Path) -> None:
    before = blobs(home)
    with open_ledger(home) as ledger:
        originals = {d: ledger.blob(d) for d in before}
    archive(home, tmp_path / "old.zip")
    code, stdout, stderr = gooseterm(home, "archive", "restore", str(tmp_path / "old.zip"), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["blobs"] == len(cited_before_only(home, CUT))
    assert {d: (s, stored) for d, (s, stored, _) in blobs(home).items()} == {d: (s, True) for d, (s, _, _) in before.items()}
    with open_ledger(home) as ledger:
        assert {d: ledger.blob(d) for d in before} == originals
    code, report = verify_ledger_json(home)
    assert code == 0 and report["blobs_archived"] == 0


def test_archive_restore_refuses_an_archive_whose_bytes_do_not_match(home: Path, tmp_path: Path) -> None:
    archive(home, tmp_path / "old.zip")
    with zipfile.ZipFile(tmp_path / "old.zip") as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    name = min(n for n in members if n.startswith("blobs/"))
    members[name] = members[name] + b" "
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    state = blobs(home)
    code, _, stderr = gooseterm(home, "archive", "restore", str(tmp_path / "bad.zip"))
    assert code == 1 and "does not hash to its digest" in stderr
    assert blobs(home) == state  # nothing restored, not even the good blobs


def test_evidence_cited_again_after_the_day_keeps_its_bytes(home: Path) -> None:
    with open_ledger(home) as ledger:
        spec = ledger.entries(kind="evidence.spec", service="service-c")[0].predicate["digest"]
        junit = ledger.entries(kind="evidence.junit", service="service-c")[0].predicate["digest"]
        assert {spec, junit} <= set(archivable(ledger, date.fromisoformat(CUT)))
    ci = KeyStore(home / "keys").load("ci")
    with open_ledger(home) as ledger:
        digest = ledger.put_blob(evidence_bytes("service-c", "junit"))
        assert digest == junit  # the same bytes, stored once
        ledger.append(Draft("evidence.external", {"digest": digest}, service="service-c", blobs=(digest,)), [ci])
        left = archivable(ledger, date.fromisoformat(CUT))
    assert spec in left and junit not in left


def test_nothing_to_archive_writes_nothing(home: Path, tmp_path: Path) -> None:
    result = archive(home, tmp_path / "none.zip", before="2020-01-01")
    assert result["blobs"] == 0 and result["archive"] is None and not (tmp_path / "none.zip").exists()


def test_an_export_lists_archived_blobs_and_still_verifies(home: Path, tmp_path: Path) -> None:
    archive(home, tmp_path / "old.zip")
    bundle = export(home, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = set(zf.namelist())
    expected = cited_before_only(home, CUT)
    assert set(manifest["archived_blobs"]) == expected
    assert not {"blobs/" + d.removeprefix("sha256:") for d in expected} & names
    assert verify_both(home, bundle) == {}
    _, report = verify_with_gooseterm(home, bundle)
    assert report["blobs_archived"] == len(expected)
    _, again = verify_with_gooseterm(home, bundle, "--archive", str(tmp_path / "old.zip"))
    assert again["valid"] and again["blobs_archived"] == 0 and again["blobs_checked"] == report["blobs_checked"] + len(expected)


# -- backup and restore ----------------------------------------------------------------------------


def backup(home: Path, out: Path) -> tuple[int, str, str]:
    return gooseterm(home, "backup", "--out", str(out), "--jobs", "1")


def restore(home: Path, copy: Path, *flags: str) -> tuple[int, str, str]:
    return gooseterm(home, "restore", str(copy), "--jobs", "1", *flags)


def size(home: Path) -> int:
    with open_ledger(home) as ledger:
        return ledger.size()


def test_backup_writes_a_copy_that_verifies(home: Path, tmp_path: Path) -> None:
    code, stdout, stderr = backup(home, tmp_path / "copy.db")
    assert code == 0, stderr
    assert f"backed up {size(home)} entries" in stdout
    report = verify_ledger(str(tmp_path / "copy.db"))
    assert report.ok and report.size == size(home)
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "copy.db-wal").exists()


def test_backup_of_a_ledger_that_does_not_verify_keeps_no_copy(home: Path, tmp_path: Path) -> None:
    with sqlite3.connect(home / "ledger.db") as conn:
        conn.execute("DROP TRIGGER entries_no_update")
        conn.execute("UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'service-c', 'service-x') AS BLOB) WHERE seq = 20")
    code, _, stderr = backup(home, tmp_path / "copy.db")
    assert code == 1 and "does not verify (leaf_modified at seq 20" in stderr
    assert list(tmp_path.iterdir()) == [home]


def test_backup_never_overwrites(home: Path, tmp_path: Path) -> None:
    (tmp_path / "copy.db").write_bytes(b"keep me")
    code, _, stderr = backup(home, tmp_path / "copy.db")
    assert code == 1 and "already exists" in stderr and (tmp_path / "copy.db").read_bytes() == b"keep me"


def test_restore_into_an_empty_home_creates_the_ledger(home: Path, tmp_path: Path) -> None:
    backup(home, tmp_path / "copy.db")
    fresh = tmp_path / "fresh"
    shutil.copytree(home / "keys", fresh / "keys")
    code, stdout, stderr = restore(fresh, tmp_path / "copy.db")
    assert code == 0, stderr
    assert verify_ledger(str(fresh / "ledger.db")).ok and size(fresh) == size(home)


def test_restore_needs_force_to_replace_a_ledger(home: Path, tmp_path: Path) -> None:
    backup(home, tmp_path / "copy.db")
    code, _, stderr = restore(home, tmp_path / "copy.db")
    assert code == 1 and "pass --force" in stderr
    code, stdout, stderr = restore(home, tmp_path / "copy.db", "--force")
    assert code == 0 and "replaced (same entries)" in stdout, stderr


def test_restore_refuses_a_copy_that_does_not_verify(home: Path, tmp_path: Path) -> None:
    backup(home, tmp_path / "copy.db")
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        conn.execute("DROP TRIGGER entries_no_delete")
        conn.execute("DELETE FROM entries WHERE seq = 30")
    before = (home / "ledger.db").read_bytes()
    code, _, stderr = restore(home, tmp_path / "copy.db", "--force")
    assert code == 1 and "does not verify (row_deleted at seq 30" in stderr
    assert (home / "ledger.db").read_bytes() == before


def test_restore_refuses_a_fork(home: Path, demo: Path, tmp_path: Path) -> None:
    other = clone_home(demo, tmp_path / "other")
    append_notes(other, 3, tag="elsewhere")
    backup(other, tmp_path / "fork.db")
    append_notes(home, 5, tag="here")
    before = size(home)
    code, _, stderr = restore(home, tmp_path / "fork.db", "--force", "--allow-rollback")
    assert code == 1 and "forks from" in stderr and "Merkle roots" in stderr
    assert size(home) == before and verify_ledger(str(home / "ledger.db")).ok


def test_restoring_an_older_prefix_needs_allow_rollback(home: Path, tmp_path: Path) -> None:
    backup(home, tmp_path / "old.db")
    old = size(home)
    append_notes(home, 4)
    code, _, stderr = restore(home, tmp_path / "old.db", "--force")
    assert code == 1 and "would drop 4 entries" in stderr and size(home) == old + 4
    code, stdout, stderr = restore(home, tmp_path / "old.db", "--force", "--allow-rollback")
    assert code == 0 and "rolled back" in stdout, stderr
    assert size(home) == old and verify_ledger(str(home / "ledger.db")).ok
    append_notes(home, 1)  # the restored ledger takes appends again
    assert size(home) == old + 1


def test_restoring_a_longer_copy_of_the_same_history_brings_the_entries_back(home: Path, demo: Path, tmp_path: Path) -> None:
    ahead = clone_home(home, tmp_path / "ahead")
    append_notes(ahead, 6)
    backup(ahead, tmp_path / "ahead.db")
    code, stdout, stderr = restore(home, tmp_path / "ahead.db", "--force")
    assert code == 0 and "the copy is longer" in stdout, stderr
    assert size(home) == size(ahead) and verify_ledger(str(home / "ledger.db")).ok


def test_a_ledger_that_does_not_verify_is_replaced_with_force(home: Path, tmp_path: Path) -> None:
    backup(home, tmp_path / "copy.db")
    n = size(home)
    (home / "ledger.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)
    code, _, stderr = restore(home, tmp_path / "copy.db")
    assert code == 1 and "does not verify; pass --force" in stderr
    code, stdout, stderr = restore(home, tmp_path / "copy.db", "--force")
    assert code == 0 and "replaced the ledger that did not verify" in stdout, stderr
    assert size(home) == n and verify_ledger(str(home / "ledger.db")).ok
