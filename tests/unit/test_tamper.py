"""The tamper suite: edit the ledger FILE as an attacker would, and check what verification reports.

The attacker opens the SQLite file directly and drops the append-only triggers first. An outsider
can recompute every hash (leaf hashes, chain, Merkle nodes) but not the ledger key's row
signatures or checkpoint notes; an insider also holds the ledger key. Each test makes one kind of
edit and expects its fault class at the first bad seq. Where an edit changes leaf hashes the
attacker also rebuilds the stored Merkle nodes, as a careful attacker would, so the test sees the
class that the edit itself causes.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import zlib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import pytest

from gooseterm.ledger import verifier
from gooseterm.ledger.verifier import ledger_walk
from gooseterm.ledger.signing import Signer, canonical_json, sign_envelope, sign_note
from gooseterm.ledger.store import Draft, Ledger
from gooseterm.ledger.tree import Frontier

ORIGIN = "example.org/gooseterm-tamper"
LEDGER_KEY = Signer("ledger.example", bytes([1]) * 32)
ADMIN = Signer("admin.example", bytes([2]) * 32)
CI = Signer("ci.example", bytes([3]) * 32)
APPROVER = Signer("approver.example", bytes([4]) * 32)
MALLORY = Signer("mallory.example", bytes([6]) * 32)

SIZE = 60
CUT = 45
REVOKED_AT = 35  # APPROVER signs seqs 30-34 and is revoked at 35
BLOB_SEQS = [s for s in range(3, 30) if s % 4 == 0]


@dataclass(frozen=True)
class Pristine:
    """The untouched ledger, the checkpoint notes an auditor may hold, and a fork's checkpoint."""

    path: Path
    notes: dict[int, bytes]
    fork_note: bytes


