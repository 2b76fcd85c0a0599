"""Merkle trees: roots, inclusion and consistency proofs (RFC 9162 sections 2.1.1 to 2.1.4).

Named after transparency-dev/merkle's proof package (VerifyInclusion, RootFromInclusionProof,
VerifyConsistency), with its strict rules: every hash exactly 32 bytes, proofs of exactly the
right length, and no consistency proof from size 0, not even to size 0 (transparency-dev/merkle
#236). Each ProofError names the check that failed.
"""

from __future__ import annotations

from .hashing import EMPTY_ROOT, HASH_SIZE, node_hash


class ProofError(ValueError):
    """A Merkle proof did not verify; the message says which check failed."""


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, want {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """The root that an inclusion proof gives for leaf hash `leaf` at `index` in a tree of `size` (RFC 9162 2.1.3.2)."""
    _check_hash("leaf hash", leaf)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    if index < 0 or size <= 0 or index >= size:
        raise ProofError(f"index {index} is beyond tree size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """Check that leaf hash `leaf` is at `index` in the tree of `size` with `root` (RFC 9162 2.1.3.2)."""
    _check_hash("leaf hash", leaf)  # a malformed leaf is named before a malformed root
    _check_hash("root", root)
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("calculated root does not match the given root")


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of size1/root1 is a prefix of size2/root2 (RFC 9162 2.1.4.2)."""
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size2 {size2} is smaller than size1 {size1}")
    # Checked before the equal-size case, so 0 -> 0 is refused too (transparency-dev/merkle #236).
    if size1 == 0:
        raise ProofError("no consistency proof from an empty tree (RFC 9162 2.1.4.2)")
    if size1 == size2:  # nothing to prove: the roots must simply be the same bytes
        if proof:
            raise ProofError("equal tree sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal tree sizes with different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("calculated root1 does not match the given root1")
    if sr != root2:
        raise ProofError("calculated root2 does not match the given root2")


def root_from_leaf_hashes(hashes: list[bytes]) -> bytes:
    """Merkle tree hash MTH over leaf hashes (RFC 6962 section 2.1), iteratively, O(n)."""
    if not hashes:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
    for h in hashes:
        height, node = 0, h
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            node = node_hash(left, node)
            height += 1
        stack.append((height, node))
    _, node = stack.pop()
    while stack:
        _, left = stack.pop()
        node = node_hash(left, node)
    return node


def roots_at_sizes(leaf_hashes, sizes: set[int]) -> dict[int, bytes]:
    """Merkle roots at the given sizes of a stream of (leaf hash,) tuples, in one pass (RFC 6962 2.1)."""
    roots: dict[int, bytes] = {}
    stack: list[tuple[int, bytes]] = []
    n = 0
    wanted = max(sizes, default=0)
    for (h,) in leaf_hashes:
        if n >= wanted:
            break
        height, node = 0, h
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
        n += 1
        if n in sizes:
            acc = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                acc = node_hash(left, acc)
            roots[n] = acc
    return roots
