"""Block-drawn uniforms: one Generator call per few thousand draws instead of one per draw."""

from __future__ import annotations

import numpy as np


class UniformStream:
    """Serves floats in [0, 1) from ``rng`` in blocks; the sequence depends only on the seed."""

    __slots__ = ("_rng", "_block", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, block: int = 4096) -> None:
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(self._block).tolist()
            self._i = 0
        u = self._buf[self._i]
        self._i += 1
        return u

    def integer(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return int(self.next() * n)
