"""The official ``nasbench/tests/model_spec_test.py`` checks, re-written against the drop-in (each official test
has a counterpart here with its own matrices), plus what researchers' code relies on beyond them: any integer
or bool matrix kept as given, integer op labels, the official exception classes, ``_prune`` and ``visualize``.

Expected values are written out by hand (pruned matrices, op lists) or come from an independent
implementation of the pruning rule inside this file, never from the code under test.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from nasbench_bench.nb101 import spec as model_spec  # the official: from nasbench.lib import model_spec
from nasbench_bench.nb101.spec import InvalidSpecError, OutOfDomainError

CHAIN3 = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


# -- the official test module's five tests -------------------------------------------------------------------


def test_prune_noop():
    """Graphs where every vertex is on an input->output path are kept as they are."""
    for matrix in (
        CHAIN3,
        [[0, 1, 1], [0, 0, 1], [0, 0, 0]],
        [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
        [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
    ):
        ops = list(range(len(matrix)))
        spec = model_spec.ModelSpec(np.array(matrix), ops)
        assert spec.valid_spec
        assert np.array_equal(spec.matrix, spec.original_matrix)
        assert spec.ops == spec.original_ops == ops


def test_prune_islands():
    """Components not connected to the input->output path are removed."""
    spec = model_spec.ModelSpec(np.array([[0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]), [10, 11, 12, 13])
    assert spec.valid_spec
    assert np.array_equal(spec.matrix, np.array([[0, 1], [0, 0]]))
    assert spec.ops == [10, 13]

    spec = model_spec.ModelSpec(
        np.array([[0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        [5, 6, 7, 8, 9],
    )
    assert spec.valid_spec
    assert np.array_equal(spec.matrix, np.array(CHAIN3))
    assert spec.ops == [5, 7, 9]


def test_prune_dangling():
    """Vertices hanging off the path (no way on to the output, or no way in from the input) are removed."""
    # vertex 2 is reached from the input but leads nowhere
    spec = model_spec.ModelSpec(np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]), [1, 2, 3, 4])
    assert spec.valid_spec
    assert np.array_equal(spec.matrix, np.array(CHAIN3))
    assert spec.ops == [1, 2, 4]
    # vertex 1 feeds the output but is not reached from the input
    spec = model_spec.ModelSpec(np.array([[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]), [1, 2, 3, 4])
    assert spec.valid_spec
    assert np.array_equal(spec.matrix, np.array(CHAIN3))
    assert spec.ops == [1, 3, 4]


def test_prune_disconnected():
    """No path from input to output: the spec is invalid (matrix and ops become None)."""
    for matrix in (
        [[0, 0], [0, 0]],
        [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
        np.zeros((5, 5), dtype=int),
    ):
        spec = model_spec.ModelSpec(np.array(matrix), list(range(len(matrix))))
        assert not spec.valid_spec
        assert spec.matrix is None and spec.ops is None
        assert not spec.is_valid()


def test_is_upper_triangular():
    assert model_spec.is_upper_triangular(np.zeros((4, 4), dtype=int))
    assert model_spec.is_upper_triangular(np.triu(np.ones((4, 4), dtype=int), 1))
    for i, j in [(0, 0), (3, 3), (2, 0), (3, 1), (1, 1)]:
        m = np.triu(np.ones((4, 4), dtype=int), 1)
        m[i, j] = 1
        assert not model_spec.is_upper_triangular(m), (i, j)


# -- beyond the official tests -------------------------------------------------------------------------------


def _reference_prune(matrix: np.ndarray, ops: list) -> tuple[np.ndarray, list] | None:
    """Independent pruning: keep vertex v iff (I + A)^n reaches v from 0 and the last vertex from v."""
    n = len(ops)
    reach = np.linalg.matrix_power(np.eye(n, dtype=np.int64) + (matrix != 0), n) > 0
    keep = [v for v in range(n) if reach[0, v] and reach[v, n - 1]]
    if len(keep) < 2:
        return None
    return matrix[np.ix_(keep, keep)], [ops[v] for v in keep]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_])
def test_any_integer_or_bool_dtype_kept(dtype):
    rng = np.random.default_rng(3)
    for _ in range(200):
        m = np.triu(rng.integers(0, 2, (6, 6)), 1).astype(dtype)
        ops = ["input", *rng.choice(["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"], 4).tolist(), "output"]
        spec = model_spec.ModelSpec(m, ops)
        assert spec.original_matrix.dtype == dtype
        np.testing.assert_array_equal(spec.original_matrix, m)
        expected = _reference_prune(m, ops)
        if expected is None:
            assert not spec.valid_spec
            continue
        assert spec.matrix.dtype == dtype
        np.testing.assert_array_equal(spec.matrix, expected[0])
        assert spec.ops == expected[1]


def test_copies_not_views():
    m = np.array(CHAIN3)
    ops = ["input", "conv3x3-bn-relu", "output"]
    spec = model_spec.ModelSpec(m, ops)
    m[0, 2] = 1
    ops[1] = "maxpool3x3"
    assert spec.original_matrix[0, 2] == 0 and spec.original_ops[1] == "conv3x3-bn-relu"
    assert spec.matrix is not spec.original_matrix


def test_nested_lists_and_int_labels():
    spec = model_spec.ModelSpec(CHAIN3, [0, 1, 2])
    assert spec.valid_spec and spec.ops == [0, 1, 2]
    assert spec.original_matrix.dtype.kind == "i"
    # integer labels are not the dataset's ops: out of domain (as the official's _check_spec says)
    assert not spec.is_valid()
    with pytest.raises(OutOfDomainError, match="first operation"):
        spec.check()


def test_official_exception_classes():
    ok_ops = ["input", "conv3x3-bn-relu", "output"]
    for matrix, ops, what in (
        ([[0, 1, 0], [0, 0, 1]], ok_ops, "square"),
        (np.zeros((2, 2, 2)), ["input", "output"], "square"),
        (CHAIN3, ["input", "output"], "length of ops"),
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], ok_ops, "upper triangular"),
        ([[1, 1, 0], [0, 0, 1], [0, 0, 0]], ok_ops, "upper triangular"),
    ):
        with pytest.raises(ValueError, match=what) as info:
            model_spec.ModelSpec(matrix, ops)
        assert isinstance(info.value, InvalidSpecError)
    # out-of-domain specs construct fine and are OutOfDomainError (a ValueError) when checked
    ten = np.triu(np.ones((7, 7), dtype=int), 1)
    ten[0, 2:6] = 0  # 21 - 4 = 17 edges, all vertices on a path
    for spec, what in (
        (model_spec.ModelSpec(ten, ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]), "too many edges"),
        (model_spec.ModelSpec(np.triu(np.ones((8, 8), int), 1) * np.eye(8, k=1, dtype=int),
                              ["input"] + ["conv3x3-bn-relu"] * 6 + ["output"]), "too many vertices"),
        (model_spec.ModelSpec(CHAIN3, ["input", "conv5x5", "output"]), "unsupported op"),
        (model_spec.ModelSpec(CHAIN3, ["conv3x3-bn-relu", "conv3x3-bn-relu", "output"]), "first operation"),
        (model_spec.ModelSpec(CHAIN3, ["input", "conv3x3-bn-relu", "input"]), "last operation"),
        (model_spec.ModelSpec([[0, 2, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]), "0 or 1"),
    ):
        assert not spec.is_valid()
        with pytest.raises(ValueError, match=what) as info:
            spec.check()
        assert isinstance(info.value, OutOfDomainError)


def test_prune_method_recomputes_from_the_originals():
    spec = model_spec.ModelSpec(np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]), [1, 2, 3, 4])
    spec.matrix, spec.ops, spec.valid_spec = None, None, False
    spec._prune()
    assert spec.valid_spec and spec.ops == [1, 2, 4]
    np.testing.assert_array_equal(spec.matrix, CHAIN3)
    spec.original_matrix = np.zeros((4, 4), dtype=int)
    spec._prune()
    assert not spec.valid_spec and spec.matrix is None


def test_hash_spec_like_the_official():
    ops = ["input", "conv1x1-bn-relu", "maxpool3x3", "output"]
    diamond = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    swapped = ["input", "maxpool3x3", "conv1x1-bn-relu", "output"]
    canon = ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]
    h = model_spec.ModelSpec(diamond, ops).hash_spec(canon)
    assert len(h) == 32 and int(h, 16) >= 0
    assert model_spec.ModelSpec(diamond, swapped).hash_spec(canon) == h
    assert model_spec.ModelSpec(diamond.astype(bool), ops).hash_spec(canon) == h
    assert model_spec.ModelSpec(diamond, ops).hash_spec() == h  # canonical ops default to available_ops
    # the official hash_spec does not check the domain: an 8-vertex chain hashes
    chain8 = np.eye(8, k=1, dtype=int)
    assert len(model_spec.ModelSpec(chain8, ["input"] + ["maxpool3x3"] * 6 + ["output"]).hash_spec(canon)) == 32
    with pytest.raises(ValueError):
        model_spec.ModelSpec(diamond, ["input", "conv5x5", "maxpool3x3", "output"]).hash_spec(canon)


class _FakeDigraph:
    def __init__(self):
        self.nodes: list[tuple[str, str]] = []
        self.edges: list[tuple[str, str]] = []

    def node(self, name, label):
        self.nodes.append((name, label))

    def edge(self, a, b):
        self.edges.append((a, b))


def test_visualize_builds_the_pruned_graph(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Digraph=_FakeDigraph))
    spec = model_spec.ModelSpec(np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),
                                ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    g = spec.visualize()
    assert g.nodes == [("0", "input"), ("1", "conv3x3-bn-relu"), ("2", "output")]
    assert g.edges == [("0", "1"), ("1", "2")]


def test_visualize_without_graphviz_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` raise ImportError
    with pytest.raises(ImportError, match="pip install graphviz"):
        model_spec.ModelSpec(CHAIN3, ["input", "conv3x3-bn-relu", "output"]).visualize()
