"""Block-drawn uniforms: one Generator call per few thousand draws instead of one per draw.

The sequence depends only on the generator's seed, never on how draws are grouped: ``take(3)`` returns
what three ``next()`` calls would. The oracle and the official-API drop-in draw their trials from it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK", "UniformStream"]

BLOCK = 4096


class UniformStream:
    """Floats in [0, 1) from ``rng`` in blocks of ``block``."""

    __slots__ = ("_block", "_buf", "_i", "_rng")

    def __init__(self, rng: np.random.Generator, block: int = BLOCK) -> None:
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        """The next uniform."""
        i = self._i
        if i >= len(self._buf):
            self._buf = self._rng.random(self._block).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]

    def take(self, m: int) -> list[float]:
        """The next ``m`` uniforms (the same values as ``m`` calls of :meth:`next`)."""
        out: list[float] = []
        while len(out) < m:
            if self._i >= len(self._buf):
                self._buf = self._rng.random(self._block).tolist()
                self._i = 0
            k = min(m - len(out), len(self._buf) - self._i)
            out.extend(self._buf[self._i : self._i + k])
            self._i += k
        return out
