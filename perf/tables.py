"""``nasbench-bench bench tables``: per benchmark, the first conversion, the cached load and the oracle's cost per
evaluation, against ``nb201-cifar10`` measured in the same run.

Each figure is taken in a fresh Python process: the conversion with an empty private cache (first use: everything
the benchmark needs is converted, e.g. a family's whole shipped file), the cached load in a second process on the
warm cache (``load_benchmark`` only, imports excluded), then the per-evaluation cost of ``Oracle.evaluate_cell``
over random valid cells in that process. Targets (issue "diverse real tasks offline"): cached load < 0.5 s,
conversion < 15 s, per-evaluation cost within +-20 % of NB201's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

BASELINE = "nb201-cifar10"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmarks", default=None,
                        help="comma-separated benchmarks (default: every benchmark of the suite 'real')")
    parser.add_argument("--evaluations", type=int, default=100_000, help="evaluations timed per benchmark")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of the evaluation loop (min kept)")


def _worker(name: str, n: int, repeats: int) -> dict:
    """In a fresh process: load the table (timed), then time ``n`` evaluations of random valid cells."""
    import time

    import numpy as np

    from nasbench_bench.benchmarks import default_encoding, get_encoding, load_benchmark
    from nasbench_bench.oracle import Oracle

    t0 = time.perf_counter()
    table = load_benchmark(name)
    load_s = time.perf_counter() - t0
    enc = get_encoding(default_encoding(name))
    rng = np.random.default_rng(0)
    cells = enc.cell_indices(enc.sample(rng, 20_000))
    cells = cells[cells >= 0].tolist()
    best = float("inf")
    for _ in range(repeats):
        oracle = Oracle(table, enc, 1e300, seed=0)
        ev = oracle.evaluate_cell
        m = len(cells)
        t0 = time.perf_counter()
        for i in range(n):
            ev(cells[i % m])
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
    return {"benchmark": name, "load_s": load_s, "us_per_eval": best, "cells": table.n_cells,
            "cost_model": table.cost_model}


def _in_process(code: str, cache: str) -> dict:
    env = {**os.environ, "NASBENCH_BENCH_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import suite

    names = [b.strip() for b in args.benchmarks.split(",")] if args.benchmarks else list(suite("real"))
    if BASELINE not in names:
        names.insert(0, BASELINE)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{args.evaluations:,} evaluations x {args.repeats} per benchmark (min kept)")
    print(f"{'benchmark':34s} {'cells':>8s} {'cost':>8s} {'convert s':>10s} {'load s':>8s} {'us/eval':>8s} "
          f"{'vs NB201':>8s}")
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="nbb-bench-tables-") as cache:
            conv = _in_process(
                "import json, time; t = time.perf_counter(); from nasbench_bench.benchmarks import load_benchmark; "
                f"t1 = time.perf_counter(); load_benchmark({name!r}); "
                "print(json.dumps({'convert_s': time.perf_counter() - t1}))", cache)
            warm = _in_process(
                f"import json; from perf.tables import _worker; "
                f"print(json.dumps(_worker({name!r}, {args.evaluations}, {args.repeats})))", cache)
        rows.append({**warm, **conv})
    base = next(r for r in rows if r["benchmark"] == BASELINE)["us_per_eval"]
    worst_load = worst_conv = 0.0
    for r in rows:
        worst_load, worst_conv = max(worst_load, r["load_s"]), max(worst_conv, r["convert_s"])
        print(f"{r['benchmark']:34s} {r['cells']:8,d} {r['cost_model']:>8s} {r['convert_s']:10.2f} "
              f"{r['load_s']:8.3f} {r['us_per_eval']:8.2f} {r['us_per_eval'] / base:8.2f}")
    ratios = [r["us_per_eval"] / base for r in rows]
    print(f"{len(rows)} benchmarks: slowest first conversion {worst_conv:.2f} s, slowest cached load "
          f"{worst_load:.3f} s, per-evaluation cost {min(ratios):.2f}-{max(ratios):.2f} x {BASELINE}'s ({base:.2f} us)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0
