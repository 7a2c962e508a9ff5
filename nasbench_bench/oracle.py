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
from typing import Any

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.table import Table

_UNIFORM_BLOCK = 4096


class BudgetExhausted(Exception):
    """Raised by :meth:`Oracle.evaluate` once the run's simulated time budget is spent."""


@dataclass(frozen=True)
class Evaluation:
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
        self._row_of_cell = _row_of_cell(table, encoding)
        self._valid = table.valid_acc
        self._train = table.train_acc
        self._time = table.train_time
        self._ntrials = table.n_trials
        self._score = table.score
        self._best = table.best_score
        self._top = len(table.budgets) - 1
        self._budget_idx = {int(b): i for i, b in enumerate(table.budgets)}
        self._uniform: list[float] = []
        self._u = 0
        self.clock = 0.0
        self.exhausted = False
        self._inc_row = -1
        self._inc_val = -math.inf
        self._regret = math.nan
        self._rec: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])

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
        if self.exhausted:
            raise BudgetExhausted(self._stop_reason())
        if budget is None:
            b = self._top
        else:
            try:
                b = self._budget_idx[int(budget)]
            except KeyError:
                raise ValueError(
                    f"budget {budget!r} is not in table {self.table.name!r}; valid: {list(self._budget_idx)}"
                ) from None
        if self.max_evaluations is not None and len(self._rec[0]) >= self.max_evaluations:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        rec = self._rec
        fid = int(self.table.budgets[b])
        row = int(self._row_of_cell[cell]) if cell >= 0 else -1
        if row < 0:
            if cell >= 0:
                raise KeyError(
                    f"cell {self.encoding.cell_ids()[cell]!r} is valid but absent from table "
                    f"{self.table.name!r} ({self.table.n_cells:,} cells)"
                )
            for lst, v in zip(
                rec, (self.clock, -1, fid, -1, math.nan, math.nan, self._inc_row, self._regret)
            ):
                lst.append(v)
            return Evaluation(False, math.nan, math.nan, 0.0, fid, self.clock)
        if self._u >= len(self._uniform):
            self._uniform = self._rng.random(_UNIFORM_BLOCK).tolist()
            self._u = 0
        u = self._uniform[self._u]
        self._u += 1
        trial = int(u * self._ntrials[row, b])
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
            self._regret = self._best - float(self._score[row])
        for lst, v in zip(rec, (self.clock, row, fid, trial, val, tr, self._inc_row, self._regret)):
            lst.append(v)
        return Evaluation(True, val, tr, cost, fid, self.clock)

    # -- state ----------------------------------------------------------------------------------------
    @property
    def remaining(self) -> float:
        return self.time_budget - self.clock

    @property
    def n_evaluations(self) -> int:
        return len(self._rec[0])

    @property
    def regret(self) -> float:
        """Current incumbent regret (NaN before the first valid evaluation)."""
        return self._regret

    def _stop_reason(self) -> str:
        if self.max_evaluations is not None and len(self._rec[0]) >= self.max_evaluations:
            return f"max_evaluations={self.max_evaluations} reached"
        return f"time budget {self.time_budget:g} s spent (clock {self.clock:.1f} s)"

    def trajectory(self) -> Trajectory:
        """The run record so far as arrays."""
        t, row, bud, tri, val, tr, inc, reg = self._rec
        return Trajectory(
            time=np.asarray(t, dtype=np.float64),
            row=np.asarray(row, dtype=np.int64),
            budget=np.asarray(bud, dtype=np.int64),
            trial=np.asarray(tri, dtype=np.int8),
            valid_acc=np.asarray(val, dtype=np.float64),
            train_acc=np.asarray(tr, dtype=np.float64),
            incumbent=np.asarray(inc, dtype=np.int64),
            regret=np.asarray(reg, dtype=np.float64),
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
