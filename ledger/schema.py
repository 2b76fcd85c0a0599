"""The ledger's SQLite schema: tables, indexes and the append-only triggers."""

from __future__ import annotations

# Triggers guard against accidents (a stray UPDATE in a shell); cryptography guards against
# adversaries, who can drop triggers. Blobs may lose their bytes (archival) and get them back,
# but never change digest or size.
DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    seq        INTEGER PRIMARY KEY,
    time       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    service    TEXT,
    promotion  TEXT,
    leaf       BLOB NOT NULL,
    leaf_hash  BLOB NOT NULL,
    chain      BLOB NOT NULL,
    row_sig    BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_service ON entries (service, seq);
CREATE INDEX IF NOT EXISTS entries_by_kind ON entries (kind, seq);
CREATE INDEX IF NOT EXISTS entries_by_promotion ON entries (promotion, seq) WHERE promotion IS NOT NULL;
CREATE TABLE IF NOT EXISTS tree_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size    INTEGER PRIMARY KEY,
    note    BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    digest      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    compression TEXT NOT NULL,
    data        BLOB,
    archived    TEXT
);
CREATE TABLE IF NOT EXISTS projections (
    name  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_no_update BEFORE UPDATE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'gooseterm Merkle tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_no_delete BEFORE DELETE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'gooseterm Merkle tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'gooseterm checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'gooseterm checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger metadata is fixed at creation'); END;
CREATE TRIGGER IF NOT EXISTS meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'gooseterm ledger metadata is fixed at creation'); END;
CREATE TRIGGER IF NOT EXISTS blobs_no_delete BEFORE DELETE ON blobs
BEGIN SELECT RAISE(ABORT, 'gooseterm blobs are kept; archive their bytes instead'); END;
CREATE TRIGGER IF NOT EXISTS blobs_fixed_identity BEFORE UPDATE ON blobs
WHEN NEW.digest IS NOT OLD.digest OR NEW.size IS NOT OLD.size
BEGIN SELECT RAISE(ABORT, 'a blob keeps its digest and size'); END;
"""
