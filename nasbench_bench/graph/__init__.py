"""The NAS-Bench-Graph family (Qin et al., NeurIPS 2022 Datasets and Benchmarks): GNN architectures on 9 graph datasets.

Data flow inside the family: the PyPI package ``nas-bench-graph==1.4.0`` (its ``light/*.bench`` pickles, read with
a restricted unpickler after a sha256 check) -> the table store (:mod:`.data`) -> the encodings (:mod:`.encoding`),
whose configuration -> cell rule is :mod:`.space`. Provenance and licence: ``PROVENANCE.md`` and ``LICENSE`` here.

Two families, because proteins has its own op list (so its own configurations and cells):

* ``graph`` (this module): ``graph-D`` for ``D`` in cora, citeseer, pubmed, cs, physics, photo, computers, arxiv;
  26,206 architectures, encoding ``graph`` (link pattern + 4 of 9 ops);
* ``graph-proteins`` (:mod:`.proteins`): ``graph-proteins``, 2,021 architectures, encoding ``graph-proteins``
  (link pattern + 4 of 5 ops).

Every benchmark: search on the recorded validation performance, regret on the recorded test performance (accuracy;
ROC-AUC on proteins), one value per architecture, **unit cost** (no training times recorded: the budget counts
evaluations), latency and parameter count as table columns.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.graph.encoding import EncodingGraph
from nasbench_bench.table import Table

__all__ = ["DATASETS", "FAMILY", "describe"]

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv")


def describe(dataset: str) -> str:
    """The one-line benchmark description: domain, size, metric, cost model."""
    from nasbench_bench.graph.data import METRIC, N_ARCHS

    m = METRIC[dataset]
    return (f"graph: NAS-Bench-Graph {dataset}, {N_ARCHS[dataset]:,} GNN architectures; search on validation {m}, "
            f"TEST {m} regret; unit cost (budget = evaluations)")


def _load(dataset: str, path: Path | None) -> Table:
    from nasbench_bench.graph.data import load_graph

    return load_graph(dataset)


FAMILY = BenchmarkFamily(
    name="graph",
    benchmarks=tuple(Benchmark(f"graph-{d}", partial(_load, d), describe(d), cost_unit="evaluations",
                               domain="graph")
                     for d in DATASETS),
    encodings={"graph": EncodingGraph},
    default_encoding="graph",
)
