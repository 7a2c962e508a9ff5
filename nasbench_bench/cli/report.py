"""``nasbench-bench plot`` and ``nasbench-bench report``: figures and tables from a results directory."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from nasbench_bench import analysis as A
from nasbench_bench.cli.run import positive_float

log = logging.getLogger(__name__)


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
    r.add_argument("--at", type=positive_float, default=None,
                   help="final regret at this simulated time [s] (default: each run's end)")
    r.add_argument("--benchmark", default=None, help="only this benchmark")
    r.set_defaults(func=cmd_report)


def load(path: Path, only: str | None = None) -> list[A.BenchmarkResults]:
    """The finished runs of a results directory, per benchmark (see :func:`analysis.by_benchmark`).

    Run files that cannot be read (or are not the run their name says) are named on stderr, one line each, and
    left out; each benchmark's notes then say how many its totals exclude."""
    from nasbench_bench.cli import UsageError
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
        grid = A.plot_grid(item.budget)
        curves = A.summarize_curves(prep, grid)
        ecdf = A.final_regret_ecdf(A.final_regret(prep))
        ranks = A.average_rank(prep, grid)
        counts = prep.runs.groupby("optimizer").size()
        n = f"{counts.iloc[0]} runs per optimizer" if counts.nunique() == 1 else f"{len(prep.runs)} runs"
        title = f"{item.benchmark}: {n}, budget {item.budget:.3g} s"
        stem = out_dir / _safe(item.benchmark)
        note = "; ".join(item.derived)
        paths = plots.plot_figure7(curves, ecdf, title, stem.with_name(stem.name + "_figure7"),
                                   score_metric=item.score_metric, synthetic=item.synthetic, band=args.band,
                                   time_note=note)
        paths += plots.plot_ranks(ranks, f"{title}: average rank", stem.with_name(stem.name + "_ranks"),
                                  score_metric=item.score_metric, synthetic=item.synthetic, time_note=note)
        if A.has_several_workers(curves):  # runs with several numbers of simulated workers: regret vs K, speed-up
            wcurves = A.workers_curves(curves)
            speed = A.speedup_table(wcurves)
            paths += plots.plot_workers(wcurves, speed, f"{title}: parallel workers",
                                        stem.with_name(stem.name + "_workers"), score_metric=item.score_metric,
                                        synthetic=item.synthetic, time_note=note)
        for note in item.notes:
            print(f"note ({item.benchmark}): {note}")
        for p in paths:
            print(p)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    for item in load(args.results, args.benchmark):
        print(f"=== {item.benchmark} ===")
        if item.synthetic:
            print("*** SYNTHETIC DATA: these numbers do not describe the real benchmark ***")
        print(f"measured: {A.describe_metric(item.score_metric)}")
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
