"""The ledger store: creation, appends, checkpoints, proofs, blobs, projections and refusals.

Every proof and root the store serves is checked with the standalone verifier's functions, which
recompute them from the leaf hashes alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from gooseterm.ledger import verifier
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Draft, ForeignFile, Ledger, LedgerNotFound, PartialAppend, Refused

ORIGIN = "example.org/gooseterm-test"
# Fixed seeds: the same keys every run, so a failure reproduces.
LEDGER_KEY = Signer("ledger.example", bytes([1]) * 32)
ADMIN = Signer("admin.example", bytes([2]) * 32)
CI = Signer("ci.example", bytes([3]) * 32)
APPROVER = Signer("approver.example", bytes([4]) * 32)
STRANGER = Signer("stranger.example", bytes([5]) * 32)

EDGE_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70]


def create(path: Path, checkpoint_every: int = 1000) -> Ledger:
    """A ledger with one admin, a CI key and an approver key (seqs 0, 1 and 2)."""
    ledger = Ledger.create(path, ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin"])], checkpoint_every=checkpoint_every)
    ledger.append(Draft("ledger.key_added", {"vkey": CI.vkey, "roles": ["ci"]}), [ADMIN])
    ledger.append(Draft("ledger.key_added", {"vkey": APPROVER.vkey, "roles": ["approver"]}), [ADMIN])
    return ledger


def evidence(i: int, service: str = "service-a", **kw) -> Draft:
    """A small evidence entry whose predicate names its index."""
    return Draft("evidence.junit", {"run": i, "passed": i % 7 != 0}, service=service, **kw)


def on_file(ledger: Ledger) -> sqlite3.Connection:
    """A connection of the test's own to the ledger file, to look at what the ledger stored there."""
    return sqlite3.connect(ledger.path)


def state(ledger: Ledger) -> tuple:
    """Everything an append may change: size, root, checkpoints, keys, projections, blobs."""
    conn = on_file(ledger)
    return (
        ledger.size(),
        ledger.root(),
        ledger.checkpoints(),
        conn.execute("SELECT name, key, value, seq FROM projections ORDER BY name, key").fetchall(),
        conn.execute("SELECT digest FROM blobs ORDER BY digest").fetchall(),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with create(tmp_path / "ledger.db") as opened:
        yield opened


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ledger, list[bytes]]:
    """A 70-entry ledger (built in uneven batches) and its leaf hashes, for proof checks."""
    ledger = create(tmp_path_factory.mktemp("proofs") / "ledger.db", checkpoint_every=8)
    ledger.append_many((evidence(i) for i in range(3, 40)), [CI], batch_size=6)
    for i in range(40, 70):
        ledger.append(evidence(i), [CI])
    yield ledger, [e.leaf_hash for e in ledger.entries()]
    ledger.close()


# -- creating and opening -------------------------------------------------------------------


def test_genesis_pins_origin_ledger_key_and_admins(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path / "l.db", ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["admin", "release"])])
    genesis = ledger.entry(0)
    assert (ledger.size(), genesis.kind, genesis.signers) == (1, "ledger.genesis", [LEDGER_KEY.keyid])
    assert genesis.predicate == {
        "origin": ORIGIN,
        "ledger_key": LEDGER_KEY.vkey,
        "keys": [
            {"vkey": LEDGER_KEY.vkey, "roles": ["ledger"]},
            {"vkey": ADMIN.vkey, "roles": ["admin", "release"]},
        ],
    }
    keys = ledger.keys()
    assert (keys[ADMIN.keyid].added, keys[ADMIN.keyid].revoked) == (0, None)
    assert [size for size, _ in ledger.checkpoints()] == [1]


def test_an_admin_named_without_the_admin_role_still_gets_it(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path / "l.db", ORIGIN, LEDGER_KEY, admins=[(ADMIN.vkey, ["release"])])
    assert ledger.keys()[ADMIN.keyid].roles == ("admin", "release")