def _evidence(i: int, **kw) -> Draft:
    return Draft("evidence.junit", {"run": i}, service=f"service-{'abc'[i % 3]}", **kw)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    """60 entries: 3 keys added, evidence with blobs, approvals, a revocation, a checkpoint every 10.

    The fork shares the first 40 entries, then appends 15 others and checkpoints at 55.
    """
    where = tmp_path_factory.mktemp("tamper")
    path, fork = where / "ledger.db", where / "fork.db"
    with Ledger.create(path, ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin"])], checkpoint_every=10) as ledger:
        ledger.append(Draft("ledger.key_added", {"vkey": CI.vkey, "roles": ["ci"]}), [ADMIN])
        ledger.append(Draft("ledger.key_added", {"vkey": APPROVER.vkey, "roles": ["approver"]}), [ADMIN])
        blobs = [ledger.put_blob(f"<testsuite name='run-{i}'/>\n".encode() * 40, "application/xml") for i in range(3)]
        for i in range(3, 30):
            ledger.append(_evidence(i, blobs=(blobs[i % 3],) if i in BLOB_SEQS else ()), [CI])
        for i in range(30, REVOKED_AT):
            ledger.append(Draft("annotation", {"run": i}, service="service-a"), [APPROVER])
        ledger.append(Draft("ledger.key_revoked", {"keyid": APPROVER.keyid, "reason": "left the team"}), [ADMIN])
        for i in range(REVOKED_AT + 1, 40):
            ledger.append(_evidence(i), [CI])
    shutil.copy(path, fork)
    with Ledger.open(fork, signer=LEDGER_KEY) as forked:
        forked.append_many([Draft("evidence.junit", {"run": i, "forked": True}) for i in range(40, 55)], [CI])
        fork_note = forked.checkpoint()
    with Ledger.open(path, signer=LEDGER_KEY) as ledger:
        for i in range(40, SIZE):
            ledger.append(_evidence(i), [CI])
        notes = dict(ledger.checkpoints())
    assert sorted(notes) == [1, 10, 20, 30, 40, 50, 60]
    return Pristine(path, notes, fork_note)


@pytest.fixture
def target(pristine: Pristine, tmp_path: Path) -> Path:
    """A private copy of the pristine ledger for one test to tamper with."""
    copy = tmp_path / "ledger.db"
    shutil.copy(pristine.path, copy)
    return copy


class Attacker:
    """Write access to the ledger file, the triggers dropped; `insider` also holds the ledger key."""

    def __init__(self, path: Path, insider: bool = False):
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.row_signer = LEDGER_KEY if insider else None
        self.conn.execute("BEGIN IMMEDIATE")
        triggers = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in triggers:
            self.conn.execute(f"DROP TRIGGER {name}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()

    def run(self, sql: str, *args: object) -> None:
        self.conn.execute(sql, args)

    def leaf(self, seq: int) -> bytes:
        return self.conn.execute("SELECT leaf FROM entries WHERE seq = ?", (seq,)).fetchone()[0]

    def record(self, seq: int) -> dict:
        return json.loads(self.leaf(seq))

    def write_leaf(self, seq: int, leaf: bytes, rehash: bool = True) -> None:
        """Replace the leaf bytes (and, unless told not to, the stored leaf hash)."""
        if rehash:
            self.run("UPDATE entries SET leaf = ?, leaf_hash = ? WHERE seq = ?", leaf, verifier.leaf_hash(leaf), seq)
        else:
            self.run("UPDATE entries SET leaf = ? WHERE seq = ?", leaf, seq)

    def write_record(self, seq: int, record: dict) -> None:
        self.write_leaf(seq, canonical_json(record))

    def backdate(self, seq: int, rehash: bool = True) -> None:
        """Move an entry's writer time back a century, in the leaf and in the time column alike."""
        leaf = self.leaf(seq)
        edited = leaf.replace(b'"time":"20', b'"time":"19', 1)
        assert edited != leaf
        self.write_leaf(seq, edited, rehash=rehash)
        self.run("UPDATE entries SET time = '19' || substr(time, 3) WHERE seq = ?", seq)

    def resign_statement(self, seq: int, signers: list[Signer]) -> None:
        """Re-sign the statement at seq with other keys, keeping its payload."""
        record = self.record(seq)
        payload = verifier.parse_envelope(record["envelope"]).payload
        record["envelope"] = json.loads(sign_envelope(payload, signers))
        self.write_record(seq, record)

    def rechain(self, start: int) -> None:
        """Recompute the chain from start to the end; the insider also re-signs the rows."""
        prev = self.conn.execute("SELECT chain FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT 1", (start,)).fetchone()
        chain = prev[0] if prev else verifier.GENESIS_CHAIN
        rows = self.conn.execute("SELECT seq, leaf_hash FROM entries WHERE seq >= ? ORDER BY seq", (start,)).fetchall()
        for seq, lh in rows:
            chain = verifier.chain_hash(chain, lh)
            self.run("UPDATE entries SET chain = ? WHERE seq = ?", chain, seq)
            if self.row_signer is not None:
                self.run("UPDATE entries SET row_sig = ? WHERE seq = ?", self.row_signer.sign(verifier.row_message(ORIGIN, seq, chain)), seq)

    def rebuild_tree(self) -> None:
        """Recompute every stored Merkle node from the leaf hashes, as a careful attacker would."""
        self.run("DELETE FROM tree_nodes")
        frontier = Frontier(0, {})
        for (lh,) in self.conn.execute("SELECT leaf_hash FROM entries ORDER BY seq").fetchall():
            self.conn.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", frontier.push(lh))

    def resign_checkpoints(self) -> None:
        """The insider's last step: re-sign every stored checkpoint over the tree as it now is."""
        assert self.row_signer is not None, "only an insider holds the ledger key"
        hashes = [lh for (lh,) in self.conn.execute("SELECT leaf_hash FROM entries ORDER BY seq")]
        for (size,) in self.conn.execute("SELECT size FROM checkpoints").fetchall():
            body = verifier.Checkpoint(ORIGIN, size, verifier.root_from_leaf_hashes(hashes[:size])).body()
            self.run("UPDATE checkpoints SET note = ? WHERE size = ?", sign_note(body, [self.row_signer]), size)

    def renumber(self, first: int, by: int) -> None:
        """Move rows seq >= first by `by` positions (through a free range, since seq is the key)."""
        self.run("UPDATE entries SET seq = seq + 1000000 WHERE seq >= ?", first)
        self.run("UPDATE entries SET seq = seq - 1000000 + ? WHERE seq >= 1000000", by)

    def swap(self, a: int, b: int) -> None:
        self.run("UPDATE entries SET seq = -1 WHERE seq = ?", a)
        self.run("UPDATE entries SET seq = ? WHERE seq = ?", a, b)
        self.run("UPDATE entries SET seq = ? WHERE seq = -1", b)


def verify(path: Path, **kw) -> verifier.Report:
    return verifier.verify_ledger(str(path), **kw)


def assert_fault(report: verifier.Report, code: str, seq: int | None, first: bool = True) -> None:
    """The report is invalid, names `code` at first seq `seq` and, when `first`, leads with it."""
    classes = report.by_class()
    assert report.ok is False
    assert code in classes, f"{code} not reported; got {classes}"
    assert classes[code]["first_seq"] == seq, classes[code]
    if first:
        assert report.first.code == code, report.sorted_faults()[:5]
        assert report.first.seq == seq


# -- no false alarm ----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_clean_ledger_verifies_with_no_fault(pristine: Pristine, jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_walk, "CHUNK_ROWS", 7)  # several chunks, so jobs=2 really splits the walk
    report = verify(pristine.path, jobs=jobs, trusted_checkpoint=pristine.notes[SIZE], ledger_vkey=LEDGER_KEY.vkey)
    assert report.ok, report.sorted_faults()[:5]
    assert (report.faults, report.size, report.checkpoints_checked, report.blobs_checked) == ([], SIZE, 7, 3)
    with Ledger.open(pristine.path, readonly=True) as ledger:
        assert report.root == ledger.root() == verifier.root_from_leaf_hashes([e.leaf_hash for e in ledger.entries()])


def test_a_trusted_checkpoint_older_than_the_ledger_is_consistent(pristine: Pristine) -> None:
    report = verify(pristine.path, trusted_checkpoint=pristine.notes[30])
    assert (report.ok, report.trusted_checkpoint) == (True, 30)


def test_an_archived_blob_is_reported_archived_not_corrupt(target: Path) -> None:
    with closing(sqlite3.connect(target)) as conn, conn:  # archival passes the triggers
        conn.execute("UPDATE blobs SET data = NULL, archived = '2030-01-01T00:00:00Z' WHERE rowid = 1")
    report = verify(target)
    assert report.ok, report.faults
    assert (report.blobs_archived, report.blobs_checked) == (1, 2)


# -- entries ----------------------------------------------------------------------------------


def test_modified_leaf_bytes_are_reported_at_their_seq(target: Path) -> None:
    with Attacker(target) as a:
        a.backdate(20, rehash=False)
    report = verify(target)
    assert_fault(report, "leaf_modified", 20)
    # The century moved only the index: the time its actor signed stays, and the entry now runs backwards.
    assert set(report.by_class()) == {"leaf_modified", "index_mismatch", "time_regressed"}
    assert report.by_class()["index_mismatch"]["first_seq"] == report.by_class()["time_regressed"]["first_seq"] == 20


def test_a_row_column_that_differs_from_its_signed_leaf_is_reported(target: Path) -> None:
    with Attacker(target) as a:
        a.run("UPDATE entries SET service = 'service-z' WHERE seq = 21")
    assert_fault(verify(target), "leaf_modified", 21)


def test_modified_leaf_with_recomputed_leaf_hash_breaks_the_chain(target: Path) -> None:
    with Attacker(target) as a:
        a.backdate(20)
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "chain_broken", 20)
    assert report.by_class()["chain_broken"]["count"] == 1
    # The stored checkpoints the outsider cannot re-sign still pin the old roots.
    assert_fault(report, "checkpoint_root_mismatch", 29, first=False)


def test_modified_leaf_with_recomputed_chain_breaks_the_row_signatures(target: Path) -> None:
    with Attacker(target) as a:
        a.backdate(20)
        a.rechain(20)
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "row_signature_bad", 20)
    assert report.by_class()["row_signature_bad"]["count"] == SIZE - 20
    assert "chain_broken" not in report.by_class()


