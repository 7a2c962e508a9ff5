"""Random search: configurations drawn uniformly from the encoding."""

from __future__ import annotations

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Oracle


class RandomSearch(Optimizer):
    """Uniform sampling over the encoding (paper: RS), drawn, mapped and evaluated in vectorised blocks."""

    name = "rs"
    defaults = {"block": 256}

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "block", integer=True, minimum=1)

    def run(self, oracle: Oracle) -> None:
        block = int(self.hp["block"])
        while True:
            oracle.evaluate_cells(self.encoding.cell_indices(self.encoding.sample(self.rng, block)))
