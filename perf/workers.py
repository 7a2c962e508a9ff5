"""``nasbench-bench bench workers``: per-evaluation cost of the event simulation with K = 1, 8, 64 workers.

Every K runs the same optimizer on the same benchmark in this process, through the same event loop
(:mod:`nasbench_bench.simulator`), for about ``--evals`` evaluations (the budget shrinks as 1/K); the best of
``--repeat`` runs counts. The sequential protocol (``run()``, what ``--workers 1`` uses) is printed as a reference.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nasbench_bench.benchmarks import get_encoding
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
from nasbench_bench.simulator import run_parallel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="nb201-cifar10", help="benchmark name (default: nb201-cifar10)")
    parser.add_argument("--optimizers", default="rs,re", help="comma-separated optimizers (default: rs,re)")
    parser.add_argument("--workers", default="1,8,64", help="comma-separated K (default: 1,8,64)")
    parser.add_argument("--evals", type=int, default=50_000, help="evaluations per measurement (about)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per K; the fastest counts")


def _load() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "unknown"


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import default_encoding, load_benchmark

    table = load_benchmark(args.benchmark)
    enc = get_encoding(default_encoding(args.benchmark))
    ks = [int(k) for k in args.workers.split(",")]
    mean_cost = float(np.nanmean(np.asarray(table.train_time)[:, -1, :]))
    print(table.describe())
    print(f"load average before: {_load()}")
    for name in args.optimizers.split(","):
        cls = get_optimizer(name)

        def measure(k: int | None, cls: type = cls) -> tuple[float, int]:
            best, n = float("inf"), 0
            for rep in range(args.repeat):
                budget = args.evals * mean_cost / (k or 1)  # K workers spend K x the budget
                oracle = Oracle(table, enc, budget, seed=rep, limits=None)
                opt = cls(enc, seed=rep)
                t0 = time.perf_counter()
                traj = run_optimizer(opt, oracle) if k is None else run_parallel(opt, oracle, k)
                dt = time.perf_counter() - t0
                if dt / max(1, len(traj)) < best:
                    best, n = dt / max(1, len(traj)), len(traj)
            return best * 1e6, n

        seq, n_seq = measure(None)
        print(f"{name}: sequential run() {seq:7.2f} us/evaluation ({n_seq:,} evaluations)")
        base = None
        for k in ks:
            us, n = measure(k)
            base = us if base is None else base
            print(f"{name}: K={k:<4d} event loop {us:7.2f} us/evaluation ({n:,} evaluations)  "
                  f"x{us / base:.2f} vs K={ks[0]}")
    print(f"load average after: {_load()}")
    return 0
