"""The official ``nasbench.lib.graph_util`` helpers, without TensorFlow: same signatures, same results.

:func:`~nasbench_bench.nb101.install_alias` serves this module as ``nasbench.lib.graph_util``. Where the
official code is slow (``permute_graph`` through ``np.vectorize``, ``is_isomorphic`` one permutation at a
time) these are vectorised; where it asserts, :class:`~nasbench_bench.nb101.spec.GraphShapeError` is raised
(an ``AssertionError`` and a ``ValueError``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasbench_bench.nb101.spec import GraphShapeError, hash_module, is_upper_triangular

__all__ = [
    "gen_is_edge_fn",
    "hash_module",
    "is_full_dag",
    "is_isomorphic",
    "is_upper_triangular",
    "num_edges",
    "permute_graph",
]


def gen_is_edge_fn(bits: int) -> Callable[..., Any]:
    """A vectorised ``is_edge(x, y)``: is there an edge from vertex x to vertex y in the graph coded by ``bits``?

    Bit ``x + y * (y - 1) // 2`` codes the edge x -> y (x < y): the upper triangle filled column by column from
    the least significant bit, so the code does not depend on the matrix size. Use with ``np.fromfunction``.
    """

    def is_edge(x: Any, y: Any) -> Any:
        if x >= y:
            return 0
        return (bits >> (x + y * (y - 1) // 2)) % 2 == 1

    return np.vectorize(is_edge)


def is_full_dag(matrix: Any) -> bool:
    """True if every vertex lies on a path from vertex 0 to the last: no row of zeros except the last and
    no column of zeros except the first (for an upper-triangular matrix)."""
    m = np.asarray(matrix)
    n = m.shape[0]
    rows_bad = bool(np.any(np.all(m[: n - 1, :] == 0, axis=1)))
    cols_bad = bool(np.any(np.all(m[:, 1:] == 0, axis=0)))
    return not rows_bad and not cols_bad


def num_edges(matrix: Any) -> Any:
    """Number of edges of an adjacency matrix (its sum)."""
    return np.sum(matrix)


def _inverse(permutation: Sequence[int]) -> list[int]:
    # vertex permutation[v] of the new graph is vertex v of the old one
    return [old for _, old in sorted(zip(permutation, range(len(permutation))))]


def permute_graph(graph: Any, label: Sequence[Any], permutation: Sequence[int]) -> tuple[np.ndarray, list[Any]]:
    """``(matrix, labels)`` with vertex ``permutation[v]`` of the result being vertex ``v`` of ``graph``.

    The matrix is boolean (``graph[...] == 1``, as the official), the labels a list.
    """
    g = np.asarray(graph)
    inv = _inverse(permutation)
    n = len(label)
    if len(inv) != n or g.shape != (n, n):
        raise GraphShapeError(f"permute_graph: graph {g.shape}, {n} labels, permutation of {len(inv)}")
    return g[np.ix_(inv, inv)] == 1, [label[i] for i in inv]


def is_isomorphic(graph1: Sequence[Any], graph2: Sequence[Any]) -> bool:
    """Exhaustively check whether two labelled graphs ``(matrix, labels)`` are isomorphic (every vertex
    permutation is tried, input and output included; vectorised over permutations)."""
    matrix1, label1 = np.array(graph1[0]), graph1[1]
    matrix2, label2 = np.array(graph2[0]), graph2[1]
    if np.shape(matrix1) != np.shape(matrix2) or len(label1) != len(label2):
        raise GraphShapeError("is_isomorphic: the graphs differ in size")
    n = np.shape(matrix1)[0]
    if matrix1.ndim != 2 or np.shape(matrix1) != (n, n) or len(label1) != n:
        raise GraphShapeError(f"is_isomorphic: matrix of shape {np.shape(matrix1)} with {len(label1)} labels")
    if n == 0:
        return bool(np.array_equal(matrix1, matrix2)) and [] == label2
    is_one = matrix1 == 1
    perms = itertools.permutations(range(n))
    while True:
        batch = np.array(list(itertools.islice(perms, 20000)), dtype=np.intp).reshape(-1, n)
        if not len(batch):
            return False
        inv = np.argsort(batch, axis=1)  # official: vertex perm[v] of the permuted graph is vertex v
        permuted = is_one[inv[:, :, None], inv[:, None, :]]  # (P, n, n) bool
        same = np.all(permuted == matrix2[None], axis=(1, 2)) if n else np.ones(len(batch), bool)
        for k in np.flatnonzero(same):
            plabel1 = [label1[i] for i in inv[k].tolist()]
            if plabel1 == label2:
                return True