def test_deleted_row_is_reported_with_its_seq(target: Path) -> None:
    with Attacker(target) as a:
        a.run("DELETE FROM entries WHERE seq = 20")
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "row_deleted", 20)
    assert report.by_class()["row_deleted"]["count"] == 1


def test_a_deleted_row_is_not_also_reported_as_a_cut_tail(target: Path) -> None:
    with Attacker(target) as a:
        a.run("DELETE FROM entries WHERE seq = 20")
        a.rebuild_tree()
    classes = verify(target).by_class()
    assert classes["row_deleted"]["first_seq"] == 20
    assert "tail_truncated" not in classes  # seq 59, the last one, is still there


def test_deleted_row_with_later_rows_renumbered_is_reported_with_its_seq(target: Path) -> None:
    with Attacker(target) as a:
        a.run("DELETE FROM entries WHERE seq = 20")
        a.renumber(21, by=-1)
        a.rechain(20)
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "row_deleted", 20)
    assert report.size == SIZE - 1


def test_renumbering_after_a_deletion_is_not_reported_as_reordering(target: Path) -> None:
    with Attacker(target) as a:
        a.run("DELETE FROM entries WHERE seq = 20")
        a.renumber(21, by=-1)
        a.rechain(20)
        a.rebuild_tree()
    classes = verify(target).by_class()
    assert classes["row_deleted"]["count"] == 1
    assert "row_reordered" not in classes


