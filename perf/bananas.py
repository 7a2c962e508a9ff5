"""``nasbench-bench bench bananas``: BANANAS' per-suggestion cost (model fit, candidates, acquisition).

Runs BANANAS for ``--evaluations`` evaluations per seed and times every ``ask`` (what a user waits for between
evaluations) and, within each iteration, the ensemble fit; prints the mean per suggestion and per iteration, the
fit's share, and the cost of the last iteration (the largest training set), with the load average.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="nb201-cifar100")
    parser.add_argument("--encoding", default=None, help="default: the benchmark's default encoding")
    parser.add_argument("--evaluations", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=3)


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import default_encoding, get_encoding, load_benchmark
    from nasbench_bench.optimizer import get_optimizer
    from nasbench_bench.oracle import BudgetExhausted, Oracle

    table = load_benchmark(args.benchmark)
    enc = get_encoding(args.encoding or default_encoding(args.benchmark))
    cls = get_optimizer("bananas")
    load0 = os.getloadavg()[0]
    asks: list[float] = []
    batches: list[float] = []
    fits: list[float] = []
    for seed in range(args.seeds):
        opt = cls(enc, seed=seed)
        oracle = Oracle(table, enc, 1e15, seed=seed, max_evaluations=args.evaluations)

        opt.begin(oracle, 1)
        ens_fit = opt._ensemble.fit

        def timed_fit(*a, _f=ens_fit, **k):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            _f(*a, **k)
            fits.append(time.perf_counter() - t0)

        opt._ensemble.fit = timed_fit  # type: ignore[method-assign]
        try:
            while True:
                n_before = opt.iterations
                t0 = time.perf_counter()
                config = opt.ask()
                dt = time.perf_counter() - t0
                asks.append(dt)
                if opt.iterations != n_before:
                    batches.append(dt)
                opt.tell(config, oracle.evaluate(config))
        except BudgetExhausted:
            pass
    load1 = os.getloadavg()[0]
    a, b, f = np.array(asks), np.array(batches), np.array(fits)
    print(f"BANANAS on {args.benchmark} (encoding {enc.name}), {args.evaluations} evaluations x {args.seeds} seeds; "
          f"load average {load0:.2f} -> {load1:.2f}")
    print(f"  per suggestion: mean {a.mean() * 1e3:.1f} ms over {len(a)} asks (including the initial random ones)")
    print(f"  per iteration (fit {opt.hp['num_ensemble']} nets + candidates + ITS, k={opt.hp['k']}): mean "
          f"{b.mean():.3f} s over {len(b)} iterations, ensemble fit {f.sum() / b.sum():.0%} of it; "
          f"last iteration {b[-1]:.3f} s")
    return 0
