"""Regularized evolution (Real et al. 2019) with the NAS-Bench-101 paper's settings."""

from __future__ import annotations

from collections import deque

from nasbench_bench.optimizer import Optimizer
from nasbench_bench.oracle import Oracle
from optimizers._stream import UniformStream


class RegularizedEvolution(Optimizer):
    """Aging evolution: a random initial population, then tournament selection and one-parameter mutation.

    Fitness is the observed validation accuracy; invalid configurations get fitness 0 and age out.
    """

    name = "re"
    defaults = {"population_size": 100, "tournament_size": 10}

    def run(self, oracle: Oracle) -> None:
        enc, pop_size, k = self.encoding, int(self.hp["population_size"]), int(self.hp["tournament_size"])
        u = UniformStream(self.rng)
        sizes = [p.n_values for p in enc.params]
        lowers = [p.lower if p.kind != "cat" else 0 for p in enc.params]
        uppers = [p.upper for p in enc.params]
        population: deque[tuple[list[float], float]] = deque()
        while len(population) < pop_size:
            vec = enc.sample(self.rng)
            population.append((vec.tolist(), self._fitness(oracle, enc.cell_index(vec))))
        dim = len(sizes)
        while True:
            best = None
            for _ in range(k):
                cand = population[u.integer(pop_size)]
                if best is None or cand[1] > best[1]:
                    best = cand
            assert best is not None
            child = list(best[0])
            i = u.integer(dim)
            n = sizes[i]
            if n is None:  # float: a fresh uniform value
                child[i] = lowers[i] + u.next() * (uppers[i] - lowers[i])
            else:  # a different value, uniformly among the other n - 1
                cur = int(child[i] - lowers[i])
                new = u.integer(n - 1)
                child[i] = lowers[i] + (new + 1 if new >= cur else new)
            population.append((child, self._fitness(oracle, enc.cell_index(child))))
            population.popleft()

    @staticmethod
    def _fitness(oracle: Oracle, cell: int) -> float:
        ev = oracle.evaluate_cell(cell)
        return ev.valid_acc if ev.valid else 0.0
