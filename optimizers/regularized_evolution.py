"""Regularized evolution (Real et al. 2019) with the NAS-Bench-101 paper's settings."""

from __future__ import annotations

from collections import deque

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Oracle


class RegularizedEvolution(Optimizer):
    """Aging evolution: a random initial population, then tournament selection and one-parameter mutation.

    Tournament members are drawn with replacement; the first of equally fit members wins. Mutation changes
    one uniformly chosen hyperparameter to a different value (uniform among the others; floats: a fresh
    uniform value). Fitness is the observed validation accuracy; invalid configurations get 0 and age out.
    """

    name = "re"
    defaults = {"population_size": 100, "tournament_size": 10}

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "population_size", integer=True, minimum=1)
        check_number(cls, hp, "tournament_size", integer=True, minimum=1, maximum=hp["population_size"])

    def run(self, oracle: Oracle) -> None:
        enc, pop_size, k = self.encoding, int(self.hp["population_size"]), int(self.hp["tournament_size"])
        params = enc.params
        sizes = [p.n_values for p in params]
        lowers = [0.0 if p.kind == "cat" else float(p.lower) for p in params]
        spans = [float(p.upper - p.lower) for p in params]
        dim = len(params)
        population: deque[tuple[list[float], float]] = deque()
        while len(population) < pop_size:
            vec = enc.sample(self.rng).tolist()
            population.append((vec, self._fitness(oracle, enc.cell_index(vec))))
        while True:
            # one block of uniforms per 512 generations: k tournament draws, the parameter, its new value
            for draws in self.rng.random((512, k + 2)).tolist():
                best = population[int(draws[0] * pop_size)]
                for j in range(1, k):
                    cand = population[int(draws[j] * pop_size)]
                    if cand[1] > best[1]:
                        best = cand
                child = list(best[0])
                i = int(draws[k] * dim)
                n = sizes[i]
                if n is None:
                    child[i] = lowers[i] + draws[k + 1] * spans[i]
                else:
                    cur = int(child[i] - lowers[i])
                    new = int(draws[k + 1] * (n - 1))
                    child[i] = lowers[i] + (new + 1 if new >= cur else new)
                population.append((child, self._fitness(oracle, enc.cell_index(child))))
                population.popleft()

    @staticmethod
    def _fitness(oracle: Oracle, cell: int) -> float:
        ev = oracle.evaluate_cell(cell)
        return ev.valid_acc if ev.valid else 0.0
