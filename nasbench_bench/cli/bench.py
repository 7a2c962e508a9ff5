"""``nasbench-bench bench <name>``: performance benchmarks of the suite itself.

Each entry of :data:`BENCHMARKS` names a module exposing ``add_arguments(parser)`` and ``run(args) -> int``
(which prints its figures). Add an entry to register a new benchmark.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

BENCHMARKS: dict[str, str] = {
    "data": "nasbench_bench.bench.data",
    "oracle": "nasbench_bench.bench.oracle",
    "optimizers": "nasbench_bench.bench.optimizers",
    "drivers": "nasbench_bench.bench.drivers",
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="performance benchmarks (" + ", ".join(BENCHMARKS) + ")")
    sub = p.add_subparsers(dest="bench_name", required=True)
    for name, module_name in BENCHMARKS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        bp = sub.add_parser(name, help=(module.__doc__ or name).strip().splitlines()[0])
        module.add_arguments(bp)
        bp.set_defaults(func=_runner(module))


def _runner(module: Any):
    def run(args: argparse.Namespace) -> int:
        return int(module.run(args) or 0)

    return run
