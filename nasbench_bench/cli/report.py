"""``nasbench-bench plot`` and ``nasbench-bench report``: figures and tables from a results directory."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import pandas as pd

from nasbench_bench import analysis as A
from nasbench_bench.cli.run import positive_float
from nasbench_bench.table import COST_MODELS as COST_TEXT

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plot", help="Figure-7-style regret plots and average-rank plots per benchmark")
    p.add_argument("results", type=Path, help="results directory (as written by `nasbench-bench run`)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: RESULTS/plots)")
    p.add_argument("--benchmark", default=None, help="only this benchmark")
    p.add_argument("--band", choices=("ci", "quantile"), default="ci",
                   help="shaded band: 95%% bootstrap CI of the mean (default) or 25-75%% quantiles of runs")
    _across_args(p)
    p.set_defaults(func=cmd_plot)

    r = subparsers.add_parser("report", help="summary table and paired tests of final regret")
    r.add_argument("results", type=Path, help="results directory")
    r.add_argument("--baseline", default="rs", help="optimizer label used as baseline (default: rs)")
    r.add_argument("--at", type=positive_float, default=None,
                   help="final regret at this simulated time [s] (default: each run's end)")
    r.add_argument("--benchmark", default=None, help="only this benchmark")
    _across_args(r)
    r.set_defaults(func=cmd_report)


def _across_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--across", default="all", metavar="SUITE",
                   help="pool the benchmarks of this suite (or 'all' in the directory, the default; 'none' = "
                        "per-benchmark output only) in the cross-benchmark analysis, done whenever >= 2 are pooled")
    p.add_argument("--benchmarks", default=None, metavar="B1,B2,...",
                   help="pool exactly these benchmarks in the cross-benchmark analysis (instead of --across)")


def load(path: Path, only: str | None = None) -> list[A.BenchmarkResults]:
    """The finished runs of a results directory, per benchmark (see :func:`analysis.by_benchmark`).

    Run files that cannot be read (or are not the run their name says) are named on stderr, one line each, and
    left out; each benchmark's notes then say how many its totals exclude."""
    from nasbench_bench.cli import UsageError

    results, runs, unreadable = load_frames(path)
    for p, problem in unreadable.items():
        print(f"warning: skipping run file {p}: {problem}", file=sys.stderr)
    try:
        items = A.by_benchmark(results, runs, only)
    except KeyError as exc:
        raise UsageError(f"{path}: {exc.args[0]}") from None
    for item in items:
        n = int(((runs["benchmark"] == item.benchmark) & (runs["status"] == "unreadable")).sum())
        if n:
            item.notes.insert(0, f"{n} unreadable run file(s) (named on stderr) are EXCLUDED from these totals; "
                                 f"`{_prog()} run` of the same experiment moves such files to "
                                 f"{Path(path) / 'quarantine'} and redoes their runs")
    return items