def test_reopened_ledger_has_the_same_origin_key_size_and_root(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with create(path) as first:
        first.append(evidence(3), [CI])
        before = (first.origin, first.ledger_key, first.size(), first.root())
    with Ledger.open(path) as reopened:
        assert (reopened.origin, reopened.ledger_key, reopened.size(), reopened.root()) == before
    with Ledger.open(path, readonly=True) as readonly:
        assert readonly.size() == before[2]


def test_create_refuses_to_overwrite_an_existing_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    create(path).close()
    size = path.stat().st_size
    with pytest.raises(Refused, match="already exists"):
        create(path)
    assert path.stat().st_size == size


def test_opening_with_another_key_than_the_ledger_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    create(path).close()
    with pytest.raises(Refused, match=re.escape(LEDGER_KEY.keyid)):
        Ledger.open(path, signer=ADMIN)


def test_append_without_the_ledger_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    create(path).close()
    with Ledger.open(path) as keyless, pytest.raises(Refused, match="ledger key"):
        keyless.append(evidence(3), [CI])


def test_opening_a_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "ledger.db"
    with pytest.raises(LedgerNotFound, match=re.escape(str(path))):
        Ledger.open(path)
    assert not path.exists()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.write_text("service-a: compliant\n"), id="text-file"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty-file"),
        pytest.param(lambda p: p.mkdir(), id="directory"),
        pytest.param(lambda p: sqlite3.connect(p).executescript("CREATE TABLE t (x); INSERT INTO t VALUES (1);"), id="foreign-sqlite"),
        pytest.param(
            lambda p: sqlite3.connect(p).executescript(
                "CREATE TABLE meta (key, value); CREATE TABLE entries (seq); INSERT INTO meta VALUES ('format', 'other/9');"
            ),
            id="sqlite-with-another-format",
        ),
    ],
)
def test_opening_a_file_that_is_not_a_ledger_names_the_path(tmp_path: Path, make: Callable[[Path], object]) -> None:
    path = tmp_path / "not-a-ledger.db"
    make(path)
    with pytest.raises(ForeignFile, match=re.escape(str(path))):
        Ledger.open(path)


# -- appending --------------------------------------------------------------------------------


def test_append_round_trips_kind_service_promotion_and_predicate(ledger: Ledger) -> None:
    draft = Draft("gate.result", {"gate": "sast_clean", "result": "pass", "note": "ünïcode ok"}, service="service-b", promotion="p-7")
    receipt = ledger.append(draft, [CI])
    entry = ledger.entry(receipt.seq)
    assert (entry.kind, entry.service, entry.promotion, entry.predicate) == (
        "gate.result", "service-b", "p-7", draft.predicate,
    )
    assert (entry.leaf_hash, entry.chain, entry.time) == (receipt.leaf_hash, receipt.chain, receipt.time)
    assert entry.leaf_hash == verifier.leaf_hash(entry.leaf)
    assert entry.chain == verifier.chain_hash(ledger.entry(receipt.seq - 1).chain, entry.leaf_hash)
    assert entry.signers == [CI.keyid]
    assert entry.statement["predicateType"] == "https://gooseterm.dev/predicates/gate.result/v1"


def test_an_entry_can_carry_several_signatures(ledger: Ledger) -> None:
    receipt = ledger.append(Draft("annotation", {"note": "signed by two keys"}), [APPROVER, ADMIN])
    assert ledger.entry(receipt.seq).signers == [APPROVER.keyid, ADMIN.keyid]
    assert verifier.verify_ledger(str(ledger.path)).ok


def test_append_many_round_trips_in_order_with_gapless_seqs(ledger: Ledger) -> None:
    drafts = [evidence(i, service=f"service-{'abc'[i % 3]}") for i in range(250)]
    receipts = ledger.append_many(drafts, [CI], batch_size=64)
    assert [r.seq for r in receipts] == list(range(3, 253))
    entries = ledger.entries(after=2)
    assert [(e.seq, e.service, e.predicate) for e in entries] == [
        (3 + i, d.service, d.predicate) for i, d in enumerate(drafts)
    ]
    assert [e.leaf_hash for e in entries] == [r.leaf_hash for r in receipts]
    assert [e.seq for e in ledger.entries()] == list(range(ledger.size()))
    report = verifier.verify_ledger(str(ledger.path))
    assert report.ok, report.faults[:3]
    assert report.size == 253


