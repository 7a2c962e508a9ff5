"""Conclusions across benchmarks: normalized regret, ranks, Friedman + Nemenyi, performance profiles (pure functions).

Every function here takes the per-evaluation results (:func:`~nasbench_bench.results.load_results`) and/or the run
table (:func:`~nasbench_bench.results.load_runs`) of a directory holding several benchmarks and returns DataFrames;
:mod:`nasbench_bench.plots` draws them and ``nasbench-bench report`` prints them.

Normalized regret (defined from each table alone, so adding or removing an optimizer never changes another's
numbers)::

    normalized regret = regret / (best_score - median_score)

``best_score`` is the table's optimum and ``median_score`` the score of its median configuration (both recorded
in every run's metadata): 0 at the optimum, 1 for a search that ends at the median configuration. Anytime curves
are drawn over the **budget fraction** (simulated time / the run's budget), so tables with different costs share
one axis.

Statistics (final normalized regret, one value per benchmark x optimizer x seed):

* mean normalized regret with a percentile bootstrap CI over all benchmark x seed values;
* average rank: per benchmark, optimizers ranked by final regret within each seed run by all of them (1 = lowest,
  ties averaged), averaged over those seeds; then the mean over benchmarks with a bootstrap CI over benchmarks;
* the Friedman test over benchmarks (blocks) of the per-benchmark average ranks (``scipy.stats.friedmanchisquare``
  on the per-benchmark mean final regrets), the Nemenyi post-hoc test (``scikit_posthocs``) and the critical
  difference ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` (Demsar 2006, q from the studentized range / sqrt 2);
* performance profiles (Dolan & More 2002): for each benchmark the ratio of an optimizer's mean final normalized
  regret to the best optimizer's on that benchmark (1 when equal, infinite when the best is 0 and this one is not);
  ``rho(tau)`` = the fraction of benchmarks with ratio <= tau;
* per domain, which optimizers beat the baseline: paired Wilcoxon signed-rank tests on normalized final regret,
  paired by (benchmark, seed), Holm-corrected over the optimizers of the domain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nasbench_bench import analysis as A

__all__ = [
    "average_ranks",
    "critical_difference",
    "domain_table",
    "final_normalized",
    "friedman",
    "heatmap",
    "normalized_curves",
    "performance_profile",
    "profile_ratios",
    "summary",
]

#: Budget fractions the anytime curves are drawn on (log-spaced from 1 % to 100 % of the budget).
FRACTIONS = np.geomspace(0.01, 1.0, 60)


def _done(runs: pd.DataFrame) -> pd.DataFrame:
    rn = runs[runs["status"] == "done"].copy()
    nan = pd.Series(np.nan, index=rn.index)
    rn["norm_ref"] = rn.get("best_score", nan).astype(float) - rn.get("median_score", nan).astype(float)
    if "domain" not in rn:
        rn["domain"] = ""
    return rn


def final_normalized(results: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per finished run: benchmark, domain, optimizer, seed, final_regret, norm_regret.

    ``final_regret`` is the incumbent's regret at the end of the run (:func:`~nasbench_bench.analysis.final_regret`);
    ``norm_regret`` divides it by the table's ``best_score - median_score``. Runs whose table has no recorded
    median (older run files) or a degenerate one (median = optimum) get NaN.
    """
    rn = _done(runs)
    fin = A.final_regret(results)
    key = ["benchmark", "optimizer", "seed"]
    fin = fin.astype({"benchmark": str, "optimizer": str})
    rn = rn.astype({"benchmark": str, "optimizer": str})
    out = fin.merge(rn[key + ["norm_ref", "domain"]], on=key, how="inner")
    ref = out["norm_ref"].to_numpy(dtype=float)
    out["norm_regret"] = np.where(ref > 0, out["final_regret"].to_numpy(dtype=float) / np.where(ref > 0, ref, 1),
                                  np.nan)
    return out[["benchmark", "domain", "optimizer", "seed", "final_regret", "norm_regret"]].sort_values(
        key, kind="stable").reset_index(drop=True)


