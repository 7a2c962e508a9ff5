"""Aggregate per-evaluation results into regret curves, ranks, tests and tables.

Every function here is pure: it takes the long results frame (one row per evaluation, columns
``benchmark, optimizer, seed, eval, time, regret``; other columns are ignored) or a frame derived
from it, and returns numpy arrays or tidy DataFrames. Nothing touches files.

Conventions used throughout:

* A *run* is one ``(benchmark, optimizer, seed)``.
* The incumbent regret of a run at time ``t`` is the regret recorded by its last evaluation with
  ``time <= t`` (a right-continuous step function). Before the run's first valid evaluation it is NaN.
  A run whose budget was spent before ``t`` keeps its last value. Evaluations with NaN regret are
  skipped when looking up, so a NaN recorded after a valid evaluation cannot erase the incumbent.
* Statistics at a grid time use only the runs that already have a value there; ``n_runs`` says how
  many. Lower regret is better.
"""

from __future__ import annotations

import logging
import re
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)

RUN_KEYS = ("benchmark", "optimizer", "seed")
REQUIRED = ("benchmark", "optimizer", "seed", "eval", "time", "regret")


class RunMatrix(NamedTuple):
    """Incumbent regret of every run of one (benchmark, optimizer) on a time grid."""

    seeds: np.ndarray  # (n_seeds,) sorted
    values: np.ndarray  # (n_seeds, n_grid) float64, NaN = no valid evaluation yet


# --------------------------------------------------------------------------------------------------
# core: step-function lookup for all runs at once


@dataclass(frozen=True)
class PreparedResults:
    """Results sorted and indexed for fast lookups; build with :func:`prepare_results` and pass it to
    any function here instead of the frame to avoid re-indexing millions of rows per call."""

    runs: pd.DataFrame  # one row per run id: benchmark, optimizer, seed (sorted by these keys)
    run_of_row: np.ndarray  # run id of each valid (non-NaN regret) row, rows sorted by (run, time, eval)
    time: np.ndarray
    regret: np.ndarray
    start: np.ndarray  # (n_runs,) index of each run's first valid row in the arrays above


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = np.asarray(col.cat.categories)
        order = np.argsort(cats, kind="stable")
        remap = np.empty(len(cats), dtype=np.int64)
        remap[order] = np.arange(len(cats))
        codes = col.cat.codes.to_numpy().astype(np.int64)
        if (codes < 0).any():
            raise ValueError(f"column {col.name!r} has missing values")
        return remap[codes], cats[order]
    codes, uniques = pd.factorize(col, sort=True)
    if (codes < 0).any():
        raise ValueError(f"column {col.name!r} has missing values")
    return codes.astype(np.int64), np.asarray(uniques)


