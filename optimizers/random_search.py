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

    def ask(self) -> np.ndarray:
        """One uniform configuration (the same stream as :meth:`run`'s blocks)."""
        return self.encoding.sample(self.rng)

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "block", integer=True, minimum=1)

    def run(self, oracle: Oracle) -> None:
        block = int(self.hp["block"])
        while True:
            oracle.evaluate_cells(self.encoding.cell_indices(self.encoding.sample(self.rng, block)))
