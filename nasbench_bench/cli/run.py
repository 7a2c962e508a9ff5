"""``nasbench-bench run``: run an experiment (a TOML file, or flags) into a results directory."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nasbench_bench.experiment import Experiment

SYNTHETIC_BANNER = "!" * 100


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the option help; the epilog (one benchmark per line) kept as written."""


def register(subparsers: Any) -> None:
    from nasbench_bench.benchmarks import benchmark, benchmark_names, families, suite_names

    p = subparsers.add_parser(
        "run",
        help="run an experiment (benchmark x optimizers x seeds); resumable",
        description=(
            "Run every unfinished run of an experiment, given as a TOML file (see experiments/*.toml) or by "
            "flags; flags override the file's keys. Finished runs are skipped, so rerunning the same command "
            "resumes an interrupted experiment and retries failed runs."
        ),
        formatter_class=_Formatter,
        epilog="benchmarks (`nasbench-bench benchmarks` prints what each one's search sees and what its regret is "
               "on, from its table):\n" + "\n".join(f"  {n}: {benchmark(n).description}" for n in benchmark_names()),
    )
    p.add_argument("experiment", nargs="?", help="experiment TOML file (optional if --benchmark etc. are given)")
    p.add_argument("--benchmark", help="benchmark, or a comma-separated list: " + ", ".join(benchmark_names()))
    p.add_argument("--suite", help="a named set of benchmarks instead of --benchmark: " + ", ".join(suite_names()))
    p.add_argument("--optimizers", help="comma-separated optimizer names or module:Class paths, e.g. rs,re,reinforce")
    p.add_argument("--seeds", help="seeds: ranges and lists, e.g. 0-499 or 0,3,10-12 (inclusive)")
    p.add_argument("--budget", help="budget per run: simulated seconds, or evaluations on unit-cost tables (no "
                   "recorded cost); default without a file: 1e7")
    p.add_argument("--encoding", help="search encoding (default: the benchmark family's): " + "; ".join(
        f"{f.name}: {', '.join(f.encodings)}" for f in families()))
    p.add_argument("--max-evaluations", type=positive_int,
                   help="end each run after this many evaluations (part of the run's setting)")
    p.add_argument("--plugin", action="append", metavar="MODULE",
                   help="import MODULE first (its @register optimizers become names); repeatable")
    p.add_argument("--limit-invalid-streak", type=positive_int, metavar="N",
                   help="safety limit: fail a run after N invalid proposals in a row (default 10000)")
    p.add_argument("--limit-evaluations", type=positive_int, metavar="N",
                   help="safety limit: fail a run after N evaluations (default: 10 x budget / cheapest "
                        "evaluation + 10000)")
    p.add_argument("--run-timeout", type=positive_float, metavar="SECONDS",
                   help="safety limit: fail a run after this much wall-clock time (default: none)")
    p.add_argument("--workers", metavar="K",
                   help="simulated parallel workers per run, 1-4096 (default 1: the sequential protocol). K > 1: "
                        "K workers share one simulated clock, results arrive in time order; part of the run's "
                        "setting")
    p.add_argument("--problem", metavar="SPEC",
                   help="what to optimise (default single): 'constrained:latency<=0.02' (or <=25%%: a percentile of "
                        "the table), 'mnasnet:latency=0.02[:soft|:hard|:alpha=A,beta=B]' (MnasNet reward), "
                        "'pareto:latency[,params]' (hypervolume regret); objectives are the table's real columns, "
                        "see docs/multi-objective.md")
    p.add_argument("--name", help="experiment name (default: the file's stem, or the benchmark)")
    p.add_argument("--data", help="NAS-Bench-101 data: .tfrecord file or converted cache dir "
                   "(else $NASBENCH_BENCH_NB101)")
    p.add_argument("--out", help="results directory (default: results/NAME)")
    p.add_argument("--jobs", "-j", type=positive_int, default=os.cpu_count() or 1, help="parallel runs")
    p.add_argument("--executor", choices=("process", "dask", "inline"), default=None,
                   help="where runs execute: local worker processes (default), a dask cluster, or this process")
    p.add_argument("--scheduler", help="dask scheduler address tcp://HOST:PORT (implies --executor dask; "
                   "without it dask starts a local cluster)")
    p.add_argument("--scheduler-timeout", type=positive_float, default=10.0,
                   help="seconds to wait for the dask scheduler")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal)")
    p.set_defaults(func=main)


def _build_experiment(args: argparse.Namespace) -> Any:
    from nasbench_bench.experiment import Experiment, load_experiment

    overrides: dict[str, Any] = {
        "benchmark": args.benchmark,
        "suite": args.suite,
        "optimizers": args.optimizers,
        "seeds": args.seeds,
        "time_budget": args.budget,
        "encoding": args.encoding,
        "max_evaluations": args.max_evaluations,
        "data": args.data,
        "name": args.name,
        "plugins": args.plugin,
        "workers": args.workers,
        "problem": args.problem,
    }
    limits = {"invalid_streak": args.limit_invalid_streak, "evaluations": args.limit_evaluations,
              "wall_clock": args.run_timeout}
    if any(v is not None for v in limits.values()):
        overrides["limits"] = {k: v for k, v in limits.items() if v is not None}
    if args.experiment:
        return load_experiment(args.experiment, overrides)
    missing = [f"--{k}" for k in ("benchmark", "optimizers", "seeds") if getattr(args, k) is None]
    if args.suite is not None and "--benchmark" in missing:
        missing.remove("--benchmark")
    if missing:
        from nasbench_bench.cli import UsageError

        raise UsageError(f"give an experiment file or {', '.join(missing)}")
    raw = {k: v for k, v in overrides.items() if v is not None}
    raw.setdefault("time_budget", 1e7)
    default_name = args.benchmark.replace(",", "+") if args.benchmark else f"suite-{args.suite}"
    return Experiment.from_dict(raw, source="command line", default_name=default_name)


