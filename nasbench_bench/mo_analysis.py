"""Analysis of multi-objective and constrained runs (:mod:`nasbench_bench.problems`).

Hypervolume-regret curves, their ECDFs and paired tests are the suite's usual regret analysis (a Pareto run's
``regret`` column *is* its hypervolume regret; :mod:`nasbench_bench.analysis`). This module adds what needs the
objectives: each run's attained front (:func:`attained_front`), empirical attainment surfaces over seeds
(:func:`attainment_surfaces`, moocore's EAF) against the table's true front (:func:`true_front`), and the fraction
of infeasible evaluations of constrained runs (:func:`infeasible_fractions`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from nasbench_bench.results import load_runs, read_metadata

__all__ = ["ProblemRuns", "attained_front", "attainment_surfaces", "infeasible_fractions", "load_problem_runs",
           "true_front"]

#: Attainment levels drawn: the best (attained by at least one run), the median and the worst (by every run).
LEVELS = ("best", "median", "worst")


@dataclass
class ProblemRuns:
    """The finished runs of one benchmark under one problem: per run ``(optimizer, seed, evaluations)``."""

    benchmark: str
    problem: str  # the spec
    summary: dict[str, Any]  # the resolved problem as the run files record it
    runs: list[tuple[str, int, pd.DataFrame]] = field(default_factory=list)

    @property
    def optimizers(self) -> list[str]:
        return list(dict.fromkeys(o for o, _, _ in self.runs))

    @property
    def costs(self) -> list[str]:
        """The problem's cost objectives (pareto), in order."""
        return list(self.summary.get("objectives", []))


def load_problem_runs(path: str | os.PathLike[str], benchmark: str | None = None) -> list[ProblemRuns]:
    """Every finished run of a problem other than ``single`` under results directory ``path``, grouped by
    benchmark and problem (optimizer labels as :func:`~nasbench_bench.results.load_runs` shows them)."""
    runs = load_runs(path)
    runs = runs[(runs["status"] == "done") & (runs["problem"].astype(str) != "single")]
    if benchmark is not None:
        runs = runs[runs["benchmark"] == benchmark]
    out = []
    for (bench, problem), grp in runs.groupby(["benchmark", "problem"], observed=True, sort=True):
        first = read_metadata(grp["path"].iloc[0])
        item = ProblemRuns(str(bench), str(problem), dict(first.get("problem") or {}))
        for r in grp.sort_values(["optimizer", "seed"]).itertuples():
            item.runs.append((str(r.optimizer), int(r.seed), pq.read_table(r.path).to_pandas()))
        out.append(item)
    return out


def _seen_and_true(df: pd.DataFrame, costs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells, seen points, table points) of a run's valid evaluations, minimised (negated metric, costs)."""
    ok = df["valid"].to_numpy(dtype=bool)
    cost = np.column_stack([df[f"obj_{c}"].to_numpy(dtype=np.float64)[ok] for c in costs])
    seen = np.column_stack([-df["valid_acc"].to_numpy(dtype=np.float64)[ok], cost])
    true = np.column_stack([-df["score"].to_numpy(dtype=np.float64)[ok], cost])
    return df["cell"].astype(str).to_numpy()[ok], seen, true


def attained_front(df: pd.DataFrame, costs: Sequence[str], at: float | None = None) -> np.ndarray:
    """The table points (negated score, costs; minimised, raw units) of a run's attained front after the
    evaluations up to simulated time ``at`` (default: all): the non-dominated of what the search saw."""
    from nasbench_bench.problems import nondominated

    if at is not None:
        df = df[df["time"].to_numpy() <= at]
    cells, seen, true = _seen_and_true(df, costs)
    if len(cells) == 0:
        return np.zeros((0, 1 + len(costs)))
    keep = nondominated(seen)
    _, first = np.unique(cells[keep], return_index=True)
    return true[keep][np.sort(first)]


def attainment_surfaces(fronts: Sequence[np.ndarray], levels: Sequence[str] = LEVELS) -> dict[str, np.ndarray]:
    """Empirical attainment surfaces of a set of fronts (one per run; minimised points): level -> the surface's
    points. ``best`` is attained by at least one run, ``median`` by half of them, ``worst`` by every run
    (moocore's exact EAF)."""
    import moocore

    from nasbench_bench.problems import nondominated

    fronts = [np.asarray(f, dtype=np.float64) for f in fronts if len(f)]
    n = len(fronts)
    if n == 0:
        return {lv: np.zeros((0, 2)) for lv in levels}
    pct = {"best": 100.0 / n, "median": 50.0, "worst": 100.0}
    pts = np.vstack([f[nondominated(f)] for f in fronts])
    sets = np.concatenate([np.full(int(nondominated(f).sum()), i + 1) for i, f in enumerate(fronts)])
    wanted = sorted({pct[lv] for lv in levels})
    eaf = np.asarray(moocore.eaf(pts, sets=sets, percentiles=wanted))
    out = {}
    for lv in levels:
        sel = np.isclose(eaf[:, -1], pct[lv])
        out[lv] = eaf[sel, :-1]
    return out


def true_front(benchmark: str, problem: str, data: str | None = None) -> np.ndarray:
    """The table's exact Pareto front of ``problem`` on ``benchmark`` (negated score, costs; raw units)."""
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.problems import Problem

    b = Problem.parse(problem).bind(load_benchmark(benchmark, data))
    rows = b.front_rows
    return np.column_stack([-np.asarray(b.table.score, dtype=np.float64)[rows], b.costs[rows]])


def infeasible_fractions(item: ProblemRuns) -> pd.DataFrame:
    """Per run of a constrained problem: ``benchmark, optimizer, seed, n_valid, infeasible`` (the fraction of its
    valid evaluations that violate a constraint; each was charged)."""
    rows = []
    for opt, seed, df in item.runs:
        valid = df["valid"].to_numpy(dtype=bool)
        feasible = df["feasible"].to_numpy(dtype=bool)
        n = int(valid.sum())
        rows.append({"benchmark": item.benchmark, "optimizer": opt, "seed": seed, "n_valid": n,
                     "infeasible": float((valid & ~feasible).sum() / n) if n else np.nan})
    return pd.DataFrame(rows, columns=["benchmark", "optimizer", "seed", "n_valid", "infeasible"])


def infeasible_summary(fractions: pd.DataFrame, n_boot: int = 2000, ci: float = 0.95) -> pd.DataFrame:
    """Mean infeasible fraction per optimizer with a percentile bootstrap CI over runs (seeded)."""
    out = []
    for opt, grp in fractions.groupby("optimizer", sort=True):
        x = grp["infeasible"].dropna().to_numpy()
        rng = np.random.default_rng(len(x))
        boots = rng.choice(x, (n_boot, len(x))).mean(axis=1) if len(x) else np.array([np.nan])
        lo, hi = np.quantile(boots, [(1 - ci) / 2, (1 + ci) / 2]) if len(x) else (np.nan, np.nan)
        out.append({"optimizer": opt, "n_runs": len(x), "mean": float(x.mean()) if len(x) else np.nan,
                    "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(out, columns=["optimizer", "n_runs", "mean", "ci_low", "ci_high"])
