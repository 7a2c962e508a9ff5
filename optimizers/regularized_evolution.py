"""Regularized evolution (Real et al. 2019) with the NAS-Bench-101 paper's settings."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Evaluation, Oracle


class RegularizedEvolution(Optimizer):
    """Aging evolution: a random initial population, then tournament selection and one-parameter mutation.

    Tournament members are drawn with replacement; the first of equally fit members wins. Mutation changes
    one uniformly chosen hyperparameter to a different value (uniform among the others; floats: a fresh
    uniform value). Fitness is the observed validation accuracy; invalid configurations get 0 and age out.
    """

    name = "re"
    defaults = {"population_size": 100, "tournament_size": 10}
    #: Parallel form: asynchronous, as Real et al. (2019) ran it. A free worker samples a random configuration
    #: while the population (of *completed* evaluations) holds fewer than ``population_size`` members, else it
    #: runs a tournament on the current population and mutates the winner; each completed evaluation joins the
    #: population and, once it is full, the oldest member leaves. With one worker this is exactly :meth:`run`.
    pending_asks = True

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "population_size", integer=True, minimum=1)
        check_number(cls, hp, "tournament_size", integer=True, minimum=1, maximum=hp["population_size"])

    def setup(self) -> None:
        self._initial: list[list[float]] = []

    def set_initial(self, vectors: list[np.ndarray]) -> None:
        """Start the initial population with these configurations (the first ``population_size`` of them), then
        fill it with random ones as usual. Used by ``zc:re`` (Mellor et al.'s assisted REA)."""
        self._initial = [np.asarray(v, dtype=float).tolist() for v in vectors][: int(self.hp["population_size"])]

    def run(self, oracle: Oracle) -> None:
        enc, pop_size, k = self.encoding, int(self.hp["population_size"]), int(self.hp["tournament_size"])
        geometry = self._mutation_geometry()
        population: deque[tuple[list[float], float]] = deque()
        seeds = list(self._initial)
        while len(population) < pop_size:
            vec = seeds.pop(0) if seeds else enc.sample(self.rng).tolist()
            population.append((vec, self._fitness(oracle, enc.cell_index(vec))))
        while True:
            # one block of uniforms per 512 generations: k tournament draws, the parameter, its new value
            for draws in self.rng.random((512, k + 2)).tolist():
                child = _child(population, draws, pop_size, k, geometry)
                population.append((child, self._fitness(oracle, enc.cell_index(child))))
                population.popleft()

    def _mutation_geometry(self) -> tuple[list[int | None], list[float], list[float]]:
        return mutation_geometry(self.encoding)

    def begin(self, oracle: Oracle, workers: int) -> None:
        self._population: deque[tuple[list[float], float]] = deque()
        self._draws: list[list[float]] = []  # the same blocks of uniforms as run()
        self._next = 0
        self._geometry = self._mutation_geometry()
        self._seeds = [np.asarray(v, dtype=float) for v in self._initial]

    def ask(self) -> np.ndarray:
        enc, pop_size, k = self.encoding, int(self.hp["population_size"]), int(self.hp["tournament_size"])
        population = self._population
        if len(population) < pop_size:
            return self._seeds.pop(0) if self._seeds else enc.sample(self.rng)
        if self._next >= len(self._draws):
            self._draws, self._next = self.rng.random((512, k + 2)).tolist(), 0
        draws = self._draws[self._next]
        self._next += 1
        return np.asarray(_child(population, draws, pop_size, k, self._geometry), dtype=float)

    def tell(self, config: np.ndarray, evaluation: Evaluation) -> None:  # type: ignore[override]
        self._population.append((np.asarray(config, dtype=float).tolist(),
                                 evaluation.value))
        if len(self._population) > int(self.hp["population_size"]):
            self._population.popleft()

    @staticmethod
    def _fitness(oracle: Oracle, cell: int) -> float:
        ev = oracle.evaluate_cell(cell)
        return ev.value


def mutation_geometry(encoding: Any) -> tuple[list[int | None], list[float], list[float]]:
    """Per parameter of ``encoding``: number of values (None for floats), lower bound, span."""
    p = encoding.params
    return ([q.n_values for q in p], [0.0 if q.kind == "cat" else float(q.lower) for q in p],
            [float(q.upper - q.lower) for q in p])


def mutate(child: Any, draw_param: float, draw_value: float,
           geometry: tuple[list[int | None], list[float], list[float]]) -> None:
    """Change one parameter of ``child`` in place: parameter ``int(draw_param * dim)``, to a different value chosen
    by ``draw_value`` (uniform among the others; floats: a fresh uniform value)."""
    sizes, lowers, spans = geometry
    i = int(draw_param * len(sizes))
    n = sizes[i]
    if n is None:
        child[i] = lowers[i] + draw_value * spans[i]
    else:
        cur = int(child[i] - lowers[i])
        new = int(draw_value * (n - 1))
        child[i] = lowers[i] + (new + 1 if new >= cur else new)


def _child(
    population: deque[tuple[list[float], float]], draws: list[float], pop_size: int, k: int,
    geometry: tuple[list[int | None], list[float], list[float]],
) -> list[float]:
    """One generation's child: a tournament of ``k`` members drawn with replacement (``draws[:k]``; the first of
    equally fit members wins), then the winner with parameter ``draws[k]`` changed to another value (``draws[k+1]``)."""
    best = population[int(draws[0] * pop_size)]
    for j in range(1, k):
        cand = population[int(draws[j] * pop_size)]
        if cand[1] > best[1]:
            best = cand
    child = list(best[0])
    mutate(child, draws[k], draws[k + 1], geometry)
    return child
