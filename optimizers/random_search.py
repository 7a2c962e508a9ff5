"""Random search: configurations drawn uniformly from the encoding."""

from __future__ import annotations

from nasbench_bench.optimizer import Optimizer
from nasbench_bench.oracle import Oracle


class RandomSearch(Optimizer):
    """Uniform sampling over the encoding (paper: RS). Draws and maps configurations in vectorised blocks."""

    name = "rs"
    defaults = {"block": 256}

    def run(self, oracle: Oracle) -> None:
        block = int(self.hp["block"])
        while True:
            cells = self.encoding.cell_indices(self.encoding.sample(self.rng, block))
            for cell in cells.tolist():
                oracle.evaluate_cell(cell)
