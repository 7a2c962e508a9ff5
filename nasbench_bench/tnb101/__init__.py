"""The TransNAS-Bench-101 families (Duan et al., CVPR 2021): 7 Taskonomy tasks on two search spaces.

Two families share this folder, one per search space (a family is one cell space with its encodings):

* ``tnb101-micro`` (:mod:`.micro`): the 4-node cell, 6 edges x 4 ops = 4,096 cells (encoding ``tnb101-micro``);
* ``tnb101-macro`` (:mod:`.macro`): the network skeleton, 4-6 modules coded 1-4 = 3,256 networks (encoding
  ``tnb101-macro``; see :mod:`.encoding` for its invalid / duplicate rule and neighbourhood).

Data flow: the two NASLib zips shipped in ``data/`` (real data; ``data/PROVENANCE.md``, both licences) -> the
table store (:mod:`.tables`, converted once) -> one :class:`~nasbench_bench.table.Table` per space and task.

Benchmarks ``tnb101-<space>-<task>`` for ``space`` in ``micro``, ``macro`` and ``task`` one of TransNAS-Bench-101's
own task names :data:`~.tables.TASKS`: ``class_object``, ``class_scene``, ``jigsaw`` (top-1 accuracy),
``segmentsemantic`` (pixel accuracy), ``room_layout`` (negative L2 loss), ``normal``, ``autoencoder`` (SSIM).
One value per cell, no test split: the search and the regret see the same validation value. Unit cost (no
training times recorded): the budget counts evaluations.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from nasbench_bench.benchmarks import Benchmark, BenchmarkFamily
from nasbench_bench.table import Table
from nasbench_bench.tnb101.encoding import EncodingTNB101Macro, EncodingTNB101Micro
from nasbench_bench.tnb101.tables import N_CELLS, SPACES, TASKS

__all__ = ["SPACES", "TASKS", "benchmark_name", "family"]


def benchmark_name(space: str, task: str) -> str:
    """``tnb101-<space>-<task>``."""
    return f"tnb101-{space}-{task}"


def _load(space: str, task: str, path: Path | None) -> Table:
    from nasbench_bench.tnb101.tables import load_tnb101

    return load_tnb101(space, task)


def _description(space: str, task: str) -> str:
    what = "cells" if space == "micro" else "networks"
    return (f"TransNAS-Bench-101 {space}, {task} (taskonomy, real): {N_CELLS[space]:,} {what}, validation "
            f"{TASKS[task].metric} (search = regret), unit cost (budget = evaluations)")


def family(space: str) -> BenchmarkFamily:
    """The family of one TransNAS-Bench-101 search space (``"micro"`` or ``"macro"``)."""
    if space not in SPACES:
        raise ValueError(f"unknown TransNAS-Bench-101 space {space!r}; valid: {list(SPACES)}")
    enc = EncodingTNB101Micro if space == "micro" else EncodingTNB101Macro
    return BenchmarkFamily(
        name=enc.benchmark,
        benchmarks=tuple(Benchmark(benchmark_name(space, t), partial(_load, space, t), _description(space, t),
                                   cost_unit="evaluations", domain="taskonomy")
                         for t in TASKS),
        encodings={enc.name: enc},
        default_encoding=enc.name,
    )
