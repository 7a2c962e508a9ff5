"""``nasbench-bench bench optuna``: the per-suggestion overhead of the Optuna adapter over a bare Optuna loop.

For each sampler, the adapter (``run_optimizer`` on an oracle capped at N evaluations) and a bare loop
(``study.ask(space)``, ``oracle.evaluate(trial.params)``, ``study.tell``: what a user would write) run on the same
table, encoding and seed in this process, back to back, ``--repeats`` times. Both do the same work: N evaluations
and N + 1 asks (the adapter asks once more before the oracle's cap ends the run). The benchmark checks that both
made the same suggestions, then prints the time per suggestion of each (median over repeats) and the adapter's
overhead: the median over repeats of the paired ratio adapter / bare - 1, in % (target <= 10 %). Optuna's own
logging is set to WARNING for both. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import time
import warnings
from statistics import median
from typing import Any

SAMPLERS = ("optuna-random", "optuna-tpe", "optuna-cmaes", "optuna-qmc")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="toy",
                        help="table (default: the SYNTHETIC toy table over the 15,625 NAS-Bench-201 cells)")
    parser.add_argument("--encoding", default=None, help="default: the benchmark's")
    parser.add_argument("--optimizers", default=",".join(SAMPLERS), help="optuna-* names or optuna:SamplerClass")
    parser.add_argument("--n", type=int, default=300, help="suggestions per run")
    parser.add_argument("--repeats", type=int, default=7, help="alternating timed pairs (after one untimed pair)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=10.0, help="target overhead in %%")


def _bare(cls: Any, enc: Any, table: Any, n: int, seed: int) -> tuple[float, list[dict[str, Any]]]:
    import optuna

    from nasbench_bench.oracle import Oracle
    from optimizers.optuna_samplers import search_space

    sampler_cls = getattr(optuna.samplers, cls.sampler_class)
    params = inspect.signature(sampler_cls.__init__).parameters
    kwargs = {k: v for k, v in cls.defaults.items()
              if not (type(v) is type(params[k].default) and v == params[k].default)}  # Optuna's defaults: not passed
    space = search_space(enc)
    oracle = Oracle(table, enc, 1e12, seed=seed)
    t0 = time.perf_counter()
    study = optuna.create_study(sampler=sampler_cls(seed=seed, **kwargs), direction="minimize")
    for _ in range(n):
        trial = study.ask(space)
        study.tell(trial, oracle.evaluate(trial.params).loss)
    study.ask(space)
    return time.perf_counter() - t0, [t.params for t in study.trials]


def _adapter(cls: Any, enc: Any, table: Any, n: int, seed: int) -> tuple[float, list[dict[str, Any]]]:
    from nasbench_bench.optimizer import run_optimizer
    from nasbench_bench.oracle import Oracle

    oracle = Oracle(table, enc, 1e12, seed=seed, max_evaluations=n)
    t0 = time.perf_counter()
    opt = cls(enc, seed=seed)
    run_optimizer(opt, oracle)
    return time.perf_counter() - t0, [t.params for t in opt.study.trials]


def run(args: argparse.Namespace) -> int:
    import optuna

    loggers = [logging.getLogger("optuna"), logging.getLogger("optimizers.optuna_samplers")]  # the latter: our notice
    levels = [lg.level for lg in loggers]
    try:
        for lg, level in zip(loggers, (logging.WARNING, logging.ERROR)):
            lg.setLevel(level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _measure(args)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _measure(args: argparse.Namespace) -> int:
    import optuna

    from nasbench_bench.benchmarks import default_encoding, get_encoding, load_benchmark
    from nasbench_bench.optimizer import get_optimizer

    table = load_benchmark(args.benchmark)
    enc = get_encoding(args.encoding or default_encoding(args.benchmark))
    load = os.getloadavg()
    print(f"Optuna {optuna.__version__} adapter vs bare ask/tell loop: {args.n} suggestions x {args.repeats} "
          f"repeats on {table.describe()}, encoding {enc.name}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs (timings are medians over repeats; a loaded machine makes them noisy)")
    worst = 0.0
    for name in [s.strip() for s in args.optimizers.split(",") if s.strip()]:
        cls = get_optimizer(name)
        bare, ours = [], []
        _bare(cls, enc, table, min(args.n, 30), args.seed)  # warm-up: imports, lazy tables
        _adapter(cls, enc, table, min(args.n, 30), args.seed)
        for r in range(args.repeats):
            seed = args.seed + r
            tb, pb = _bare(cls, enc, table, args.n, seed)
            ta, pa = _adapter(cls, enc, table, args.n, seed)
            if pa != pb:
                print(f"{name}: the adapter and the bare loop made DIFFERENT suggestions (seed {seed})")
                return 1
            bare.append(tb / args.n)
            ours.append(ta / args.n)
        # the median of the paired ratios: each pair ran back to back, so slow drifts of the machine's load cancel
        overhead = 100.0 * (median(a / b for a, b in zip(ours, bare)) - 1.0)
        worst = max(worst, overhead)
        print(f"{name:16s} same suggestions; per suggestion: bare {median(bare) * 1e3:8.3f} ms, adapter "
              f"{median(ours) * 1e3:8.3f} ms (min {min(bare) * 1e3:.3f} / {min(ours) * 1e3:.3f} ms); "
              f"overhead {overhead:+6.2f} %")
    verdict = "OK" if worst <= args.target else "MISSED"
    print(f"largest overhead {worst:+.2f} %; target <= {args.target:g} %: {verdict}")
    return 0
