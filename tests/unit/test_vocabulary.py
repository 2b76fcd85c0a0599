"""Entry kinds and promotion statuses are named by their enums, never spelled as string literals
outside them: a literal is a typo waiting to happen and hides who reads a kind (review §4.3 item 2)."""

from __future__ import annotations

import ast
from pathlib import Path

from gooseterm.adapters.evidence import EVIDENCE_KINDS
from gooseterm.kinds import EntryKind
from gooseterm.ledger import verifier
from gooseterm.statuses import PromotionStatus

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("gooseterm", "adapters", "exports", "ledger")
# The verifier stays import-free (it ships in every export) and the enum is where the kinds are spelled.
EXEMPT = (REPO / "ledger" / "verifier", REPO / "ledger" / "verifier.py", REPO / "ledger" / "kinds.py")


def sources() -> list[tuple[Path, ast.AST]]:
    """The parsed modules of gooseterm, adapters, exports and ledger, less the exempt ones."""
    found = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            if not any(path == e or e in path.parents for e in EXEMPT):
                found.append((path, ast.parse(path.read_text(), str(path))))
    return found


def kind_literals() -> list[str]:
    """`file:line: "kind"` for every string literal naming an entry kind outside the enum."""
    kinds = {str(k) for k in EntryKind} | {EntryKind.evidence(k) for k in EVIDENCE_KINDS}
    return [f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}" for path, tree in sources() for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in kinds]


def _is_status(node: ast.AST) -> bool:
    """`x["status"]` or `x.status`."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "status"
    return isinstance(node, ast.Attribute) and node.attr == "status"


def _status_words(node: ast.AST) -> list[str]:
    """The promotion statuses spelled as literals in `node` (a constant, or a tuple, list or set of them)."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and i.value in set(PromotionStatus)]


def status_literals() -> list[str]:
    """`file:line: "status"` for every status literal compared with, or assigned to, a `status`."""
    found = []
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                words = [w for o in operands if any(map(_is_status, operands)) for w in _status_words(o)]
            elif isinstance(node, ast.Assign):
                words = _status_words(node.value) if any(map(_is_status, node.targets)) else []
            else:
                continue
            found += [f"{path.relative_to(REPO)}:{node.lineno}: {w!r}" for w in words]
    return found


def test_no_entry_kind_is_spelled_as_a_string_literal() -> None:
    assert kind_literals() == [], "use gooseterm.kinds.EntryKind instead of:\n" + "\n".join(kind_literals())


def test_no_promotion_status_is_compared_or_set_as_a_string_literal() -> None:
    assert status_literals() == [], "use gooseterm.statuses.PromotionStatus instead of:\n" + "\n".join(status_literals())


def test_the_verifiers_kinds_are_the_enums_kinds() -> None:
    assert set(verifier.TRUST_KINDS) == {EntryKind.GENESIS, EntryKind.KEY_ADDED, EntryKind.KEY_REVOKED}
    assert set(verifier.DECIDING_KINDS) == {EntryKind.PROMOTION_APPROVED, EntryKind.PROMOTION_PROMOTED}
    assert (verifier.REQUEST_KIND, verifier.APPROVAL_KIND, verifier.REJECTION_KIND, verifier.OVERRIDE_KIND) == (
        EntryKind.PROMOTION_REQUESTED, EntryKind.APPROVAL_GRANTED, EntryKind.APPROVAL_REJECTED, EntryKind.PROMOTION_OVERRIDDEN)
