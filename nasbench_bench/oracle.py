"""The simulated-budget oracle: charged evaluations on a table with a simulated clock.

Protocol (NAS-Bench-101 paper, section 4): each evaluation draws one recorded trial at random with the
run's own seeded Generator, returns its train and validation accuracy (never test) and charges its recorded
training time. Invalid configurations cost nothing and are recorded. An evaluation that would end after the
time budget is not performed: :class:`BudgetExhausted` is raised instead, so a finished run never exceeds
its budget. The incumbent is the best validation accuracy observed so far (over all budgets); its regret is
``table.best_score - table.score[incumbent]`` (mean test accuracy at the top budget for NAS-Bench-101).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.table import Table

_UNIFORM_BLOCK = 4096


class BudgetExhausted(Exception):
    """Raised by :meth:`Oracle.evaluate` once the run's simulated time budget is spent."""


class Evaluation(NamedTuple):
    """What the search sees of one evaluation. There is deliberately no test accuracy here."""

    valid: bool
    valid_acc: float  # NaN when invalid
    train_acc: float  # NaN when invalid or not recorded by the table
    cost: float  # simulated seconds charged (0 when invalid)
    budget: int  # fidelity evaluated (e.g. epochs)
    time: float  # simulated clock after this evaluation

    @property
    def loss(self) -> float:
        """1 - validation accuracy (1.0 for invalid configurations), for minimising libraries."""
        return 1.0 - self.valid_acc if self.valid else 1.0


@dataclass(frozen=True)
class Trajectory:
    """Per-evaluation record of one run, columnar. ``row`` indexes ``table.cell_ids`` (-1 = invalid)."""

    time: np.ndarray  # float64 cumulative simulated seconds after the evaluation
    row: np.ndarray  # int64 table row, -1 when invalid
    budget: np.ndarray  # int64 fidelity
    trial: np.ndarray  # int8 trial drawn, -1 when invalid
    valid_acc: np.ndarray  # float64
    train_acc: np.ndarray  # float64
    incumbent: np.ndarray  # int64 table row of the incumbent after the evaluation, -1 before any valid one
    regret: np.ndarray  # float64 incumbent regret, NaN before any valid evaluation

    def __len__(self) -> int:
        return len(self.time)


