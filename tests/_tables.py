"""Small structured tables, encodings and checks for fast tests (values are SYNTHETIC).

The toy table's generator lives in :mod:`nasbench_bench.nb201.toy` (benchmark ``"toy"``); re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_bench.encodings import Encoding, Param
from nasbench_bench.nb201.toy import toy_table

__all__ = ["RowEncoding", "check_halfway_resumes", "toy_table", "with_proxy"]


class RowEncoding(Encoding):
    """One integer hyperparameter = the table row: drives any table (here the synthetic NB101 cache) cheaply."""

    name = "rows"
    benchmark = "test-rows"

    def __init__(self, ids: np.ndarray) -> None:
        self._ids = np.asarray(ids)
        self.params = (Param("row", "int", lower=0, upper=len(ids) - 1),)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(vectors))[:, 0].astype(np.int64)

    def cell_ids(self) -> np.ndarray:
        return self._ids


def check_halfway_resumes(table: Any, tr: Any, cost: np.ndarray) -> int:
    """Assert NB101 halfway accounting along trajectory ``tr`` (``cost``: each evaluation's charge): a halfway
    evaluation (2/6/18/54 epochs) is charged its trial's halfway time and pauses that run; a full rung is reached
    only by continuing a paused run of the same cell and trial, charged its full minus its halfway time.
    Returns the number of resumed runs."""
    import pytest

    paused: dict[tuple[int, int], list[int]] = {}  # (row, budget) -> trials evaluated halfway, not resumed yet
    resumed = 0
    for i in range(len(tr)):
        r, e, t = int(tr.row[i]), int(tr.budget[i]), int(tr.trial[i])
        if e in (2, 6, 18, 54):
            paused.setdefault((r, 2 * e), []).append(t)
            assert cost[i] == pytest.approx(table.halfway_train_time[r, table.budget_index(2 * e), t], abs=1e-6)
            continue
        assert t in paused.get((r, e), []), f"evaluation {i}: no paused run of trial {t} to continue"
        paused[(r, e)].remove(t)
        b = table.budget_index(e)
        assert cost[i] == pytest.approx(table.train_time[r, b, t] - table.halfway_train_time[r, b, t], abs=1e-6)
        resumed += 1
    return resumed


def with_proxy(table: Any, seed: int = 0) -> Any:
    """``table`` with SYNTHETIC zero-cost proxy columns ``zen_score`` (its score plus noise) and ``zen_time``
    (0.5..1.5 s per cell), for ``zc:`` wrappers."""
    import dataclasses

    rng = np.random.default_rng(seed)
    n = table.n_cells
    score = np.asarray(table.score) + rng.normal(0, 0.05, n)
    return dataclasses.replace(table, columns={**table.columns, "zen_score": score,
                                               "zen_time": rng.uniform(0.5, 1.5, n)})
