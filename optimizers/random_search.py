"""Random search: configurations drawn uniformly from the encoding."""

from __future__ import annotations

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Oracle


class RandomSearch(Optimizer):
    """Uniform sampling over the encoding (paper: RS), drawn, mapped and evaluated in vectorised blocks."""

    name = "rs"
    defaults = {"block": 256}
    pending_asks = True  # parallel form: every free worker evaluates a fresh uniform draw

    def setup(self) -> None:
        self._initial: list[np.ndarray] = []

    def set_initial(self, vectors: list[np.ndarray]) -> None:
        """Evaluate these configurations first, then uniform ones. Used by ``zc:rs`` (zero-cost warm-up)."""
        self._initial = [np.asarray(v, dtype=float) for v in vectors]

    def ask(self) -> np.ndarray:
        """One uniform configuration (the same stream as :meth:`run`'s blocks), after any initial ones."""
        if self._initial:
            return self._initial.pop(0)
        return self.encoding.sample(self.rng)

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "block", integer=True, minimum=1)

    def run(self, oracle: Oracle) -> None:
        block = int(self.hp["block"])
        if self._initial:
            oracle.evaluate_cells(self.encoding.cell_indices(np.array(self._initial)))
        while True:
            oracle.evaluate_cells(self.encoding.cell_indices(self.encoding.sample(self.rng, block)))