def test_single_and_batch_appends_interleave_without_gaps(ledger: Ledger) -> None:
    seqs = []
    for round_ in range(5):
        seqs.append(ledger.append(evidence(round_), [CI]).seq)
        seqs += [r.seq for r in ledger.append_many([evidence(j) for j in range(7)], [CI], batch_size=3)]
    assert seqs == list(range(3, 3 + 5 * 8))
    assert verifier.verify_ledger(str(ledger.path)).ok


def test_entries_filter_by_service_kind_family_and_promotion(ledger: Ledger) -> None:
    ledger.append(evidence(1, service="service-a"), [CI])
    ledger.append(evidence(2, service="service-b"), [CI])
    ledger.append(Draft("gate.result", {"gate": "g"}, service="service-a", promotion="p-1"), [CI])
    assert [e.seq for e in ledger.entries(service="service-a")] == [3, 5]
    assert [e.seq for e in ledger.entries(kind="ledger.")] == [0, 1, 2]
    assert [e.seq for e in ledger.entries(promotion="p-1")] == [5]
    assert [e.seq for e in ledger.entries(newest_first=True, limit=2)] == [5, 4]


def test_an_unknown_seq_is_a_key_error_naming_the_size(ledger: Ledger) -> None:
    with pytest.raises(KeyError, match="ledger size 3"):
        ledger.entry(3)


def test_key_events_replay_into_validity_windows(ledger: Ledger) -> None:
    revoked = ledger.append(Draft("ledger.key_revoked", {"keyid": APPROVER.keyid, "reason": "left the team"}), [ADMIN])
    keys = ledger.keys()
    assert (keys[CI.keyid].roles, keys[CI.keyid].added, keys[CI.keyid].revoked) == (("ci",), 1, None)
    assert (keys[APPROVER.keyid].added, keys[APPROVER.keyid].revoked) == (2, revoked.seq)
    assert keys[APPROVER.keyid].valid_at(revoked.seq - 1) and not keys[APPROVER.keyid].valid_at(revoked.seq)


# -- checkpoints ----------------------------------------------------------------------------


def _checkpoint_of(note: bytes) -> verifier.Checkpoint:
    opened, signers = verifier.open_note(note, [LEDGER_KEY.verifier])
    assert signers == [LEDGER_KEY.verifier]
    return verifier.parse_checkpoint(opened.text)


def test_single_appends_write_a_checkpoint_at_every_multiple_of_n(tmp_path: Path) -> None:
    with create(tmp_path / "l.db", checkpoint_every=5) as ledger:
        for i in range(3, 23):
            ledger.append(evidence(i), [CI])
        assert [size for size, _ in ledger.checkpoints()] == [1, 5, 10, 15, 20]
        for size, note in ledger.checkpoints():
            cp = _checkpoint_of(note)
            assert (cp.origin, cp.size, cp.root) == (ORIGIN, size, ledger.root(size))


def test_a_batch_crossing_a_multiple_of_n_ends_in_a_checkpoint(tmp_path: Path) -> None:
    # The bulk path checkpoints once per batch, at the batch's end, when the batch crossed k*N.
    with create(tmp_path / "l.db", checkpoint_every=5) as ledger:
        ledger.append_many((evidence(i) for i in range(3, 30)), [CI], batch_size=4)
        sizes = [size for size, _ in ledger.checkpoints()]
        assert sizes == [1, 7, 11, 15, 23, 27, 30]
        for multiple in range(5, ledger.size() + 1, 5):
            assert any(multiple <= s < multiple + 4 for s in sizes), multiple
        assert all(_checkpoint_of(note).root == ledger.root(size) for size, note in ledger.checkpoints())


def test_checkpoint_on_demand_is_stored_once_per_size_and_cosignable(ledger: Ledger) -> None:
    first = ledger.checkpoint([CI])
    assert ledger.checkpoint() == first
    assert ledger.latest_checkpoint() == first
    _, signers = verifier.open_note(first, [LEDGER_KEY.verifier, CI.verifier])
    assert signers == [LEDGER_KEY.verifier, CI.verifier]
    assert _checkpoint_of(first).size == 3


# -- Merkle roots and proofs -----------------------------------------------------------------


