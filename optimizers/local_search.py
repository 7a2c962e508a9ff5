"""Local search as in White et al. (2021), "Exploring the loss landscape in neural architecture search"."""

from __future__ import annotations

import numpy as np

from nasbench_bench.optimizer import Optimizer
from nasbench_bench.oracle import Evaluation, Oracle


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
    #: Parallel form: the climb's neighbourhood is evaluated by all free workers at once, in the same random order;
    #: the first improving neighbour to *complete* moves the climber (results of the old neighbourhood still
    #: running are recorded as seen, never moved to); a free worker with no unvisited neighbour left waits while
    #: neighbours are running, and restarts the search when none is (a local optimum). Restart draws go to every
    #: free worker until one valid start completes. With one worker this is exactly :meth:`run`.
    pending_asks = True

    def begin(self, oracle: Oracle, workers: int) -> None:
        self._seen: dict[int, float] = {}
        self._current: tuple[np.ndarray, float] | None = None  # (vector, accuracy) of the climber
        self._queue: list[tuple[np.ndarray, int]] = []  # unvisited neighbours of the climber, in visiting order
        self._generation = 0  # bumped at every move and restart
        self._running = 0  # neighbours of the current generation in flight
        self._asked: dict[int, tuple[int, int]] = {}  # id(vector) -> (generation or -1 for a restart, cell)

    def _move(self, vector: np.ndarray, acc: float) -> None:
        enc = self.encoding
        self._current = (vector, acc)
        self._generation += 1
        self._running = 0
        neighbours = enc.neighbours(vector)
        cells = enc.cell_indices(neighbours).tolist()
        self._queue = [(neighbours[j], cells[j]) for j in self.rng.permutation(len(cells)).tolist()][::-1]

    def ask(self) -> np.ndarray | None:
        enc = self.encoding
        while self._current is not None and self._queue:
            vector, c = self._queue.pop()
            a = self._seen.get(c) if c >= 0 else None
            if a is None:
                self._running += 1
                self._asked[id(vector)] = (self._generation, c)
                return vector
            if a > self._current[1]:
                self._move(vector, a)
        if self._current is not None and self._running:
            return None  # the rest of this neighbourhood is running
        self._current = None  # a local optimum (or no start yet): restart
        vector = enc.sample(self.rng)
        self._asked[id(vector)] = (-1, enc.cell_index(vector))
        return vector

    def tell(self, config: np.ndarray, evaluation: Evaluation) -> None:  # type: ignore[override]
        generation, c = self._asked.pop(id(config))
        if generation == self._generation and self._current is not None:
            self._running -= 1
        if not evaluation.valid:
            return
        self._seen[c] = evaluation.valid_acc
        if generation < 0:
            if self._current is None:
                self._move(config, evaluation.valid_acc)
        elif generation == self._generation and self._current is not None and evaluation.valid_acc > self._current[1]:
            self._move(config, evaluation.valid_acc)

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
