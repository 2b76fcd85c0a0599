"""The stored RFC 6962 Merkle tree: append in O(log n), roots and proofs in O(log n) node reads.

Only nodes of perfect subtrees are stored: node (level, idx) covers leaves
[idx * 2**level, (idx + 1) * 2**level). Any other subtree hash is folded from those on demand.
"""

from __future__ import annotations

from .storage.interface import Reader
from .verifier import EMPTY_ROOT, node_hash


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of the tree: the root of each perfect subtree in the size's binary form."""

    def __init__(self, size: int, nodes: dict[int, bytes]):
        self.size = size
        self.nodes = nodes  # level -> hash of the rightmost complete node at that level, if any

    @classmethod
    def load(cls, reader: Reader, size: int) -> "Frontier":
        """Read the frontier of a tree of `size` leaves from the stored nodes."""
        nodes = {}
        for level in range(size.bit_length()):
            if size >> level & 1:
                node = reader.tree_node(level, (size >> level) - 1)
                if node is None:
                    raise LookupError(f"Merkle node ({level}, {(size >> level) - 1}) is missing")
                nodes[level] = node
        return cls(size, nodes)

    def push(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return the (level, idx, hash) nodes that became complete, leaf first."""
        index = self.size
        created = [(0, index, leaf_hash)]
        level, node = 0, leaf_hash
        while index >> level & 1:
            node = node_hash(self.nodes.pop(level), node)
            level += 1
            created.append((level, index >> level, node))
        self.nodes[level] = node
        self.size += 1
        return created

    def root(self) -> bytes:
        """Root of the whole tree: fold the perfect subtrees from the right."""
        if not self.size:
            return EMPTY_ROOT
        levels = sorted(self.nodes)
        node = self.nodes[levels[0]]
        for level in levels[1:]:
            node = node_hash(self.nodes[level], node)
        return node


class TreeReader:
    """Roots and proofs read from stored nodes, memoising node reads within one call."""

    def __init__(self, reader: Reader):
        self.reader = reader
        self._cache: dict[tuple[int, int], bytes] = {}

    def _node(self, level: int, idx: int) -> bytes:
        key = (level, idx)
        if key not in self._cache:
            node = self.reader.tree_node(level, idx)
            if node is None:
                raise LookupError(f"Merkle node {key} is missing")
            self._cache[key] = node
        return self._cache[key]

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end) where start is aligned to the largest power of two <= end-start."""
        n = end - start
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            return self._node(level, start >> level)
        k = _largest_power_of_two_below(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        """Root of the tree of the first `size` leaves."""
        return self.subtree(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 section 2.1.1 PATH(index, D[0:size])."""
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if index < start + k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 6962 section 2.1.2 PROOF(size1, D[0:size2])."""
        if not 0 < size1 <= size2:
            raise ValueError(f"no consistency proof from size {size1} to size {size2}")
        proof: list[bytes] = []
        start, end, m, complete = 0, size2, size1, True
        while m != end - start:
            k = _largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            proof.append(self.subtree(start, end))
        proof.reverse()
        return proof
