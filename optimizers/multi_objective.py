"""Multi-objective optimizers: random search (``mo-rs``) and regularized evolution (``mo-re``).

They read :attr:`~nasbench_bench.oracle.Evaluation.objectives` (minimised: the negated metric, then the problem's
costs), which a problem's oracle (:mod:`nasbench_bench.problems`) sets. Without a problem (``objectives`` empty)
they optimise the single search value, as ``rs`` and ``re`` do.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Evaluation, Oracle
from optimizers.random_search import RandomSearch
from optimizers.regularized_evolution import mutate, mutation_geometry


class MORandomSearch(RandomSearch):
    """Multi-objective random search: uniform draws (random search needs no objective); the run's attained
    front is kept by the problem's oracle. The same draws as ``rs``."""

    name = "mo-rs"


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of mutually non-dominated ``points`` (n, m); boundary points get inf."""
    n, m = points.shape
    out = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for j in range(m):
        order = np.argsort(points[:, j], kind="stable")
        col = points[order, j]
        span = col[-1] - col[0]
        out[order[0]] = out[order[-1]] = math.inf
        if span > 0:
            out[order[1:-1]] += (col[2:] - col[:-2]) / span
    return out


def rank_and_crowding(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(non-dominated rank, crowding distance within its rank) of each row of ``points`` (minimised); rows with a
    non-finite value (invalid configurations) get the last rank."""
    import moocore

    n = len(points)
    rank = np.full(n, n, dtype=np.int64)
    crowd = np.zeros(n)
    ok = np.flatnonzero(np.isfinite(points).all(axis=1))
    if len(ok) == 0:
        return rank, crowd
    rank[ok] = np.asarray(moocore.pareto_rank(points[ok]), dtype=np.int64)
    for r in np.unique(rank[ok]):
        members = ok[rank[ok] == r]
        crowd[members] = crowding_distance(points[members])
    return rank, crowd


class MORegularizedEvolution(Optimizer):
    """Multi-objective regularized (aging) evolution, as MO-RE/MOREA select: a random initial population, then a
    tournament of ``tournament_size`` members drawn with replacement, won by the lowest non-dominated rank within
    the population and, among equal ranks, the largest crowding distance (then the first drawn); the winner is
    mutated in one uniformly chosen hyperparameter (as ``re``); each completed evaluation joins the population and
    the oldest member leaves once it holds ``population_size``. Fitness is what the search sees
    (``Evaluation.objectives``; without a problem, the single search value)."""

    name = "mo-re"
    defaults = {"population_size": 50, "tournament_size": 10}
    #: Parallel form: asynchronous as ``re``'s: random configurations until the population (of completed
    #: evaluations) is full, then tournament + mutation on the current population.
    pending_asks = True

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "population_size", integer=True, minimum=1)
        check_number(cls, hp, "tournament_size", integer=True, minimum=1, maximum=hp["population_size"])

    def begin(self, oracle: Oracle, workers: int) -> None:
        self._population: deque[tuple[np.ndarray, tuple[float, ...]]] = deque()
        self._ranked: tuple[np.ndarray, np.ndarray] | None = None
        self._geometry = mutation_geometry(self.encoding)

    def run(self, oracle: Oracle) -> None:
        self.begin(oracle, 1)
        while True:
            config = self.ask()
            self.tell(config, oracle.evaluate(config))

    def ask(self) -> np.ndarray:
        pop_size, k = int(self.hp["population_size"]), int(self.hp["tournament_size"])
        population = self._population
        if len(population) < pop_size:
            return self.encoding.sample(self.rng)
        if self._ranked is None:
            self._ranked = rank_and_crowding(np.array([f for _, f in population], dtype=np.float64))
        rank, crowd = self._ranked
        draws = self.rng.random(k + 2)
        best = int(draws[0] * pop_size)
        for j in range(1, k):
            c = int(draws[j] * pop_size)
            if rank[c] < rank[best] or (rank[c] == rank[best] and crowd[c] > crowd[best]):
                best = c
        child = population[best][0].copy()
        mutate(child, draws[k], draws[k + 1], self._geometry)
        return child

    def tell(self, config: np.ndarray, evaluation: Evaluation) -> None:  # type: ignore[override]
        fitness = tuple(evaluation.objectives) or (-evaluation.value,)
        self._population.append((np.asarray(config, dtype=float), fitness))
        if len(self._population) > int(self.hp["population_size"]):
            self._population.popleft()
        self._ranked = None