def test_forged_row_inserted_with_renumbering_is_reported_where_it_was_inserted(target: Path) -> None:
    with Attacker(target) as a:
        forged = a.record(19)
        forged["seq"] = 20
        a.renumber(20, by=+1)
        leaf = canonical_json(forged)
        a.run(
            "INSERT INTO entries SELECT 20, time, kind, service, promotion, ?, ?, chain, row_sig FROM entries WHERE seq = 19",
            leaf,
            verifier.leaf_hash(leaf),
        )
        a.rechain(20)
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "row_inserted", 20)
    assert report.by_class()["row_inserted"]["count"] == 1  # the later, renumbered rows are not insertions
    assert report.size == SIZE + 1


def test_two_swapped_rows_are_reported_as_reordered(target: Path) -> None:
    with Attacker(target) as a:
        a.swap(20, 21)
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "row_reordered", 20)
    assert report.by_class()["row_reordered"]["count"] == 1


# -- the tail ------------------------------------------------------------------------------------


def _cut_tail(path: Path, drop_checkpoints: bool) -> None:
    with Attacker(path) as a:
        a.run("DELETE FROM entries WHERE seq >= ?", CUT)
        a.rebuild_tree()
        if drop_checkpoints:
            a.run("DELETE FROM checkpoints WHERE size > ?", CUT)


def test_cut_tail_is_reported_against_a_checkpoint_taken_before_the_cut(target: Path, pristine: Pristine) -> None:
    _cut_tail(target, drop_checkpoints=True)
    report = verify(target, trusted_checkpoint=pristine.notes[SIZE])
    assert_fault(report, "tail_truncated", CUT)
    assert set(report.by_class()) == {"tail_truncated"}
    assert (report.size, report.trusted_checkpoint) == (CUT, SIZE)


