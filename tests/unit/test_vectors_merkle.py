"""RFC 6962 / RFC 9162 Merkle hashing and proofs against transparency-dev/merkle's test data."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from gooseterm.ledger import verifier

VECTORS = Path(os.environ.get("GOOSETERM_VECTORS") or Path(__file__).resolve().parents[1] / "fixtures" / "vectors")
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
MERKLE = VECTORS / "merkle"

INCLUSION = sorted(p.relative_to(MERKLE).as_posix() for p in (MERKLE / "inclusion").rglob("*.json"))
CONSISTENCY = sorted(p.relative_to(MERKLE).as_posix() for p in (MERKLE / "consistency").rglob("*.json"))
ROOTS = json.loads((MERKLE / "roots.json").read_text())


def _case(relpath: str) -> dict:
    return json.loads((MERKLE / relpath).read_text())


def _hashes(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


def test_all_proof_cases_are_present() -> None:
    assert (len(INCLUSION), len(CONSISTENCY)) == (98, 98)


@pytest.mark.parametrize("relpath", INCLUSION)
def test_inclusion_proof_vector(relpath: str) -> None:
    case = _case(relpath)
    args = (
        case["leafIdx"],
        case["treeSize"],
        base64.b64decode(case["leafHash"]),
        _hashes(case["proof"]),
        base64.b64decode(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(verifier.ProofError):
            verifier.verify_inclusion(*args)
    else:
        verifier.verify_inclusion(*args)


@pytest.mark.parametrize("relpath", CONSISTENCY)
def test_consistency_proof_vector(relpath: str) -> None:
    case = _case(relpath)
    args = (
        case["size1"],
        case["size2"],
        _hashes(case["proof"]),
        base64.b64decode(case["root1"]),
        base64.b64decode(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(verifier.ProofError):
            verifier.verify_consistency(*args)
    else:
        verifier.verify_consistency(*args)


@pytest.mark.parametrize("size", range(len(ROOTS["root_by_tree_size_hex"])))
def test_root_of_every_tree_size(size: int) -> None:
    leaves = [verifier.leaf_hash(bytes.fromhex(h)) for h in ROOTS["leaf_inputs_hex"][:size]]
    assert verifier.root_from_leaf_hashes(leaves).hex() == ROOTS["root_by_tree_size_hex"][size]


@pytest.mark.parametrize("case", ROOTS["hasher_cases"], ids=lambda c: c["what"])
def test_hasher_case(case: dict) -> None:
    if "left_ascii" in case:
        got = verifier.node_hash(case["left_ascii"].encode(), case["right_ascii"].encode())
    elif "input_ascii" in case:
        got = verifier.leaf_hash(case["input_ascii"].encode())
    elif "input_hex" in case:
        got = verifier.leaf_hash(bytes.fromhex(case["input_hex"]))
    else:
        got = verifier.root_from_leaf_hashes([])
    assert got.hex() == case["want"]


def test_consistency_from_an_empty_tree_is_refused_even_to_an_empty_tree() -> None:
    with pytest.raises(verifier.ProofError, match="empty tree"):
        verifier.verify_consistency(0, 0, [], verifier.EMPTY_ROOT, verifier.EMPTY_ROOT)


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/vectors beside the project")
def test_fixture_copies_match_shared_vectors() -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"
    shared = [p.relative_to(SHARED) for p in SHARED.rglob("*") if p.is_file() and p.name != "README.md"]
    drifted = [
        str(r)
        for r in shared
        if not (fixtures / r).is_file() or (fixtures / r).read_bytes() != (SHARED / r).read_bytes()
    ]
    assert drifted == []
