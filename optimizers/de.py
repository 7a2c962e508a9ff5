"""Differential evolution (Awad, Mallik and Hutter, "Differential Evolution for Neural Architecture Search", NAS
workshop at ICLR 2021, arXiv:2012.06400): DE/rand/1/bin at the table's top budget, as the ``dehb`` package's ``DE``
class (``dehb/optimizers/de.py``, version 0.1.2) runs it, draw for draw (see :mod:`optimizers._hypercube`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Evaluation
from optimizers._hypercube import Hypercube, check_de_hyperparameters, crossover_bin, fix_boundary, mutation_rand1

__all__ = ["DE"]


class DE(Optimizer):
    """DE/rand/1/bin in the unit hypercube, synchronous generations (the package's ``DE.run``).

    A random initial population of ``population_size`` individuals (ConfigSpace's seeded sampler) is evaluated in
    order; then every generation builds one trial per target ``j`` (in order): three *distinct* members drawn
    uniformly from the whole population (``rng.choice(pop, 3, replace=False)``; the package's ``DE`` does not
    exclude the target), mutant ``r1 + F (r2 - r3)``, binomial crossover with the target, out-of-range
    coordinates redrawn uniformly; then evaluates the trials in order, each replacing its target if its loss is
    no worse (``<=``). Loss = :attr:`~nasbench_bench.oracle.Evaluation.loss` (1 - validation accuracy).

    Defaults (see docs/baselines-de.md): population 20, F = 0.5, CR = 0.5 (the DE-NAS experiments' settings,
    automl/DE-NAS ``run_de_nas201.py``; ``pop_size=20`` is also ``DE.__init__``'s default), boundary fix
    ``"random"`` (``DEBase.__init__``'s default).

    Parallel form (several workers): a synchronous batch per generation. Workers take the generation's trials in
    order; once all are asked, ``ask`` returns None until every one is told; selection is per target, so the order
    of the tells does not matter. With one worker this is exactly :meth:`run` (the package's sequence).
    """

    name = "de"
    defaults = {"population_size": 20, "mutation_factor": 0.5, "crossover_prob": 0.5, "boundary_fix": "random"}
    pending_asks = True

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "population_size", integer=True, minimum=3)
        check_de_hyperparameters(cls, hp)

    def setup(self) -> None:
        self.space = Hypercube(self.encoding)
        self.space.seed(self.seed)  # DEBase.reset: cs.seed(seed); self.rng is default_rng(seed), as the package's
        n = int(self.hp["population_size"])
        self.population = self.space.sample(n)  # DE.init_eval_pop -> init_population
        self.fitness = np.full(n, np.inf)
        self._batch = self.population.copy()  # what the current round evaluates: the initial population first
        self._initial = True
        self._next = 0  # next index of the batch to ask
        self._told = 0
        self._asked: dict[int, tuple[int, np.ndarray]] = {}  # id(config) -> (index, its hypercube point)

    def _generation(self) -> np.ndarray:
        """One generation's trials (``DE.evolve_generation`` up to selection)."""
        pop, n = self.population, len(self.population)
        factor, prob, fix = float(self.hp["mutation_factor"]), float(self.hp["crossover_prob"]), self.hp["boundary_fix"]
        rng = self.rng
        trials = np.empty_like(pop)
        for j in range(n):
            r1, r2, r3 = pop[rng.choice(np.arange(n), 3, replace=False)]
            trial = crossover_bin(rng, pop[j], mutation_rand1(r1, r2, r3, factor), prob)
            trials[j] = fix_boundary(rng, trial, fix)
        return trials

    def ask(self) -> np.ndarray | None:  # type: ignore[override]
        n = len(self.population)
        if self._next >= n:
            if self._told < n:
                return None  # the generation's trials are out; wait for their results
            self._batch, self._initial, self._next, self._told = self._generation(), False, 0, 0
        j = self._next
        self._next += 1
        point = self._batch[j]
        config = self.space.to_encoding(point)
        self._asked[id(config)] = (j, point)
        return config

    def tell(self, config: Any, evaluation: Evaluation) -> None:  # type: ignore[override]
        j, point = self._asked.pop(id(config))
        self._told += 1
        loss = evaluation.loss
        if self._initial:
            self.fitness[j] = loss
        elif loss <= self.fitness[j]:  # DE.selection: "equality is important for landscape exploration"
            self.population[j] = point
            self.fitness[j] = loss
