"""RFC 9162 Merkle tree over receipt hashes: roots, inclusion and consistency proofs.

A leaf is a receipt's raw 32-byte SHA-256; its leaf hash is SHA-256(0x00 ‖ d) and an interior
node is SHA-256(0x01 ‖ left ‖ right), so a leaf can never pass for a node (RFC 9162 §2.1.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # the root of the tree with no leaves


class ProofError(ValueError):
    """A proof that does not prove what it claims; str() says why."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two below `size` (size >= 2): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


class CompactRange:
    """The roots of the perfect subtrees that cover leaves [0, size), largest first.

    At most log2(size) hashes, yet enough to append a leaf in O(log n) and to compute the root:
    this is what the chain keeps in SQLite instead of the whole tree.
    """

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(nodes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier nodes")
        if any(len(node) != HASH_SIZE for node in nodes):
            raise ValueError("frontier nodes must be 32-byte hashes")
        self.size = size
        self.nodes = list(nodes)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> CompactRange:
        """The range stored as its nodes' concatenation; ValueError if `blob` does not fit."""
        nodes = [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
        return cls(size, nodes)

    def to_bytes(self) -> bytes:
        return b"".join(self.nodes)

    def append(self, leaf: bytes) -> None:
        """Add the leaf hash of the next leaf: each trailing 1 bit of size merges one subtree."""
        node, size = leaf, self.size
        while size & 1:
            node = node_hash(self.nodes.pop(), node)
            size >>= 1
        self.nodes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return (self.size, self.nodes) == (other.size, other.nodes)

    __hash__ = None  # type: ignore[assignment]  # mutable


class MerkleTree:
    """Every perfect subtree of a tree held in memory: proofs and roots for any prefix of it.

    levels[k][i] is the root of leaves [i·2^k, (i+1)·2^k); an unpaired last node is not carried
    up, so each level holds only complete subtrees. Building it costs one hash per node, done a
    level at a time in list comprehensions (about 0.1 s for 100,000 leaves).
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            level = self.levels[-1]
            pairs = zip(level[0::2], level[1::2], strict=False)  # an odd last node waits
            self.levels.append([node_hash(left, right) for left, right in pairs])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def frontier(self, size: int | None = None) -> CompactRange:
        size = self._size(size)
        nodes, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                nodes.append(self.levels[level][start >> level])
                start += 1 << level
        return CompactRange(size, nodes)

    def root(self, size: int | None = None) -> bytes:
        return self.frontier(size).root()

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of the first `size`."""
        size = self._size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            mid = start + _split(end - start)
            if index < mid:
                proof.append(self._subtree(mid, end))
                end = mid
            else:
                proof.append(self._subtree(start, mid))
                start = mid
        proof.reverse()  # built from the root down; a proof lists siblings from the leaf up
        return proof

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1: proves the tree of `old_size` leaves is a prefix of this one."""
        size = self._size(size)
        if not 0 < old_size <= size:
            raise ValueError(f"no consistency proof from {old_size} to {size} leaves")
        proof: list[bytes] = []
        # Walk down from the root as SUBPROOF does; `whole` is its flag b: still on the left edge,
        # where the old root needs no proof node because the verifier already holds it.
        start, end, whole = 0, size, True
        while end != old_size:
            mid = start + _split(end - start)
            if old_size <= mid:
                proof.append(self._subtree(mid, end))
                end = mid
            else:
                proof.append(self._subtree(start, mid))
                start, whole = mid, False
        if not whole:
            proof.append(self._subtree(start, end))
        proof.reverse()
        return proof

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range RFC 9162's recursion reaches: its left part is aligned."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self.levels[width.bit_length() - 1][start // width]
        mid = start + _split(width)
        return node_hash(self._subtree(start, mid), self._subtree(mid, end))

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"the tree holds {self.size} leaves, not {size}")
        return size


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf` at `index` of `size`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size}")
    _check_hashes(leaf, *proof)
    node = leaf
    for sibling, on_left in _climb(index, size - 1, proof, "proof"):
        node = node_hash(sibling, node) if on_left else node_hash(node, sibling)
    return node


def _climb(fn: int, sn: int, proof: Sequence[bytes], what: str) -> Iterator[tuple[bytes, bool]]:
    """RFC 9162's walk from node `fn` up to the root of a tree whose last node is `sn`: each
    hash of `proof` with whether it joins the path from the left. ProofError when `proof` (named
    `what`) is longer or shorter than the path."""
    for sibling in proof:
        if sn == 0:
            raise ProofError(f"the {what} is longer than the path to the root")
        on_left = bool(fn & 1) or fn == sn
        yield sibling, on_left
        if on_left:
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the {what} is shorter than the path to the root")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows `leaf` at `index` in the tree of `size` and `root`."""
    _check_hashes(root)
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("the inclusion proof leads to a different root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise ProofError unless the tree (size1, root1) is a prefix of the tree
    (size2, root2). A check from the empty tree proves nothing and is refused."""
    if size1 <= 0 or size2 < size1:
        raise ProofError(f"no consistency proof exists from {size1} to {size2} leaves")
    if size1 == size2:
        # Nothing is hashed: the same tree is consistent with itself whatever its hash function.
        if proof:
            raise ProofError("trees of equal size need an empty proof")
        if root1 != root2:
            raise ProofError("trees of equal size have different roots")
        return
    _check_hashes(root1, root2, *proof)
    if not proof:
        raise ProofError("the consistency proof is empty")
    old, new = _roots_from_consistency_proof(size1, size2, root1, proof)
    if old != root1:
        raise ProofError(f"the proof does not lead to the old root of {size1} leaves")
    if new != root2:
        raise ProofError(f"the proof does not lead to the new root of {size2} leaves")


def _roots_from_consistency_proof(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 2-6: the old and the new root that a non-empty `proof` from
    `size1` to `size2` (0 < size1 < size2) leads to."""
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # the old root is itself a node of the new tree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old = new = path[0]
    for node, on_left in _climb(fn, sn, path[1:], "consistency proof"):
        if on_left:
            old, new = node_hash(node, old), node_hash(node, new)
        else:
            new = node_hash(new, node)
    return old, new


def _check_hashes(*hashes: bytes) -> None:
    if any(len(value) != HASH_SIZE for value in hashes):
        raise ProofError("every hash in a proof is 32 bytes")
