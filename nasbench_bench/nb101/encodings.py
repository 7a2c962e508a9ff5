"""The NAS-Bench-101 paper's search encodings A, B and C (ConfigSpace-compatible, exact cell mapping).

* **A**: ``op_node_0..4`` categorical over the 3 ops; ``edge_0..20`` categorical {0, 1} over the upper-triangle
  positions of a 7x7 adjacency matrix in row-major order. More than 9 edges (counted before pruning) is
  invalid.
* **B**: ``op_node_0..4`` as in A; ``edge_0..8`` categorical over the 21 edge positions: the set of chosen
  positions becomes the edges (duplicates allowed, so at most 9 edges).
* **C**: ``op_node_0..4``; ``num_edges`` integer 0..9; ``edge_0..20`` floats in [0, 1]: the ``num_edges``
  positions with the highest values become edges (ties broken by position, lower first).

A configuration maps to a cell through the official pruning and module hash (:mod:`.space` does it with table
lookups); an out-of-domain configuration maps to -1 (invalid; it costs no simulated time).
"""

from __future__ import annotations

from functools import cached_property
from itertools import compress

import numpy as np

from nasbench_bench.encodings import Encoding, Param
from nasbench_bench.nb101.spec import MAX_EDGES, OPS

__all__ = ["N_MIDDLE", "N_RAW_EDGES", "EncodingA", "EncodingB", "EncodingC"]

N_RAW_EDGES = 21
N_MIDDLE = 5


def _op_params() -> list[Param]:
    return [Param(f"op_node_{i}", "cat", OPS) for i in range(N_MIDDLE)]


