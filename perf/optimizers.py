"""``nasbench-bench bench optimizers``: many seeds of the fast built-ins at the paper's budget."""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="nb101-synthetic")
    parser.add_argument("--encoding", default="A")
    parser.add_argument("--optimizers", default="rs,re,reinforce")
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--budget", type=float, default=1e7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--target", type=float, default=60.0, help="target wall-clock seconds for everything")


def _work(job: tuple[str, str, str, float, list[int]]) -> tuple[str, int, float, list[float]]:
    from nasbench_bench.benchmarks import get_encoding, load_benchmark
    from nasbench_bench.optimizer import get_optimizer, run_optimizer
    from nasbench_bench.oracle import Oracle

    benchmark, encoding, name, budget, seeds = job
    table, enc = load_benchmark(benchmark), get_encoding(encoding)
    enc.cell_indices(enc.sample(np.random.default_rng(0), 2))  # warm the lookup tables outside the clock
    cls = get_optimizer(name)
    evals, finals = 0, []
    t0 = time.perf_counter()
    for seed in seeds:
        tr = run_optimizer(cls(enc, seed=seed), Oracle(table, enc, budget, seed=seed))
        evals += len(tr)
        finals.append(float(tr.regret[-1]))
    return name, evals, time.perf_counter() - t0, finals


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    chunks = np.array_split(np.arange(args.seeds), max(1, args.jobs * 4))
    jobs = [(args.benchmark, args.encoding, n, args.budget, c.tolist()) for n in names for c in chunks if len(c)]
    print(
        f"{len(names)} optimizers x {args.seeds} seeds at {args.budget:g} s on {args.benchmark} "
        f"(encoding {args.encoding}), {args.jobs} processes"
    )
    t0 = time.perf_counter()
    totals: dict[str, list[float]] = {n: [0, 0.0] for n in names}
    finals: dict[str, list[float]] = {n: [] for n in names}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        for name, evals, secs, fin in pool.map(_work, jobs):
            totals[name][0] += evals
            totals[name][1] += secs
            finals[name] += fin
    wall = time.perf_counter() - t0
    for n in names:
        evals, secs = totals[n]
        print(
            f"{n:10s} {evals:>11,} evaluations  {secs:7.1f} CPU-s in workers  {secs / evals * 1e6:6.2f} us/eval  "
            f"mean final regret {np.mean(finals[n]):.5f}"
        )
    verdict = "OK" if wall <= args.target else "MISSED"
    print(f"wall clock (incl. worker start-up and table loading): {wall:.1f} s; target <= {args.target:g} s: {verdict}")
    return 0