def test_cut_tail_is_reported_by_stored_checkpoints_beyond_the_cut(target: Path) -> None:
    _cut_tail(target, drop_checkpoints=False)
    report = verify(target)
    assert_fault(report, "tail_truncated", CUT)
    assert set(report.by_class()) == {"tail_truncated"}
    assert report.by_class()["tail_truncated"]["count"] == 2  # the checkpoints at 50 and 60


def test_cut_tail_with_its_checkpoints_goes_unnoticed_without_a_trusted_checkpoint(target: Path) -> None:
    # DESIGN.md: a ledger alone cannot prove its tail was not cut; a checkpoint held outside can.
    _cut_tail(target, drop_checkpoints=True)
    report = verify(target)
    assert (report.ok, report.size) == (True, CUT)


# -- statements and keys ----------------------------------------------------------------------


def test_entry_resigned_by_an_unknown_key_is_reported_with_the_row_signature(target: Path) -> None:
    with Attacker(target) as a:
        a.resign_statement(20, [MALLORY])
        a.rechain(20)
        a.rebuild_tree()
    report = verify(target)
    assert_fault(report, "unknown_key", 20, first=False)
    assert_fault(report, "row_signature_bad", 20)


def test_entry_resigned_by_an_unknown_key_by_an_insider_is_reported_as_unknown_key(target: Path) -> None:
    with Attacker(target, insider=True) as a:
        a.resign_statement(20, [MALLORY])
        a.rechain(20)
        a.rebuild_tree()
        a.resign_checkpoints()
    report = verify(target)
    assert_fault(report, "unknown_key", 20)
    assert set(report.by_class()) == {"unknown_key"}
    assert "mallory.example" in report.first.detail


def test_statement_by_a_revoked_key_after_its_revocation_is_reported(target: Path) -> None:
    with Attacker(target, insider=True) as a:
        a.resign_statement(40, [APPROVER])
        a.rechain(40)
        a.rebuild_tree()
        a.resign_checkpoints()
    report = verify(target)
    assert_fault(report, "key_outside_validity", 40)
    assert set(report.by_class()) == {"key_outside_validity"}
    assert f"revoked at seq {REVOKED_AT}" in report.first.detail


