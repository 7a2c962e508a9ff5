"""DEHB (Awad, Mallik and Hutter, "DEHB: Evolutionary Hyperband for Scalable, Robust and Efficient Hyperparameter
Optimization", IJCAI 2021) on a table's fidelities, as the ``dehb`` package (version 0.1.2: ``dehb/optimizers/dehb.py``,
``dehb/optimizers/de.py``, ``dehb/utils/bracket_manager.py``) runs it, draw for draw.

One DE subpopulation per rung; Hyperband brackets scheduled as synchronous successive halving; in the first
``max_SH_iter`` brackets the higher rungs are filled by *promoting* the best individuals of the rung below; after
that every job is a DE/rand/1/bin offspring of a target of its rung's subpopulation, its mutants drawn from the best
individuals of the rung below (the *parent pool*), and the offspring replaces the target if its loss is no worse.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nasbench_bench.optimizer import check_number
from nasbench_bench.oracle import Evaluation, Fidelity
from optimizers._hypercube import Hypercube, check_de_hyperparameters, crossover_bin, fix_boundary, mutation_rand1
from optimizers._multifidelity import Job, MultiFidelityOptimizer, continues

__all__ = ["DEHB", "bracket_plan"]

log = logging.getLogger(__name__)
_WARNED_SINGLE: list[bool] = []  # warn once per process
_MIN_POP = 3  # DE._set_min_pop_size for the rand1 strategy


def bracket_plan(n_rungs: int, eta: float, iteration: int) -> tuple[list[int], list[int]]:
    """(configurations per rung, rung indices) of Hyperband bracket ``iteration`` (``DEHBBase._get_next_iteration``):
    ``s = n_rungs - 1 - iteration % n_rungs``, the top ``s + 1`` rungs, ``n0 = int(floor(n_rungs / (s + 1)) eta^s)``
    and ``n_i = max(int(n0 eta^-i), 1)``."""
    s = n_rungs - 1 - (iteration % n_rungs)
    rungs = list(range(n_rungs))[-s - 1:]
    n0 = int(np.floor(n_rungs / (s + 1)) * eta**s)
    return [max(int(n0 * (eta ** (-i))), 1) for i in range(s + 1)], rungs


class _Bracket:
    """One successive-halving bracket's bookkeeping (``SHBracketManager``): per rung, jobs still to hand out
    (``pending``) and results received (``done``); a rung *waits* while handed-out jobs are unanswered."""

    def __init__(self, n_configs: list[int], rungs: list[int], bracket_id: int) -> None:
        self.n_configs, self.rungs, self.id = n_configs, rungs, bracket_id
        self.pending = list(n_configs)
        self.done = [0] * len(rungs)
        self.current = 0

    def _waiting(self, k: int) -> bool:
        return self.done[k] + self.pending[k] < self.n_configs[k]

    def next_rung(self) -> int:
        """``get_next_job_fidelity``: the current rung if it has jobs to hand out, else the next one."""
        if self.pending[self.current] > 0:
            return self.rungs[self.current]
        k = (self.current + 1) % len(self.rungs)
        if self.pending[k] > 0:
            return self.rungs[k]
        raise RuntimeError("dehb: asked a bracket with nothing to hand out")  # the scheduler never does

    def lower(self, rung: int) -> tuple[int, int]:
        """``get_lower_fidelity_promotions``: the rung below ``rung`` in this bracket (itself for the first) and
        the number of configurations of ``rung``."""
        k = self.rungs.index(rung)
        return self.rungs[max(k - 1, 0)], self.n_configs[k]

    def register(self, rung: int) -> None:
        k = self.rungs.index(rung)
        self.pending[k] -= 1
        if self.pending[self.current] <= 0:
            self.current = (self.current + 1) % len(self.rungs)

    def complete(self, rung: int) -> None:
        self.done[self.rungs.index(rung)] += 1

    def previous_rung_waits(self) -> bool:
        return any(self._waiting(k) and self.pending[k] <= 0 for k in range(self.current))

    def is_pending(self) -> bool:
        return any(p > 0 for p in self.pending)

    def is_done(self) -> bool:
        return not self.is_pending() and not any(self._waiting(k) for k in range(len(self.rungs)))


class _Subpopulation:
    """The DE subpopulation of one rung (the package's ``AsyncDE`` object of that fidelity): its own Generator."""

    def __init__(self, seed: int, space: Hypercube, size: int, first_id: int) -> None:
        self.rng = np.random.default_rng(seed)
        space.seed(seed)  # AsyncDE.__init__ reseeds the ConfigurationSpace shared by every subpopulation
        self.population = space.sample(size)
        self.ids = np.arange(first_id, first_id + size)
        self.fitness = np.full(size, np.inf)
        self.parent_counter = 0
        self.promotion_pop = np.empty((0, space.dim))
        self.promotion_ids = np.array([], dtype=np.int64)


class _Asked(NamedTuple):
    config_id: int
    parent: int
    bracket: int
    rung: int


class DEHB(MultiFidelityOptimizer):
    """DEHB with the package's defaults: eta 3, DE/rand/1/bin with F = 0.5 and CR = 0.5, boundary fix
    ``"random"`` (``DEHB.__init__``, ``dehb/optimizers/dehb.py`` lines 196-199; see docs/baselines-de.md).

    Rungs: the table's budgets (NAS-Bench-101: 4/12/36/108; ``nb201-*-mf``: 12/200), cheapest first, plus every
    budget's halfway point with ``halfway=True`` (NAS-Bench-101 only). The package spaces its fidelities
    geometrically between the smallest and the largest budget (``max_fidelity * eta^-k``); a table has only its
    recorded budgets, so -- as this suite's Hyperband and BOHB do -- the rungs are the table's budgets and ``eta``
    sizes the brackets with the package's formula (:func:`bracket_plan`). On 4/12/36/108 with eta 3 that *is* the
    package's spacing; on 12/200 brackets are 3 at 12 -> 1 at 200, and 2 at 200.

    A promotion from a rung's halfway point to the same budget's full rung resumes the paused training run (charged
    the rest); every other job is a new training run at its rung's budget. Loss = ``Evaluation.loss``.

    On a table with a single budget (and no halfway rungs) the package refuses ("you can instead run DE"); here
    DEHB runs as :class:`optimizers.de.DE` at that budget (population 20, the same F, CR and boundary fix) and
    logs a warning once.

    Parallel form (several workers): the package's asynchronous DEHB (its Dask loop): a free worker asks for the
    next job; when every active bracket is waiting for results a new bracket starts; results are told in
    completion order. With one worker this is exactly the package's sequential ``run``.
    """

    name = "dehb"
    defaults = {"eta": 3, "mutation_factor": 0.5, "crossover_prob": 0.5, "boundary_fix": "random", "halfway": False}

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "eta", minimum=1, exclusive_minimum=True)
        check_de_hyperparameters(cls, hp)

    def setup(self) -> None:
        self.fidelity_ladder: list[Fidelity] = []

    # -- start: the subpopulations --------------------------------------------------------------------------------
    def start(self, fidelities: Sequence[Fidelity]) -> None:
        self.fidelity_ladder = list(fidelities)
        self._asked: dict[int, _Asked] = {}
        self._single = len(self.fidelity_ladder) == 1
        if self._single:
            from optimizers.de import DE

            if not _WARNED_SINGLE:
                _WARNED_SINGLE.append(True)
                log.warning("dehb: a single fidelity (%s): there is nothing to schedule across budgets, running DE "
                            "(population 20) at that budget", self.fidelity_ladder[0])
            self._de = DE(self.encoding, seed=self.seed, **{k: self.hp[k] for k in
                                                           ("mutation_factor", "crossover_prob", "boundary_fix")})
            self._n = 0
            return
        self.space = Hypercube(self.encoding)
        n_rungs = len(self.fidelity_ladder)
        eta = self.hp["eta"]
        sizes: dict[int, int] = {}  # DEHB._get_pop_sizes: the largest count of each rung over the brackets
        for i in range(n_rungs):
            counts, rungs = bracket_plan(n_rungs, eta, i)
            for n, r in zip(counts, rungs):
                sizes[r] = max(n, sizes.get(r, n))
        self.pop_size = sizes
        self.configs: list[np.ndarray] = []  # the package's ConfigRepository: config id -> hypercube point
        # DEHB._init_subpop: one seed per subpopulation from the run's Generator, rungs cheapest first
        seeds = self.rng.integers(0, 2**32 - 1, size=len(sizes))
        self.subpops: dict[int, _Subpopulation] = {}
        for r, seed in zip(sizes, seeds):
            sub = _Subpopulation(int(seed), self.space, sizes[r], len(self.configs))
            self.configs.extend(row.copy() for row in sub.population)
            self.subpops[r] = sub
        self.iteration = -1
        self.brackets: list[_Bracket] = []
        self.paused: dict[tuple[int, int], int] = {}  # (config id, rung) -> run id of a halfway evaluation

    # -- ask ------------------------------------------------------------------------------------------------------
    def _next_bracket(self) -> _Bracket:
        """``_get_next_bracket``: the first active bracket that can hand out a job without waiting, else a new one."""
        if self.brackets and not all(b.is_done() for b in self.brackets):
            for b in self.brackets:
                if not b.previous_rung_waits() and b.is_pending():
                    return b
        self.iteration += 1
        counts, rungs = bracket_plan(len(self.fidelity_ladder), self.hp["eta"], self.iteration)
        bracket = _Bracket(counts, rungs, self.iteration)
        self.brackets.append(bracket)
        return bracket

    def ask(self) -> Job | None:  # type: ignore[override]
        if self._single:
            config = self._de.ask()
            if config is None:
                return None
            job = Job(self._n, config, self.fidelity_ladder[0])
            self._n += 1
            return job
        bracket = self._next_bracket()
        rung = bracket.next_rung()
        point, config_id, parent, promoted_from = self._acquire(bracket, rung)
        bracket.register(rung)
        run_id = -1
        if promoted_from is not None and continues(self.fidelity_ladder[promoted_from], self.fidelity_ladder[rung]):
            run_id = self.paused.pop((config_id, promoted_from), -1)
        job = Job(config_id, self.space.to_encoding(point), self.fidelity_ladder[rung], run_id)
        self._asked[id(job)] = _Asked(config_id, parent, bracket.id, rung)
        return job

    def _acquire(self, bracket: _Bracket, rung: int) -> tuple[np.ndarray, int, int, int | None]:
        """``_acquire_config``: (hypercube point, config id, parent index, rung promoted from or None)."""
        sub = self.subpops[rung]
        parent = sub.parent_counter
        sub.parent_counter = (sub.parent_counter + 1) % self.pop_size[rung]
        target = sub.population[parent]
        lower, n_configs = bracket.lower(rung)
        if self.iteration < len(self.fidelity_ladder) and rung != bracket.rungs[0]:
            point, config_id = self._promotion(lower, rung, n_configs)
            return point, config_id, parent, lower
        low = self.subpops[lower]
        pool = low.population[np.argsort(low.fitness)[:n_configs]]
        if len(pool) < _MIN_POP:
            filler = _MIN_POP - len(pool) + 1
            pool = np.concatenate((pool, self._mutants(sub, filler, self._all_individuals(), target)))
        mutant = self._mutation(sub, target, pool)
        point = fix_boundary(sub.rng, crossover_bin(sub.rng, target, mutant, float(self.hp["crossover_prob"])),
                             self.hp["boundary_fix"])
        self.configs.append(point.copy())
        return point, len(self.configs) - 1, parent, None

    def _all_individuals(self) -> np.ndarray:
        """``_concat_pops``: every subpopulation's individuals, rungs cheapest first."""
        return np.array([row for r in range(len(self.fidelity_ladder)) for row in self.subpops[r].population.tolist()])

    def _mutants(self, sub: _Subpopulation, n: int, pool: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``AsyncDE._init_mutant_population``: ``n`` mutants from ``pool`` (after the package's placeholder draw)."""
        mutants = sub.rng.uniform(low=0.0, high=1.0, size=(n, self.space.dim))
        for i in range(n):
            mutants[i] = self._mutation(sub, target, pool)
        return mutants

    def _mutation(self, sub: _Subpopulation, target: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """``AsyncDE.mutation`` (rand1) with ``_sample_population``: the first member equal to the target leaves the
        pool; a pool smaller than 3 is topped up with random individuals (the shared ConfigSpace sampler); three
        distinct members drawn by the subpopulation's Generator."""
        if len(pool) > 1:
            same = np.flatnonzero(np.all(pool == target, axis=1))
            if len(same):
                i = int(same[0])
                pool = np.concatenate((pool[:i], pool[i + 1:]))
        if len(pool) < _MIN_POP:
            pool = np.concatenate((pool, self.space.sample(_MIN_POP - len(pool))))
        r1, r2, r3 = pool[sub.rng.choice(np.arange(len(pool)), 3, replace=False)]
        return mutation_rand1(r1, r2, r3, float(self.hp["mutation_factor"]))

    def _promotion(self, low_rung: int, high_rung: int, n_configs: int) -> tuple[np.ndarray, int]:
        """``_get_promotion_candidate``: the head of this rung's promotion queue. An empty queue is first refilled
        with the evaluated individuals of the rung below, best first, that are not already in this rung's
        subpopulation, cut to ``n_configs``; if there are none, the lower rung's best (by the package's index)."""
        low, high = self.subpops[low_rung], self.subpops[high_rung]
        evaluated = np.where(low.fitness != np.inf)[0]
        order = np.argsort(low.fitness[evaluated])
        if len(high.promotion_pop) == 0:
            cand_pop, cand_ids = low.population[evaluated], low.ids[evaluated]
            keep = [k for k in order.tolist() if not np.any(np.all(cand_pop[k] == high.population, axis=1))]
            keep = keep[:n_configs]
            high.promotion_pop = cand_pop[keep].reshape(len(keep), self.space.dim)
            high.promotion_ids = cand_ids[keep]
        if len(high.promotion_pop) > 0:
            point, config_id = high.promotion_pop[0], int(high.promotion_ids[0])
            high.promotion_pop, high.promotion_ids = high.promotion_pop[1:], high.promotion_ids[1:]
            return point, config_id
        # the package indexes the whole lower population with a position among the evaluated ones
        return low.population[order[0]], int(low.ids[order[0]])

    # -- tell -----------------------------------------------------------------------------------------------------
    def tell(self, job: Job, evaluation: Evaluation) -> None:  # type: ignore[override]
        if self._single:
            self._de.tell(job.config, evaluation)
            return
        asked = self._asked.pop(id(job))
        for b in self.brackets:
            if b.id == asked.bracket:
                b.complete(asked.rung)
        if evaluation.halfway and evaluation.run_id >= 0:
            self.paused[(asked.config_id, asked.rung)] = evaluation.run_id
        sub = self.subpops[asked.rung]
        loss = evaluation.loss
        if loss <= sub.fitness[asked.parent]:  # DEHB.tell: DE selection against the job's parent
            sub.population[asked.parent] = self.configs[asked.config_id]
            sub.ids[asked.parent] = asked.config_id
            sub.fitness[asked.parent] = loss
        self.brackets = [b for b in self.brackets if not b.is_done()]  # _clean_inactive_brackets

    def describe(self, job: Job) -> dict[str, Any]:
        """What the package's ``job_info`` says about a pending job (for the recorded-reference tests): config id,
        parent index, bracket id, rung index and the hypercube point."""
        a = self._asked[id(job)]
        return {"config_id": a.config_id, "parent": a.parent, "bracket": a.bracket, "rung": a.rung,
                "point": self.configs[a.config_id]}
