"""Small structured tables and encodings for fast tests (values are SYNTHETIC).

The toy table's generator lives in :mod:`nasbench_bench.nb201.toy` (benchmark ``"toy"``); re-exported here.
"""

from __future__ import annotations

import numpy as np

from nasbench_bench.encodings import Encoding, Param
from nasbench_bench.nb201.toy import toy_table

__all__ = ["RowEncoding", "toy_table"]


class RowEncoding(Encoding):
    """One integer hyperparameter = the table row: drives any table (here the synthetic NB101 cache) cheaply."""

    name = "rows"
    benchmark = "test-rows"

    def __init__(self, ids: np.ndarray) -> None:
        self._ids = np.asarray(ids)
        self.params = (Param("row", "int", lower=0, upper=len(ids) - 1),)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(vectors))[:, 0].astype(np.int64)

    def cell_ids(self) -> np.ndarray:
        return self._ids