def prepare_results(df: pd.DataFrame) -> PreparedResults:
    """Index the long results frame once (the expensive step of every function here)."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"results frame lacks columns {missing}")
    b, b_uni = _codes(df["benchmark"])
    o, o_uni = _codes(df["optimizer"])
    s, s_uni = _codes(df["seed"])
    # composite code is ordered like (benchmark, optimizer, seed) because each factorisation is sorted
    key = (b * len(o_uni) + o) * len(s_uni) + s
    time = df["time"].to_numpy(dtype=np.float64)
    regret = df["regret"].to_numpy(dtype=np.float64)
    ev = df["eval"].to_numpy(dtype=np.int64)
    if np.isnan(time).any():
        raise ValueError("results frame has NaN times")

    d_key = np.diff(key)
    new_run = d_key != 0
    in_order = bool(
        (d_key >= 0).all()
        and ((np.diff(time) >= 0) | new_run).all()
        and ((np.diff(ev) > 0) | new_run).all()
    )
    if not in_order:
        order = np.lexsort((ev, time, key))
        key, time, regret = key[order], time[order], regret[order]

    first = np.flatnonzero(np.diff(key, prepend=key[:1] - 1) != 0) if len(key) else np.zeros(0, np.int64)
    run_keys = key[first]
    n_o, n_s = len(o_uni), len(s_uni)
    runs = pd.DataFrame(
        {
            "benchmark": b_uni[run_keys // (n_o * n_s)],
            "optimizer": o_uni[(run_keys // n_s) % n_o],
            "seed": s_uni[run_keys % n_s],
        }
    )
    run_id = np.repeat(np.arange(len(run_keys)), np.diff(np.append(first, len(key))))
    valid = ~np.isnan(regret)
    run_id, time, regret = run_id[valid], time[valid], regret[valid]
    start = np.searchsorted(run_id, np.arange(len(run_keys)), side="left")
    return PreparedResults(runs, run_id, time, regret, start)


ResultsLike = pd.DataFrame | PreparedResults


def _prep(data: ResultsLike) -> PreparedResults:
    return data if isinstance(data, PreparedResults) else prepare_results(data)


def _lookup(prep: PreparedResults, grid: np.ndarray) -> np.ndarray:
    """(n_runs, n_grid) incumbent regret of every run at every grid time."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or (np.diff(grid) < 0).any():
        raise ValueError("grid must be a 1-d non-decreasing array")
    n_runs, n_grid = len(prep.runs), len(grid)
    # first grid index at which each evaluation is visible (grid[g] >= time); n_grid = never
    g = np.searchsorted(grid, prep.time, side="left")
    counts = np.bincount(prep.run_of_row * (n_grid + 1) + g, minlength=n_runs * (n_grid + 1))
    visible = np.cumsum(counts.reshape(n_runs, n_grid + 1)[:, :n_grid], axis=1)
    out = np.full((n_runs, n_grid), np.nan)
    has = visible > 0
    idx = prep.start[:, None] + visible - 1
    out[has] = prep.regret[idx[has]]
    return out


def _groups(runs: pd.DataFrame) -> Iterable[tuple[str, str, np.ndarray]]:
    """(benchmark, optimizer, run ids) per group, in sorted order (runs are already sorted)."""
    for (bench, opt), idx in runs.groupby(["benchmark", "optimizer"], sort=True).indices.items():
        yield bench, opt, np.asarray(idx)


# --------------------------------------------------------------------------------------------------
# curves


def time_grid(t_min: float = 10.0, t_max: float = 1e7, n: int = 200) -> np.ndarray:
    """``n`` log-spaced times from ``t_min`` to ``t_max`` (both included)."""
    if not (0 < t_min < t_max) or n < 2:
        raise ValueError("need 0 < t_min < t_max and n >= 2")
    return np.geomspace(t_min, t_max, n)


def regret_matrix(df: ResultsLike, grid: np.ndarray) -> dict[tuple[str, str], RunMatrix]:
    """Per (benchmark, optimizer): sorted seeds and the (n_seeds, n_grid) incumbent regret matrix."""
    prep = _prep(df)
    mat = _lookup(prep, grid)
    return {
        (bench, opt): RunMatrix(prep.runs["seed"].to_numpy()[idx], mat[idx])
        for bench, opt, idx in _groups(prep.runs)
    }


def _stable_seed(*parts: object) -> int:
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