def load_frames(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(results, runs, {unreadable file: problem}) of a results directory: the files that cannot be read, or are
    not the run their name says, are left out of ``results`` and have status ``unreadable`` in ``runs``."""
    from nasbench_bench.results import load_results, load_runs

    if not Path(path).is_dir():
        what = "does not exist" if not Path(path).exists() else "is not a directory"
        raise FileNotFoundError(f"results directory {str(path)!r} {what} (give the --out of `nasbench-bench run`)")
    runs = load_runs(path)
    if runs.empty:
        raise FileNotFoundError(f"no run files under {str(path)!r} (expected {path}/runs/<benchmark>/...): "
                                "run an experiment into it first")
    unreadable = {str(r.path): str(r.error) for r in runs[runs["status"] == "unreadable"].itertuples()}

    def also_unreadable(p: Path, problem: str) -> None:  # damaged inside, its footer intact: `run` cannot tell
        unreadable[str(p)] = f"{problem}; move it aside (e.g. into {Path(path) / 'quarantine'}) for `run` to redo it"

    results = load_results(path, skip=list(unreadable), on_unreadable=also_unreadable)
    if unreadable:
        runs["status"] = runs["status"].astype(str)
        runs.loc[runs["path"].isin(list(unreadable)), "status"] = "unreadable"
        runs["status"] = runs["status"].astype("category")
    return results, runs, unreadable


def _prog() -> str:
    from nasbench_bench.cli import prog

    return prog()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "benchmark"


def cmd_plot(args: argparse.Namespace) -> int:
    from nasbench_bench import plots

    out_dir = args.out if args.out is not None else Path(args.results) / "plots"
    for item in load(args.results, args.benchmark):
        prep = item.prep
        if prep.runs.empty:
            print(f"{item.benchmark}: no finished runs, nothing to plot")
            continue
        grid = A.plot_grid(item.budget, unit=item.time_unit)
        curves = A.summarize_curves(prep, grid)
        ecdf = A.final_regret_ecdf(A.final_regret(prep))
        ranks = A.average_rank(prep, grid)
        counts = prep.runs.groupby("optimizer").size()
        n = f"{counts.iloc[0]} runs per optimizer" if counts.nunique() == 1 else f"{len(prep.runs)} runs"
        problem = "" if item.problem == "single" else f" [{item.problem}]"
        title = f"{item.benchmark}{problem}: {n}, budget {item.budget_text}"
        stem = out_dir / _safe(item.benchmark)
        note = "; ".join(item.derived)
        paths = plots.plot_figure7(curves, ecdf, title, stem.with_name(stem.name + "_figure7"),
                                   score_metric=item.regret_name, synthetic=item.synthetic, band=args.band,
                                   time_note=note, time_unit=item.time_unit)
        paths += plots.plot_ranks(ranks, f"{title}: average rank", stem.with_name(stem.name + "_ranks"),
                                  score_metric=item.regret_name, synthetic=item.synthetic, time_note=note,
                                  time_unit=item.time_unit)
        if A.has_several_workers(curves):  # runs with several numbers of simulated workers: regret vs K, speed-up
            wcurves = A.workers_curves(curves)
            speed = A.speedup_table(wcurves)
            paths += plots.plot_workers(wcurves, speed, f"{title}: parallel workers",
                                        stem.with_name(stem.name + "_workers"), score_metric=item.regret_name,
                                        synthetic=item.synthetic, time_note=note, time_unit=item.time_unit)
        for note in item.notes:
            print(f"note ({item.benchmark}): {note}")
        for p in paths:
            print(p)
    for p in plot_problems(args, out_dir):
        print(p)
    for p in plot_across(args, out_dir):
        print(p)
    return 0


def plot_problems(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    """Figures of multi-objective and constrained runs: empirical attainment surfaces (2-objective Pareto runs)
    against the table's front, and the fraction of infeasible evaluations (constrained runs)."""
    from nasbench_bench import mo_analysis as M
    from nasbench_bench import plots

    paths: list[Path] = []
    for item in M.load_problem_runs(args.results, args.benchmark):
        kind = item.problem.partition(":")[0]
        stem = out_dir / _safe(f"{item.benchmark}_{item.problem}").strip("_")
        synthetic = "toy" in item.benchmark or "synthetic" in item.benchmark
        counts = {o: sum(1 for x, _, _ in item.runs if x == o) for o in item.optimizers}
        if kind == "pareto" and len(item.costs) == 1:
            cost = item.costs[0]
            surfaces = {o: M.attainment_surfaces([M.attained_front(df, item.costs) for x, _, df in item.runs
                                                  if x == o]) for o in item.optimizers}
            front = M.true_front(item.benchmark, item.problem)
            metric = item.summary.get("objectives_order", ["metric"])[0]
            fig = plots.attainment_figure(
                surfaces, front, f"{item.benchmark}: {item.problem}, empirical attainment surfaces (final fronts, "
                f"table score of the cells chosen on what the search saw)", metric=f"{metric} (table score)",
                cost=cost, cost_unit=str(item.summary.get("short_units", {}).get(cost, "")), n_runs=counts,
                synthetic=synthetic, log_cost=cost in ("params", "flops"))
            paths += plots.save_figure(fig, stem.with_name(stem.name + "_attainment"), item.benchmark)
        elif kind == "pareto":
            print(f"note ({item.benchmark}): {item.problem} has 3 objectives: attainment surfaces are drawn for 2 only "
                  "(its hypervolume-regret curves are in the figure7 plot)")
        if kind == "constrained":
            summary = M.infeasible_summary(M.infeasible_fractions(item))
            fig = plots.infeasible_figure(summary, f"{item.benchmark}: {item.problem}: infeasible evaluations",
                                          synthetic=synthetic)
            paths += plots.save_figure(fig, stem.with_name(stem.name + "_infeasible"), item.benchmark)
    return paths


def cmd_report(args: argparse.Namespace) -> int:
    for item in load(args.results, args.benchmark):
        print(f"=== {item.benchmark} ===")
        if item.synthetic:
            print("*** SYNTHETIC DATA: these numbers do not describe the real benchmark ***")
        print(f"measured: {A.describe_problem(item.problem, item.score_metric)}")
        print(f"metric: {item.metric}; clock: {COST_TEXT.get(item.cost_model, item.cost_model)}")
        if args.at is not None:
            when = f"at t = {args.at:.4g} {'s' if item.time_unit == 'seconds' else 'evaluations'}"
        else:
            when = f"at the end of each run (budget {item.budget_text})"
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
        if item.problem.startswith("constrained"):
            from nasbench_bench import mo_analysis as M

            for pr in M.load_problem_runs(args.results, item.benchmark):
                print()
                print(f"Infeasible evaluations ({pr.problem}; charged, never the incumbent): mean fraction of each "
                      "run's valid evaluations, 95% bootstrap CI over runs")
                print(A.format_table(M.infeasible_summary(M.infeasible_fractions(pr))))
        print()
    report_across(args)
    return 0


# -- across benchmarks --------------------------------------------------------------------------------------------
def across_frames(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, list[str]] | None:
    """The results and runs pooled by ``--across`` / ``--benchmarks`` (None when fewer than 2 benchmarks)."""
    from nasbench_bench.benchmarks import suite
    from nasbench_bench.cli import UsageError

    if args.benchmark is not None or (args.across == "none" and args.benchmarks is None):
        return None
    from nasbench_bench.results import load_runs

    runs = load_runs(args.results)
    have = sorted(runs["benchmark"].astype(str).unique())
    if args.benchmarks is not None:
        want = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
        missing = [b for b in want if b not in have]
        if missing:
            raise UsageError(f"--benchmarks: no runs of {missing} in {args.results} (have: {', '.join(have)})")
    elif args.across == "all":
        want = have
    else:
        try:
            members = set(suite(args.across))
        except KeyError as exc:
            raise UsageError(f"--across: {exc.args[0]}") from None
        want = [b for b in have if b in members]
    if len(want) < 2:
        return None
    if "median_score" not in runs or runs["median_score"].isna().all():
        print("note: no cross-benchmark analysis: the runs record no median score (run files of an older version; "
              "rerun them into a new directory)", file=sys.stderr)
        return None
    results, runs, _ = load_frames(args.results)  # unreadable files are left out (and named once, by load())
    keep_r = results["benchmark"].astype(str).isin(want).to_numpy()
    keep_n = runs["benchmark"].astype(str).isin(want).to_numpy()
    return results.loc[keep_r].reset_index(drop=True), runs.loc[keep_n].reset_index(drop=True), want


def _across_notes(runs: pd.DataFrame) -> list[str]:
    """What a reader of the pooled figures must be told (unit costs, validation-only regret, budgets)."""
    notes = []
    rn = runs[runs["status"] == "done"]
    unit = sorted(rn.loc[rn["cost_unit"] == "evaluations", "benchmark"].astype(str).unique())
    if unit:
        notes.append(f"{len(unit)} benchmark(s) have no recorded cost (unit cost: the budget counts evaluations)")
    val = sorted(rn.loc[rn["score_metric"] == "validation", "benchmark"].astype(str).unique())
    if val:
        notes.append(f"{len(val)} benchmark(s) have no separate test value: regret on the validation value the "
                     "search sees")
    derived = sorted(rn.loc[rn["cost_model"] == "derived", "benchmark"].astype(str).unique())
    if derived:
        notes.append(f"{len(derived)} benchmark(s) charge DERIVED training times")
    return notes


def report_across(args: argparse.Namespace) -> None:
    from nasbench_bench import across as X

    got = across_frames(args)
    if got is None:
        return
    results, runs, names = got
    final = X.final_normalized(results, runs)
    n_seeds = final.groupby(["benchmark", "optimizer"]).size()
    print(f"=== across {len(names)} benchmarks ===")
    print("normalized regret = regret / (best score - median configuration's score), per table; final = at each "
          "run's budget")
    budgets = runs[runs["status"] == "done"].groupby("benchmark", observed=True)["budget_s"].max()
    units = runs.groupby("benchmark", observed=True)["cost_unit"].first()
    print("budgets: " + ", ".join(f"{b} {v:.4g}{' evals' if units.get(b) == 'evaluations' else ' s'}"
                                  for b, v in budgets.items()))
    for note in _across_notes(runs):
        print(f"note: {note}")
    if len(n_seeds):
        print(f"runs per benchmark x optimizer: {int(n_seeds.min())}..{int(n_seeds.max())}")
    print()
    print("Per optimizer (mean normalized final regret with 95% bootstrap CI over benchmark x seed; mean rank "
          "per benchmark, averaged over benchmarks, 95% CI over benchmarks):")
    print(A.format_table(X.summary(final)))
    fried = X.friedman(final)
    print()
    print(f"Friedman test over {fried['n_benchmarks']} benchmarks (blocks) x {fried['k']} optimizers: "
          f"chi2 = {fried['statistic']:.4g}, p = {fried['p']:.3g}; Nemenyi critical difference CD = {fried['cd']:.3f} "
          f"(alpha {fried['alpha']}): average ranks differing by more than CD differ significantly")
    if len(fried["ranks"]):
        ranks = fried["ranks"].sort_values()
        print("average ranks over blocks: " + ", ".join(f"{o} {r:.2f}" for o, r in ranks.items()))
    base = args.baseline if hasattr(args, "baseline") else "rs"
    dom = X.domain_table(final, baseline=base)
    if len(dom):
        print()
        print(f"Per domain: does each optimizer beat {base}? (paired Wilcoxon on normalized final regret, pairs = "
              "benchmark x seed, Holm-corrected per domain)")
        print(A.format_table(dom))
    prof = X.profile_ratios(final)
    print()
    print("Performance-profile inputs (fraction of benchmarks within a factor tau of the best optimizer):")
    rows = []
    for opt, grp in prof.groupby("optimizer", sort=True):
        r = grp["ratio"].to_numpy(dtype=float)
        rows.append({"optimizer": opt, "best (tau=1)": float((r <= 1).mean()), "tau<=2": float((r <= 2).mean()),
                     "tau<=10": float((r <= 10).mean())})
    print(A.format_table(pd.DataFrame(rows)))
    print()


def plot_across(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    from nasbench_bench import across as X
    from nasbench_bench import plots

    got = across_frames(args)
    if got is None:
        return []
    results, runs, names = got
    final = X.final_normalized(results, runs)
    curves = X.normalized_curves(results, runs)
    n_opt = final["optimizer"].nunique()
    seeds = final.groupby(["benchmark", "optimizer"]).size()
    lo, hi = (int(seeds.min()), int(seeds.max())) if len(seeds) else (0, 0)
    title = f"across {len(names)} benchmarks, {n_opt} optimizers, {lo if lo == hi else f'{lo}-{hi}'} seeds each"
    return plots.plot_across(curves, X.performance_profile(final), X.friedman(final), X.heatmap(final), title,
                             out_dir / "across", note="; ".join(_across_notes(runs)))
