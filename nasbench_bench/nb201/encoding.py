"""The NAS-Bench-201 search encoding: one op per edge of the 4-node cell (6 edges x 5 ops = 15,625 cells)."""

from __future__ import annotations

import numpy as np

from nasbench_bench.encodings import Encoding, Param

__all__ = ["NB201_OPS", "EncodingNB201"]

NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class EncodingNB201(Encoding):
    """NAS-Bench-201: one op categorical per edge of the 4-node cell (6 edges x 5 ops = 15,625 cells)."""

    name = "nb201"
    benchmark = "nb201"
    params = tuple(Param(f"Op{i}", "cat", NB201_OPS) for i in range(6))
    _weights = 5 ** np.arange(5, -1, -1, dtype=np.int64)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(vectors)).astype(np.int64) @ self._weights

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector
        return int(((((v[0] * 5 + v[1]) * 5 + v[2]) * 5 + v[3]) * 5 + v[4]) * 5 + v[5])

    def cell_ids(self) -> np.ndarray:
        idx = np.arange(5**6)
        digits = [(idx // 5**p) % 5 for p in range(5, -1, -1)]
        return np.array(["".join(str(d[i]) for d in digits) for i in idx], dtype="S6")
