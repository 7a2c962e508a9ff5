"""A 3 x 3 toy space for hand-checked tests: two categorical hyperparameters x, y in {0, 1, 2}; cell ``3x + y``.

Cell (2, 2) is invalid. Accuracies (one trial, one budget, training time 1 s each)::

          y=0   y=1   y=2
    x=0   0.50  0.60  0.55
    x=1   0.70  0.65  0.80
    x=2   0.90  0.40  --

Neighbours (the base encoding's rule) change x or y: four per cell. Strict local optima: (2, 0) and (1, 2).
"""

from __future__ import annotations

import numpy as np

from nasbench_bench.encodings import Encoding, Param
from nasbench_bench.table import Table

ACC = {(0, 0): 0.50, (0, 1): 0.60, (0, 2): 0.55, (1, 0): 0.70, (1, 1): 0.65, (1, 2): 0.80, (2, 0): 0.90,
       (2, 1): 0.40}


class GridEncoding(Encoding):
    name = "grid"
    benchmark = "grid"
    params = (Param("x", "cat", (0, 1, 2)), Param("y", "cat", (0, 1, 2)))

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        v = np.atleast_2d(np.asarray(vectors)).astype(np.int64)
        idx = 3 * v[:, 0] + v[:, 1]
        return np.where(idx == 8, -1, idx)

    def cell_ids(self) -> np.ndarray:
        return np.array([f"{x}{y}" for x in range(3) for y in range(3)], dtype="S2")


def cell(x: int, y: int) -> bytes:
    return f"{x}{y}".encode()


def grid_table(test_acc: dict[tuple[int, int], float] | None = None) -> Table:
    keys = sorted(ACC)
    n = len(keys)
    valid = np.array([ACC[k] for k in keys]).reshape(n, 1, 1)
    test = valid if test_acc is None else np.array([test_acc[k] for k in keys]).reshape(n, 1, 1)
    return Table(name="grid", budgets=np.array([1]), cell_ids=np.array([cell(*k) for k in keys], dtype="S2"),
                 n_trials=np.ones((n, 1), np.int8), train_time=np.ones((n, 1, 1)), train_acc=np.full((n, 1, 1), np.nan),
                 valid_acc=valid, test_acc=test, synthetic=True)
