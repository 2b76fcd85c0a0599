"""The SQLite driver's own guarantees, beyond what the ledger's tests see: streamed blobs, the
write transaction's head and rollback, and reads of a read-only connection."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from gooseterm.ledger.signing import Signer
from gooseterm.ledger.storage.sqlite import CHUNK, SQLiteStorage
from gooseterm.ledger.store import Draft, Ledger

LEDGER_KEY = Signer("ledger.storage.test", bytes([31]) * 32)
CI = Signer("ci.storage.test", bytes([32]) * 32)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A ledger file with the CI key trusted."""
    path = tmp_path / "ledger.db"
    with Ledger.create(path, "storage.test/ledger", LEDGER_KEY, [(CI.vkey, ["ci"])]) as ledger:
        ledger.append(Draft("custom.note", {"n": 1}), [CI])
    return path


def test_a_blob_streamed_in_is_stored_once_and_streamed_out_in_chunks(path: Path) -> None:
    compressible = b"<testcase name='t'/>\n" * (CHUNK // 10)  # about 2 MiB, compressing well
    random = os.urandom(CHUNK + 12345)  # does not compress: stored as it is
    storage = SQLiteStorage.open(path, readonly=False)
    try:
        write = storage.begin()
        digests = [write.put_blob_stream((data[i:i + 65536] for i in range(0, len(data), 65536)), "application/xml")
                   for data in (compressible, random)]
        assert write.put_blob(compressible, "text/plain") == digests[0]
        write.commit()
    finally:
        storage.close()
    assert digests == ["sha256:" + hashlib.sha256(d).hexdigest() for d in (compressible, random)]
    reader = SQLiteStorage.open(path, readonly=True)
    try:
        for digest, data in zip(digests, (compressible, random)):
            chunks = list(reader.blob_chunks(digest))
            assert len(chunks) > 1 and all(len(c) <= CHUNK for c in chunks)
            assert b"".join(chunks) == data == reader.blob(digest)
            assert reader.blob_info(digest).size == len(data)
        assert reader.blob_info(digests[0]).media_type == "application/xml"
        assert reader.blobs_held() >= set(digests)
    finally:
        reader.close()


def test_an_archived_or_damaged_blob_fails_when_asked_for_not_midway(path: Path) -> None:
    with Ledger.open(path, signer=LEDGER_KEY) as ledger:
        kept = ledger.put_blob(b"<testsuite tests='9'/>" * 50, "application/xml")
        gone = ledger.put_blob(b"<testsuite tests='1'/>" * 50, "application/xml")
        with ledger.transaction() as txn:
            txn.archive_blobs([gone], "2030-01-01")
        with pytest.raises(LookupError, match="archived at 2030-01-01"):
            ledger.storage.blob_chunks(gone)
        assert ledger.storage.blobs_archived() == {gone: len(b"<testsuite tests='1'/>" * 50)}
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER blobs_fixed_identity")
    conn.execute("UPDATE blobs SET data = substr(data, 1, 10) WHERE digest = ?", (kept,))
    conn.commit()
    conn.close()
    with Ledger.open(path, readonly=True) as ledger, pytest.raises(ValueError, match="compressed blob is damaged"):
        ledger.blob(kept)


def test_the_head_is_read_inside_the_transaction_and_a_rollback_keeps_nothing(path: Path) -> None:
    storage = SQLiteStorage.open(path, readonly=False)
    try:
        size = storage.size()
        write = storage.begin()
        head = write.head()
        assert head.size == size and head.chain == storage.entry(size - 1)[7] and head.time == storage.entry(size - 1)[1]
        write.put_projection("p", "k", {"v": 1}, size - 1)
        assert write.projection("p", "k") == {"v": 1}  # a transaction reads its own writes
        write.rollback()
        write.rollback()  # nothing left to roll back: a no-op
        assert storage.projection("p", "k") is None and storage.size() == size
    finally:
        storage.close()
