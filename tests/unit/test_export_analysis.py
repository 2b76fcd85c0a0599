"""analysis.db: the bundle's entries, promotions, decisions, gate results and approvals as typed,
indexed tables, equal to what the signed entries give; a row an insider edits (re-signing the
manifest with the ledger key) is named, table and row, by `gooseterm verify` and by the bundle's
own verifier alike."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from helpers.exports import export, make_demo, open_ledger, resign_manifest, verify_both, verify_with_gooseterm

from gooseterm.ledger.signing import Signer
from gooseterm.ledger.verifier import ANALYSIS_DB, TABLES, expected_rows

PERIOD = ("--since", "2026-03-06", "--until", "2026-03-06")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home, built once."""
    home = tmp_path_factory.mktemp("demo")
    make_demo(home)
    return home


@pytest.fixture(scope="module")
def full(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete export of the demo, as a folder."""
    return export(demo, tmp_path_factory.mktemp("full") / "bundle")


def leaves_of(bundle: Path) -> list[bytes]:
    """Every entry the bundle carries: its period's lines and the cited ones."""
    data = (bundle / "entries.jsonl").read_bytes() + ((bundle / "cited.jsonl").read_bytes() if (bundle / "cited.jsonl").exists() else b"")
    return [line for line in data.split(b"\n") if line]


def table_rows(bundle: Path) -> dict[str, dict[int, dict]]:
    """Every table of the bundle's analysis.db, by seq."""
    with closing(sqlite3.connect(bundle / ANALYSIS_DB)) as conn:
        conn.row_factory = sqlite3.Row
        return {t.name: {r["seq"]: dict(r) for r in conn.execute(f'SELECT * FROM "{t.name}"')} for t in TABLES}


@pytest.mark.parametrize("period", [(), PERIOD], ids=["complete", "one day"])
def test_the_analysis_db_holds_what_the_signed_entries_give(demo: Path, tmp_path: Path, period: tuple[str, ...]) -> None:
    bundle = export(demo, tmp_path / "bundle", *period)
    rows = table_rows(bundle)
    assert rows == expected_rows(leaves_of(bundle))
    assert len(rows["entries"]) == len(leaves_of(bundle))
    assert verify_both(demo, bundle) == {}


def test_the_tables_are_typed_and_indexed(full: Path) -> None:
    sql_types = {int: "INTEGER", str: "TEXT", float: "REAL"}
    with closing(sqlite3.connect(full / ANALYSIS_DB)) as conn:
        for table in TABLES:
            info = {name: (kind, pk) for _, name, kind, _, _, pk in conn.execute(f'PRAGMA table_info("{table.name}")')}
            assert info == {c: (sql_types[t], int(c == "seq")) for c, t in table.columns.items()}
            indexed = {conn.execute(f'PRAGMA index_info("{name}")').fetchone()[2]
                       for _, name, *_ in conn.execute(f'PRAGMA index_list("{table.name}")')}
            assert indexed == set(table.indexes)
        approvals = conn.execute("SELECT count(*) FROM approvals WHERE kind = 'approval.granted'").fetchone()[0]
        failed = conn.execute("SELECT count(*) FROM gate_results WHERE result != 'pass'").fetchone()[0]
    assert approvals == 3 and failed > 0  # the demo's approvals, and its failing gates


def ledger_signer(home: Path) -> Signer:
    """The ledger key, as an insider holds it."""
    with open_ledger(home) as ledger:
        return ledger.signer


def edit_db(bundle: Path, sql: str) -> None:
    """Run one statement on the bundle's analysis.db, as anyone with the file can."""
    with closing(sqlite3.connect(bundle / ANALYSIS_DB)) as conn, conn:
        conn.execute(sql)


@pytest.mark.parametrize(("table", "pick", "sql", "detail"), [
    ("approvals", "min(seq)", "UPDATE approvals SET person = 'mallory' WHERE seq = {seq}", "person is 'mallory', the signed entry gives"),
    ("gate_results", "min(seq) FILTER (WHERE result != 'pass')", "UPDATE gate_results SET result = 'pass'",
     "result is 'pass', the signed entry gives"),
    ("entries", "min(seq)", "UPDATE entries SET kind = 'annotation' WHERE seq = {seq}", "kind is 'annotation'"),
    ("decisions", "min(seq)", "DELETE FROM decisions WHERE seq = {seq}", "is missing"),
    ("promotions", "max(seq) + 100000", "INSERT INTO promotions (seq, service) VALUES ({seq}, 'ghost')", "no signed entry gives this row"),
])
def test_an_edited_row_with_the_manifest_resigned_is_named_by_both_verifiers(
    demo: Path, full: Path, tmp_path: Path, table: str, pick: str, sql: str, detail: str
) -> None:
    b = Path(shutil.copytree(full, tmp_path / "bundle"))
    with closing(sqlite3.connect(b / ANALYSIS_DB)) as conn:
        seq = conn.execute(f"SELECT {pick} FROM {table}").fetchone()[0]
    edit_db(b, sql.format(seq=seq))
    resign_manifest(b, ledger_signer(demo))  # an insider holding the ledger key
    assert verify_both(demo, b) == {"analysis_mismatch": seq}
    _, report = verify_with_gooseterm(demo, b)
    assert report["first_fault"]["detail"].startswith(f"{ANALYSIS_DB} table {table}, row seq {seq}")
    assert detail in report["first_fault"]["detail"]


def test_a_dropped_table_or_a_foreign_file_is_named(demo: Path, full: Path, tmp_path: Path) -> None:
    b = Path(shutil.copytree(full, tmp_path / "bundle"))
    edit_db(b, "DROP TABLE approvals")
    resign_manifest(b, ledger_signer(demo))
    _, report = verify_with_gooseterm(demo, b)
    assert verify_both(demo, b) == {"analysis_mismatch": None}
    assert "approvals differ" in report["first_fault"]["detail"]
    (b / ANALYSIS_DB).write_bytes(b"not a database at all")
    resign_manifest(b, ledger_signer(demo))
    _, report = verify_with_gooseterm(demo, b)
    assert verify_both(demo, b) == {"analysis_mismatch": None}
    assert "is not a readable analysis database" in report["first_fault"]["detail"]


def test_an_edit_without_the_ledger_key_is_only_a_file_mismatch(demo: Path, full: Path, tmp_path: Path) -> None:
    b = Path(shutil.copytree(full, tmp_path / "bundle"))
    edit_db(b, "UPDATE approvals SET person = 'mallory'")
    assert verify_both(demo, b) == {"bundle_file_mismatch": None}
