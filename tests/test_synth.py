from __future__ import annotations

import numpy as np
import pytest

from nasbench_bench.nb101.synth import synthetic_metrics, synthetic_table


def test_table_is_synthetic_and_deterministic(small_cells):
    a = synthetic_table(small_cells, "full", seed=3)
    b = synthetic_table(small_cells, "full", seed=3)
    c = synthetic_table(small_cells, "full", seed=4)
    assert a.synthetic and "SYNTHETIC" in a.describe()
    np.testing.assert_array_equal(a.valid_acc, b.valid_acc)
    assert not np.array_equal(a.valid_acc, c.valid_acc)
    assert a.n_cells == len(small_cells) and a.max_trials == 3


def test_values_do_not_depend_on_the_subset(small_cells):
    full = synthetic_table(small_cells, "full", seed=0)
    sub = small_cells.take(np.arange(0, len(small_cells), 7))
    part = synthetic_table(sub, "full", seed=0)
    rows = full.rows(part.cell_ids)
    np.testing.assert_array_equal(full.test_acc[rows], part.test_acc)


def test_plausible_structure(small_cells):
    t = synthetic_table(small_cells, "full", seed=0)
    v = t.valid_acc
    assert np.all((v >= 0) & (v <= 1)) and np.all(t.train_time > 0)
    # accuracy rises with epochs; trial noise shrinks with epochs
    means = np.nanmean(v, axis=(0, 2))
    assert np.all(np.diff(means) > 0)
    sd = np.nanmean(np.nanstd(v, axis=2), axis=0)
    assert sd[0] > sd[-1]
    # time roughly proportional to epochs
    tm = np.nanmean(t.train_time, axis=(0, 2))
    assert 20 < tm[3] / tm[0] < 35
    # validation and test close but not identical
    diff = np.abs(t.valid_acc - t.test_acc)
    assert 0 < np.median(diff) < 0.02
    # more conv3x3 helps
    n3 = (t.ops == 0).sum(1)
    score = t.score
    assert score[n3 >= 3].mean() > score[n3 == 0].mean() + 0.02
    # halfway below final, halfway time ~ half
    assert np.nanmean(t.halfway_valid_acc) < np.nanmean(t.valid_acc)
    ratio = np.nanmean(t.halfway_train_time / t.train_time)
    assert 0.45 < ratio < 0.55
    assert t.trainable_parameters.min() > 0


def test_metrics_function_is_pure(small_cells):
    args = (small_cells.matrices, small_cells.ops, small_cells.num_vertices, small_cells.hashes)
    m1 = synthetic_metrics(*args, budgets=(108,), seed=1)
    m2 = synthetic_metrics(*args, budgets=(108,), seed=1)
    for k in m1:
        np.testing.assert_array_equal(m1[k], m2[k])
    assert m1["valid_acc"].shape == (len(small_cells), 1, 3)


def test_bad_variant(small_cells):
    with pytest.raises(ValueError):
        synthetic_table(small_cells, "half", seed=0)