def _bootstrap_mean_ci(
    values: np.ndarray, n_boot: int, ci: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the column means of ``values`` (n_seeds, n_grid), NaNs excluded.

    Each grid column is resampled among the runs that have a value there. Columns sharing the same
    set of valid runs share one set of resampling counts (one matrix product).
    """
    n_seeds, n_grid = values.shape
    lo = np.full(n_grid, np.nan)
    hi = np.full(n_grid, np.nan)
    valid = ~np.isnan(values)
    patterns, inverse = np.unique(valid.T, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    alpha = (1.0 - ci) / 2.0
    for p, pattern in enumerate(patterns):
        n = int(pattern.sum())
        if n == 0:
            continue
        cols = np.flatnonzero(inverse == p)
        sub = values[np.ix_(pattern, cols)]
        draws = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
        weights = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)
        boot = weights @ sub / n  # (n_boot, n_cols)
        lo[cols], hi[cols] = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def summarize_curves(
    df: ResultsLike,
    grid: np.ndarray,
    quantiles: tuple[float, float] = (0.25, 0.75),
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Tidy regret-curve statistics per (benchmark, optimizer, grid time).

    Columns: benchmark, optimizer, time, n_runs, mean, median, q_low, q_high, ci_low, ci_high.
    At each time only runs that already have a value (a valid evaluation at or before it) enter
    the statistics, and ``n_runs`` is their number; with ``n_runs == 0`` all statistics are NaN.
    ``ci_*`` is a percentile bootstrap interval (level ``ci``) of the mean over seeds, with
    ``n_boot`` resamples drawn from a generator seeded by ``seed`` and the group's names
    (``n_boot=0``: no CI, NaN).
    """
    grid = np.asarray(grid, dtype=np.float64)
    frames = []
    for (bench, opt), rm in regret_matrix(df, grid).items():
        v = rm.values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            mean = np.nanmean(v, axis=0)
            median = np.nanmedian(v, axis=0)
            q = np.nanquantile(v, quantiles, axis=0)
        if n_boot > 0:
            rng = np.random.default_rng([seed, _stable_seed(bench, opt)])
            ci_low, ci_high = _bootstrap_mean_ci(v, n_boot, ci, rng)
        else:
            ci_low = ci_high = np.full(len(grid), np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "benchmark": bench,
                    "optimizer": opt,
                    "time": grid,
                    "n_runs": (~np.isnan(v)).sum(axis=0),
                    "mean": mean,
                    "median": median,
                    "q_low": q[0],
                    "q_high": q[1],
                    "ci_low": ci_low,
                    "ci_high": ci_high,
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=["benchmark", "optimizer", "time", "n_runs", "mean", "median", "q_low", "q_high",
                     "ci_low", "ci_high"]
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# final regret and ECDF


def final_regret(df: ResultsLike, at: float | None = None) -> pd.DataFrame:
    """Per run the incumbent regret at time ``at`` (default: the run's last value, i.e. at its budget).

    Columns: benchmark, optimizer, seed, final_regret (NaN if the run had no valid evaluation by then).
    """
    prep = _prep(df)
    t = np.inf if at is None else float(at)
    out = prep.runs.copy()
    out["final_regret"] = _lookup(prep, np.array([t]))[:, 0]
    return out


def ecdf(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF: sorted finite values ``x`` and ``y[i] = (i + 1) / n``.

    NaNs (runs without a result) are not plotted but count in ``n``: they are treated as worse
    than every value, so the curve then ends below 1.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    n = len(v)
    x = np.sort(v[~np.isnan(v)])
    y = np.arange(1, len(x) + 1, dtype=np.float64) / n if n else np.array([])
    return x, y


def _ensure_final(df: ResultsLike, at: float | None) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame) and "final_regret" in df.columns:
        return df
    return final_regret(df, at=at)


def final_regret_ecdf(df: ResultsLike, at: float | None = None) -> pd.DataFrame:
    """Tidy ECDF of final regret per (benchmark, optimizer).

    ``df`` is either the results frame (final regret computed with ``at``) or the output of
    :func:`final_regret`. Columns: benchmark, optimizer, final_regret, ecdf, n_runs.
    """
    fin = _ensure_final(df, at)
    frames = []
    for (bench, opt), grp in fin.groupby(["benchmark", "optimizer"], sort=True):
        x, y = ecdf(grp["final_regret"].to_numpy())
        frames.append(
            pd.DataFrame({"benchmark": bench, "optimizer": opt, "final_regret": x, "ecdf": y,
                          "n_runs": len(grp)})
        )
    if not frames:
        return pd.DataFrame(columns=["benchmark", "optimizer", "final_regret", "ecdf", "n_runs"])
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# ranks


def _common_seeds(per_opt: Mapping[str, np.ndarray], bench: str) -> np.ndarray:
    seed_sets = list(per_opt.values())
    common = seed_sets[0]
    for s in seed_sets[1:]:
        common = np.intersect1d(common, s)
    dropped = sum(len(s) - len(common) for s in seed_sets)
    if dropped:
        log.warning("%s: %d runs dropped because their seed is not run by every optimizer", bench, dropped)
    return common


def average_rank(df: ResultsLike, grid: np.ndarray) -> pd.DataFrame:
    """Mean rank of each optimizer over seeds at each grid time, per benchmark.

    Within each seed (only seeds run by every optimizer of the benchmark) optimizers are ranked by
    incumbent regret: lowest = rank 1, ties share the average rank, NaN (no valid evaluation yet)
    ranks after every value (several NaNs tie); before the first valid evaluation of any run ``mean_rank`` is
    NaN. Columns: benchmark, optimizer, time, mean_rank, n_seeds.
    """
    grid = np.asarray(grid, dtype=np.float64)
    mats = regret_matrix(df, grid)
    frames = []
    for bench in sorted({b for b, _ in mats}):
        opts = sorted(o for b, o in mats if b == bench)
        common = _common_seeds({o: mats[bench, o].seeds for o in opts}, bench)
        if len(common) == 0:
            log.warning("%s: no seed common to all optimizers; no ranks", bench)
            continue
        stack = np.stack(
            [mats[bench, o].values[np.searchsorted(mats[bench, o].seeds, common)] for o in opts]
        )  # (n_opt, n_seeds, n_grid)
        ranks = stats.rankdata(np.where(np.isnan(stack), np.inf, stack), method="average", axis=0)
        mean_rank = ranks.mean(axis=1)
        mean_rank[:, np.isnan(stack).all(axis=(0, 1))] = np.nan  # before any evaluation nobody is ranked
        for i, opt in enumerate(opts):
            frames.append(
                pd.DataFrame({"benchmark": bench, "optimizer": opt, "time": grid,
                              "mean_rank": mean_rank[i], "n_seeds": len(common)})
            )
    if not frames:
        return pd.DataFrame(columns=["benchmark", "optimizer", "time", "mean_rank", "n_seeds"])
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# tests


def holm(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values; NaNs are left out of the family and stay NaN."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def _wilcoxon(d: np.ndarray) -> tuple[float, float]:
    """(p, W+ - W-) of the two-sided Wilcoxon signed-rank test on differences ``d``."""
    nz = d[d != 0]
    if len(nz) == 0:
        return (1.0 if len(d) else np.nan), 0.0
    r = stats.rankdata(np.abs(nz))
    balance = float(r[nz > 0].sum() - r[nz < 0].sum())
    res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
    return float(res.pvalue), balance


def pairwise_tests(df: ResultsLike, at: float | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests of final regret for every optimizer pair, per benchmark.

    ``df`` is the results frame (final regret at ``at``) or the output of :func:`final_regret`.
    Pairs use the seeds both optimizers ran where both have a final regret (``n``); zero differences
    are dropped (``zero_method='wilcox'``) and all-zero differences give p = 1. ``median_diff`` is
    the median of ``regret_a - regret_b`` (negative: ``a`` lower). Holm's correction is applied over
    all pairs of a benchmark. ``better`` names the optimizer with the lower regret (by the sign of
    the signed-rank balance) when ``p_holm < alpha``, else is empty.
    Columns: benchmark, a, b, n, median_diff, p, p_holm, better.
    """
    fin = _ensure_final(df, at)
    rows = []
    for bench, grp in fin.groupby("benchmark", sort=True):
        wide = grp.pivot(index="seed", columns="optimizer", values="final_regret")
        bench_rows = []
        for a, b in combinations(sorted(wide.columns), 2):
            pair = wide[[a, b]].dropna()
            d = (pair[a] - pair[b]).to_numpy()
            p, balance = _wilcoxon(d)
            bench_rows.append({"benchmark": bench, "a": a, "b": b, "n": len(d),
                               "median_diff": float(np.median(d)) if len(d) else np.nan,
                               "p": p, "_balance": balance})
        p_holm = holm([r["p"] for r in bench_rows])
        for r, ph in zip(bench_rows, p_holm, strict=True):
            balance = r.pop("_balance")
            r["p_holm"] = ph
            r["better"] = "" if not ph < alpha or balance == 0 else (r["b"] if balance > 0 else r["a"])
            rows.append(r)
    cols = ["benchmark", "a", "b", "n", "median_diff", "p", "p_holm", "better"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------------------
# summary


def time_to_reach(curves: pd.DataFrame, target: float | Mapping[str, float]) -> pd.DataFrame:
    """First grid time at which each mean regret curve is <= ``target`` (NaN if never).

    ``curves`` is :func:`summarize_curves` output; ``target`` is a number or a mapping benchmark ->
    number. Only times where every run of the group has a value count (an early mean over a few
    lucky runs does not). Columns: benchmark, optimizer, time_to_reach.
    """
    rows = []
    for (bench, opt), grp in curves.groupby(["benchmark", "optimizer"], sort=True):
        tgt = target[bench] if isinstance(target, Mapping) else target
        grp = grp.sort_values("time")
        full = grp["n_runs"].to_numpy() == grp["n_runs"].max()
        mean = grp["mean"].to_numpy()
        hit = full & (mean <= tgt + 1e-12 * abs(tgt)) if np.isfinite(tgt) else np.zeros(len(grp), bool)
        t = float(grp["time"].to_numpy()[np.argmax(hit)]) if hit.any() else np.nan
        rows.append({"benchmark": bench, "optimizer": opt, "time_to_reach": t})
    return pd.DataFrame(rows, columns=["benchmark", "optimizer", "time_to_reach"])


def _wins(fin: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Per (benchmark, optimizer): seeds where it has the strictly lowest final regret (NaN = worst)."""
    counts: dict[tuple[str, str], int] = {}
    for bench, grp in fin.groupby("benchmark", sort=True):
        wide = grp.pivot(index="seed", columns="optimizer", values="final_regret")
        opts = list(wide.columns)
        ran_by_all = grp.groupby("seed").size().reindex(wide.index).to_numpy() == len(opts)
        v = wide.to_numpy(dtype=np.float64)[ran_by_all]
        v = np.where(np.isnan(v), np.inf, v)
        best = v.min(axis=1, keepdims=True)
        is_best = (v == best) & np.isfinite(best)
        sole = is_best.sum(axis=1) == 1
        per_opt = (is_best & sole[:, None]).sum(axis=0)
        for o, w in zip(opts, per_opt, strict=True):
            counts[bench, o] = int(w)
    return counts


def _baseline_label(baseline: str, labels: list[str]) -> str | None:
    """``baseline`` if present, else its runs with the fewest parallel workers (``rs@K8`` when every run of ``rs``
    used 8 workers), else None."""
    if baseline in labels:
        return baseline
    parallel = [(k, o) for o in labels for label, k in [split_workers(o)] if label == baseline]
    return min(parallel)[1] if parallel else None


def summary_table(
    df: ResultsLike,
    baseline: str = "rs",
    at: float | None = None,
    grid: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per (benchmark, optimizer) final-regret statistics, time-to-reach and wins.

    * ``final_mean/median/std``: over runs, regret at ``at`` (default each run's last value);
      ``std`` is the sample standard deviation; NaN finals (no valid evaluation) are excluded.
    * ``time_to_reach``: first time the optimizer's mean regret curve (see :func:`time_to_reach`)
      is <= the baseline's ``final_mean``; evaluated on ``grid`` (default 1000 log-spaced times from
      10 s to ``at`` or the latest evaluation time), so it is resolved to one grid step (~1.4%).
    * ``speedup``: baseline's time_to_reach / this optimizer's (the baseline gets 1).
    * ``wins``: seeds (run by every optimizer) where this optimizer has the strictly lowest final
      regret; a tie for the lowest gives nobody the win.
    """
    prep = _prep(df)
    fin = final_regret(prep, at=at)
    if grid is None:
        t_max = float(at) if at is not None else float(prep.time.max(initial=1.0))
        t_min = min(10.0, t_max / 10.0) if t_max > 0 else 1.0
        grid = time_grid(t_min, max(t_max, t_min * 1.0001), 1000)
    grid = np.asarray(grid, dtype=np.float64)
    curves = summarize_curves(prep, grid, n_boot=0)
    stats_ = (
        fin.groupby(["benchmark", "optimizer"], sort=True)["final_regret"]
        .agg(n_runs="size", final_mean="mean", final_median="median", final_std="std")
        .reset_index()
    )
    targets: dict[str, float] = {}
    base_label: dict[str, str] = {}
    for bench, grp in stats_.groupby("benchmark"):
        label = _baseline_label(baseline, grp["optimizer"].tolist())
        if label is None:
            log.warning("%s: baseline %r not present; no time-to-reach", bench, baseline)
            targets[bench] = np.nan
        else:
            base_label[bench] = label
            targets[bench] = float(grp.loc[grp["optimizer"] == label, "final_mean"].iloc[0])
    ttr = time_to_reach(curves, targets)
    out = stats_.merge(ttr, on=["benchmark", "optimizer"], how="left")
    is_base = [base_label.get(b) == o for b, o in zip(out["benchmark"], out["optimizer"], strict=True)]
    base_t = out.loc[is_base].set_index("benchmark")["time_to_reach"]
    out["speedup"] = out["benchmark"].map(base_t).astype(np.float64) / out["time_to_reach"]
    wins = _wins(fin)
    out["wins"] = [wins.get((b, o), 0) for b, o in zip(out["benchmark"], out["optimizer"], strict=True)]
    return out


def format_table(df: pd.DataFrame, float_fmt: str = "{:.4g}") -> str:
    """Render a DataFrame as a plain-text, column-aligned table (NaN shown as ``-``)."""
    cols = [str(c) for c in df.columns]
    body: list[list[str]] = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float | np.floating):
                cells.append("-" if np.isnan(v) else float_fmt.format(v))
            else:
                cells.append(str(v))
        body.append(cells)
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(cols)]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cols), sep, *(line(r) for r in body)])


# --------------------------------------------------------------------------------------------------
# results of one benchmark, as reports and plots use them

RUN_ID = ["benchmark", "optimizer", "seed"]


@dataclass
class BenchmarkResults:
    """Finished runs of one benchmark, and what a reader of their report or plot must be told."""

    benchmark: str
    prep: PreparedResults
    score_metric: str  # "test", "validation", or "a/b" when runs mix metrics
    synthetic: bool
    budget: float  # the largest run budget, in time_unit
    notes: list[str]  # exclusions, inconsistencies and derived values, one sentence each
    runs_per_optimizer: pd.DataFrame  # optimizer, ok (finished), total
    derived: list[str] = field(default_factory=list)  # the tables' DERIVED (not measured) values, e.g. times
    time_unit: str = "seconds"  # what the clock counts: "seconds" or "evaluations" (unit-cost tables)
    cost_model: str = "recorded"  # "recorded", "derived" or "unit" (Table.cost_model)
    metric: str = "accuracy"  # what the table's values measure (Table.metric)
    problem: str = "single"  # the runs' problem (nasbench_bench.problems spec): what their regret measures

    @property
    def regret_name(self) -> str:
        """What the regret column measures, for axis labels: the problem's regret (hypervolume regret of the
        attained front, feasible regret, MnasNet-reward regret) or the score metric's."""
        return problem_regret_name(self.problem, self.score_metric)

    @property
    def budget_text(self) -> str:
        """``"3e+04 s"`` or ``"40 evaluations"``."""
        return f"{self.budget:.4g} s" if self.time_unit == "seconds" else f"{self.budget:.4g} evaluations"


def _drop_runs(results: pd.DataFrame, bad: pd.DataFrame) -> pd.DataFrame:
    """Remove the rows of the runs in ``bad`` (few runs; cheap pre-filter, exact check on the rest)."""
    if bad.empty:
        return results
    maybe = results["optimizer"].isin(bad["optimizer"].unique()) & results["seed"].isin(bad["seed"].unique())
    idx = pd.MultiIndex.from_frame(results.loc[maybe, RUN_ID])
    drop = idx.isin(pd.MultiIndex.from_frame(bad[RUN_ID]))
    keep = np.ones(len(results), dtype=bool)
    keep[np.flatnonzero(maybe.to_numpy())[drop]] = False
    return results.loc[keep]


def by_benchmark(results: pd.DataFrame, runs: pd.DataFrame, only: str | None = None) -> list[BenchmarkResults]:
    """Split per-evaluation ``results`` and the run table ``runs`` (``load_results``/``load_runs``) per benchmark.

    Only runs with status ``done`` are kept; runs excluded, runs missing from either frame, score metrics that
    differ between runs (regrets then are not comparable), differing budgets and the tables' DERIVED values
    (e.g. training times computed, not measured: these set the simulated clock) are reported in ``notes``.
    ``only`` restricts to one benchmark (``KeyError`` naming the available ones if absent).
    """
    benches = sorted(set(results["benchmark"].unique()) | set(runs["benchmark"].unique()))
    if only is not None:
        if only not in benches:
            raise KeyError(f"benchmark {only!r} has no runs here (have: {', '.join(map(str, benches)) or 'none'})")
        benches = [only]
    in_results = set(results["benchmark"].unique())
    out = []
    for bench in benches:
        res = results if in_results == {bench} else results[results["benchmark"] == bench]
        rn = runs[runs["benchmark"] == bench]
        notes: list[str] = []
        bad = rn[rn["status"] != "done"]
        if len(bad):
            notes.append(f"{len(bad)} run(s) not finished (status != 'done') are EXCLUDED: "
                         + ", ".join(f"{o}x{n}" for o, n in bad.groupby("optimizer", observed=True).size().items()))
            res = _drop_runs(res, bad)
        prep = prepare_results(res)
        unknown = prep.runs.merge(rn[RUN_ID], on=RUN_ID, how="left", indicator=True)
        n_unknown = int((unknown["_merge"] == "left_only").sum())
        if n_unknown:
            notes.append(f"{n_unknown} run(s) in the results have no entry in the run table (kept)")
        n_silent = int((rn["status"] == "done").sum()) - (len(prep.runs) - n_unknown)
        if n_silent > 0:
            notes.append(f"{n_silent} finished run(s) have no evaluations in the results")
        metrics = sorted(rn["score_metric"].dropna().unique())
        metric = metrics[0] if len(metrics) == 1 else ("/".join(metrics) if metrics else "unknown")
        if len(metrics) > 1:
            notes.append(f"runs MIX score metrics {metrics}: regrets are not comparable")
        synthetic = bool(rn["synthetic"].any()) if len(rn) else False
        budgets = rn["budget_s"].dropna()
        budget = float(budgets.max()) if len(budgets) else float(res["time"].max())
        if budgets.nunique() > 1:
            notes.append(f"budgets differ between runs ({budgets.min():.3g}..{budgets.max():.3g} s)")
        per_opt = (rn.assign(ok=rn["status"] == "done").groupby("optimizer", observed=True)["ok"]
                   .agg(ok="sum", total="size").reset_index())
        texts = rn["derived"].dropna() if "derived" in rn else []
        derived = sorted({d for text in texts for d in str(text).split("; ") if d})
        notes.extend(derived)
        unit = _one(rn, "cost_unit", "seconds", notes, "time units")
        cost = _one(rn, "cost_model", "recorded", notes, "cost models")
        what = _one(rn, "metric", "accuracy", notes, "metrics")
        if cost == "unit":
            notes.append("unit costs: nothing was recorded, every evaluation costs 1 and the budget counts evaluations")
        problem = _one(rn, "problem", "single", notes, "problems")
        out.append(BenchmarkResults(str(bench), prep, str(metric), synthetic, budget, notes, per_opt, derived,
                                    unit, cost, what, problem))
    return out


def _one(runs: pd.DataFrame, col: str, default: str, notes: list[str], what: str) -> str:
    """The one value of ``col`` among ``runs`` (``default`` if absent); a note when runs mix several."""
    if col not in runs:
        return default
    vals = sorted(v for v in runs[col].dropna().astype(str).unique() if v)
    if len(vals) > 1:
        notes.append(f"runs MIX {what} {vals}: their curves are not comparable")
    return vals[0] if vals else default


def plot_grid(budget: float, n: int = 200, unit: str = "seconds") -> np.ndarray:
    """The time grid regret curves are drawn on: log-spaced up to ``budget`` (1e7 s if unknown); from the first
    evaluation on when the clock counts evaluations (``unit`` "evaluations")."""
    t_max = budget if budget > 0 else 1e7
    if unit == "evaluations" and t_max > 1.0:
        return time_grid(1.0, t_max, n)
    return time_grid(min(10.0, t_max / 100.0), t_max, n)


def problem_regret_name(problem: str, score_metric: str) -> str:
    """Axis label of the regret of runs of ``problem`` (a :mod:`nasbench_bench.problems` spec)."""
    kind = problem.partition(":")[0]
    if kind == "pareto":
        return "hypervolume regret"
    if kind == "constrained":
        return f"feasible {score_metric} regret"
    if kind == "mnasnet":
        return f"MnasNet-reward regret ({score_metric})"
    return f"{score_metric} regret" if score_metric in ("test", "validation") else f"regret ({score_metric})"


def describe_problem(problem: str, score_metric: str) -> str:
    """One line saying what the regret of runs of ``problem`` measures."""
    kind = problem.partition(":")[0]
    if kind == "pareto":
        return (f"HYPERVOLUME regret ({problem}): HV of the table's Pareto front minus HV of the run's attained front "
                f"(chosen on what the search saw, scored on the {score_metric} score; objectives normalised per table, "
                "reference point 1.1 each)")
    if kind == "constrained":
        return (f"FEASIBLE {score_metric} regret ({problem}): best feasible cell of the table minus the incumbent "
                "(infeasible evaluations are charged, never the incumbent)")
    if kind == "mnasnet":
        return (f"MnasNet-reward regret ({problem}): the table's best reward minus the incumbent's "
                f"({score_metric} score)")
    return describe_metric(score_metric)


def describe_metric(metric: str) -> str:
    """One line saying what the regret of a score metric measures."""
    if metric == "test":
        return "TEST regret: best test score in the table minus the incumbent's test score"
    if metric == "validation":
        return "VALIDATION regret: best validation score in the table minus the incumbent's validation score"
    return f"regret on score metric {metric!r}"


# --------------------------------------------------------------------------------------------------
# parallel workers: regret vs simulated wall-clock per K, and the speed-up K workers give

_WORKERS_RE = re.compile(r"^(?P<label>.+)@K(?P<k>\d+)$")


def split_workers(name: str) -> tuple[str, int]:
    """``("re", 8)`` for the display name ``"re@K8"`` of runs with 8 simulated workers; ``(name, 1)`` otherwise."""
    m = _WORKERS_RE.match(str(name))
    return (m.group("label"), int(m.group("k"))) if m else (str(name), 1)


def workers_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize_curves` output with columns ``label`` (the optimizer without ``@K<k>``) and ``workers``
    added, sorted by benchmark, label, workers, time."""
    out = curves.copy()
    parts = [split_workers(o) for o in out["optimizer"].astype(str)]
    out["label"] = [p[0] for p in parts]
    out["workers"] = np.array([p[1] for p in parts], dtype=np.int64)
    return out.sort_values(["benchmark", "label", "workers", "time"], kind="stable").reset_index(drop=True)


def has_several_workers(curves: pd.DataFrame) -> bool:
    """True if some optimizer label has runs with several numbers of workers in ``curves``."""
    w = workers_curves(curves)
    return bool(len(w)) and bool((w.groupby(["benchmark", "label"])["workers"].nunique() > 1).any())


def _final_mean(grp: pd.DataFrame) -> float:
    full = grp[grp["n_runs"] == grp["n_runs"].max()]
    return float(full["mean"].iloc[-1]) if len(full) else np.nan


def speedup_table(wcurves: pd.DataFrame, target: Mapping[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """Time for each (benchmark, label, workers) mean regret curve to reach a regret level, and the speed-up.

    ``wcurves`` is :func:`workers_curves` output. The level of a (benchmark, label) is ``target[(benchmark,
    label)]`` or, by default, the final mean regret of its runs with the fewest workers (K = 1 when present: what
    one worker reaches by the end of the budget). ``speedup`` = time to reach with the fewest workers / time with
    K (NaN when either never reaches it). Columns: benchmark, label, workers, target, time_to_reach, speedup.
    """
    rows = []
    for (bench, label), grp in wcurves.groupby(["benchmark", "label"], sort=True):
        ks = sorted(grp["workers"].unique())
        base = grp[grp["workers"] == ks[0]].sort_values("time")
        level = target[(bench, label)] if target is not None and (bench, label) in target else _final_mean(base)
        times = {}
        for k in ks:
            sub = grp[grp["workers"] == k]
            t = time_to_reach(sub, {bench: level})["time_to_reach"]
            times[k] = float(t.iloc[0]) if len(t) else np.nan
        for k in ks:
            rows.append({"benchmark": bench, "label": label, "workers": int(k), "target": level,
                         "time_to_reach": times[k], "speedup": times[ks[0]] / times[k]})
    return pd.DataFrame(rows, columns=["benchmark", "label", "workers", "target", "time_to_reach", "speedup"])