def normalized_curves(results: pd.DataFrame, runs: pd.DataFrame, fractions: np.ndarray = FRACTIONS,
                      n_boot: int = 1000, ci: float = 0.95) -> pd.DataFrame:
    """Mean normalized regret over benchmarks x seeds at each budget fraction, with a bootstrap CI.

    Columns: optimizer, fraction, mean, lo, hi, n_runs (runs with a valid evaluation by then), n_benchmarks.
    """
    rn = _done(runs).astype({"benchmark": str, "optimizer": str})
    prep = A.prepare_results(results)
    runs_p = prep.runs.astype({"benchmark": str, "optimizer": str})
    info = runs_p.merge(rn[["benchmark", "optimizer", "seed", "budget_s", "norm_ref"]],
                        on=["benchmark", "optimizer", "seed"], how="left")
    fractions = np.asarray(fractions, dtype=float)
    mat = np.full((len(runs_p), len(fractions)), np.nan)
    for budget, idx in info.groupby("budget_s").indices.items():
        sub = A.PreparedResults(*_subset(prep, np.asarray(idx)))
        mat[idx] = A._lookup(sub, fractions * float(budget))
    ref = info["norm_ref"].to_numpy(dtype=float)
    mat = np.where((ref > 0)[:, None], mat / np.where(ref > 0, ref, 1)[:, None], np.nan)
    rows = []
    for opt, idx in info.groupby("optimizer").indices.items():
        vals = mat[idx]
        rng = np.random.default_rng(A._stable_seed("across", opt))
        lo, hi = A._bootstrap_mean_ci(vals, n_boot, ci, rng)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(np.isnan(vals).all(axis=0), 0.0, vals), axis=0)
        n_runs = (~np.isnan(vals)).sum(axis=0)
        mean = np.where(n_runs > 0, mean, np.nan)
        n_bench = info.iloc[idx]["benchmark"].nunique()
        rows.append(pd.DataFrame({"optimizer": opt, "fraction": fractions, "mean": mean, "lo": lo, "hi": hi,
                                  "n_runs": n_runs, "n_benchmarks": n_bench}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["optimizer", "fraction", "mean", "lo", "hi", "n_runs", "n_benchmarks"])


def _subset(prep: A.PreparedResults, run_ids: np.ndarray) -> tuple:
    """The fields of a PreparedResults restricted to ``run_ids`` (kept in their order)."""
    pieces_t, pieces_r, starts, ids = [], [], [], []
    pos = 0
    ends = np.append(prep.start[1:], len(prep.time))
    for new, r in enumerate(run_ids):
        a, b = int(prep.start[r]), int(ends[r])
        pieces_t.append(prep.time[a:b])
        pieces_r.append(prep.regret[a:b])
        starts.append(pos)
        ids.append(np.full(b - a, new, dtype=np.int64))
        pos += b - a

    def cat(xs: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(xs) if xs else np.zeros(0, dt)

    return (prep.runs.iloc[run_ids].reset_index(drop=True), cat(ids, np.int64), cat(pieces_t, float),
            cat(pieces_r, float), np.asarray(starts, dtype=np.int64))


def _bootstrap_ci(values: np.ndarray, seed_parts: Sequence[object], n_boot: int = 2000, ci: float = 0.95
                  ) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(A._stable_seed("across-ci", *seed_parts))
    boot = rng.choice(v, size=(n_boot, len(v)), replace=True).mean(axis=1)
    a = (1.0 - ci) / 2.0
    lo, hi = np.quantile(boot, [a, 1.0 - a])
    return float(lo), float(hi)


def per_benchmark_ranks(final: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark and optimizer: the mean over seeds (run by every optimizer there) of the rank by final
    regret within the seed (1 = lowest, ties averaged). Columns: benchmark, optimizer, rank, n_seeds."""
    rows = []
    for bench, grp in final.groupby("benchmark", sort=True):
        wide = grp.pivot_table(index="seed", columns="optimizer", values="final_regret", aggfunc="first")
        wide = wide.dropna(axis=0, how="any")
        if wide.empty:
            continue
        ranks = stats.rankdata(wide.to_numpy(), axis=1, method="average").mean(axis=0)
        for opt, r in zip(wide.columns, ranks):
            rows.append({"benchmark": bench, "optimizer": opt, "rank": float(r), "n_seeds": len(wide)})
    return pd.DataFrame(rows, columns=["benchmark", "optimizer", "rank", "n_seeds"])


def average_ranks(final: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer: mean over benchmarks of its per-benchmark average rank, with a bootstrap CI over benchmarks.
    Columns: optimizer, mean_rank, lo, hi, n_benchmarks."""
    pbr = per_benchmark_ranks(final)
    rows = []
    for opt, grp in pbr.groupby("optimizer", sort=True):
        lo, hi = _bootstrap_ci(grp["rank"].to_numpy(), ("rank", opt))
        rows.append({"optimizer": opt, "mean_rank": float(grp["rank"].mean()), "lo": lo, "hi": hi,
                     "n_benchmarks": len(grp)})
    return pd.DataFrame(rows, columns=["optimizer", "mean_rank", "lo", "hi", "n_benchmarks"])


def _block_matrix(final: pd.DataFrame) -> pd.DataFrame:
    """Benchmarks (rows) x optimizers: mean final regret over seeds; only benchmarks every optimizer ran."""
    wide = final.pivot_table(index="benchmark", columns="optimizer", values="final_regret", aggfunc="mean")
    return wide.dropna(axis=0, how="any")


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for ``k`` optimizers over ``n`` blocks (Demsar 2006)."""
    if k < 2 or n < 1:
        return math.nan
    q = float(stats.studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def friedman(final: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Friedman test over benchmarks (blocks) of the per-benchmark mean final regrets, the Nemenyi post-hoc
    p-values and the critical difference.

    Returns a dict: ``statistic``, ``p``, ``n_benchmarks``, ``k``, ``ranks`` (Series: average rank of each
    optimizer over the blocks), ``cd``, ``alpha``, ``nemenyi`` (DataFrame of p-values, optimizers x optimizers).
    """
    wide = _block_matrix(final)
    k, n = wide.shape[1], wide.shape[0]
    out: dict = {"n_benchmarks": n, "k": k, "alpha": alpha, "statistic": math.nan, "p": math.nan,
                 "ranks": pd.Series(dtype=float), "cd": critical_difference(k, n, alpha),
                 "nemenyi": pd.DataFrame()}
    if k < 2 or n < 2:
        return out
    block_ranks = stats.rankdata(wide.to_numpy(), axis=1, method="average")
    out["ranks"] = pd.Series(block_ranks.mean(axis=0), index=list(wide.columns), name="rank")
    if k >= 3:
        res = stats.friedmanchisquare(*[wide[c].to_numpy() for c in wide.columns])
        out["statistic"], out["p"] = float(res.statistic), float(res.pvalue)
    import scikit_posthocs as sp

    out["nemenyi"] = sp.posthoc_nemenyi_friedman(wide.to_numpy())
    out["nemenyi"].index = out["nemenyi"].columns = list(wide.columns)
    return out


def profile_ratios(final: pd.DataFrame) -> pd.DataFrame:
    """Performance ratios per benchmark x optimizer: mean final normalized regret / the benchmark's best one.

    1 when equal to the best (including 0 = 0), ``inf`` when the best is 0 and this one is not. Columns:
    benchmark, optimizer, value (the profile input: this optimizer's own mean), ratio.
    """
    means = final.groupby(["benchmark", "optimizer"], sort=True)["norm_regret"].mean().reset_index(name="value")
    best = means.groupby("benchmark")["value"].transform("min")
    v = means["value"].to_numpy(dtype=float)
    b = best.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(v == b, 1.0, np.where(b > 0, v / b, np.inf))
    means["ratio"] = ratio
    return means


def performance_profile(final: pd.DataFrame, taus: np.ndarray | None = None) -> pd.DataFrame:
    """Dolan-More profile: per optimizer and tau, the fraction of benchmarks with ratio <= tau.
    Columns: optimizer, tau, rho."""
    pr = profile_ratios(final).dropna(subset=["value"])
    if taus is None:
        finite = pr["ratio"][np.isfinite(pr["ratio"])]
        top = max(2.0, float(finite.max()) * 1.05) if len(finite) else 2.0
        taus = np.geomspace(1.0, top, 100)
    taus = np.asarray(taus, dtype=float)
    n_b = pr["benchmark"].nunique()
    rows = []
    for opt, grp in pr.groupby("optimizer", sort=True):
        r = np.sort(grp["ratio"].to_numpy(dtype=float))
        rho = np.searchsorted(r, taus * (1 + 1e-9), side="right") / max(n_b, 1)  # ratio <= tau, up to rounding
        rows.append(pd.DataFrame({"optimizer": opt, "tau": taus, "rho": rho}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["optimizer", "tau", "rho"])


def heatmap(final: pd.DataFrame) -> pd.DataFrame:
    """Benchmark x optimizer matrix of mean final normalized regret."""
    return final.pivot_table(index="benchmark", columns="optimizer", values="norm_regret", aggfunc="mean")


def domain_table(final: pd.DataFrame, baseline: str = "rs", alpha: float = 0.05) -> pd.DataFrame:
    """Per domain and optimizer: does it beat ``baseline``? Paired Wilcoxon on normalized final regret (pairs =
    benchmark x seed run by both), Holm-corrected over the domain's optimizers.

    Columns: domain, optimizer, n_pairs, median_diff and mean_diff (optimizer - baseline), p, p_holm, verdict
    ("better", "worse", "no significant difference"; the direction is that of the signed-rank sums, so a test
    that is significant with a median difference of 0, e.g. mostly ties and a few wins, still says which way).
    """
    rows = []
    for dom, grp in final.groupby("domain", sort=True):
        base = grp[grp["optimizer"] == baseline].set_index(["benchmark", "seed"])["norm_regret"]
        if base.empty:
            continue
        part = []
        for opt, g in grp.groupby("optimizer", sort=True):
            if opt == baseline:
                continue
            joined = g.set_index(["benchmark", "seed"])["norm_regret"].to_frame("a").join(
                base.to_frame("b"), how="inner").dropna()
            d = (joined["a"] - joined["b"]).to_numpy(dtype=float)
            p, balance = A._wilcoxon(d)
            part.append({"domain": dom, "optimizer": opt, "n_pairs": len(d),
                         "median_diff": float(np.median(d)) if len(d) else math.nan,
                         "mean_diff": float(np.mean(d)) if len(d) else math.nan, "p": p, "_balance": balance})
        if not part:
            continue
        ps = A.holm([r["p"] for r in part])
        for r, ph in zip(part, ps):
            r["p_holm"] = float(ph)
            side = r.pop("_balance")  # W+ - W-: the signed-rank sums say which way the test points
            if ph < alpha and side < 0:
                r["verdict"] = f"better than {baseline}"
            elif ph < alpha and side > 0:
                r["verdict"] = f"worse than {baseline}"
            else:
                r["verdict"] = "no significant difference"
            rows.append(r)
    return pd.DataFrame(rows, columns=["domain", "optimizer", "n_pairs", "median_diff", "mean_diff", "p", "p_holm",
                                       "verdict"])


def summary(final: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer: mean normalized final regret [bootstrap CI over benchmark x seed], mean rank [CI over
    benchmarks], benchmarks, runs."""
    ranks = average_ranks(final).set_index("optimizer")
    rows = []
    for opt, grp in final.groupby("optimizer", sort=True):
        v = grp["norm_regret"].to_numpy(dtype=float)
        lo, hi = _bootstrap_ci(v, ("norm", opt))
        r = ranks.loc[opt] if opt in ranks.index else None
        rows.append({"optimizer": opt, "norm_regret": float(np.nanmean(v)) if np.any(~np.isnan(v)) else math.nan,
                     "nr_lo": lo, "nr_hi": hi,
                     "mean_rank": math.nan if r is None else r["mean_rank"],
                     "rank_lo": math.nan if r is None else r["lo"], "rank_hi": math.nan if r is None else r["hi"],
                     "benchmarks": grp["benchmark"].nunique(), "runs": len(grp)})
    return pd.DataFrame(rows).sort_values("mean_rank", kind="stable").reset_index(drop=True)
