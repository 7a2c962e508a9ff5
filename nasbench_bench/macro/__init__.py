"""The NAS-Bench-Macro family (Su et al., CVPR 2021): a macro search space of 8 layers x 3 blocks on CIFAR-10.

Data flow inside the family: the authors' json shipped in ``nas-bench-macro/`` (Apache-2.0, unchanged) -> the table
store (:mod:`.data`) -> the encoding (:mod:`.encoding`: 6,561 configurations, all valid, onto 3,969 distinct networks).

Benchmark ``macro-cifar10`` (real): 3 independent trainings per network, test accuracy only, no validation split
(the search sees one drawn training's test accuracy, regret is on the mean of the three), no recorded cost (unit
cost: the budget counts evaluations); ``columns`` ``params`` and ``flops``.
"""

from __future__ import annotations

from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.macro.encoding import EncodingMacro
from nasbench_bench.table import Table

__all__ = ["FAMILY"]


def _load(path: Path | None) -> Table:
    from nasbench_bench.macro.data import load_macro

    return load_macro()


FAMILY = BenchmarkFamily(
    name="macro",
    benchmarks=(
        Benchmark("macro-cifar10", _load,
                  "image: NAS-Bench-Macro on CIFAR-10, 3,969 networks (6,561 configurations) x 3 trainings, "
                  "test accuracy (no validation split), unit cost (real)",
                  cost_unit="evaluations", domain="image"),
    ),
    encodings={"macro": EncodingMacro},
    default_encoding="macro",
)