def _budget_text(exp: Experiment) -> str:
    """``"3e+04 s"``, ``"40 evaluations"`` (unit-cost tables), or both when the experiment mixes them."""
    from nasbench_bench.benchmarks import cost_unit

    if exp.budget_rule is not None:
        return exp.budget_text
    units = {cost_unit(b) for b in exp.benchmarks}
    text = {"seconds": f"{exp.time_budget:g} s", "evaluations": f"{exp.time_budget:g} evaluations"}
    if len(units) == 1:
        return text[units.pop()]
    return f"{text['seconds']} (unit-cost tables: {text['evaluations']})"


def _shout_synthetic(benchmarks: list[str]) -> None:
    if benchmarks:
        print(SYNTHETIC_BANNER, file=sys.stderr)
        print(f"!!! SYNTHETIC benchmark(s): {', '.join(benchmarks)} -- these are NOT real NAS-Bench results; "
              "do not report them as such.", file=sys.stderr)
        print(SYNTHETIC_BANNER, file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that the same clean-up runs."""

    signal_name = "SIGTERM"


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _executor(args: argparse.Namespace) -> str:
    from nasbench_bench.cli import UsageError

    if args.scheduler is not None:
        if args.executor not in (None, "dask"):
            raise UsageError(f"--scheduler is a dask scheduler address but --executor is {args.executor!r}; "
                             "drop --executor or use --executor dask")
        return "dask"
    return args.executor or "process"


def main(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import synthetic_benchmarks
    from nasbench_bench.cli import prog
    from nasbench_bench.runner import clamp_jobs, run_experiment

    executor = _executor(args)
    exp = _build_experiment(args)
    jobs, jobs_note = args.jobs, ""
    if executor == "process" or (executor == "dask" and args.scheduler is None):
        jobs, jobs_note = clamp_jobs(args.jobs)
    out = Path(args.out) if args.out else Path("results") / exp.name
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    synthetic = synthetic_benchmarks()
    _shout_synthetic([b for b in exp.benchmarks if b in synthetic])
    where = f"dask at {args.scheduler}" if args.scheduler else executor
    print(f"experiment {exp.name}: {', '.join(exp.benchmarks)} x {len(exp.optimizers)} optimizer(s) "
          f"[{', '.join(o.label for o in exp.optimizers)}] x {len(exp.seeds)} seed(s) = {exp.n_runs} runs, "
          f"budget {_budget_text(exp)}{f', {exp.workers} simulated workers' if exp.workers > 1 else ''}; "
          f"executor {where}, jobs {jobs}; results in {out}", flush=True)
    if jobs_note:
        print(f"note: --jobs {args.jobs}: {jobs_note}", flush=True)
    with _sigterm_as_interrupt():
        summary = run_experiment(exp, out, jobs=jobs, executor=executor, scheduler=args.scheduler,
                                 progress=progress, scheduler_timeout=args.scheduler_timeout)

    newly_synthetic = [b for b in summary.synthetic if b not in synthetic]
    _shout_synthetic(newly_synthetic)
    if summary.quarantined:
        print(f"\n{len(summary.quarantined)} unusable run file(s) moved aside (never deleted) and their runs redone:")
        for dest, problem in summary.quarantined[:20]:
            print(f"  {dest}: {problem}")
        if len(summary.quarantined) > 20:
            print(f"  ... and {len(summary.quarantined) - 20} more, under {out / 'quarantine'}")
    if summary.interrupted:
        print(f"\ninterrupted ({summary.interrupted}): workers stopped; nothing half-written is kept.")
    if summary.disk_full:
        print("\nstopped: the disk is full; every finished run file is intact and nothing half-written is kept.")
    print(f"\n{summary.total} runs: {summary.done} done now, {summary.skipped} already finished, "
          f"{summary.failed} failed, {summary.busy} in progress elsewhere ({summary.wall_s:.1f} s)")
    if summary.failures:
        print(f"failed runs (tracebacks in the .failed.json files under {out / 'runs'}):")
        for run_id, error in summary.failures[:20]:
            print(f"  {run_id}: {error}")
        if len(summary.failures) > 20:
            print(f"  ... and {len(summary.failures) - 20} more")
        print("rerunning the same command retries them; an error of the optimizer or the data will recur until "
              "it is fixed (same seed, same run)")
    if summary.busy:
        print(f"{summary.busy} run(s) are locked by another live command; rerun after it ends to pick up any "
              "it did not finish")
    if summary.synthetic:
        print(f"NOTE: SYNTHETIC data ({', '.join(summary.synthetic)}) -- not real benchmark results")
    print(f"results: {out}")
    if summary.interrupted or summary.disk_full:
        left = summary.total - summary.done - summary.skipped
        print(f"{left} run(s) not finished: run the same command again to resume"
              + (" once there is space" if summary.disk_full else ""), flush=True)
    if summary.disk_full:
        print(f"error: {summary.disk_full}; free space (or choose another --out) and run the same command again "
              "to resume", file=sys.stderr)
        return 2
    if summary.interrupted:
        return 143 if summary.interrupted == "SIGTERM" else 130
    print(f"next: {prog()} plot {out}")
    return 1 if summary.failed else 0
