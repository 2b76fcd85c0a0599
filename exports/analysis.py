"""analysis.db: the bundle's entries, promotions, decisions, gate results and approvals as plain,
typed, indexed SQLite tables, for auditors to query with sqlite-utils or Datasette.

The rows come from the verifier (gooseterm.ledger.verifier.analysis), which recomputes them from the
signed entries and names any row of the file that differs. The file is built the same way every
time (fixed page size, rows in seq order, one transaction per table, VACUUM last), so the same
entries give the same bytes with the same SQLite library; the header records that library's
version (offset 96), so another SQLite may write other bytes for the same rows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlite_utils

from gooseterm.ledger.verifier import ANALYSIS_DB, TABLES, expected_rows

PAGE_SIZE = 4096


def analysis_db(leaves: list[bytes]) -> bytes:
    """The analysis database of these entries (the exact leaf bytes a bundle carries), as file bytes."""
    rows = expected_rows(leaves)
    with tempfile.TemporaryDirectory(prefix="gooseterm-analysis-") as folder:
        path = Path(folder) / ANALYSIS_DB
        db = sqlite_utils.Database(path)
        try:
            db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            for table in TABLES:
                created = db.table(table.name).create(table.columns, pk="seq", not_null={"seq"})
                created.insert_all((rows[table.name][seq] for seq in sorted(rows[table.name])), batch_size=10_000)
                for column in table.indexes:
                    created.create_index([column])
            db.vacuum()
        finally:
            db.close()
        return path.read_bytes()
