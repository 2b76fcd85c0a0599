"""The auditor's analysis database: analysis.db in a bundle, plain typed tables of the entries,
promotions, decisions, gate results and approvals, derived from the signed entries alone, and the
check that every row of it is what those entries give.

The rows are derived here, once, for both sides: gooseterm writes them (gooseterm.exports.analysis)
and the verifier recomputes them from the bundle's entries and compares the file row by row.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .dsse import parse_envelope
from .hashing import leaf_hash
from .kinds import APPROVAL_KIND, GATE_RESULT_KIND, REJECTION_KIND, REQUEST_KIND
from .report import Fault

ANALYSIS_DB = "analysis.db"


@dataclass(frozen=True)
class Table:
    """One table of analysis.db: its typed columns (the first is `seq`, the key) and indexed columns."""

    name: str
    columns: dict[str, type]
    indexes: tuple[str, ...]


_ROW = {"seq": int, "time": str, "service": str, "promotion": str}
TABLES = (
    Table("entries", {**_ROW, "kind": str, "signers": str, "leaf_hash": str}, ("time", "kind", "service", "promotion")),
    Table("promotions", {**_ROW, "requested_by": str, "evidence_digest": str, "required": int, "groups_required": str},
          ("service", "promotion", "requested_by")),
    Table("decisions", {**_ROW, "kind": str, "person": str, "reason": str}, ("service", "promotion", "kind")),
    Table("gate_results", {**_ROW, "gate": str, "type": str, "result": str, "reason": str, "duration_ms": float},
          ("service", "promotion", "gate", "result")),
    Table("approvals", {**_ROW, "kind": str, "person": str, "evidence_digest": str, "policy_digest": str, "reason": str},
          ("service", "promotion", "person")),
)
"""The tables, in the order they are written; `signers` and `groups_required` hold JSON lists."""


def _typed(value: object, kind: type) -> object:
    """A value as its column stores it: of the column's type, or NULL (a JSON integer fills a REAL)."""
    if kind is float and type(value) is int:
        return float(value)
    return value if type(value) is kind else None


def _row(table: Table, values: dict) -> dict:
    return {name: _typed(values.get(name), kind) for name, kind in table.columns.items()}


def analysis_rows(record: dict, statement: dict, signers: list[str], leaf_hash_hex: str) -> list[tuple[Table, dict]]:
    """The rows one entry gives: (table, row) for `entries` and, by its kind, one more table."""
    tables = {t.name: t for t in TABLES}
    kind = record.get("kind")
    predicate = statement.get("predicate") if isinstance(statement.get("predicate"), dict) else {}
    base = {"seq": record.get("seq"), "time": record.get("time"), "service": record.get("service"),
            "promotion": record.get("promotion")}
    reasons = predicate.get("reasons")
    reason = "; ".join(r for r in reasons if isinstance(r, str)) if isinstance(reasons, list) else predicate.get("reason")
    rows = [(tables["entries"], _row(tables["entries"], {**base, "kind": kind, "leaf_hash": leaf_hash_hex,
                                                         "signers": json.dumps(sorted(signers))}))]
    if kind == REQUEST_KIND:
        policy = predicate.get("policy") if isinstance(predicate.get("policy"), dict) else {}
        groups = policy.get("groups_required")
        rows.append((tables["promotions"], _row(tables["promotions"], {
            **base, "requested_by": predicate.get("requested_by"), "evidence_digest": predicate.get("evidence_digest"),
            "required": policy.get("required"), "groups_required": json.dumps(groups) if isinstance(groups, list) else None})))
    elif kind in (APPROVAL_KIND, REJECTION_KIND):
        rows.append((tables["approvals"], _row(tables["approvals"], {**base, **predicate, "kind": kind, "reason": reason})))
    elif kind == GATE_RESULT_KIND:
        rows.append((tables["gate_results"], _row(tables["gate_results"], {**base, **predicate, "reason": reason})))
    elif isinstance(kind, str) and kind.startswith("promotion."):
        rows.append((tables["decisions"], _row(tables["decisions"], {**base, "kind": kind, "reason": reason,
                                                                     "person": predicate.get("person")})))
    return rows


def expected_rows(leaves: list[bytes]) -> dict[str, dict[int, dict]]:
    """Every table's rows, by seq, that these entries give; an entry that cannot be read gives none
    (the row checks report it)."""
    out: dict[str, dict[int, dict]] = {t.name: {} for t in TABLES}
    for leaf in leaves:
        try:
            record = json.loads(leaf)
            env = parse_envelope(record["envelope"])
            statement = json.loads(env.payload)
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(statement, dict) or type(record.get("seq")) is not int:
            continue
        for table, row in analysis_rows(record, statement, [k for k, _ in env.signatures], leaf_hash(leaf).hex()):
            out[table.name][row["seq"]] = row
    return out


def analysis_faults(data: bytes, expected: dict[str, dict[int, dict]], skip: set[int]) -> list[Fault]:
    """Compare analysis.db, row by row, with the rows the signed entries give (`expected`: table ->
    seq -> row). Seqs in `skip` (entries that failed their own checks) are not compared."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        conn.execute("PRAGMA trusted_schema = OFF")  # its schema is untrusted input: no functions from views or triggers
        found = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        want = [t.name for t in TABLES]
        if found != set(want):
            odd = sorted(found ^ set(want))
            return [Fault("analysis_mismatch", None, f"{ANALYSIS_DB} has tables {sorted(found)}, want {want} ({', '.join(odd)} differ)")]
        faults = []
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in table.columns)
            rows = {r[0]: dict(zip(table.columns, r)) for r in conn.execute(f'SELECT {cols} FROM "{table.name}" ORDER BY seq')}
            faults += _table_faults(table.name, rows, expected.get(table.name, {}), skip)
        return faults
    except sqlite3.DatabaseError as exc:
        return [Fault("analysis_mismatch", None, f"{ANALYSIS_DB} is not a readable analysis database ({exc})")]
    finally:
        conn.close()


def _table_faults(name: str, rows: dict[int, dict], expected: dict[int, dict], skip: set[int]) -> list[Fault]:
    """Each row of one table that is missing, extra, or differs in a column from the signed entry."""
    faults = []
    for seq in sorted(set(rows) | set(expected), key=lambda s: (0, s, "") if type(s) is int else (1, 0, repr(s))):
        if seq in skip:
            continue
        where = f"{ANALYSIS_DB} table {name}, row seq {seq}"
        fault_seq = seq if type(seq) is int else None
        if seq not in expected:
            faults.append(Fault("analysis_mismatch", fault_seq, f"{where}: no signed entry gives this row"))
        elif seq not in rows:
            faults.append(Fault("analysis_mismatch", fault_seq, f"{where} is missing"))
        else:
            differ = [c for c in expected[seq] if rows[seq][c] != expected[seq][c] or type(rows[seq][c]) is not type(expected[seq][c])]
            if differ:
                c = differ[0]
                faults.append(Fault("analysis_mismatch", fault_seq, f"{where}: {c} is {rows[seq][c]!r}, "
                                                                    f"the signed entry gives {expected[seq][c]!r}"))
    return faults
