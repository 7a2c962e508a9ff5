"""The simulated-budget oracle: charged evaluations on a table with a simulated clock.

Protocol (NAS-Bench-101 paper, section 4): each evaluation draws one recorded trial at random with the
run's own seeded Generator, returns its train and validation accuracy (never test) and charges its recorded
training time. Invalid configurations cost nothing and are recorded. An evaluation that would end after the
time budget is not performed: :class:`BudgetExhausted` is raised instead, so a finished run never exceeds
its budget. The incumbent is the best validation accuracy observed so far (over all budgets); its regret is
``table.best_score - table.score[incumbent]`` (mean test accuracy at the top budget for NAS-Bench-101).

Safety limits (:class:`RunLimits`) stop runaway runs that the simulated budget alone would never end (an
optimizer proposing only invalid configurations, which cost no simulated time): too many invalid proposals in
a row, too many evaluations in all, or too much wall-clock time raise :class:`RunawayRun`; the runner records
such a run as failed with that message.

Fidelities. A fidelity is a :class:`Fidelity` ``(budget, halfway)``: the training run of ``budget`` epochs, read
at its end or, where the table records it (NAS-Bench-101's ``evaluation_data[1]``, the ``halfway_*`` arrays of an
:class:`~nasbench_bench.nb101.cache.NB101Table`), at its halfway point (epoch ``budget // 2`` *of that same run*).
The accounting follows the tables' semantics:

* every budget is a **separate training run**: ``evaluate(config, budget)`` draws a fresh trial and charges that
  run's full recorded time, whatever was evaluated before (moving a cell from 12 to 36 epochs charges the whole
  36-epoch time);
* ``evaluate(config, budget, halfway=True)`` draws a trial, charges its recorded halfway time and *pauses* that run
  (``Evaluation.run_id`` identifies it); ``resume(run_id)`` completes exactly that run: the same trial of the same
  cell and budget, charged exactly ``train_time - halfway_train_time`` (its full minus its halfway time), returning
  its end-of-training metrics. A halfway evaluation followed by its resumption costs exactly one full run; a run
  is resumed at most once;
* the run record's ``budget`` column holds the epochs the reported metrics are at: the budget, or ``budget // 2``
  for a halfway evaluation (the epochs the official API's ``stop_halfway`` counts).

``evaluate(config)`` (top budget, end of training) is unchanged by all this: same draws, same records. A resumption
draws nothing (its trial is known).
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.stream import UniformStream
from nasbench_bench.table import Table


class BudgetExhausted(Exception):
    """Raised by :meth:`Oracle.evaluate` once the run's simulated time budget is spent."""


class RunawayRun(RuntimeError):
    """A run stopped by a safety limit (:class:`RunLimits`); the message says which and how to change it."""


#: Default cap on consecutive invalid proposals.
MAX_CONSECUTIVE_INVALID = 10_000


@dataclass(frozen=True)
class RunLimits:
    """Safety limits of a run (None = no limit). They never change a run that stays within them.

    ``invalid_streak``: invalid proposals in a row; ``evaluations``: evaluations in all (the runner's default
    is :func:`default_max_evaluations`); ``wall_clock``: real seconds since the oracle was created. The
    command line sets them with ``--limit-invalid-streak``, ``--limit-evaluations`` and ``--run-timeout``.
    """

    invalid_streak: int | None = MAX_CONSECUTIVE_INVALID
    evaluations: int | None = None
    wall_clock: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"invalid_streak": self.invalid_streak, "evaluations": self.evaluations or "auto",
                "wall_clock": self.wall_clock}


def default_max_evaluations(table: Table, time_budget: float) -> int:
    """A generous bound on a sane run's evaluations: 10x the most valid evaluations the budget can pay for
    (budget / the cheapest recorded evaluation), plus 10,000."""
    times = np.asarray(table.train_time)
    cheapest = float(np.nanmin(np.where(times > 0, times, np.nan))) if np.any(times > 0) else 1.0
    return int(min(10 * time_budget / cheapest + 10_000, 2**62))

