"""``nasbench-bench bench <name>``: performance benchmarks of the suite itself (the top-level ``perf`` package,
imported only when this command runs, never in ordinary use).

Each entry of :data:`BENCHMARKS` names a module exposing ``add_arguments(parser)`` and ``run(args) -> int``
(which prints its figures), with a one-line description. Add an entry to register a new benchmark.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

BENCHMARKS: dict[str, tuple[str, str]] = {
    "data": ("perf.data", "convert / load / query of NB101 data vs the official algorithm"),
    "load": ("perf.first_load", "NB101 first load: converting full-size files vs the official API's load"),
    "oracle": ("perf.oracle", "per-query cost of the oracle vs a bare table lookup"),
    "optimizers": ("perf.optimizers", "many seeds of RS, RE, REINFORCE at the paper's budget"),
    "drivers": ("perf.drivers", "TPE/SMAC/HB/BOHB: our in-process drivers vs the libraries' own"),
    "protocol": ("perf.protocol", "one seed of each built-in at the paper's full protocol (1e7 s, encodings A/B/C)"),
    "workers": ("perf.workers", "per-evaluation cost of the parallel-workers event loop at K = 1, 8, 64"),
    "optuna": ("perf.optuna", "per-suggestion overhead of the Optuna adapter vs a bare ask/tell loop"),
    "registry": ("perf.registry", "every built-in on every benchmark of a suite (the registry's acceptance loop)"),
    "tables": ("perf.tables", "per benchmark: first conversion, cached load, cost per evaluation vs NB201"),
    "bananas": ("perf.bananas", "BANANAS' per-suggestion cost: ensemble fit, candidates, acquisition"),
}


def register(subparsers: Any) -> None:
    listing = "; ".join(f"{n}: {h}" for n, (_, h) in BENCHMARKS.items())
    p = subparsers.add_parser("bench", help="performance benchmarks of the suite (" + ", ".join(BENCHMARKS) + ")",
                              description=f"Performance benchmarks. {listing}. "
                                          "`nasbench-bench bench NAME --help` lists a benchmark's options.")
    p.add_argument("bench_name", choices=tuple(BENCHMARKS), metavar="NAME", help=", ".join(BENCHMARKS))
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="the benchmark's own options")
    p.set_defaults(func=run)


def bench_parser(name: str) -> tuple[argparse.ArgumentParser, Any]:
    """The option parser of benchmark ``name`` and its module."""
    module_name, help_text = BENCHMARKS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"nasbench-bench bench {name}", description=help_text)
    module.add_arguments(parser)
    return parser, module


def run(args: argparse.Namespace) -> int:
    """Import the benchmark's module, parse its options and run it."""
    parser, module = bench_parser(args.bench_name)
    return int(module.run(parser.parse_args(args.bench_args)) or 0)
