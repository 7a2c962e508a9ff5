"""nasbench_bench: honest, fast, reproducible benchmarking of NAS optimizers on tabular benchmarks.

The package reads as the data flow: a benchmark family's data (``nb101/``, ``nb201/``, registered in
:mod:`.benchmarks`) -> :mod:`.table` (kept by :mod:`.store`) -> :mod:`.oracle` (the simulated clock) ->
:mod:`.optimizer` (the interface; built-ins live in the top-level ``optimizers`` package) -> :mod:`.results`
(one run record per run, driven by :mod:`.experiment` and :mod:`.runner`) -> :mod:`.analysis` -> :mod:`.plots`.
"""

from __future__ import annotations

import logging

from nasbench_bench.table import Table

__version__ = "0.2.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["Table", "__version__", "load", "run"]


def __getattr__(name: str) -> object:  # the notebook API, imported on first use (keeps `import` light)
    if name in ("run", "load", "Results"):
        from nasbench_bench import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'nasbench_bench' has no attribute {name!r}")
