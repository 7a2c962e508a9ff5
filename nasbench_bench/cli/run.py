"""``nasbench-bench run``: run an experiment (a TOML file, or flags) into a results directory."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

SYNTHETIC_BANNER = "!" * 100


def register(subparsers: Any) -> None:
    from nasbench_bench.benchmarks import benchmark_names

    p = subparsers.add_parser(
        "run",
        help="run an experiment (benchmark x optimizers x seeds); resumable",
        description=(
            "Run every unfinished run of an experiment, given as a TOML file (see experiments/*.toml) or by "
            "flags; flags override the file's keys. Finished runs are skipped, so rerunning the same command "
            "resumes an interrupted experiment and retries failed runs."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("experiment", nargs="?", help="experiment TOML file (optional if --benchmark etc. are given)")
    p.add_argument("--benchmark", help="benchmark, or a comma-separated list: " + ", ".join(benchmark_names()))
    p.add_argument("--optimizers", help="comma-separated optimizer names or module:Class paths, e.g. rs,re,reinforce")
    p.add_argument("--seeds", help="seeds: ranges and lists, e.g. 0-499 or 0,3,10-12 (inclusive)")
    p.add_argument("--budget", help="simulated time budget per run in seconds (default without a file: 1e7)")
    p.add_argument("--encoding", help="search encoding: A, B, C (nb101) or nb201 (default: per benchmark)")
    p.add_argument("--max-evaluations", type=int, help="cap on evaluations per run (safety net)")
    p.add_argument("--name", help="experiment name (default: the file's stem, or the benchmark)")
    p.add_argument("--data", help="NAS-Bench-101 data: .tfrecord file or converted cache dir "
                   "(else $NASBENCH_BENCH_NB101)")
    p.add_argument("--out", help="results directory (default: results/NAME)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="parallel runs")
    p.add_argument("--executor", choices=("process", "dask", "inline"), default="process",
                   help="where runs execute: local worker processes, a dask cluster, or this process")
    p.add_argument("--scheduler", help="dask scheduler address (with --executor dask; default: a local cluster)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal)")
    p.set_defaults(func=main)


def _build_experiment(args: argparse.Namespace) -> Any:
    from nasbench_bench.experiment import Experiment, load_experiment

    overrides: dict[str, Any] = {
        "benchmark": args.benchmark,
        "optimizers": args.optimizers,
        "seeds": args.seeds,
        "time_budget": args.budget,
        "encoding": args.encoding,
        "max_evaluations": args.max_evaluations,
        "data": args.data,
        "name": args.name,
    }
    if args.experiment:
        return load_experiment(args.experiment, overrides)
    missing = [f"--{k}" for k in ("benchmark", "optimizers", "seeds") if getattr(args, k) is None]
    if missing:
        raise SystemExit(f"nasbench-bench run: give an experiment file or {', '.join(missing)}")
    raw = {k: v for k, v in overrides.items() if v is not None}
    raw.setdefault("time_budget", 1e7)
    default_name = args.benchmark.replace(",", "+")
    return Experiment.from_dict(raw, source="command line", default_name=default_name)


def _shout_synthetic(benchmarks: list[str]) -> None:
    if benchmarks:
        print(SYNTHETIC_BANNER, file=sys.stderr)
        print(f"!!! SYNTHETIC benchmark(s): {', '.join(benchmarks)} -- these are NOT real NAS-Bench results; "
              "do not report them as such.", file=sys.stderr)
        print(SYNTHETIC_BANNER, file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import BenchmarkDataError, synthetic_benchmarks
    from nasbench_bench.experiment import ExperimentError
    from nasbench_bench.runner import run_experiment

    try:
        exp = _build_experiment(args)
    except ExperimentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path("results") / exp.name
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    synthetic = synthetic_benchmarks()
    _shout_synthetic([b for b in exp.benchmarks if b in synthetic])
    print(f"experiment {exp.name}: {', '.join(exp.benchmarks)} x {len(exp.optimizers)} optimizer(s) "
          f"[{', '.join(o.label for o in exp.optimizers)}] x {len(exp.seeds)} seed(s) = {exp.n_runs} runs, "
          f"budget {exp.time_budget:g} s; executor {args.executor}, jobs {args.jobs}; results in {out}")
    try:
        summary = run_experiment(exp, out, jobs=args.jobs, executor=args.executor, scheduler=args.scheduler,
                                 progress=progress)
    except (ExperimentError, BenchmarkDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    newly_synthetic = [b for b in summary.synthetic if b not in synthetic]
    _shout_synthetic(newly_synthetic)
    print(f"\n{summary.total} runs: {summary.done} done now, {summary.skipped} already finished, "
          f"{summary.failed} failed, {summary.busy} in progress elsewhere ({summary.wall_s:.1f} s)")
    if summary.failures:
        print(f"failed runs (tracebacks in the .failed.json files under {out / 'runs'}):")
        for run_id, error in summary.failures[:20]:
            print(f"  {run_id}: {error}")
        if len(summary.failures) > 20:
            print(f"  ... and {len(summary.failures) - 20} more")
        print("rerun the same command to retry the failed runs")
    if summary.busy:
        print(f"{summary.busy} run(s) are locked by another live command; rerun after it ends to pick up any "
              "it did not finish")
    if summary.synthetic:
        print(f"NOTE: SYNTHETIC data ({', '.join(summary.synthetic)}) -- not real benchmark results")
    print(f"results: {out}")
    print(f"next: nasbench-bench plot {out}")
    return 1 if summary.failed else 0