class _NB101Encoding(Encoding):
    benchmark = "nb101"

    @cached_property
    def space(self):  # -> SearchSpace (imported lazily: building it is expensive)
        from nasbench_bench.nb101.space import get_space

        return get_space()

    def cell_ids(self) -> np.ndarray:
        return self.space.hashes

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency codes, valid mask) from vectors; ops are columns 0..4."""
        raise NotImplementedError

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
        codes, ok = self._codes(vectors)
        ops = vectors[:, :N_MIDDLE].astype(np.int8)
        out = np.full(len(vectors), -1, dtype=np.int64)
        if ok.any():
            out[ok] = self.space.index(codes[ok], ops[ok])
        return out

    def edge_codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n,) raw 21-bit adjacency codes (bit k = upper-triangle position k, row-major, before pruning) and
        (n, 5) op indices of the interior vertices 1..5, of an (n, dim) array of vectors."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
        return self._codes(vectors)[0], vectors[:, :N_MIDDLE].astype(np.int64)

    def from_parts(self, ops: list[int], code: int) -> np.ndarray | None:
        """A vector of this encoding with interior ops ``ops`` and raw adjacency ``code``; None if the encoding
        cannot express it (more than 9 edges, or none for B)."""
        raise NotImplementedError

    def cell_index(self, vector: np.ndarray) -> int:
        codes, ok = self._codes(np.asarray(vector, dtype=float)[None, :])
        if not ok[0]:
            return -1
        v = vector
        return self.space.index_one(int(codes[0]), (int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4])))


_POW2 = (1 << np.arange(N_RAW_EDGES, dtype=np.int64)).astype(np.int64)
_POW2_LIST = [1 << k for k in range(N_RAW_EDGES)]


class EncodingA(_NB101Encoding):
    """Paper encoding A: 5 op categoricals + 21 binary edges; more than 9 raw edges is invalid."""

    name = "A"
    params = tuple(_op_params() + [Param(f"edge_{k}", "cat", (0, 1)) for k in range(N_RAW_EDGES)])

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits = vectors[:, N_MIDDLE:].astype(np.int64)
        return bits @ _POW2, bits.sum(axis=1) <= MAX_EDGES

    def from_parts(self, ops: list[int], code: int) -> np.ndarray | None:
        if code.bit_count() > MAX_EDGES:
            return None
        return np.array([*ops, *((code >> k) & 1 for k in range(N_RAW_EDGES))], dtype=float)

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector.tolist() if isinstance(vector, np.ndarray) else vector
        code = sum(compress(_POW2_LIST, v[N_MIDDLE:]))
        if code.bit_count() > MAX_EDGES:
            return -1
        return self.space.index_one(code, (int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4])))


class EncodingB(_NB101Encoding):
    """Paper encoding B: 5 op categoricals + 9 categoricals choosing edge positions (0..20)."""

    name = "B"
    params = tuple(
        _op_params() + [Param(f"edge_{k}", "cat", tuple(range(N_RAW_EDGES))) for k in range(MAX_EDGES)]
    )

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = vectors[:, N_MIDDLE:].astype(np.int64)
        codes = np.bitwise_or.reduce(np.left_shift(np.int64(1), pos), axis=1)
        return codes, np.ones(len(vectors), dtype=bool)

    def from_parts(self, ops: list[int], code: int) -> np.ndarray | None:
        edges = [k for k in range(N_RAW_EDGES) if (code >> k) & 1]
        if not edges or len(edges) > MAX_EDGES:
            return None
        return np.array([*ops, *edges, *[edges[0]] * (MAX_EDGES - len(edges))], dtype=float)


class EncodingC(_NB101Encoding):
    """Paper encoding C: 5 op categoricals, ``num_edges`` 0..9 and 21 floats; the top ones become edges.

    Ties between equal floats are broken by position (lower position first).
    """

    name = "C"
    params = tuple(
        _op_params()
        + [Param("num_edges", "int", lower=0, upper=MAX_EDGES)]
        + [Param(f"edge_{k}", "float", lower=0.0, upper=1.0) for k in range(N_RAW_EDGES)]
    )

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = vectors[:, N_MIDDLE].astype(np.int64)
        vals = vectors[:, N_MIDDLE + 1 :]
        order = np.argsort(-vals, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(N_RAW_EDGES)[None, :].repeat(len(vals), 0), axis=1)
        chosen = ranks < k[:, None]
        return chosen.astype(np.int64) @ _POW2, np.ones(len(vectors), dtype=bool)

    def from_parts(self, ops: list[int], code: int) -> np.ndarray | None:
        if code.bit_count() > MAX_EDGES:
            return None
        return np.array([*ops, code.bit_count(), *(float((code >> k) & 1) for k in range(N_RAW_EDGES))], dtype=float)

    def neighbours(self, vector: np.ndarray) -> np.ndarray:
        """One step in C's own terms: change one op; ``num_edges`` +-1 (adds the best-ranked unchosen edge /
        drops the worst-ranked chosen one); or swap the weights of one chosen and one unchosen edge (moves one
        edge). Only the ranking of the weights matters to the cell, so these are C's smallest cell changes."""
        v = np.asarray(vector, dtype=float)
        ops = _op_moves(v)
        k = int(v[N_MIDDLE])
        ks = [k + d for d in (-1, 1) if 0 <= k + d <= MAX_EDGES]
        steps = np.repeat(v[None, :], len(ks), axis=0)
        steps[:, N_MIDDLE] = ks
        weights = v[N_MIDDLE + 1 :]
        order = np.argsort(-weights, kind="stable")
        chosen, other = np.meshgrid(order[:k], order[k:], indexing="ij")
        chosen, other = chosen.ravel(), other.ravel()
        distinct = weights[chosen] != weights[other]
        chosen, other = chosen[distinct] + N_MIDDLE + 1, other[distinct] + N_MIDDLE + 1
        swaps = np.repeat(v[None, :], len(chosen), axis=0)
        rows = np.arange(len(chosen))
        swaps[rows, chosen], swaps[rows, other] = v[other], v[chosen]
        return np.concatenate([ops, steps, swaps])


_OP_COLS = np.repeat(np.arange(N_MIDDLE), len(OPS))
_OP_VALS = np.tile(np.arange(len(OPS), dtype=float), N_MIDDLE)


def _op_moves(v: np.ndarray) -> np.ndarray:
    """Every vector that differs from ``v`` in exactly one op (columns 0..4)."""
    keep = _OP_VALS != v[_OP_COLS]
    out = np.repeat(v[None, :], int(keep.sum()), axis=0)
    out[np.arange(len(out)), _OP_COLS[keep]] = _OP_VALS[keep]
    return out
