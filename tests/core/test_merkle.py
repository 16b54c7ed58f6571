"""The RFC 9162 Merkle tree: the shared test vectors, and proofs checked against a naive tree."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.core.receipts.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# In CI the repository is cloned with shared/ beside it.
VECTORS = Path(__file__).resolve().parent / "data" / "rfc6962"

# The leaves of the vectors' happy-path trees (README in the vector folder).
VECTOR_LEAVES = [
    bytes.fromhex(text)
    for text in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _vector_files(kind: str) -> list[Path]:
    """Every vector file of one kind. Missing vectors fail the collection: never a silent skip."""
    folder = (VECTORS / kind).resolve()
    files = sorted(folder.glob("**/*.json"))
    if not files:
        raise FileNotFoundError(f"no RFC 6962 test vectors in {folder}; clone shared/ beside us")
    return files


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text())
    return vector


def _vector_id(path: Path) -> str:
    return str(path.relative_to(path.parents[2]))


@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=_vector_id)
def test_inclusion_vectors(path: Path) -> None:
    vector = _load(path)
    proof = [_b64(node) for node in vector["proof"] or []]

    def check() -> None:
        verify_inclusion(
            vector["leafIdx"],
            vector["treeSize"],
            _b64(vector["leafHash"]),
            proof,
            _b64(vector["root"]),
        )

    if vector["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", _vector_files("consistency"), ids=_vector_id)
def test_consistency_vectors(path: Path) -> None:
    vector = _load(path)
    proof = [_b64(node) for node in vector["proof"] or []]

    def check() -> None:
        verify_consistency(
            vector["size1"],
            vector["size2"],
            _b64(vector["root1"]),
            _b64(vector["root2"]),
            proof,
        )

    if vector["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


def test_the_vectors_cover_both_outcomes() -> None:
    outcomes = {
        (kind, _load(path)["wantErr"])
        for kind in ("inclusion", "consistency")
        for path in _vector_files(kind)
    }
    assert outcomes == {(k, w) for k in ("inclusion", "consistency") for w in (True, False)}


def test_our_proofs_are_the_vectors_happy_paths() -> None:
    tree = MerkleTree([leaf_hash(leaf) for leaf in VECTOR_LEAVES])
    for path in _vector_files("inclusion"):
        vector = _load(path)
        if path.name == "happy-path.json":
            size, index = vector["treeSize"], vector["leafIdx"]
            assert tree.root(size) == _b64(vector["root"])
            assert tree.inclusion_proof(index, size) == [_b64(n) for n in vector["proof"] or []]
    for path in _vector_files("consistency"):
        vector = _load(path)
        if path.name == "happy-path.json":
            size1, size2 = vector["size1"], vector["size2"]
            assert tree.root(size1) == _b64(vector["root1"])
            assert tree.consistency_proof(size1, size2) == [_b64(n) for n in vector["proof"] or []]


# --- against a naive tree ------------------------------------------------------------------------


@cache
def _leaves(count: int) -> tuple[bytes, ...]:
    return tuple(leaf_hash(i.to_bytes(4, "big")) for i in range(count))


def naive_root(leaves: tuple[bytes, ...]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


SIZES = range(1, 34)


def test_roots_match_the_definition_for_every_size() -> None:
    tree = MerkleTree(_leaves(70))
    frontier = CompactRange()
    assert frontier.root() == EMPTY_ROOT == MerkleTree([]).root()
    for size in range(1, 71):
        frontier.append(_leaves(70)[size - 1])
        expected = naive_root(_leaves(size))
        assert tree.root(size) == expected
        assert frontier.root() == expected
        assert frontier == tree.frontier(size)
        assert CompactRange.from_bytes(size, frontier.to_bytes()) == frontier


@pytest.mark.parametrize("size", SIZES)
def test_every_inclusion_proof_verifies_and_no_other_index_does(size: int) -> None:
    tree = MerkleTree(_leaves(size))
    root = tree.root()
    for index in range(size):
        proof = tree.inclusion_proof(index)
        verify_inclusion(index, size, _leaves(size)[index], proof, root)
        for other in range(size):
            if other != index:
                with pytest.raises(ProofError):
                    verify_inclusion(other, size, _leaves(size)[index], proof, root)


@pytest.mark.parametrize("size", SIZES)
def test_every_consistency_proof_verifies(size: int) -> None:
    tree = MerkleTree(_leaves(size))
    for old in range(1, size + 1):
        proof = tree.consistency_proof(old)
        verify_consistency(old, size, tree.root(old), tree.root(), proof)
        if old < size:
            # A different old tree of the same size is not a prefix.
            with pytest.raises(ProofError):
                verify_consistency(old, size, naive_root(_leaves(old + 1)[1:]), tree.root(), proof)


def test_a_flipped_bit_in_any_proof_node_is_refused() -> None:
    tree = MerkleTree(_leaves(21))
    inclusion = tree.inclusion_proof(13)
    consistency = tree.consistency_proof(6)
    for position in range(len(inclusion)):
        broken = list(inclusion)
        broken[position] = bytes([broken[position][0] ^ 1]) + broken[position][1:]
        with pytest.raises(ProofError):
            verify_inclusion(13, 21, _leaves(21)[13], broken, tree.root())
    for position in range(len(consistency)):
        broken = list(consistency)
        broken[position] = bytes([broken[position][0] ^ 1]) + broken[position][1:]
        with pytest.raises(ProofError):
            verify_consistency(6, 21, tree.root(6), tree.root(), broken)


def test_requests_outside_the_tree_are_refused() -> None:
    tree = MerkleTree(_leaves(5))
    with pytest.raises(ValueError, match="not in a tree of 5"):
        tree.inclusion_proof(5)
    with pytest.raises(ValueError, match="no consistency proof from 0"):
        tree.consistency_proof(0)
    with pytest.raises(ValueError, match="holds 5 leaves, not 6"):
        tree.root(6)
    with pytest.raises(ValueError, match="has 2 frontier nodes"):
        CompactRange(3, [EMPTY_ROOT])


def test_a_large_tree_is_built_quickly_enough_to_verify_100k_receipts() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    frontier = CompactRange()
    for leaf in leaves[:1000]:
        frontier.append(leaf)
    tree = MerkleTree(leaves)
    assert tree.frontier(1000) == frontier
    proof = tree.inclusion_proof(77_777)
    verify_inclusion(77_777, 100_000, leaves[77_777], proof, tree.root())
    assert len(proof) == 17
