"""``nasbench-bench plot`` and ``nasbench-bench report``: figures and tables from a results directory."""

from __future__ import annotations

import argparse
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_bench import analysis as A

log = logging.getLogger(__name__)

KEYS = ["benchmark", "optimizer", "seed"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plot", help="Figure-7-style regret plots and average-rank plots per benchmark")
    p.add_argument("results", type=Path, help="results directory (as written by `nasbench-bench run`)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: RESULTS/plots)")
    p.add_argument("--benchmark", default=None, help="only this benchmark")
    p.add_argument("--band", choices=("ci", "quantile"), default="ci",
                   help="shaded band: 95%% bootstrap CI of the mean (default) or 25-75%% quantiles of runs")
    p.set_defaults(func=cmd_plot)

    r = subparsers.add_parser("report", help="summary table and paired tests of final regret")
    r.add_argument("results", type=Path, help="results directory")
    r.add_argument("--baseline", default="rs", help="optimizer label used as baseline (default: rs)")
    r.add_argument("--at", type=float, default=None,
                   help="final regret at this simulated time [s] (default: each run's end)")
    r.add_argument("--benchmark", default=None, help="only this benchmark")
    r.set_defaults(func=cmd_report)


@dataclass
class Loaded:
    """Results of one benchmark restricted to finished runs, plus what the reader must be told."""

    benchmark: str
    prep: A.PreparedResults
    score_metric: str
    synthetic: bool
    budget: float
    notes: list[str]
    runs_per_optimizer: pd.DataFrame


def _drop_runs(results: pd.DataFrame, bad: pd.DataFrame) -> pd.DataFrame:
    """Remove the rows of the runs in ``bad`` (few runs; cheap pre-filter, exact check on the rest)."""
    if bad.empty:
        return results
    maybe = results["optimizer"].isin(bad["optimizer"].unique()) & results["seed"].isin(bad["seed"].unique())
    idx = pd.MultiIndex.from_frame(results.loc[maybe, KEYS])
    drop = idx.isin(pd.MultiIndex.from_frame(bad[KEYS]))
    keep = np.ones(len(results), dtype=bool)
    keep[np.flatnonzero(maybe.to_numpy())[drop]] = False
    return results.loc[keep]


def load(path: Path, only: str | None = None) -> list[Loaded]:
    """Read a results directory and split it per benchmark, keeping only runs with status 'done'."""
    from nasbench_bench.results import load_results, load_runs

    results = load_results(path)
    runs = load_runs(path)
    benches = sorted(set(results["benchmark"].unique()) | set(runs["benchmark"].unique()))
    if only is not None:
        if only not in benches:
            raise SystemExit(f"benchmark {only!r} not in {path} (have: {', '.join(map(str, benches))})")
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
                         + ", ".join(f"{o}x{n}" for o, n in bad.groupby("optimizer").size().items()))
            res = _drop_runs(res, bad)
        prep = A.prepare_results(res)
        unknown = prep.runs.merge(rn[KEYS], on=KEYS, how="left", indicator=True)
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
        per_opt = (rn.assign(ok=rn["status"] == "done").groupby("optimizer")["ok"]
                   .agg(ok="sum", total="size").reset_index())
        out.append(Loaded(str(bench), prep, str(metric), synthetic, budget, notes, per_opt))
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "benchmark"


def _grid(budget: float) -> np.ndarray:
    t_max = budget if budget > 0 else 1e7
    return A.time_grid(min(10.0, t_max / 100.0), t_max, 200)


def cmd_plot(args: argparse.Namespace) -> int:
    from nasbench_bench import plots

    out_dir = args.out if args.out is not None else Path(args.results) / "plots"
    for item in load(args.results, args.benchmark):
        prep = item.prep
        if prep.runs.empty:
            print(f"{item.benchmark}: no finished runs, nothing to plot")
            continue
        grid = _grid(item.budget)
        curves = A.summarize_curves(prep, grid)
        ecdf = A.final_regret_ecdf(A.final_regret(prep))
        ranks = A.average_rank(prep, grid)
        counts = prep.runs.groupby("optimizer").size()
        n = f"{counts.iloc[0]} runs per optimizer" if counts.nunique() == 1 else f"{len(prep.runs)} runs"
        title = f"{item.benchmark}: {n}, budget {item.budget:.3g} s"
        stem = out_dir / _safe(item.benchmark)
        paths = plots.plot_figure7(curves, ecdf, title, stem.with_name(stem.name + "_figure7"),
                                   score_metric=item.score_metric, synthetic=item.synthetic, band=args.band)
        paths += plots.plot_ranks(ranks, f"{title}: average rank", stem.with_name(stem.name + "_ranks"),
                                  score_metric=item.score_metric, synthetic=item.synthetic)
        for note in item.notes:
            print(f"note ({item.benchmark}): {note}")
        for p in paths:
            print(p)
    return 0


def _describe_metric(metric: str) -> str:
    if metric == "test":
        return "TEST regret: best test score in the table minus the incumbent's test score"
    if metric == "validation":
        return "VALIDATION regret: best validation score in the table minus the incumbent's validation score"
    return f"regret on score metric {metric!r}"


def cmd_report(args: argparse.Namespace) -> int:
    for item in load(args.results, args.benchmark):
        print(f"=== {item.benchmark} ===")
        if item.synthetic:
            print("*** SYNTHETIC DATA: these numbers do not describe the real benchmark ***")
        print(f"measured: {_describe_metric(item.score_metric)}")
        if args.at is not None:
            when = f"at t = {args.at:.4g} s"
        else:
            when = f"at the end of each run (budget {item.budget:.4g} s)"
        print(f"final regret {when}; lower is better")
        for note in item.notes:
            print(f"note: {note}")
        prep = item.prep
        if prep.runs.empty:
            print("no finished runs\n")
            continue
        print("runs (finished / total):", ", ".join(
            f"{r.optimizer} {r.ok}/{r.total}" for r in item.runs_per_optimizer.itertuples()))
        table = A.summary_table(prep, baseline=args.baseline, at=args.at)
        print()
        print(f"Summary (time_to_reach: first time the mean regret curve is <= {args.baseline}'s final mean;"
              f" speedup vs {args.baseline}; wins: seeds with the strictly lowest final regret)")
        print(A.format_table(table.drop(columns="benchmark")))
        fin = A.final_regret(prep, at=args.at)
        tests = A.pairwise_tests(fin)
        print()
        print(f"Paired Wilcoxon signed-rank tests on final regret (paired by seed, two-sided, Holm-corrected "
              f"over {len(tests)} pairs; median_diff = median(a - b); better shown when p_holm < 0.05)")
        print(A.format_table(tests.drop(columns="benchmark")))
        print()
    return 0
