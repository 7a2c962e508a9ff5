"""nasbench_bench: honest, fast, reproducible benchmarking of NAS optimizers on tabular benchmarks."""

from __future__ import annotations

import logging

from nasbench_bench.spec import OPS, InvalidSpecError, ModelSpec, OutOfDomainError, is_valid
from nasbench_bench.table import Table

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["OPS", "InvalidSpecError", "ModelSpec", "OutOfDomainError", "Table", "__version__", "is_valid"]
