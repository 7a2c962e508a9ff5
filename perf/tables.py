"""``nasbench-bench bench tables``: first conversion and cached load time of registered benchmarks.

For each benchmark matching ``--benchmarks`` (comma-separated names or shell patterns, e.g. ``tnb101-*``), two
fresh Python processes time ``load_benchmark(name)`` (only that call, not the interpreter start-up or imports):
the first in an empty private cache directory (the first use: conversion from the shipped data, plus reading
the result), the second in the same directory (the cached load). Benchmarks that share one cache (e.g. the 7
tasks of a TransNAS-Bench-101 space) each convert it in their own empty directory. Prints ``uptime`` first:
figures are only comparable at a similar load.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, time
import nasbench_bench.table  # imports outside the timed call
from nasbench_bench.benchmarks import load_benchmark
t0 = time.perf_counter()
t = load_benchmark(sys.argv[1])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "cells": t.n_cells}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmarks", default="tnb101-*",
                        help="comma-separated benchmark names or patterns (default: tnb101-*)")
    parser.add_argument("--repeat", type=int, default=3, help="cached loads per benchmark (the minimum is shown)")


def _time(name: str, cache: str) -> dict[str, float]:
    env = {**os.environ, "NASBENCH_BENCH_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", _CHILD, name], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import benchmark_names, synthetic_benchmarks

    patterns = [p.strip() for p in args.benchmarks.split(",") if p.strip()]
    known = benchmark_names()
    names = [n for n in known if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    if not names:
        print(f"error: no benchmark matches {args.benchmarks!r}; valid: {', '.join(known)}", file=sys.stderr)
        return 2
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"{'benchmark':34} {'cells':>7} {'first use (s)':>14} {'cached (s)':>11}")
    synthetic = synthetic_benchmarks()
    for name in names:
        with tempfile.TemporaryDirectory(prefix="nbb-bench-tables-") as cache:
            first = _time(name, cache)
            cached = min(_time(name, cache)["seconds"] for _ in range(max(1, args.repeat)))
        mark = " (SYNTHETIC)" if name in synthetic else ""
        print(f"{name:34} {first['cells']:>7,} {first['seconds']:>14.3f} {cached:>11.4f}{mark}")
    return 0