class Fidelity(NamedTuple):
    """A fidelity: the training run of ``budget`` epochs, read at its end or (``halfway``) at epoch ``budget // 2``.

    ``str`` / :meth:`parse` spell it ``"12"`` or ``"108/2"`` (the halfway point of the 108-epoch run).
    """

    budget: int
    halfway: bool = False

    @property
    def epochs(self) -> int:
        """Epochs trained when the metrics are read (``budget // 2`` halfway, as the official API counts)."""
        return self.budget // 2 if self.halfway else self.budget

    def __str__(self) -> str:
        return f"{self.budget}/2" if self.halfway else str(self.budget)

    @classmethod
    def parse(cls, text: str | int) -> Fidelity:
        """``"12"`` -> ``Fidelity(12)``, ``"108/2"`` -> ``Fidelity(108, halfway=True)``; ``ValueError`` otherwise."""
        raw = str(text).strip()
        head, sep, tail = raw.partition("/")
        if not head.isdigit() or (sep and tail.strip() != "2"):
            raise ValueError(f"a fidelity is a budget like '12' or a halfway point like '108/2', got {text!r}")
        return cls(int(head), bool(sep))


class Evaluation(NamedTuple):
    """What the search sees of one evaluation. There is deliberately no test accuracy here."""

    valid: bool
    valid_acc: float  # NaN when invalid
    train_acc: float  # NaN when invalid or not recorded by the table
    cost: float  # simulated seconds charged (0 when invalid)
    budget: int  # the training run's budget (e.g. epochs)
    time: float  # simulated clock after this evaluation
    halfway: bool = False  # read at the run's halfway point (epoch budget // 2), not at its end
    run_id: int = -1  # halfway evaluations: the paused run, for Oracle.resume; -1 otherwise
    floor: float = 0.0  # invalid evaluations: the table's floor (Table.floor), what they are scored at
    # set by a problem's oracle (nasbench_bench.problems): the value to maximise when it is not valid_acc (a MnasNet
    # reward; the floor for an infeasible evaluation), the minimised objectives (negated metric, then costs), and
    # whether the evaluation satisfies the problem's constraints
    search: float | None = None
    objectives: tuple[float, ...] = ()
    feasible: bool = True

    @property
    def value(self) -> float:
        """The search value to maximise: ``valid_acc``, or the table's floor for an invalid configuration
        (0 for accuracies; never better than a valid value on tables with negative or negated metrics); under a
        problem (:mod:`nasbench_bench.problems`) its ``search`` value (a reward, a penalised infeasible value)."""
        if self.search is not None:
            return self.search
        return self.valid_acc if self.valid else self.floor

    @property
    def loss(self) -> float:
        """1 - :attr:`value`, for minimising libraries: 1 - validation accuracy, 1.0 for invalid configurations
        on accuracy tables."""
        return 1.0 - self.value

    @property
    def fidelity(self) -> Fidelity:
        return Fidelity(self.budget, self.halfway)


class Pending(NamedTuple):
    """An evaluation a simulated worker has started (:meth:`Oracle.start_evaluation`): its drawn trial and the
    values it will report when it completes. ``row`` -1 = invalid configuration (costs nothing)."""

    row: int
    b: int  # budget index
    budget: int  # the training run's budget
    epochs: int  # epochs of the metrics (budget // 2 for a halfway evaluation)
    trial: int
    cost: float
    val: float
    tr: float
    halfway: bool


@dataclass(frozen=True)
class Trajectory:
    """Per-evaluation record of one run, columnar. ``row`` indexes ``table.cell_ids`` (-1 = invalid)."""

    time: np.ndarray  # float64 cumulative simulated seconds after the evaluation
    row: np.ndarray  # int64 table row, -1 when invalid
    budget: np.ndarray  # int64 epochs of the metrics: the budget, or budget // 2 for a halfway evaluation
    trial: np.ndarray  # int8 trial drawn, -1 when invalid
    valid_acc: np.ndarray  # float64
    train_acc: np.ndarray  # float64
    incumbent: np.ndarray  # int64 table row of the incumbent after the evaluation, -1 before any valid one
    regret: np.ndarray  # float64 incumbent regret, NaN before any valid evaluation

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class ParallelTrajectory(Trajectory):
    """A :class:`Trajectory` of a run with several simulated workers (:mod:`nasbench_bench.simulator`): also who
    performed each evaluation and when it started (``time`` is when it ended, in delivery order)."""

    worker: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # int32 worker id
    start: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64 simulated start time
    workers: int = 1  # simulated workers of the run