def test_roots_equal_the_tree_of_all_leaf_hashes_at_every_size(grown: tuple[Ledger, list[bytes]]) -> None:
    ledger, hashes = grown
    assert ledger.size() == len(hashes) == 70
    assert ledger.root(0) == verifier.EMPTY_ROOT
    for size in range(1, 71):
        assert ledger.root(size) == verifier.root_from_leaf_hashes(hashes[:size]), size
    assert ledger.root() == verifier.root_from_leaf_hashes(hashes)


@pytest.mark.parametrize("size", EDGE_SIZES)
def test_inclusion_proofs_verify_for_every_index(grown: tuple[Ledger, list[bytes]], size: int) -> None:
    ledger, hashes = grown
    root = verifier.root_from_leaf_hashes(hashes[:size])
    for index in range(size):
        proof = ledger.inclusion_proof(index, size)
        verifier.verify_inclusion(index, size, hashes[index], proof, root)
        if size > 1:  # the same proof must not pass for a neighbouring leaf
            other = index + 1 if index + 1 < size else index - 1
            with pytest.raises(verifier.ProofError):
                verifier.verify_inclusion(index, size, hashes[other], proof, root)


@pytest.mark.parametrize("size2", EDGE_SIZES)
def test_consistency_proofs_verify_from_every_smaller_size(grown: tuple[Ledger, list[bytes]], size2: int) -> None:
    ledger, hashes = grown
    root2 = verifier.root_from_leaf_hashes(hashes[:size2])
    for size1 in range(1, size2 + 1):
        root1 = verifier.root_from_leaf_hashes(hashes[:size1])
        proof = ledger.consistency_proof(size1, size2)
        verifier.verify_consistency(size1, size2, proof, root1, root2)
        if size1 < size2:  # a forked first tree must not pass
            with pytest.raises(verifier.ProofError):
                verifier.verify_consistency(size1, size2, proof, verifier.leaf_hash(b"fork"), root2)


def test_proofs_default_to_the_current_size(grown: tuple[Ledger, list[bytes]]) -> None:
    ledger, hashes = grown
    verifier.verify_inclusion(9, 70, hashes[9], ledger.inclusion_proof(9), ledger.root())
    verifier.verify_consistency(33, 70, ledger.consistency_proof(33), ledger.root(33), ledger.root())


def test_proofs_outside_the_tree_are_refused(grown: tuple[Ledger, list[bytes]]) -> None:
    ledger, _ = grown
    with pytest.raises(ValueError, match="not in a tree of size 70"):
        ledger.inclusion_proof(70, 70)
    with pytest.raises(ValueError, match="from size 0"):
        ledger.consistency_proof(0, 5)


# -- blobs -------------------------------------------------------------------------------------


def test_blob_round_trips_and_is_stored_compressed(ledger: Ledger) -> None:
    data = b"<testcase classname='billing' name='test_refund'/>\n" * 400
    digest = ledger.put_blob(data, "application/xml")
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert ledger.blob(digest) == data
    info = ledger.blob_info(digest)
    assert (info.size, info.media_type, info.archived) == (len(data), "application/xml", None)
    compression, stored = on_file(ledger).execute("SELECT compression, length(data) FROM blobs WHERE digest = ?", (digest,)).fetchone()
    assert compression == "zlib" and stored < len(data) // 10


def test_incompressible_blob_is_stored_as_is(ledger: Ledger) -> None:
    data = bytes(range(256)) + os.urandom(2048)
    digest = ledger.put_blob(data)
    assert ledger.blob(digest) == data
    assert on_file(ledger).execute("SELECT compression FROM blobs WHERE digest = ?", (digest,)).fetchone() == ("none",)


def test_the_same_blob_twice_is_stored_once(ledger: Ledger) -> None:
    data = b'{"line_rate": 0.91}'
    first, second = ledger.put_blob(data, "application/json"), ledger.put_blob(data, "text/plain")
    assert first == second
    assert on_file(ledger).execute("SELECT count(*) FROM blobs").fetchone() == (1,)
    assert ledger.blob_info(first).media_type == "application/json"


def test_an_entry_names_its_blobs_in_leaf_and_statement(ledger: Ledger) -> None:
    digest = ledger.put_blob(b"<testsuite tests='3'/>", "application/xml")
    seq = ledger.append(evidence(3, blobs=(digest,)), [CI]).seq
    entry = ledger.entry(seq)
    assert entry.record["blobs"] == [digest]
    assert {"name": digest, "digest": {"sha256": digest.removeprefix("sha256:")}} in entry.statement["subject"]
    report = verifier.verify_ledger(str(ledger.path))
    assert (report.ok, report.blobs_checked) == (True, 1)


