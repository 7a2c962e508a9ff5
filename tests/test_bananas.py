"""BANANAS: path encodings against hand-counted paths, the predictor, the loop's shape, and behaviour on real data."""

from __future__ import annotations

import numpy as np
import pytest
from _tables import toy_table

from nasbench_bench.benchmarks import get_encoding, load_benchmark
from nasbench_bench.nb101.encodings import EncodingA, EncodingB, EncodingC
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import OptimizerError, get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
from optimizers.bananas import Features, MLPEnsemble, nb101_paths, nb201_paths

# NB201 ops: none=0, skip_connect=1, nor_conv_1x1=2, nor_conv_3x3=3, avg_pool_3x3=4;
# edges in vector order: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
NB201_CELL = [3, 0, 1, 4, 2, 1]


def test_nb201_paths_hand_counted() -> None:
    # 0->3: avg_pool; 0->1->3: conv3x3, conv1x1; 0->2->3: none, skip; 0->1->2->3: conv3x3, skip, skip
    assert nb201_paths(NB201_CELL) == [(4,), (3, 2), (0, 1), (3, 1, 1)]


def test_nb201_path_encoding_hand_counted() -> None:
    feats = Features(EncodingNB201())
    row = feats(np.array([NB201_CELL], float), [0])[0]
    # length 1 at 0..4: (4,) -> 4; length 2 at 5 + a + 5b: (3, 2) -> 18, (0, 1) -> 10;
    # length 3 at 30 + a + 5b + 25c: (3, 1, 1) -> 63
    assert row.shape == (155,) and np.flatnonzero(row).tolist() == [4, 10, 18, 63]
    # the reference's truncation keeps the first features only
    assert np.flatnonzero(Features(EncodingNB201(), cutoff=30)(np.array([NB201_CELL], float), [0])[0]).tolist() \
        == [4, 10, 18]


# NB101 ops (interior vertices 1..5): conv3x3=0, conv1x1=1, maxpool3x3=2. Upper-triangle positions, row-major:
# (0,1)=0 (0,2)=1 (0,3)=2 (0,4)=3 (0,5)=4 (0,6)=5 (1,2)=6 (1,3)=7 (1,4)=8 (1,5)=9 (1,6)=10 (2,3)=11 (2,4)=12
# (2,5)=13 (2,6)=14 (3,4)=15 (3,5)=16 (3,6)=17 (4,5)=18 (4,6)=19 (5,6)=20.
# Cell: 0->1->6, 0->2->3->6, 0->6 and a dangling edge 4->5 (pruned away, on no input->output path).
NB101_EDGES = [0, 10, 1, 11, 17, 5, 18]
NB101_OPS = [0, 1, 2, 1, 0]  # v1 conv3x3, v2 conv1x1, v3 maxpool, v4 conv1x1, v5 conv3x3


def _vec_a(ops: list[int], edges: list[int]) -> np.ndarray:
    bits = [0] * 21
    for k in edges:
        bits[k] = 1
    return np.array(ops + bits, float)


def test_nb101_paths_hand_counted() -> None:
    code = sum(1 << k for k in NB101_EDGES)
    # 0->6: no interior op; 0->1->6: conv3x3; 0->2->3->6: conv1x1, maxpool
    assert nb101_paths(NB101_OPS, code) == [(), (0,), (1, 2)]
    # two branches merging: 0->1->3->6 and 0->2->3->6
    assert nb101_paths([2, 0, 1, 0, 0], (1 << 0) | (1 << 1) | (1 << 7) | (1 << 11) | (1 << 17)) == [(0, 1), (2, 1)]


def test_nb101_path_encoding_hand_counted_in_every_encoding() -> None:
    # bijective base 3: () -> 0; (conv3x3,) -> 1; (conv1x1, maxpool) -> (1+1) + 3 (2+1) = 11
    want = [0, 1, 11]
    vec_a = _vec_a(NB101_OPS, NB101_EDGES)
    vec_b = np.array(NB101_OPS + sorted(NB101_EDGES) + [NB101_EDGES[0]] * 2, float)  # 7 positions + 2 repeats
    weights = [0.0] * 21
    for k in NB101_EDGES:
        weights[k] = 0.9
    vec_c = np.array(NB101_OPS + [len(NB101_EDGES)] + weights, float)
    for enc, vec in ((EncodingA(), vec_a), (EncodingB(), vec_b), (EncodingC(), vec_c)):
        row = Features(enc)(vec[None, :], [0])[0]
        assert row.shape == (364,) and np.flatnonzero(row).tolist() == want, enc.name