class Oracle:
    """Charged evaluations of configurations of ``encoding`` on ``table`` under a simulated time budget.

    Args:
        table: the tabular benchmark.
        encoding: maps configurations to cells; its ``cell_ids()`` must be present in ``table``.
        time_budget: simulated seconds (paper: 1e7).
        seed: seeds the trial draws (an int or a ``SeedSequence``).
        max_evaluations: optional cap on evaluations (valid or not), part of the protocol: reaching it ends
            the run like the budget does.
        limits: safety limits (:class:`RunLimits`); exceeding one raises :class:`RunawayRun`.
    """

    def __init__(
        self,
        table: Table,
        encoding: Encoding,
        time_budget: float = 1e7,
        seed: int | np.random.SeedSequence = 0,
        max_evaluations: int | None = None,
        limits: RunLimits | None = None,
    ) -> None:
        if not (time_budget > 0 and math.isfinite(time_budget)):
            raise ValueError(f"time_budget must be a positive finite number of seconds, got {time_budget!r}")
        self.table = table
        self.encoding = encoding
        self.time_budget = float(time_budget)
        self.max_evaluations = max_evaluations
        self._trials = UniformStream(np.random.default_rng(seed))
        self._next_uniform = self._trials.next
        self._row_of_cell, self._score, self._rows_np, self._score_np = _lookups(table, encoding)
        self._packed, self._nt_const = _packed(table)
        self._ntrials = np.asarray(table.n_trials).view(np.ndarray)  # plain view: memmap indexing is slow
        self._best = table.best_score
        self._floor = table.floor
        self._top = len(table.budgets) - 1
        self._budget_idx = {int(b): i for i, b in enumerate(table.budgets)}
        self._top_budget = int(table.budgets[-1])
        self._paused: dict[int, tuple[int, int, int]] = {}  # run id -> (row, budget index, trial) paused halfway
        self._runs = 0  # run ids handed out
        self.clock = 0.0
        self.exhausted = False
        self._inc_row = -1
        self._inc_val = -math.inf
        self._regret = math.nan
        # the run record (lists: appending is the cheapest per evaluation; the safety limits bound its length)
        self._t: list[float] = []
        self._row: list[int] = []
        self._bud: list[int] = []
        self._tri: list[int] = []
        self._val: list[float] = []
        self._tr: list[float] = []
        self._inc: list[int] = []
        self._reg: list[float] = []
        self.limits = limits or RunLimits()
        lim = self.limits
        self._max_streak = lim.invalid_streak if lim.invalid_streak is not None else math.inf
        self._max_total = lim.evaluations if lim.evaluations is not None else math.inf
        self._max_protocol = max_evaluations if max_evaluations is not None else math.inf
        self._deadline = time.monotonic() + lim.wall_clock if lim.wall_clock is not None else math.inf
        self._streak = 0  # invalid proposals since the last valid one
        # evaluations at which _check_open must look closer (limits, the protocol's max_evaluations)
        self._next_check = min(_CLOCK_EVERY, self._max_total, self._max_protocol)

    # -- fidelities ----------------------------------------------------------------------------------
    @property
    def has_halfway(self) -> bool:
        """True if the table records halfway evaluations (NAS-Bench-101's ``halfway_*`` arrays)."""
        return all(hasattr(self.table, f"halfway_{m}") for m in ("train_time", "valid_acc", "train_acc"))

    def fidelities(self, halfway: bool = True) -> tuple[Fidelity, ...]:
        """The table's fidelities, cheapest first (by epochs): every budget and, with ``halfway`` and where the
        table records them, the halfway points of every budget."""
        out = [Fidelity(int(b)) for b in self.table.budgets]
        if halfway and self.has_halfway:
            out += [Fidelity(int(b), True) for b in self.table.budgets]
        return tuple(sorted(out, key=lambda f: (f.epochs, not f.halfway)))

    # -- charged evaluations --------------------------------------------------------------------------
    def evaluate(
        self, config: Mapping[str, Any] | np.ndarray, budget: int | None = None, *, halfway: bool = False
    ) -> Evaluation:
        """Evaluate a configuration (dict or vector) at ``budget`` (default: the table's top budget); with
        ``halfway`` at that run's halfway point (the run is then paused: see :meth:`resume`)."""
        if isinstance(config, Mapping):
            vector = self.encoding.to_vector(config)
        else:
            vector = config
        if halfway:
            return self.evaluate_cell(self.encoding.cell_index(vector), budget, halfway=True)
        return self.evaluate_cell(self.encoding.cell_index(vector), budget)  # the call subclasses may override

    def evaluate_cell(self, cell: int, budget: int | None = None, halfway: bool = False) -> Evaluation:
        """Evaluate the encoding's cell index ``cell`` (-1 = invalid configuration)."""
        if halfway:
            return self._evaluate_halfway(cell, budget)
        if self.exhausted or len(self._t) >= self._next_check:
            self._check_open()
        b, fid = self._resolve_budget(budget)
        row = self._row_of_cell[cell] if cell >= 0 else -1
        if row < 0:
            self._table_row(cell)  # raises for a valid cell the table lacks
            self._record_invalid(self.clock, fid)
            return Evaluation(False, math.nan, math.nan, 0.0, fid, self.clock, False, -1, self._floor)
        trial = int(self._next_uniform() * (self._nt_const or self._ntrials[row, b]))  # _draw_trial, inlined (hot)
        cost, val, tr = self._packed[row, b, trial].tolist()  # one memory access for the three values
        clock = self.clock + cost  # _charge, inlined (hot path: one call per evaluation, as before)
        if clock > self.time_budget:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        self.clock = clock
        self._record_valid(clock, row, fid, trial, val, tr)
        return Evaluation(True, val, tr, cost, fid, clock)

    def _evaluate_halfway(self, cell: int, budget: int | None) -> Evaluation:
        """As :meth:`evaluate_cell`, read at the run's halfway point; the drawn trial is paused for :meth:`resume`."""
        self._check_open()
        b, fid = self._resolve_budget(budget)
        half = self._halfway_packed()
        row = self._table_row(cell)
        if row < 0:
            self._record_invalid(self.clock, fid // 2)
            return Evaluation(False, math.nan, math.nan, 0.0, fid, self.clock, True, -1, self._floor)
        trial = self._draw_trial(row, b)
        cost, val, tr = half[row, b, trial].tolist()
        self._charge(row, fid // 2, trial, cost, val, tr)
        return Evaluation(True, val, tr, cost, fid, self.clock, True, self._pause(row, b, trial))

    def resume(self, run_id: int) -> Evaluation:
        """Complete the run paused by the halfway evaluation that returned ``run_id``.

        The same trial of the same cell and budget continues: it is charged exactly its recorded full time minus
        its halfway time and returns its end-of-training metrics. ``ValueError`` for an unknown or already
        resumed run.
        """
        self._check_open()
        row, b, trial, fid, cost, val, tr = self._paused_run(run_id)
        self._charge(row, fid, trial, cost, val, tr)
        del self._paused[run_id]
        return Evaluation(True, val, tr, cost, fid, self.clock, False)

    def charge(self, seconds: float) -> None:
        """Advance the simulated clock by ``seconds`` of search work that is not an evaluation (computing a
        zero-cost proxy, see ``zc:NAME``): :class:`BudgetExhausted` if it does not fit in the budget. Nothing is
        recorded; the next evaluation's ``time`` includes it."""
        self._check_open()
        cost = float(seconds)
        if not (cost >= 0 and math.isfinite(cost)):
            raise ValueError(f"charge takes a finite number of seconds >= 0, got {seconds!r}")
        if self.clock + cost > self.time_budget:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        self.clock += cost

    # -- the event simulation's two halves of an evaluation (see nasbench_bench.simulator) ---------------
    def start_evaluation(self, cell: int, budget: int | None = None, halfway: bool = False) -> Pending:
        """Draw an evaluation's trial now (a worker starts it) without charging or recording it.

        The trial is drawn from the run's stream exactly as :meth:`evaluate_cell` draws it; the evaluation is
        recorded by :meth:`finish_evaluation` when it completes. Raises like :meth:`evaluate_cell` for a closed
        run or a valid cell the table lacks.
        """
        self._check_open()
        b, fid = self._resolve_budget(budget)
        row = self._table_row(cell)
        epochs = fid // 2 if halfway else fid
        if row < 0:
            return Pending(-1, b, fid, epochs, -1, 0.0, math.nan, math.nan, halfway)
        trial = self._draw_trial(row, b)
        packed = self._halfway_packed() if halfway else self._packed
        cost, val, tr = packed[row, b, trial].tolist()
        return Pending(row, b, fid, epochs, trial, cost, val, tr, halfway)

    def start_resume(self, run_id: int) -> Pending:
        """As :meth:`resume`, split like :meth:`start_evaluation` (the paused run is claimed now)."""
        self._check_open()
        row, b, trial, fid, cost, val, tr = self._paused_run(run_id)
        del self._paused[run_id]  # claimed now: the run continues on a worker
        return Pending(row, b, fid, fid, trial, cost, val, tr, False)

    def finish_evaluation(self, pending: Pending, end: float) -> Evaluation:
        """Record ``pending`` as completed at simulated time ``end`` (the clock moves to ``end``).

        The caller (the event simulation) decides whether it fits the budget; the incumbent is updated in
        completion order. A halfway evaluation's run is paused here (its ``run_id`` is returned)."""
        self.clock = end
        p = pending
        if p.row < 0:
            self._record_invalid(end, p.epochs)
            return Evaluation(False, math.nan, math.nan, 0.0, p.budget, end, p.halfway, -1, self._floor)
        self._record_valid(end, p.row, p.epochs, p.trial, p.val, p.tr)
        run_id = self._pause(p.row, p.b, p.trial) if p.halfway else -1
        return Evaluation(True, p.val, p.tr, p.cost, p.budget, end, p.halfway, run_id)

    def _check_open(self) -> None:
        """Raise if no evaluation may start now: budget spent, the protocol's cap reached, a limit exceeded."""
        if self.exhausted or len(self._t) >= self._max_protocol:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        if len(self._t) >= self._next_check:
            self._check_limits()

    def _table_row(self, cell: int) -> int:
        """Table row of a cell index (-1 for an invalid configuration); ``KeyError`` if the table lacks the cell."""
        row = self._row_of_cell[cell] if cell >= 0 else -1
        if row < 0 and cell >= 0:
            raise KeyError(
                f"cell {self.encoding.cell_ids()[cell]!r} is valid but absent from table "
                f"{self.table.name!r} ({self.table.n_cells:,} cells)"
            )
        return row

    def _charge(self, row: int, epochs: int, trial: int, cost: float, val: float, tr: float) -> None:
        """Charge one valid evaluation (or raise :class:`BudgetExhausted` if it does not fit) and record it."""
        if self.clock + cost > self.time_budget:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())
        self.clock += cost
        self._record_valid(self.clock, row, epochs, trial, val, tr)

    def _record_valid(self, t: float, row: int, epochs: int, trial: int, val: float, tr: float) -> None:
        """Record a valid evaluation completed at simulated time ``t``; update the incumbent."""
        self._streak = 0
        if val > self._inc_val:
            self._inc_val = val
            self._inc_row = row
            self._regret = self._best - self._score[row]
        self._append(t, row, epochs, trial, val, tr)

    def _record_invalid(self, t: float, epochs: int) -> None:
        """Record an invalid configuration (it costs nothing) at ``t``; fail the run after too many in a row."""
        self._append(t, -1, epochs, -1, math.nan, math.nan)
        self._streak += 1
        if self._streak >= self._max_streak:
            self._runaway_invalid()

    def _draw_trial(self, row: int, b: int) -> int:
        """The recorded trial (of budget index ``b``) an evaluation of ``row`` reads: the run's next uniform."""
        return int(self._next_uniform() * (self._nt_const or self._ntrials[row, b]))

    def _pause(self, row: int, b: int, trial: int) -> int:
        """Pause the run of a halfway evaluation for :meth:`resume`; its run id."""
        run_id = self._runs
        self._runs += 1
        self._paused[run_id] = (row, b, trial)
        return run_id

    def _paused_run(self, run_id: int) -> tuple[int, int, int, int, float, float, float]:
        """(row, budget index, trial, epochs, cost, valid acc, train acc) of continuing paused run ``run_id``:
        its recorded full time minus its halfway time (recorded times are cumulative)."""
        try:
            row, b, trial = self._paused[run_id]
        except KeyError:
            raise ValueError(f"no run {run_id!r} is paused at its halfway point (resume takes the run_id of a "
                             "halfway evaluation, once)") from None
        t_full, val, tr = self._packed[row, b, trial].tolist()
        cost = max(0.0, t_full - float(self._halfway_packed()[row, b, trial, 0]))
        return row, b, trial, int(self.table.budgets[b]), cost, val, tr

    def _halfway_packed(self) -> np.ndarray:
        if not self.has_halfway:
            raise ValueError(f"table {self.table.name!r} records no halfway evaluations (only NAS-Bench-101 does)")
        return _packed_halfway(self.table)

    def evaluate_cells(self, cells: np.ndarray, budget: int | None = None) -> None:
        """Evaluate many cells in order, exactly as repeated :meth:`evaluate_cell` calls would.

        Same draws, records and clock, bit for bit; vectorised for optimizers that do not need each result
        before proposing the next (random search). Raises :class:`BudgetExhausted` when the budget ends inside
        the batch, after recording the evaluations that fit.
        """
        if self.exhausted:
            raise BudgetExhausted(self._stop_reason())
        self._check_limits()
        b, fid = self._resolve_budget(budget)
        cells = np.asarray(cells, dtype=np.int64)
        runaway = self._runaway_cut(cells)
        if runaway is not None:  # evaluate up to the evaluation that hits a limit, then fail like one at a time
            if runaway:
                self.evaluate_cells(cells[:runaway], budget)
            self.evaluate_cell(int(cells[runaway]), budget)
            raise AssertionError("unreachable: the evaluation above exceeds a limit")  # pragma: no cover
        stop_at_cap = False
        if self.max_evaluations is not None and len(self._t) + len(cells) > self.max_evaluations:
            cells, stop_at_cap = cells[: max(0, self.max_evaluations - len(self._t))], True
        rows_all = self._rows_np
        rows = np.where(cells >= 0, rows_all[np.maximum(cells, 0)], -1)
        absent = (cells >= 0) & (rows < 0)
        if absent.any():  # evaluate up to the absent cell, then fail like evaluate_cell does
            first = int(np.argmax(absent))
            if first:
                self.evaluate_cells(cells[:first], budget)
            self.evaluate_cell(int(cells[first]), budget)
        ok = rows >= 0
        vr = rows[ok]
        u = np.asarray(self._trials.take(len(vr)))
        trial = (u * self._ntrials[vr, b]).astype(np.int64)
        packed = self._packed[vr, b, trial]  # (m, 3): train_time, valid_acc, train_acc
        cost = packed[:, 0]
        clock = np.add.accumulate(np.concatenate(([self.clock], cost)))[1:]
        over = clock > self.time_budget
        n_ok = int(np.argmax(over)) if over.any() else len(vr)
        # positions (in the batch) performed: everything before the first valid evaluation that does not fit
        pos_ok = np.flatnonzero(ok)
        n_done = int(pos_ok[n_ok]) if n_ok < len(vr) else len(cells)
        vr, trial, cost, clock = vr[:n_ok], trial[:n_ok], cost[:n_ok], clock[:n_ok]
        val = packed[:n_ok, 1]
        tr = packed[:n_ok, 2]
        prev = np.maximum.accumulate(np.concatenate(([self._inc_val], val)))
        improved = val > prev[:-1]
        inc_idx = np.maximum.accumulate(np.where(improved, np.arange(len(vr)), -1))
        inc_row = np.where(inc_idx >= 0, vr[np.maximum(inc_idx, 0)], self._inc_row)
        score = self._score_np
        regret = np.where(inc_row >= 0, self._best - score[np.maximum(inc_row, 0)], math.nan)
        if self._inc_row >= 0:
            regret = np.where(inc_idx >= 0, regret, self._regret)
        # scatter valid results into the performed prefix; invalid ones carry the running incumbent
        n = n_done
        ok_done = ok[:n]
        slot = np.cumsum(ok_done) - 1  # index into the valid arrays of the last valid evaluation so far
        t_col = np.where(slot >= 0, clock[np.maximum(slot, 0)] if n_ok else self.clock, self.clock)
        inc_col = np.where(slot >= 0, inc_row[np.maximum(slot, 0)] if n_ok else self._inc_row, self._inc_row)
        reg_col = np.where(slot >= 0, regret[np.maximum(slot, 0)] if n_ok else self._regret, self._regret)
        row_col = np.full(n, -1, dtype=np.int64)
        tri_col = np.full(n, -1, dtype=np.int64)
        val_col = np.full(n, math.nan)
        tr_col = np.full(n, math.nan)
        row_col[ok_done], tri_col[ok_done], val_col[ok_done], tr_col[ok_done] = vr, trial, val, tr
        self._t.extend(t_col.tolist())
        self._row.extend(row_col.tolist())
        self._bud.extend([fid] * n)
        self._tri.extend(tri_col.tolist())
        self._val.extend(val_col.tolist())
        self._tr.extend(tr_col.tolist())
        self._inc.extend(inc_col.tolist())
        self._reg.extend(reg_col.tolist())
        if n:
            valid_pos = np.flatnonzero(ok_done)
            self._streak = n - 1 - int(valid_pos[-1]) if len(valid_pos) else self._streak + n
        if n_ok:
            self.clock = float(clock[-1])
            if improved.any():
                last = int(inc_idx[-1])
                self._inc_val, self._inc_row, self._regret = float(val[last]), int(vr[last]), float(regret[-1])
        if n_done < len(cells) or stop_at_cap:
            self.exhausted = True
            raise BudgetExhausted(self._stop_reason())

    def _runaway_cut(self, cells: np.ndarray) -> int | None:
        """Index in a batch of the evaluation that would exceed a limit (None: the batch stays within them)."""
        room = self._max_total - len(self._t)
        cut = int(room) if room < len(cells) else None
        if self._streak + len(cells) >= self._max_streak:
            valid = cells >= 0  # an absent valid cell fails the run anyway, before any streak ends
            pos = np.arange(len(cells))
            last_valid = np.maximum.accumulate(np.where(valid, pos, -1))
            streak = np.where(last_valid >= 0, pos - last_valid, self._streak + pos + 1)
            hit = np.flatnonzero(streak >= self._max_streak)
            if len(hit) and (cut is None or hit[0] < cut):
                cut = int(hit[0])
        return cut

    def _check_limits(self) -> None:
        self._next_check = min(len(self._t) + _CLOCK_EVERY, self._max_total, self._max_protocol)
        if len(self._t) >= self._max_total:
            self.exhausted = True
            raise RunawayRun(
                f"stopped after {len(self._t):,} evaluations (safety limit evaluations={self.limits.evaluations:,}; "
                f"clock {self.clock:.1f} of {self.time_budget:g} s): the optimizer keeps proposing without "
                "spending the budget; raise the limit (--limit-evaluations) if this is intended"
            )
        if time.monotonic() > self._deadline:
            self.exhausted = True
            raise RunawayRun(f"stopped after {self.limits.wall_clock:g} s of wall-clock time (the run's timeout, "
                             f"--run-timeout) at {len(self._t):,} evaluations, clock {self.clock:.1f} of "
                             f"{self.time_budget:g} s")

    def _runaway_invalid(self) -> None:
        self.exhausted = True
        raise RunawayRun(
            f"stopped after {self._streak:,} invalid configurations in a row (safety limit invalid_streak="
            f"{self.limits.invalid_streak:,}): the optimizer does not find valid configurations of this "
            "encoding; raise the limit (--limit-invalid-streak) if this is intended"
        )

    def _resolve_budget(self, budget: int | None) -> tuple[int, int]:
        if budget is None:
            return self._top, self._top_budget
        b = self._budget_idx.get(budget, -1)
        if b < 0:
            raise ValueError(f"budget {budget!r} is not in table {self.table.name!r}; valid: {list(self._budget_idx)}")
        return b, int(budget)

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
        if self.table.cost_model == "unit":
            return f"budget of {self.time_budget:g} evaluations spent (unit cost: {self.clock:g} charged)"
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


_CLOCK_EVERY = 256  # evaluations between checks of the wall clock and the evaluation cap

_CACHE: weakref.WeakKeyDictionary[Table, dict[str, Any]] = weakref.WeakKeyDictionary()


def _lookups(table: Table, encoding: Encoding) -> tuple[list[int], list[float], np.ndarray, np.ndarray]:
    """Table row of every cell index of the encoding's space (-1 where absent) and the score per row.

    As lists (cheap scalar look-ups) and arrays (batches), memoised per table so constructing an Oracle is cheap.
    """
    per_table = _CACHE.setdefault(table, {})
    key = encoding.benchmark
    if key not in per_table:
        arr = table.rows(encoding.cell_ids())
        if (arr < 0).all():
            raise ValueError(
                f"encoding {encoding.benchmark}/{encoding.name} shares no cell with table {table.name!r}; "
                "wrong benchmark for this encoding?"
            )
        per_table[key] = (arr.tolist(), arr)
    if "score" not in per_table:
        score = np.asarray(table.score, dtype=np.float64)
        per_table["score"] = (score.tolist(), score)
    rows_list, rows_arr = per_table[key]
    score_list, score_arr = per_table["score"]
    return rows_list, score_list, rows_arr, score_arr


def cell_rows(table: Table, encoding: Encoding) -> np.ndarray:
    """(n_cells,) table row of every cell index of the encoding's space, -1 where absent (memoised per table; a
    free look-up: nothing is charged)."""
    return _lookups(table, encoding)[2]


def coverage(table: Table, encoding: Encoding) -> tuple[int, int]:
    """(cells of the encoding's space present in the table, cells of the space)."""
    rows = _lookups(table, encoding)[2]
    return int((rows >= 0).sum()), len(rows)

def _packed_halfway(table: Table) -> np.ndarray:
    """(N, E, T, 3) array of the halfway (train_time, valid_acc, train_acc), memoised per table."""
    per_table = _CACHE.setdefault(table, {})
    if "halfway" not in per_table:
        per_table["halfway"] = np.stack(
            [table.halfway_train_time, table.halfway_valid_acc, table.halfway_train_acc], axis=-1  # type: ignore[attr-defined]
        )
    return per_table["halfway"]


def _packed(table: Table) -> tuple[np.ndarray, int]:
    """(N, E, T, 3) array of (train_time, valid_acc, train_acc), memoised per table, and the trial count if it
    is the same for every cell and budget (else 0). Reading one cell's three values then touches one cache line
    instead of three arrays."""
    per_table = _CACHE.setdefault(table, {})
    if "packed" not in per_table:
        packed = np.stack([table.train_time, table.valid_acc, table.train_acc], axis=-1)
        nt = table.n_trials
        const = int(nt.flat[0]) if nt.size and bool((nt == nt.flat[0]).all()) else 0
        per_table["packed"] = (packed, const)
    return per_table["packed"]
