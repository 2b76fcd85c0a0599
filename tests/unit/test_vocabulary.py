"""Entry kinds are named by their enum, never spelled as string literals outside it: a literal is a
typo waiting to happen and hides who reads a kind (review §4.3 item 2)."""

from __future__ import annotations

import ast
from pathlib import Path

from gooseterm.adapters.evidence import EVIDENCE_KINDS
from gooseterm.kinds import EntryKind
from gooseterm.ledger import verifier

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("gooseterm", "adapters", "exports", "ledger")
# The verifier stays import-free (it ships in every export) and the enum is where the kinds are spelled.
EXEMPT = (REPO / "ledger" / "verifier", REPO / "ledger" / "verifier.py", REPO / "ledger" / "kinds.py")


def kind_literals() -> list[str]:
    """`file:line: "kind"` for every string literal naming an entry kind outside the enum."""
    kinds = {str(k) for k in EntryKind} | {EntryKind.evidence(k) for k in EVIDENCE_KINDS}
    found = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            if any(path == e or e in path.parents for e in EXEMPT):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in kinds:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    return found


def test_no_entry_kind_is_spelled_as_a_string_literal() -> None:
    assert kind_literals() == [], "use gooseterm.kinds.EntryKind instead of:\n" + "\n".join(kind_literals())


def test_the_verifiers_kinds_are_the_enums_kinds() -> None:
    assert set(verifier.TRUST_KINDS) == {EntryKind.GENESIS, EntryKind.KEY_ADDED, EntryKind.KEY_REVOKED}
    assert set(verifier.DECIDING_KINDS) == {EntryKind.PROMOTION_APPROVED, EntryKind.PROMOTION_PROMOTED}
    assert (verifier.REQUEST_KIND, verifier.APPROVAL_KIND, verifier.REJECTION_KIND, verifier.OVERRIDE_KIND) == (
        EntryKind.PROMOTION_REQUESTED, EntryKind.APPROVAL_GRANTED, EntryKind.APPROVAL_REJECTED, EntryKind.PROMOTION_OVERRIDDEN)