def test_nb101_from_parts_round_trips() -> None:
    code = sum(1 << k for k in NB101_EDGES)
    for enc in (EncodingA(), EncodingB(), EncodingC()):
        codes, ops = enc.edge_codes(enc.from_parts(NB101_OPS, code)[None, :])
        assert int(codes[0]) == code and ops[0].tolist() == NB101_OPS
        assert enc.from_parts(NB101_OPS, (1 << 10) - 1) is None  # 10 edges: not a NAS-Bench-101 cell


def test_one_hot_features_on_other_families() -> None:
    enc = get_encoding("fcnet")  # categoricals and integer indices
    vec = enc.sample(np.random.default_rng(0))
    row = Features(enc)(vec[None, :], [0])[0]
    assert row.shape == (sum(p.n_values for p in enc.params),)
    assert row.sum() == enc.dim and set(np.unique(row).tolist()) == {0.0, 1.0}


def test_ensemble_learns_a_function() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, (120, 30)).astype(float)
    y = 20 + 10 * x[:, :5].sum(axis=1)
    net = MLPEnsemble(members=5, layers=10, width=20, epochs=150, batch_size=32, lr=0.01)
    net.fit(x[:100], y[:100], np.random.default_rng(1))
    pred = net.predict(x[100:])
    assert pred.shape == (5, 20)
    baseline = np.abs(y[100:] - np.median(y[:100])).mean()
    assert np.abs(pred.mean(axis=0) - y[100:]).mean() < 0.5 * baseline
    assert pred.std(axis=0).mean() > 0  # independently initialised members disagree somewhat


def test_loop_shape_distinct_proposals_and_batches() -> None:
    table = toy_table()
    enc = EncodingNB201()
    opt = get_optimizer("bananas")(enc, seed=0, epochs=20)
    tr = run_optimizer(opt, Oracle(table, enc, 1e12, seed=0, max_evaluations=60))
    assert len(tr) == 60 and len(set(tr.row.tolist())) == 60  # never proposes a cell twice
    # 10 random, then batches of k = 10; the 6th batch is built when the 61st proposal is asked (the oracle then
    # ends the run)
    assert opt.iterations == 6


def test_seeded_initial_design_is_evaluated_first() -> None:
    table = toy_table()
    enc = EncodingNB201()
    seeds = [np.array([i, 1, 2, 3, 4, 0], float) for i in range(5)]
    opt = get_optimizer("bananas")(enc, seed=0, epochs=5)
    opt.set_initial(seeds)
    tr = run_optimizer(opt, Oracle(table, enc, 1e12, seed=0, max_evaluations=12))
    want = table.rows(enc.cell_ids()[enc.cell_indices(np.array(seeds))]).tolist()
    assert tr.row[:5].tolist() == want


def test_bad_hyperparameters_are_refused() -> None:
    with pytest.raises(OptimizerError, match="num_init"):
        get_optimizer("bananas")(EncodingNB201(), seed=0, num_init=0)
    with pytest.raises(OptimizerError, match="lr"):
        get_optimizer("bananas")(EncodingNB201(), seed=0, lr=-1.0)


@pytest.mark.slow
def test_bananas_beats_random_search_on_nb201_cifar100_at_150_evaluations() -> None:
    """White et al. (2021), Fig. 4: BANANAS finds better NB201 cells than random search within 150 queries.
    Paired over seeds (same seed = same oracle stream); ~5 s per BANANAS run on one core."""
    table, enc = load_benchmark("nb201-cifar100"), get_encoding("nb201")
    seeds = range(10)
    final = {name: np.array([run_optimizer(get_optimizer(name)(enc, seed=s),
                                           Oracle(table, enc, 1e12, seed=s, max_evaluations=150)).regret[-1]
                             for s in seeds]) for name in ("bananas", "rs")}
    gain = final["rs"] - final["bananas"]
    assert gain.mean() > 0 and (gain > 0).sum() > (gain < 0).sum(), final


def test_parallel_form_waits_for_the_initial_design_then_proposes_batches() -> None:
    """K = 4: the 10 initial proposals go out first; the first model is fitted only once all 10 are complete (so
    the 11th evaluation starts no earlier than the 10th initial one ends); no cell is ever proposed twice."""
    from nasbench_bench.simulator import run_parallel

    table, enc = toy_table(), EncodingNB201()
    opt = get_optimizer("bananas")(enc, seed=1, epochs=10)
    tr = run_parallel(opt, Oracle(table, enc, 2e5, seed=1), 4)
    assert len(tr) > 30 and len(set(tr.row.tolist())) == len(tr)
    order = np.argsort(tr.start, kind="stable")
    starts, ends = tr.start[order], tr.time[order]
    assert starts[10] >= ends[:10].max()
    assert opt.iterations >= 2
