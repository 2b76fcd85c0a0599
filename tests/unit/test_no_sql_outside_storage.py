"""No SQL outside the storage drivers: every statement goes through ledger/storage/.

The one exception is the standalone verifier, which reads an SQLite ledger file itself with a
read-only connection because it is copied into audit bundles and imports nothing but the
standard library and PyNaCl (ledger/storage/interface.py says so too). If it is split into
several files, they are listed in STANDALONE_VERIFIER. exports/analysis.py is not the ledger's
storage at all: it writes the auditor's own analysis.db (through sqlite-utils, fixing its page
size so the bundle stays reproducible), which the verifier checks row by row against the entries.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("gooseterm", "ledger", "adapters", "exports")
DRIVERS = "ledger/storage/"
STANDALONE_VERIFIER = ("ledger/verifier.py", "ledger/verifier/")
ANALYSIS_DB = ("exports/analysis.py",)

# Upper-case SQL, as the drivers write it; prose in lower case ("select a service") is not SQL.
SQL = re.compile(
    r"\b(SELECT\s+(DISTINCT\s+)?[\w*(]|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX|TRIGGER|VIEW)|DROP\s+(TABLE|INDEX|TRIGGER)|ALTER\s+TABLE|PRAGMA\s+\w|"
    r"BEGIN(\s+(IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION))?\s*$|COMMIT\s*$|ROLLBACK\s*$)"
)
EXECUTE = {"execute", "executemany", "executescript"}


def sources() -> list[Path]:
    """The Python files whose SQL is checked."""
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith((DRIVERS, *STANDALONE_VERIFIER, *ANALYSIS_DB)):
                files.append(path)
    return files


def docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (prose, which may name a statement without running it)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def sql_in(source: str, rel: str) -> list[str]:
    """file:line and what was found, for each SQL string literal or execute call in `source`."""
    tree = ast.parse(source, rel)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts around placeholders
            skip |= {id(v) for v in node.values}
            text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EXECUTE:
            found.append((node.lineno, f".{node.func.attr}( call"))
        match = SQL.search(text) if text else None
        if match:
            found.append((node.lineno, f"SQL in a string: {match.group(0).split()[0]}"))
    return [f"{rel}:{line}: {what}" for line, what in sorted(found)]


def test_the_scan_covers_the_packages_and_skips_only_the_drivers_and_the_verifier() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in sources()}
    assert {"ledger/store.py", "ledger/tree.py", "ledger/backup.py", "exports/bundle.py", "exports/archive.py",
            "gooseterm/projections.py"} <= names
    assert not any(n.startswith((DRIVERS, *STANDALONE_VERIFIER, *ANALYSIS_DB)) for n in names)


def test_the_scan_finds_sql_strings_and_execute_calls() -> None:
    source = (
        '"""Reads. BEGIN IMMEDIATE is named in prose only."""\n'
        'def size(ledger):\n'
        '    """SELECT max(seq) FROM entries, in a docstring."""\n'
        '    sql = f"SELECT {COLUMNS} FROM entries WHERE seq = ?"\n'
        '    return ledger.conn.execute("SELECT max(seq) FROM entries").fetchone()\n'
    )
    assert sql_in(source, "x.py") == [
        "x.py:4: SQL in a string: SELECT",
        "x.py:5: .execute( call",
        "x.py:5: SQL in a string: SELECT",
    ]
    assert SQL.search("SELECT seq FROM entries") and SQL.search("INSERT OR IGNORE INTO blobs")
    assert SQL.search("UPDATE blobs SET data = NULL") and SQL.search("BEGIN IMMEDIATE") and SQL.search("PRAGMA busy_timeout")
    assert not SQL.search("select a service, then update its state") and not SQL.search("BEGIN with the genesis")


def test_no_sql_outside_the_storage_drivers() -> None:
    found = [line for path in sources() for line in sql_in(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert not found, "SQL belongs in ledger/storage/ (a driver method):\n" + "\n".join(found)
