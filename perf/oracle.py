"""``nasbench-bench bench oracle``: per-query cost of the oracle against the bare table lookup."""

from __future__ import annotations

import argparse
import time

import numpy as np

from nasbench_bench.benchmarks import get_encoding
from nasbench_bench.oracle import Oracle


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="nb101-synthetic", help="benchmark name (default: nb101-synthetic)")
    parser.add_argument("--encoding", default=None, help="encoding (default: the benchmark's default)")
    parser.add_argument("--queries", type=int, default=200_000)


def _per_call(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn(n)
    return (time.perf_counter() - t0) / n * 1e6


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import default_encoding, load_benchmark

    table = load_benchmark(args.benchmark)
    enc = get_encoding(args.encoding or default_encoding(args.benchmark))
    n = args.queries
    rng = np.random.default_rng(0)
    vectors = enc.sample(rng, 20_000)
    cells = enc.cell_indices(vectors)
    cells = cells[cells >= 0]
    print(table.describe())
    print(f"encoding {enc.name}: {len(cells):,} of 20,000 random configurations valid")
    oracle = Oracle(table, enc, 1e300, seed=0)
    rows = table.rows(enc.cell_ids())[cells]
    b = len(table.budgets) - 1
    valid, ttime, trials = table.valid_acc, table.train_time, table.n_trials
    draws = rng.random(n).tolist()
    row_list = rows.tolist()
    m = len(row_list)

    def bare(k: int) -> None:  # the unavoidable work: draw a trial, read time and accuracy
        clock = 0.0
        for i in range(k):
            r = row_list[i % m]
            t = int(draws[i] * trials[r, b])
            clock += float(ttime[r, b, t])
            float(valid[r, b, t])

    cell_list = cells.tolist()

    def by_cell(k: int) -> None:
        ev = oracle.evaluate_cell
        for i in range(k):
            ev(cell_list[i % m])

    vec_list = [v for v, c in zip(vectors, enc.cell_indices(vectors)) if c >= 0]

    def by_vector(k: int) -> None:
        ev = oracle.evaluate
        for i in range(k):
            ev(vec_list[i % m])

    dicts = [enc.to_config(v) for v in vec_list[:2000]]

    def by_dict(k: int) -> None:
        ev = oracle.evaluate
        for i in range(k):
            ev(dicts[i % len(dicts)])

    base = _per_call(bare, n)
    print(f"naive lookup in the separate arrays {base:5.2f} us/query (baseline)")
    for label, fn, k in (
        ("oracle.evaluate_cell", by_cell, n),
        ("oracle.evaluate(vector)", by_vector, n // 4),
        ("oracle.evaluate(dict)", by_dict, n // 10),
    ):
        us = _per_call(fn, k)
        print(f"{label:32s} {us:7.2f} us/query  (overhead over baseline {us - base:+.2f} us)")
    print("target: a few microseconds of overhead per query")
    return 0