def test_corrupted_statement_signature_is_reported(target: Path) -> None:
    with Attacker(target, insider=True) as a:
        record = a.record(20)
        sig = bytearray(base64.b64decode(record["envelope"]["signatures"][0]["sig"]))
        sig[7] ^= 0x01
        record["envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
        a.write_record(20, record)
        a.rechain(20)
        a.rebuild_tree()
        a.resign_checkpoints()
    report = verify(target)
    assert_fault(report, "statement_signature_bad", 20)
    assert set(report.by_class()) == {"statement_signature_bad"}
    assert CI.keyid in report.first.detail


def test_key_added_by_a_non_admin_is_reported_as_not_authorised(target: Path) -> None:
    with Attacker(target, insider=True) as a:
        a.resign_statement(2, [CI])  # seq 2 adds APPROVER; CI is trusted but not an admin
        a.rechain(2)
        a.rebuild_tree()
        a.resign_checkpoints()
    report = verify(target)
    assert_fault(report, "signer_not_authorised", 2)
    # Without that key event APPROVER was never trusted, so its approvals are by an unknown key.
    assert_fault(report, "unknown_key", 30, first=False)
    assert set(report.by_class()) == {"signer_not_authorised", "unknown_key"}


# -- blobs, checkpoints, tree --------------------------------------------------------------------


def test_swapped_blob_bytes_are_reported(target: Path) -> None:
    with Attacker(target) as a:
        a.run("UPDATE blobs SET data = ? WHERE rowid = 1", zlib.compress(b"<testsuite failures='0'/>"))
        digest = a.conn.execute("SELECT digest FROM blobs WHERE rowid = 1").fetchone()[0]
    report = verify(target)
    assert_fault(report, "blob_digest_mismatch", None)
    assert digest in report.first.detail


def test_a_deleted_blob_still_referred_to_is_reported_missing(target: Path) -> None:
    with Attacker(target) as a:
        a.run("DELETE FROM blobs WHERE rowid = 1")
    assert_fault(verify(target), "blob_missing", None)


def test_edited_checkpoint_note_is_reported(target: Path) -> None:
    with Attacker(target) as a:
        note = a.conn.execute("SELECT note FROM checkpoints WHERE size = 30").fetchone()[0]
        root = verifier.parse_checkpoint(verifier.split_note(note).text).root
        a.run("UPDATE checkpoints SET note = ? WHERE size = 30", note.replace(base64.b64encode(root), base64.b64encode(bytes(32))))
    report = verify(target)
    assert_fault(report, "checkpoint_signature_bad", None)
    assert set(report.by_class()) == {"checkpoint_signature_bad"}


def test_checkpoint_signed_over_a_wrong_root_is_reported(target: Path) -> None:
    with Attacker(target, insider=True) as a:
        note = sign_note(verifier.Checkpoint(ORIGIN, 30, verifier.leaf_hash(b"not the root")).body(), [LEDGER_KEY])
        a.run("UPDATE checkpoints SET note = ? WHERE size = 30", note)
    report = verify(target)
    assert_fault(report, "checkpoint_root_mismatch", 29)
    assert set(report.by_class()) == {"checkpoint_root_mismatch"}


def test_trusted_checkpoint_from_a_fork_with_the_same_keys_is_inconsistent(pristine: Pristine) -> None:
    report = verify(pristine.path, trusted_checkpoint=pristine.fork_note)
    assert_fault(report, "checkpoint_inconsistent", 54)
    assert set(report.by_class()) == {"checkpoint_inconsistent"}


def test_trusted_checkpoint_signed_by_another_key_is_reported(pristine: Pristine) -> None:
    with Ledger.open(pristine.path, readonly=True) as ledger:
        forged = sign_note(verifier.Checkpoint(ORIGIN, SIZE, ledger.root()).body(), [MALLORY])
    report = verify(pristine.path, trusted_checkpoint=forged)
    assert_fault(report, "checkpoint_signature_bad", None)
    assert "trusted checkpoint" in report.first.detail


def test_edited_tree_node_on_the_right_edge_is_reported(target: Path) -> None:
    # 60 = 32 + 16 + 8 + 4: node (2, 14) covers leaves 56-59, on the tree's right edge.
    with Attacker(target) as a:
        a.run("UPDATE tree_nodes SET hash = ? WHERE level = 2 AND idx = 14", bytes(32))
    report = verify(target)
    assert_fault(report, "tree_mismatch", 56)  # the first leaf the node covers
    assert set(report.by_class()) == {"tree_mismatch"}


def test_edited_interior_tree_node_is_reported(target: Path) -> None:
    # Node (2, 3) covers leaves 12-15; the store builds inclusion proofs for leaves 8-11 from it.
    with Attacker(target) as a:
        a.run("UPDATE tree_nodes SET hash = ? WHERE level = 2 AND idx = 3", bytes(32))
    with Ledger.open(target, readonly=True) as ledger:
        hashes = [e.leaf_hash for e in ledger.entries()]
        with pytest.raises(verifier.ProofError):  # the damage is real: served proofs stop verifying
            verifier.verify_inclusion(8, SIZE, hashes[8], ledger.inclusion_proof(8, SIZE), verifier.root_from_leaf_hashes(hashes))
    report = verify(target)
    assert_fault(report, "tree_mismatch", 12)
    assert set(report.by_class()) == {"tree_mismatch"}


def test_first_fault_names_the_edited_seq_when_the_tree_was_not_rebuilt(target: Path) -> None:
    with Attacker(target) as a:
        a.backdate(20)
    assert_fault(verify(target), "chain_broken", 20)


def test_an_edited_time_column_is_reported(target: Path) -> None:
    with Attacker(target) as a:
        a.run("UPDATE entries SET time = '2001-01-01T00:00:00.000000Z' WHERE seq = 20")
    with Ledger.open(target, readonly=True) as ledger:
        assert ledger.entry(20).time.startswith("2001")  # what every reader of the store now sees
    assert_fault(verify(target), "leaf_modified", 20)


# -- the file ------------------------------------------------------------------------------------


def test_a_page_overwritten_with_garbage_is_reported_as_file_damage(target: Path) -> None:
    pages = target.stat().st_size // 4096
    assert pages > 10
    with open(target, "r+b") as fh:
        fh.seek(pages // 2 * 4096)
        fh.write(os.urandom(4096))
    report = verify(target)
    assert_fault(report, "file_damaged", None)
    assert set(report.by_class()) == {"file_damaged"}


def test_a_foreign_sqlite_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE services (name TEXT); INSERT INTO services VALUES ('service-a');")
    assert_fault(verify(path), "foreign_file", None)


def test_a_sqlite_file_with_a_meta_table_but_no_ledger_format_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('format', 'other/1');")
    assert_fault(verify(path), "foreign_file", None)


def test_a_text_file_is_reported_as_foreign(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_text("service-a: compliant\n")
    assert_fault(verify(path), "foreign_file", None)


# -- parallel verification finds the same faults -------------------------------------------------


def _delete_and_renumber(a: Attacker) -> None:
    a.run("DELETE FROM entries WHERE seq = 21")
    a.renumber(22, by=-1)
    a.rechain(21)
    a.rebuild_tree()


def _swap_across_a_chunk_boundary(a: Attacker) -> None:
    a.swap(20, 21)
    a.rebuild_tree()


def _break_chain_at_a_chunk_start(a: Attacker) -> None:
    a.backdate(28)
    a.rebuild_tree()


def _resign_by_unknown_key(a: Attacker) -> None:
    a.resign_statement(42, [MALLORY])
    a.rechain(42)
    a.rebuild_tree()


@pytest.mark.parametrize(
    "tamper", [_delete_and_renumber, _swap_across_a_chunk_boundary, _break_chain_at_a_chunk_start, _resign_by_unknown_key]
)
def test_two_jobs_over_small_chunks_report_what_one_job_reports(
    target: Path, tamper, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Attacker(target) as a:
        tamper(a)
    single = verify(target, jobs=1)  # one chunk: CHUNK_ROWS is far above 60
    monkeypatch.setattr(ledger_walk, "CHUNK_ROWS", 7)  # chunks start at 0, 7, ..., 21, 28, ...
    parallel = verify(target, jobs=2)
    assert single.ok is False
    assert parallel.by_class() == single.by_class()
    assert parallel.first == single.first


@pytest.mark.slow
def test_two_jobs_report_what_one_job_reports_beyond_one_chunk(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    boundary = verifier.CHUNK_ROWS
    with Ledger.create(path, ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin"])]) as ledger:
        ledger.append(Draft("ledger.key_added", {"vkey": CI.vkey, "roles": ["ci"]}), [ADMIN])
        ledger.append_many((_evidence(i) for i in range(2, boundary + 2_000)), [CI], batch_size=5_000)
    clean = verify(path, jobs=2)
    assert (clean.ok, clean.size) == (True, boundary + 2_000)
    with Attacker(path) as a:
        a.swap(boundary - 1, boundary)
        a.run("DELETE FROM entries WHERE seq = ?", boundary + 500)
        a.rebuild_tree()
    single, parallel = verify(path, jobs=1), verify(path, jobs=2)
    assert_fault(single, "row_reordered", boundary - 1)
    assert_fault(single, "row_deleted", boundary + 500, first=False)
    assert parallel.by_class() == single.by_class()
