"""ASHA: asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning",
MLSys 2020, Algorithm 2), with random sampling of new configurations."""

from __future__ import annotations

import logging
from bisect import bisect_left, insort
from collections.abc import Sequence

from nasbench_bench.optimizer import OptimizerError
from nasbench_bench.oracle import Evaluation, Fidelity
from optimizers._multifidelity import Job, MultiFidelityOptimizer, continues

log = logging.getLogger(__name__)
_WARNED_SINGLE: list[bool] = []  # warn once per process


class ASHA(MultiFidelityOptimizer):
    """ASHA on a table's fidelities, with the published defaults.

    * reduction factor ``eta`` = 4 and minimum early-stopping rate ``s`` = 0 (the paper's experiments; also the
      defaults of Optuna's ``SuccessiveHalvingPruner`` and Ray Tune's ``ASHAScheduler``);
    * rungs: a table only has its recorded budgets, so rung ``k`` is the ``(s + k)``-th fidelity of the table,
      cheapest first: minimum resource = the smallest budget, maximum = the top budget (NAS-Bench-101: 4/12/36/108;
      ``nb201-*-mf``: 12/200). ``eta`` is then the promotion ratio (the top 1/eta of a rung is promotable), not
      the ratio of the budgets. With ``halfway`` (NAS-Bench-101 only) the halfway point of every budget is a rung
      too, and moving from a budget's halfway rung to its full rung resumes the same run;
    * promotion rule (``get_job``): from the second-highest rung down, promote the best configuration among the
      top ``floor(n_k / eta)`` of the ``n_k`` results of rung ``k`` that was not promoted yet; if there is none,
      start a new uniformly sampled configuration at the bottom rung. Ties go to the earlier result.

    Promotion to a full budget is a new training run charged its full time (the tables' budgets are separate
    runs). Only valid results enter a rung (an invalid configuration costs nothing and is never promoted). A
    promotion is marked when it is asked, so pending jobs are never promoted twice: the ask/tell pair is already
    asynchronous (one worker here: promote if possible, else a new configuration at the bottom rung).
    """

    name = "asha"
    defaults = {"eta": 4, "min_early_stopping_rate": 0, "halfway": False}

    def setup(self) -> None:
        if not self.hp["eta"] > 1:
            raise OptimizerError(f"asha: eta must be > 1, got {self.hp['eta']!r}")
        self.rungs: list[Fidelity] = []

    def start(self, fidelities: Sequence[Fidelity]) -> None:
        s = int(self.hp["min_early_stopping_rate"])
        if not 0 <= s < len(fidelities):
            raise OptimizerError(f"asha: min_early_stopping_rate {s} leaves no rung of {len(fidelities)} fidelities")
        self.rungs = list(fidelities)[s:]
        if len(self.rungs) == 1 and not _WARNED_SINGLE:
            _WARNED_SINGLE.append(True)
            log.warning("asha: a single rung (%s): nothing is ever promoted, this is random search at that budget",
                        self.rungs[0])
        self.rung_of = {f: k for k, f in enumerate(self.rungs)}
        self.configs: list = []  # key -> configuration vector
        # per rung: sorted (-valid_acc, order, key) of all results, and of those not promoted yet
        self.results: list[list[tuple[float, int, int]]] = [[] for _ in self.rungs]
        self.waiting: list[list[tuple[float, int, int]]] = [[] for _ in self.rungs]
        self.paused: dict[tuple[int, int], int] = {}  # (key, rung) -> run id of a halfway evaluation
        self.told = 0

    def ask(self) -> Job:
        eta = float(self.hp["eta"])
        for k in range(len(self.rungs) - 2, -1, -1):
            waiting = self.waiting[k]
            if not waiting:
                continue
            best = waiting[0]
            if bisect_left(self.results[k], best) < int(len(self.results[k]) / eta):
                waiting.pop(0)  # promoted now: never again, even while its job is pending
                key = best[2]
                lower, upper = self.rungs[k], self.rungs[k + 1]
                run_id = self.paused.pop((key, k), -1) if continues(lower, upper) else -1
                return Job(key, self.configs[key], upper, run_id)
        key = len(self.configs)
        self.configs.append(self.encoding.sample(self.rng))
        return Job(key, self.configs[key], self.rungs[0])

    def tell(self, job: Job, evaluation: Evaluation) -> None:
        if not evaluation.valid:
            return
        k = self.rung_of[job.fidelity]
        entry = (-evaluation.valid_acc, self.told, job.key)
        self.told += 1
        insort(self.results[k], entry)
        if k < len(self.rungs) - 1:
            insort(self.waiting[k], entry)
            if evaluation.halfway:
                self.paused[(job.key, k)] = evaluation.run_id
