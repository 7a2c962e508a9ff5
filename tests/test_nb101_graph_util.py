"""The official ``nasbench/tests/graph_util_test.py`` checks, re-written against the drop-in's ``graph_util`` (each
official test has a counterpart here with its own graphs).

Expected values are written out by hand, or come from independent implementations inside this file (the
module hash straight from its published definition, brute-force isomorphism, reachability), never from the code
under test.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from nasbench_bench.nb101 import graph_util  # the official: from nasbench.lib import graph_util
from nasbench_bench.nb101.spec import GraphShapeError


def _reference_hash(matrix, labels) -> str:
    """The module hash from its definition (NB101_REFERENCE.md), for any square matrix."""
    m = np.asarray(matrix)
    n = len(labels)
    out_deg, in_deg = m.sum(axis=1).tolist(), m.sum(axis=0).tolist()
    h = [hashlib.md5(str((out_deg[v], in_deg[v], labels[v])).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        nxt = []
        for v in range(n):
            ins = "".join(sorted(h[u] for u in range(n) if m[u, v]))
            outs = "".join(sorted(h[w] for w in range(n) if m[v, w]))
            nxt.append(hashlib.md5((ins + "|" + outs + "|" + h[v]).encode()).hexdigest())
        h = nxt
    return hashlib.md5(str(sorted(h)).encode()).hexdigest()


def _brute_isomorphic(g1, g2) -> bool:
    (m1, l1), (m2, l2) = g1, g2
    m1, m2 = np.asarray(m1), np.asarray(m2)
    n = len(l1)
    for p in itertools.permutations(range(n)):  # vertex v of g1 becomes vertex p[v] of g2
        if all(l1[v] == l2[p[v]] for v in range(n)) and all(
            bool(m1[u, v]) == bool(m2[p[u], p[v]]) for u in range(n) for v in range(n)
        ):
            return True
    return False


def _q3() -> np.ndarray:
    """The 3-cube (cubic, bipartite, 8 vertices) as a symmetric 0/1 matrix."""
    return np.array([[int(bin(i ^ j).count("1") == 1) for j in range(8)] for i in range(8)])


def _k44_minus_matching() -> np.ndarray:
    """K_{4,4} minus a perfect matching: the 3-cube again, numbered differently."""
    m = np.zeros((8, 8), dtype=int)
    for i in range(4):
        for j in range(4):
            if i != j:
                m[i, 4 + j] = m[4 + j, i] = 1
    return m


def _wagner() -> np.ndarray:
    """The Wagner graph (8-cycle plus its 4 long diagonals): cubic, 8 vertices, not bipartite."""
    m = np.zeros((8, 8), dtype=int)
    for i in range(8):
        for j in (i + 1, i + 4):
            m[i, j % 8] = m[j % 8, i] = 1
    return m


# -- the official test module's seven tests ------------------------------------------------------------------


def test_gen_is_edge():
    for n in (2, 3, 4, 5, 7):
        positions = [(x, y) for y in range(1, n) for x in range(y)]  # column by column, from bit 0
        for bits in (0, 1, 3, 5, 7, 18, 35, (1 << len(positions)) - 1, 0b101100111):
            expected = np.zeros((n, n), dtype=int)
            for k, (x, y) in enumerate(positions):
                expected[x, y] = (bits >> k) & 1
            got = np.fromfunction(graph_util.gen_is_edge_fn(bits), (n, n), dtype=int)
            np.testing.assert_array_equal(got, expected, err_msg=f"bits={bits} n={n}")
    # the official's documented example: FEDCBA on 4x4 is [[0, A, B, D], [0, 0, C, E], [0, 0, 0, F], [0]*4]
    got = np.fromfunction(graph_util.gen_is_edge_fn(0b100110), (4, 4), dtype=int)
    np.testing.assert_array_equal(got, [[0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])


def test_is_full_dag():
    assert graph_util.is_full_dag(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]))
    assert graph_util.is_full_dag(np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]))
    assert not graph_util.is_full_dag(np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]]))  # 1 has no input
    assert not graph_util.is_full_dag(np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]]))  # 1 has no output
    # against reachability for random upper-triangular matrices
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(2, 8))
        m = np.triu(rng.integers(0, 2, (n, n)), 1)
        reach = np.linalg.matrix_power(np.eye(n, dtype=np.int64) + m, n) > 0
        full = all(reach[0, v] and reach[v, n - 1] for v in range(n))
        assert graph_util.is_full_dag(m) == full, m


def test_hash_module():
    diamond = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert graph_util.hash_module(diamond, [-1, 0, 2, -2]) == graph_util.hash_module(diamond, [-1, 2, 0, -2])
    # the same labelled graph, vertices numbered in two topological orders
    a = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    b = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    assert graph_util.hash_module(a, [-1, 0, 1, 2, -2]) == graph_util.hash_module(b, [-1, 1, 0, 2, -2])
    assert graph_util.hash_module(a, [-1, 0, 1, 2, -2]) != graph_util.hash_module(a, [-1, 1, 0, 2, -2])
    # direction matters: the same undirected graph with an edge reversed in meaning
    c = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    d = np.array([[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert graph_util.hash_module(c, [-1, 0, 1, -2]) != graph_util.hash_module(d, [-1, 0, 1, -2])
    # text-exact with the definition on DAGs, cyclic graphs with self-loops, bool/float/weighted matrices
    rng = np.random.default_rng(1)
    for k in range(300):
        n = int(rng.integers(1, 8))
        m = rng.integers(0, 2, (n, n))
        if k % 3 == 0:
            m = np.triu(m, 1)
        m = [m, m.astype(bool), m.astype(float), m * rng.integers(1, 3, (n, n))][k % 4]
        labels = rng.integers(-2, 3, n).tolist()
        assert graph_util.hash_module(m, labels) == _reference_hash(m, labels)
    assert graph_util.hash_module(np.zeros((0, 0), dtype=int), []) == _reference_hash(np.zeros((0, 0)), [])
    with pytest.raises(AssertionError):  # the official asserts sizes agree
        graph_util.hash_module(diamond, [-1, 0, -2])
    with pytest.raises(GraphShapeError):
        graph_util.hash_module(diamond, [-1, 0, -2])


def test_permute_graph():
    m = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0]])  # need not be a DAG
    labels = ["x", "y", "z"]
    # vertex perm[v] of the result is vertex v of the input: 0 -> 1, 1 -> 2, 2 -> 0
    pm, pl = graph_util.permute_graph(m, labels, [1, 2, 0])
    assert pl == ["z", "x", "y"]
    np.testing.assert_array_equal(pm, [[0, 1, 0], [0, 1, 1], [1, 0, 0]])
    assert pm.dtype == bool
    pm, pl = graph_util.permute_graph(m, labels, [0, 1, 2])
    np.testing.assert_array_equal(pm, m)
    assert pl == labels
    pm, pl = graph_util.permute_graph(m, labels, [2, 1, 0])
    np.testing.assert_array_equal(pm, [[0, 0, 1], [1, 0, 0], [0, 1, 1]])
    assert pl == ["z", "y", "x"]


def test_is_isomorphic():
    a = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    b = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    assert graph_util.is_isomorphic((a, [-1, 0, 1, 2, -2]), (b, [-1, 1, 0, 2, -2]))
    assert not graph_util.is_isomorphic((a, [-1, 0, 1, 2, -2]), (b, [-1, 0, 1, 2, -2]))
    uniform = [1] * 8
    assert graph_util.is_isomorphic((_q3(), uniform), (_k44_minus_matching(), uniform))
    assert not graph_util.is_isomorphic((_q3(), uniform), (_wagner(), uniform))
    two = [1, 2, 1, 1, 1, 1, 1, 1]
    assert graph_util.is_isomorphic((_q3(), two), (_k44_minus_matching(), [1, 1, 1, 1, 2, 1, 1, 1]))
    # against brute force on random small labelled graphs
    rng = np.random.default_rng(2)
    for _ in range(150):
        n = int(rng.integers(1, 6))
        m1 = rng.integers(0, 2, (n, n))
        l1 = rng.integers(0, 2, n).tolist()
        if rng.random() < 0.5:
            p = rng.permutation(n)
            m2, l2 = np.zeros_like(m1), [0] * n
            for u in range(n):
                l2[p[u]] = l1[u]
                for v in range(n):
                    m2[p[u], p[v]] = m1[u, v]
            if rng.random() < 0.3:
                m2[rng.integers(n), rng.integers(n)] ^= 1
        else:
            m2, l2 = rng.integers(0, 2, (n, n)), rng.integers(0, 2, n).tolist()
        assert graph_util.is_isomorphic((m1, l1), (m2, l2)) == _brute_isomorphic((m1, l1), (m2, l2))


def test_random_isomorphism_hashing():
    """Any directed labelled graph (cycles and self-loops allowed) hashes the same after any renumbering."""
    rng = np.random.default_rng(4)
    for _ in range(1000):
        m = rng.integers(0, 2, (6, 6))
        labels = rng.integers(0, 3, 6)
        pm, pl = graph_util.permute_graph(m, labels, rng.permutation(6))
        assert graph_util.hash_module(m, labels) == graph_util.hash_module(pm, pl)


def test_counterexample_regular_graphs():
    """The hash is Weisfeiler-Lehman: it cannot tell apart regular graphs of equal degree and size. The 3-cube
    and the Wagner graph are not isomorphic (one is bipartite, one has 5-cycles) yet hash the same."""
    uniform = [0] * 8
    assert graph_util.hash_module(_q3(), uniform) == graph_util.hash_module(_wagner(), uniform)
    assert not graph_util.is_isomorphic((_q3(), uniform), (_wagner(), uniform))


# -- beyond the official tests -------------------------------------------------------------------------------


def test_hash_separates_small_labelled_dags_exactly():
    """On every 5-vertex DAG with input/output labels and two middle labels: equal hash <=> isomorphic."""
    positions = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    groups: dict[str, list] = {}
    for code in range(1 << len(positions)):
        m = np.zeros((5, 5), dtype=int)
        for k, (i, j) in enumerate(positions):
            m[i, j] = (code >> k) & 1
        if not graph_util.is_full_dag(m):
            continue
        for mids in itertools.product((0, 1), repeat=3):
            labels = [-1, *mids, -2]
            groups.setdefault(graph_util.hash_module(m, labels), []).append((m, labels))
    for members in groups.values():
        for other in members[1:]:
            assert _brute_isomorphic(members[0], other)
    # and different hashes are different graphs: representatives of distinct hashes are not isomorphic
    reps = [g[0] for g in groups.values()]
    by_edges: dict[int, list] = {}
    for r in reps:
        by_edges.setdefault(int(r[0].sum()), []).append(r)
    for same in by_edges.values():
        for x, y in itertools.combinations(same[:40], 2):
            assert not graph_util.is_isomorphic(x, y)


def test_num_edges_and_upper_triangular():
    assert graph_util.num_edges(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])) == 3
    assert graph_util.is_upper_triangular(np.array([[0, 1], [0, 0]]))
    assert not graph_util.is_upper_triangular(np.array([[0, 1], [1, 0]]))
