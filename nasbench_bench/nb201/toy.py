"""The ``toy`` benchmark: a SYNTHETIC small structured table over the NAS-Bench-201 cell ids.

The suite's one toy-table builder: tests, the quick examples and the performance benchmarks use it (with the
default four budgets or any others). Values are invented; every table made here says SYNTHETIC.
"""

from __future__ import annotations

import numpy as np

from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.table import Table

__all__ = ["toy_table"]


def toy_table(budgets: tuple[int, ...] = (4, 12, 36, 108), seed: int = 0, trials: int = 3) -> Table:
    """A SYNTHETIC table on the NB201 cell ids: accuracy rises with conv ops, noise shrinks with budget.

    Good cells are rare (so search beats random sampling), time grows with budget and convs. Use it with
    the ``nb201`` encoding.
    """
    rng = np.random.default_rng(seed)
    ids = EncodingNB201().cell_ids()
    ops = np.array([[int(c) for c in s.decode()] for s in ids])  # (N, 6) op indices 0..4
    conv3 = (ops == 3).sum(1)
    conv1 = (ops == 2).sum(1)
    none = (ops == 0).sum(1)
    quality = 0.05 * conv3 + 0.03 * conv1 - 0.04 * none + 0.01 * rng.standard_normal(len(ids))
    base = 0.6 + 0.3 * (quality - quality.min()) / (quality.max() - quality.min())
    b = np.asarray(budgets, dtype=float)
    frac = (np.log(b) - np.log(b[0]) + 1) / (np.log(b[-1]) - np.log(b[0]) + 1)  # (E,), 1 at the top budget
    n, e = len(ids), len(b)
    mean = base[:, None] * (0.7 + 0.3 * frac[None, :])
    noise = 0.01 / np.sqrt(frac)[None, :, None] * rng.standard_normal((n, e, trials))
    valid = np.clip(mean[:, :, None] + noise, 0, 1)
    test = np.clip(mean[:, :, None] + 0.004 * rng.standard_normal((n, e, trials)), 0, 1)
    train = np.clip(valid + 0.05, 0, 1)
    t108 = 600.0 + 250.0 * conv3 + 120.0 * conv1 + 50 * rng.random(n)
    time = (t108[:, None] * (b / b[-1])[None, :])[:, :, None] * (1 + 0.02 * rng.standard_normal((n, e, trials)))
    return Table(
        name="toy",
        budgets=np.asarray(budgets, dtype=np.int64),
        cell_ids=ids,
        n_trials=np.full((n, e), trials, dtype=np.int8),
        train_time=time,
        train_acc=train,
        valid_acc=valid,
        test_acc=test,
        score_metric="test",
        synthetic=True,
        meta={"notes": "toy synthetic table for tests"},
    )
