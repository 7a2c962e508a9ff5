"""Local search as in White et al. (2021), "Exploring the loss landscape in neural architecture search"."""

from __future__ import annotations

from nasbench_bench.optimizer import Optimizer
from nasbench_bench.oracle import Oracle


class LocalSearch(Optimizer):
    """First-improvement hill climbing over the encoding's neighbourhood, restarted at every local optimum.

    Start from a uniformly random valid configuration (invalid draws are evaluated, cost nothing, and are
    redrawn). Visit its neighbours (:meth:`Encoding.neighbours`: one op or one edge changed, in the encoding's
    own terms) in a random order and move to the first one whose validation accuracy is strictly higher; when
    no neighbour is better the current cell is a local optimum and the search restarts from a new random
    configuration. A cell already evaluated in this run is not evaluated again while climbing: its last
    observed accuracy is used (this is what keeps every climb finite); restarts are always evaluated. Invalid
    neighbours are evaluated like any configuration (free) and never moved to.

    Random stream, in order: ``encoding.sample(rng)`` per restart draw, ``rng.permutation(m)`` per neighbourhood.
    """

    name = "ls"
    defaults: dict[str, object] = {}

    def run(self, oracle: Oracle) -> None:
        enc, rng, evaluate_cell = self.encoding, self.rng, oracle.evaluate_cell
        seen: dict[int, float] = {}  # cell -> last observed validation accuracy
        while True:
            ev = evaluate_cell(cell := enc.cell_index(current := enc.sample(rng)))
            while not ev.valid:
                ev = evaluate_cell(cell := enc.cell_index(current := enc.sample(rng)))
            acc = seen[cell] = ev.valid_acc
            improved = True
            while improved:
                improved = False
                neighbours = enc.neighbours(current)
                cells = enc.cell_indices(neighbours).tolist()
                for j in rng.permutation(len(cells)).tolist():
                    c = cells[j]
                    a = seen.get(c) if c >= 0 else None
                    if a is None:
                        ev = evaluate_cell(c)
                        if not ev.valid:
                            continue
                        a = seen[c] = ev.valid_acc
                    if a > acc:
                        current, cell, acc, improved = neighbours[j], c, a, True
                        break
