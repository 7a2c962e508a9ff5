"""The NAS-Bench-Graph proteins family: ``graph-proteins`` (ogbn-proteins), its own space of 5 ops, 2,021 architectures.

A family of its own because its configurations (link pattern + 4 of the 5 ops of the package's
``gnn_list_proteins``) and cells differ from the other datasets' (see :mod:`nasbench_bench.graph`).
"""

from __future__ import annotations

from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.graph import describe
from nasbench_bench.graph.encoding import EncodingGraphProteins
from nasbench_bench.table import Table

__all__ = ["FAMILY"]


def _load(path: Path | None) -> Table:
    from nasbench_bench.graph.data import load_graph

    return load_graph("proteins")


FAMILY = BenchmarkFamily(
    name="graph-proteins",
    benchmarks=(Benchmark("graph-proteins", _load, describe("proteins"), cost_unit="evaluations",
                          domain="graph"),),
    encodings={"graph-proteins": EncodingGraphProteins},
    default_encoding="graph-proteins",
)