def test_an_archived_blob_keeps_its_metadata_and_says_it_was_archived(ledger: Ledger) -> None:
    digest = ledger.put_blob(b"<testsuite tests='1'/>", "application/xml")
    with ledger.transaction() as txn:  # archival may drop the bytes; the triggers allow only that
        txn.archive_blobs([digest], "2030-01-01")
    assert ledger.blob_info(digest).archived == "2030-01-01"
    with pytest.raises(LookupError, match="archived at 2030-01-01"):
        ledger.blob(digest)


def test_an_unknown_blob_is_a_key_error(ledger: Ledger) -> None:
    with pytest.raises(KeyError, match="no blob"):
        ledger.blob("sha256:" + "0" * 64)


# -- projections -------------------------------------------------------------------------------


def test_projection_is_written_in_the_same_transaction_as_its_entry(ledger: Ledger) -> None:
    with ledger.transaction() as txn:
        receipt = txn.append(Draft("promotion.requested", {"to": "compliance_ready"}, service="service-a", promotion="p-1"), [CI])
        txn.project("services", "service-a", {"state": "sandbox", "pending": "p-1"})
    assert ledger.projection("services", "service-a") == {"state": "sandbox", "pending": "p-1"}
    assert on_file(ledger).execute("SELECT seq FROM projections WHERE name = 'services'").fetchone() == (receipt.seq,)
    assert ledger.projection_items("services") == {"service-a": {"state": "sandbox", "pending": "p-1"}}
    assert ledger.projection("services", "service-z") is None


def test_a_failed_transaction_keeps_neither_entry_nor_projection(ledger: Ledger) -> None:
    before = state(ledger)
    with pytest.raises(RuntimeError, match="precondition"), ledger.transaction() as txn:
        txn.append(evidence(3), [CI])
        txn.project("services", "service-a", {"state": "compliant"})
        raise RuntimeError("precondition changed")
    assert state(ledger) == before
    assert ledger.projection("services", "service-a") is None


# -- triggers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE entries SET kind = 'x' WHERE seq = 1", "entries are append-only"),
        ("DELETE FROM entries WHERE seq = 2", "entries are append-only"),
        ("UPDATE tree_nodes SET hash = x'00' WHERE level = 0 AND idx = 0", "tree nodes are append-only"),
        ("DELETE FROM tree_nodes", "tree nodes are append-only"),
        ("UPDATE checkpoints SET note = x'00'", "checkpoints are append-only"),
        ("DELETE FROM checkpoints", "checkpoints are append-only"),
        ("UPDATE meta SET value = 'evil.example' WHERE key = 'origin'", "metadata is fixed"),
        ("DELETE FROM meta", "metadata is fixed"),
        ("DELETE FROM blobs", "archive their bytes instead"),
        ("UPDATE blobs SET digest = 'sha256:00'", "keeps its digest and size"),
    ],
)
def test_triggers_refuse_update_and_delete_with_a_message(ledger: Ledger, sql: str, message: str) -> None:
    ledger.put_blob(b"evidence", "text/plain")
    before = state(ledger)
    with sqlite3.connect(ledger.path) as stray, pytest.raises(sqlite3.IntegrityError, match=message):
        stray.execute(sql)
    assert state(ledger) == before
    assert verifier.verify_ledger(str(ledger.path)).ok


def test_a_refusal_in_a_later_batch_keeps_the_batches_already_committed(ledger: Ledger) -> None:
    # append_many commits batch by batch: a refused draft rolls back its own batch only, and the
    # exception carries the receipts of the batches kept.
    drafts = [evidence(i) for i in range(25)] + [Draft("bad kind", {})]
    with pytest.raises(PartialAppend, match="must be letters") as stopped:
        ledger.append_many(drafts, [CI], batch_size=10)
    assert isinstance(stopped.value.cause, Refused)
    assert [r.seq for r in stopped.value.receipts] == list(range(3, 23))
    assert ledger.size() == 3 + 20
    assert [e.predicate["run"] for e in ledger.entries(after=2)] == list(range(20))
    assert verifier.verify_ledger(str(ledger.path)).ok


