"""Encodings A, B, C (NAS-Bench-101) and NB201: exact configuration -> cell mapping."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_bench.benchmarks import get_encoding
from nasbench_bench.nb101.encodings import N_MIDDLE, EncodingA, EncodingB, EncodingC
from nasbench_bench.nb101.space import RAW_EDGE_POSITIONS, get_space
from nasbench_bench.nb101.spec import MAX_EDGES, OPS, ModelSpec
from nasbench_bench.nb201.encoding import NB201_OPS, EncodingNB201

A, B, C = EncodingA(), EncodingB(), EncodingC()

# The Inception-like cell of the official NAS-Bench-101 README.
INCEPTION_MATRIX = np.array(
    [
        [0, 1, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ]
)
INCEPTION_OPS = ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                 "maxpool3x3", "output"]  # fmt: skip


def _slow_index(bits: np.ndarray, op_idx: np.ndarray) -> int:
    """Reference mapping: build the 7x7 spec, prune and hash it the official way, find the hash."""
    m = np.zeros((7, 7), dtype=int)
    for k, (i, j) in enumerate(RAW_EDGE_POSITIONS):
        m[i, j] = bits[k]
    spec = ModelSpec(m, ["input", *[OPS[o] for o in op_idx], "output"])
    if not spec.is_valid():
        return -1
    space = get_space()
    h = spec.hash_spec().encode()
    i = int(np.searchsorted(space.hashes, h))
    assert space.hashes[i] == h, "a valid spec's hash must be in the enumerated space"
    return i


def test_inception_cell_maps_identically_in_all_encodings() -> None:
    ops = [OPS.index(o) for o in INCEPTION_OPS[1:-1]]
    edges = [k for k, (i, j) in enumerate(RAW_EDGE_POSITIONS) if INCEPTION_MATRIX[i, j]]
    assert len(edges) == 9
    expected_hash = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS).hash_spec()
    va = np.array(ops + [1 if k in edges else 0 for k in range(21)], dtype=float)
    vb = np.array(ops + edges, dtype=float)
    vc = np.array(ops + [9] + [0.9 if k in edges else 0.1 for k in range(21)], dtype=float)
    space = get_space()
    for enc, v in ((A, va), (B, vb), (C, vc)):
        idx = enc.cell_index(v)
        assert idx >= 0 and space.hashes[idx].decode() == expected_hash, enc.name
        assert enc.cell_indices(v[None, :])[0] == idx


@pytest.mark.parametrize("enc", [A, B, C], ids=lambda e: e.name)
def test_random_configurations_match_the_official_path(enc) -> None:
    rng = np.random.default_rng(0)
    vectors = enc.sample(rng, 1500)
    fast = enc.cell_indices(vectors)
    for v, got in zip(vectors, fast):
        if enc is A:
            bits = v[N_MIDDLE:].astype(int)
            want = -1 if bits.sum() > MAX_EDGES else _slow_index(bits, v[:N_MIDDLE].astype(int))
        elif enc is B:
            bits = np.zeros(21, dtype=int)
            bits[v[N_MIDDLE:].astype(int)] = 1
            want = _slow_index(bits, v[:N_MIDDLE].astype(int))
        else:
            k = int(v[N_MIDDLE])
            order = np.argsort(-v[N_MIDDLE + 1 :], kind="stable")
            bits = np.zeros(21, dtype=int)
            bits[order[:k]] = 1
            want = _slow_index(bits, v[:N_MIDDLE].astype(int))
        assert got == want
        assert enc.cell_index(v) == want
    assert (fast >= 0).sum() > 50 and (fast < 0).sum() > 0  # both kinds occur


def test_encoding_a_counts_raw_edges_before_pruning() -> None:
    # 10 raw edges, but vertex 5 is dangling (no path to output): pruned has fewer than 10 edges
    m = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 2), (0, 3), (0, 4), (0, 5), (1, 5)]:
        m[i, j] = 1
    spec = ModelSpec(m, ["input"] + [OPS[0]] * 5 + ["output"])
    assert spec.is_valid() and spec.matrix.sum() <= 9  # the official API accepts it...
    bits = [m[i, j] for i, j in RAW_EDGE_POSITIONS]
    assert A.cell_index(np.array([0] * 5 + bits, dtype=float)) == -1  # ...encoding A does not
    assert get_space().index_one(int(np.dot(bits, 1 << np.arange(21))), (0,) * 5) >= 0


@pytest.mark.slow
def test_valid_fraction_of_encoding_a_matches_independent_reachability() -> None:
    codes = np.arange(1 << 21, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(21)) & 1
    e = {pos: bits[:, k].astype(bool) for k, pos in enumerate(RAW_EDGE_POSITIONS)}
    reach = [np.zeros(len(codes), bool) for _ in range(7)]
    reach[0][:] = True
    for j in range(1, 7):
        for i in range(j):
            reach[j] |= reach[i] & e[(i, j)]
    few = bits.sum(1) <= MAX_EDGES
    expected = int((reach[6] & few).sum())  # valid in A <=> output reachable from input and <= 9 raw edges
    vec = np.zeros((len(codes), 26))
    vec[:, N_MIDDLE:] = bits
    got = int((A.cell_indices(vec) >= 0).sum())
    assert got == expected


@pytest.mark.slow
def test_distinct_cells_reached_by_encoding_b_for_fixed_ops_are_all_graphs_with_those_ops() -> None:
    # With every middle op conv3x3, the reachable cells are exactly the cells whose ops are all conv3x3.
    space = get_space()
    mid = space.ops[:, 1:6]
    nv = space.num_vertices.astype(int)
    all_conv = np.array([np.all(mid[i, : nv[i] - 2] == 0) for i in range(space.n_cells)])
    codes = np.arange(1 << 21, dtype=np.int64)
    ok = ((codes[:, None] >> np.arange(21)) & 1).sum(1) <= 9
    found = np.unique(space.index(codes[ok], np.zeros((int(ok.sum()), 5), dtype=np.int8)))
    found = found[found >= 0]
    assert np.array_equal(np.sort(found), np.flatnonzero(all_conv))


def test_dict_round_trip_and_configspace() -> None:
    for enc in (A, B, C, EncodingNB201()):
        rng = np.random.default_rng(1)
        v = enc.sample(rng)
        cfg = enc.to_config(v)
        assert np.allclose(enc.to_vector(cfg), v)
        cs = enc.configspace(seed=0)
        assert sorted(cs.keys()) == sorted(p.name for p in enc.params)
        sample = dict(cs.sample_configuration())
        assert enc.to_vector(sample).shape == (enc.dim,)


def test_nb201_indices_and_ids_line_up() -> None:
    enc = EncodingNB201()
    ids = enc.cell_ids()
    assert len(ids) == 15625 and ids[0] == b"000000" and ids[-1] == b"444444"
    assert np.all(ids[1:] > ids[:-1])
    v = np.array([4, 0, 3, 1, 2, 4], dtype=float)
    assert ids[enc.cell_index(v)] == b"403124" and enc.to_config(v)["Op0"] == NB201_OPS[4]


def test_unknown_encoding_and_bad_values_are_clear_errors() -> None:
    with pytest.raises(KeyError, match="unknown encoding 'D'"):
        get_encoding("D")
    with pytest.raises(ValueError, match="op_node_0"):
        A.to_vector({"op_node_0": "conv5x5"})
