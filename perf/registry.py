"""``nasbench-bench bench registry``: the acceptance loop of the benchmark registry.

For every benchmark of a suite (default: ``real``, every real benchmark that ships with the package) it runs
``nasbench-bench run --benchmark B --optimizers rs,re,reinforce,tpe,smac,hb,bohb,ls,asha --seeds 0-1`` with a
small budget into a temporary directory, then ``report`` on it, and prints one line per benchmark: runs done /
failed, the wall time, and the first error. Exit 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

OPTIMIZERS = "rs,re,reinforce,tpe,smac,hb,bohb,ls,asha"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default="real", help="suite to loop over (default: real)")
    parser.add_argument("--benchmarks", default=None, help="comma-separated benchmarks instead of --suite")
    parser.add_argument("--optimizers", default=OPTIMIZERS, help=f"default: {OPTIMIZERS}")
    parser.add_argument("--seeds", default="0-1")
    parser.add_argument("--budget", default="40 evaluations",
                        help="budget per run (default: 40 evaluations = 40 x each table's mean cost)")
    parser.add_argument("--jobs", type=int, default=2)


def run(args: argparse.Namespace) -> int:
    from nasbench_bench.benchmarks import suite

    names = [b.strip() for b in args.benchmarks.split(",")] if args.benchmarks else list(suite(args.suite))
    print(f"load average {os.getloadavg()[0]:.2f}; {len(names)} benchmarks x [{args.optimizers}] x seeds "
          f"{args.seeds}, budget {args.budget!r}, --jobs {args.jobs}", flush=True)
    bad = 0
    t_all = time.perf_counter()
    for name in names:
        with tempfile.TemporaryDirectory(prefix="nbb-registry-") as tmp:
            cmd = [sys.executable, "-m", "nasbench_bench.cli", "run", "--benchmark", name, "--optimizers",
                   args.optimizers, "--seeds", args.seeds, "--budget", args.budget, "--out", tmp, "--jobs",
                   str(args.jobs), "--no-progress"]
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            rep = subprocess.run([sys.executable, "-m", "nasbench_bench.cli", "report", tmp],
                                 capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
        summary = next((ln for ln in out.stdout.splitlines() if " runs: " in ln), out.stderr.strip()[-200:])
        ok = out.returncode == 0 and " 0 failed" in summary and rep.returncode == 0
        bad += not ok
        first_error = ""
        if not ok:
            lines = [ln.strip() for ln in (out.stdout + out.stderr + rep.stderr).splitlines() if ln.strip()]
            first_error = next((ln for ln in lines if "error" in ln.lower() or ln.startswith("  ")), lines[-1:])
        print(f"{'ok  ' if ok else 'FAIL'} {name:34s} {wall:6.1f} s  {summary.strip()}"
              + (f"  | {first_error}" if first_error else ""), flush=True)
    print(f"{len(names) - bad} of {len(names)} benchmarks ran every optimizer cleanly "
          f"({time.perf_counter() - t_all:.0f} s; load average {os.getloadavg()[0]:.2f})")
    return 1 if bad else 0