class Oracle:
    """Charged evaluations of configurations of ``encoding`` on ``table`` under a simulated time budget.

    Args:
        table: the tabular benchmark.
        encoding: maps configurations to cells; its ``cell_ids()`` must be present in ``table``.
        time_budget: simulated seconds (paper: 1e7).
        seed: seeds the trial draws (an int or a ``SeedSequence``).
        max_evaluations: optional cap on evaluations (valid or not), a safety net against optimizers that
            propose only invalid configurations; reaching it ends the run like the budget does.
    """

    def __init__(
        self,
        table: Table,
        encoding: Encoding,
        time_budget: float = 1e7,
        seed: int | np.random.SeedSequence = 0,
        max_evaluations: int | None = None,
    ) -> None:
        if not (time_budget > 0 and math.isfinite(time_budget)):
            raise ValueError(f"time_budget must be a positive finite number of seconds, got {time_budget!r}")
        self.table = table
        self.encoding = encoding
        self.time_budget = float(time_budget)
        self.max_evaluations = max_evaluations
        self._rng = np.random.default_rng(seed)
        self._row_of_cell: list[int] = _row_of_cell(table, encoding).tolist()
        self._valid = table.valid_acc
        self._train = table.train_acc
        self._time = table.train_time
        self._ntrials = table.n_trials
        self._score: list[float] = table.score.tolist()
        self._best = table.best_score
        self._top = len(table.budgets) - 1
        self._budget_idx = {int(b): i for i, b in enumerate(table.budgets)}
        self._top_budget = int(table.budgets[-1])
        self._uniform: list[float] = []
        self._u = 0
        self.clock = 0.0
        self.exhausted = False
        self._inc_row = -1
        self._inc_val = -math.inf
        self._regret = math.nan
        self._t: list[float] = []
        self._row: list[int] = []
        self._bud: list[int] = []
        self._tri: list[int] = []
        self._val: list[float] = []
        self._tr: list[float] = []
        self._inc: list[int] = []
        self._reg: list[float] = []

    # -- charged evaluations --------------------------------------------------------------------------
    def evaluate(self, config: Mapping[str, Any] | np.ndarray, budget: int | None = None) -> Evaluation:
        """Evaluate a configuration (dict or vector) at ``budget`` (default: the table's top budget)."""
        if isinstance(config, Mapping):
            vector = self.encoding.to_vector(config)
        else:
            vector = config
        return self.evaluate_cell(self.encoding.cell_index(vector), budget)

    def evaluate_cell(self, cell: int, budget: int | None = None) -> Evaluation:
        """Evaluate the encoding's cell index ``cell`` (-1 = invalid configuration)."""
        if self.exhausted or (self.max_evaluations is not None and len(self._t) >= self.max_evaluations):
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        if budget is None:
            b, fid = self._top, self._top_budget
        else:
            b = self._budget_idx.get(budget, -1)
            if b < 0:
                raise ValueError(
                    f"budget {budget!r} is not in table {self.table.name!r}; valid: {list(self._budget_idx)}"
                )
            fid = int(budget)
        row = self._row_of_cell[cell] if cell >= 0 else -1
        if row < 0:
            if cell >= 0:
                raise KeyError(
                    f"cell {self.encoding.cell_ids()[cell]!r} is valid but absent from table "
                    f"{self.table.name!r} ({self.table.n_cells:,} cells)"
                )
            self._append(self.clock, -1, fid, -1, math.nan, math.nan)
            return Evaluation(False, math.nan, math.nan, 0.0, fid, self.clock)
        if self._u >= len(self._uniform):
            self._uniform = self._rng.random(_UNIFORM_BLOCK).tolist()
            self._u = 0
        trial = int(self._uniform[self._u] * self._ntrials[row, b])
        self._u += 1
        cost = float(self._time[row, b, trial])
        if self.clock + cost > self.time_budget:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        self.clock += cost
        val = float(self._valid[row, b, trial])
        tr = float(self._train[row, b, trial])
        if val > self._inc_val:
            self._inc_val = val
            self._inc_row = row
            self._regret = self._best - self._score[row]
        self._append(self.clock, row, fid, trial, val, tr)
        return Evaluation(True, val, tr, cost, fid, self.clock)

    def _append(self, t: float, row: int, fid: int, trial: int, val: float, tr: float) -> None:
        self._t.append(t)
        self._row.append(row)
        self._bud.append(fid)
        self._tri.append(trial)
        self._val.append(val)
        self._tr.append(tr)
        self._inc.append(self._inc_row)
        self._reg.append(self._regret)

    # -- state ----------------------------------------------------------------------------------------
    @property
    def remaining(self) -> float:
        return self.time_budget - self.clock

    @property
    def n_evaluations(self) -> int:
        return len(self._t)

    @property
    def regret(self) -> float:
        """Current incumbent regret (NaN before the first valid evaluation)."""
        return self._regret

    def _stop_reason(self) -> str:
        if self.max_evaluations is not None and len(self._t) >= self.max_evaluations:
            return f"max_evaluations={self.max_evaluations} reached"
        return f"time budget {self.time_budget:g} s spent (clock {self.clock:.1f} s)"

    def trajectory(self) -> Trajectory:
        """The run record so far as arrays."""
        return Trajectory(
            time=np.asarray(self._t, dtype=np.float64),
            row=np.asarray(self._row, dtype=np.int64),
            budget=np.asarray(self._bud, dtype=np.int64),
            trial=np.asarray(self._tri, dtype=np.int8),
            valid_acc=np.asarray(self._val, dtype=np.float64),
            train_acc=np.asarray(self._tr, dtype=np.float64),
            incumbent=np.asarray(self._inc, dtype=np.int64),
            regret=np.asarray(self._reg, dtype=np.float64),
        )


_ROW_CACHE: weakref.WeakKeyDictionary[Table, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


def _row_of_cell(table: Table, encoding: Encoding) -> np.ndarray:
    """Table row of every cell index of the encoding's space (-1 where absent), memoised per table."""
    per_table = _ROW_CACHE.setdefault(table, {})
    rows = per_table.get(encoding.benchmark)
    if rows is None:
        rows = table.rows(encoding.cell_ids())
        if (rows < 0).all():
            raise ValueError(
                f"encoding {encoding.benchmark}/{encoding.name} shares no cell with table {table.name!r}; "
                "wrong benchmark for this encoding?"
            )
        per_table[encoding.benchmark] = rows
    return rows