# -- refusals: nothing is written ----------------------------------------------------------------


def _revoke_approver(ledger: Ledger) -> None:
    ledger.append(Draft("ledger.key_revoked", {"keyid": APPROVER.keyid, "reason": "left"}), [ADMIN])


REFUSALS: dict[str, tuple[Callable[[Ledger], object], str]] = {
    "unknown-signer": (lambda lg: lg.append(evidence(9), [STRANGER]), "not trusted"),
    "one-unknown-cosigner": (lambda lg: lg.append(evidence(9), [CI, STRANGER]), "not trusted"),
    "revoked-signer": (lambda lg: lg.append(evidence(9), [APPROVER]), "revoked at seq 3"),
    "non-admin-adds-a-key": (lambda lg: lg.append(Draft("ledger.key_added", {"vkey": STRANGER.vkey, "roles": ["admin"]}), [CI]), "admin key"),
    "non-admin-revokes-a-key": (lambda lg: lg.append(Draft("ledger.key_revoked", {"keyid": ADMIN.keyid, "reason": "x"}), [CI]), "admin key"),
    "revoked-key-added-again": (lambda lg: lg.append(Draft("ledger.key_added", {"vkey": APPROVER.vkey, "roles": []}), [ADMIN]), "cannot come back"),
    "ledger-key-revoked": (lambda lg: lg.append(Draft("ledger.key_revoked", {"keyid": LEDGER_KEY.keyid, "reason": "x"}), [ADMIN]), "ledger key cannot be revoked"),
    "revoking-an-unknown-key": (lambda lg: lg.append(Draft("ledger.key_revoked", {"keyid": STRANGER.keyid, "reason": "x"}), [ADMIN]), "no key"),
    "bad-kind": (lambda lg: lg.append(Draft("evidence junit!", {}), [CI]), "must be letters"),
    "empty-kind": (lambda lg: lg.append(Draft("", {}), [CI]), "must be letters"),
    "second-genesis": (lambda lg: lg.append(Draft("ledger.genesis", {}), [LEDGER_KEY]), "exactly one genesis"),
    "no-signer": (lambda lg: lg.append(evidence(9), []), "at least one signer"),
    "missing-blob": (lambda lg: lg.append(evidence(9, blobs=("sha256:" + "ab" * 32,)), [CI]), "not stored"),
    "bad-draft-late-in-a-batch": (
        lambda lg: lg.append_many([evidence(i) for i in range(20)] + [Draft("bad kind", {})], [CI]),
        "must be letters",
    ),
    "key-revoked-earlier-in-the-same-batch": (
        lambda lg: lg.append_many([Draft("ledger.key_revoked", {"keyid": CI.keyid, "reason": "x"}), evidence(9)], [ADMIN, CI]),
        "revoked at seq 4",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_append_leaves_the_ledger_unchanged(ledger: Ledger, case: str) -> None:
    ledger.put_blob(b"stored evidence", "text/plain")
    _revoke_approver(ledger)
    before = state(ledger)
    action, message = REFUSALS[case]
    with pytest.raises(Refused, match=message):
        action(ledger)
    assert state(ledger) == before
    # The writer is still usable and continues the sequence where it was.
    assert ledger.append(evidence(10), [CI]).seq == before[0]
    assert verifier.verify_ledger(str(ledger.path)).ok


def test_spliced_leaf_bytes_are_the_canonical_json_of_the_leaf(tmp_path: Path) -> None:
    """The append path splices the envelope into the leaf; the result must be canonical JSON."""
    import json

    from gooseterm.ledger.signing import canonical_json

    admin = Signer.generate("admin")
    ledger = Ledger.create(tmp_path / "l.db", "example.org/splice", Signer.generate("example.org/splice"), [(admin.vkey, ["admin"])])
    digest = ledger.put_blob(b"evidence", "text/plain")
    ledger.append(Draft("custom.one", {"ü": "naïve ✓", "n": [1, 2.5, None]}, service="svc-ü", promotion="p-1", blobs=(digest,)), [admin])
    ledger.append(Draft("custom.two", {}), [admin])
    for entry in ledger.entries():
        assert entry.leaf == canonical_json(json.loads(entry.leaf))
