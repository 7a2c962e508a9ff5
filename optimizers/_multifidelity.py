"""Shared multi-fidelity machinery: a budget per proposal (:class:`Job`), the ask/tell loop that runs jobs, and the
fidelity ladder of a table.

A multi-fidelity optimizer built on :class:`MultiFidelityOptimizer` proposes *jobs* -- a configuration plus the
:class:`~nasbench_bench.oracle.Fidelity` to evaluate it at -- and is told each job's evaluation. ``ask`` never
waits for a pending job, so the same optimizer can later be driven by k simulated workers sharing one clock
(ask k jobs, tell them in completion order) without a rewrite.

Accounting is the oracle's (see :mod:`nasbench_bench.oracle`): a job at a full budget is a separate training run
charged its full recorded time; a job with ``run_id >= 0`` resumes the run paused by an earlier halfway
evaluation and is charged exactly the rest of that run (full minus halfway time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nasbench_bench.optimizer import Optimizer, OptimizerError
from nasbench_bench.oracle import Evaluation, Fidelity, Oracle

__all__ = ["Job", "MultiFidelityOptimizer", "continues", "run_job"]


class Job(NamedTuple):
    """One proposal: evaluate configuration ``config`` (vector) at ``fidelity``.

    ``key`` is the optimizer's id of the configuration (the same across fidelities). ``run_id`` >= 0 resumes that
    paused run (the halfway evaluation of ``fidelity.budget`` returned it) instead of starting a new one.
    """

    key: int
    config: np.ndarray
    fidelity: Fidelity
    run_id: int = -1


def continues(lower: Fidelity, upper: Fidelity) -> bool:
    """True if reaching ``upper`` after ``lower`` continues the same training run (``lower`` is ``upper``'s halfway
    point), so it can be charged exactly the rest of that run; otherwise ``upper`` is a new, fully charged run."""
    return lower.halfway and not upper.halfway and lower.budget == upper.budget


def run_job(oracle: Oracle, job: Job) -> Evaluation:
    """Evaluate ``job`` on ``oracle`` (resuming its paused run if it names one)."""
    if job.run_id >= 0:
        return oracle.resume(job.run_id)
    return oracle.evaluate(job.config, job.fidelity.budget, halfway=job.fidelity.halfway)


class MultiFidelityOptimizer(Optimizer):
    """Base class of ask/tell multi-fidelity optimizers: ``start(fidelities)``, then ``ask() -> Job`` and
    ``tell(job, evaluation)``; :meth:`run` is the sequential one-worker loop."""

    multi_fidelity = True
    #: ``ask`` never waits for a pending job: several simulated workers may ask before any tell.
    pending_asks = True

    def begin(self, oracle: Oracle, workers: int) -> None:
        """The parallel runs' start: the fidelity ladder, as :meth:`run` does."""
        self.start(self.fidelities_of(oracle))

    def fidelities_of(self, oracle: Oracle) -> tuple[Fidelity, ...]:
        """The ladder this optimizer uses on ``oracle``'s table: its budgets, cheapest first (plus the halfway points
        of every budget when the hyperparameter ``halfway`` is true and the table records them)."""
        halfway = bool(self.hp.get("halfway", False))
        if halfway and not oracle.has_halfway:
            raise OptimizerError(f"{self.name}: halfway=True but table {oracle.table.name!r} records no halfway "
                                 "evaluations (only NAS-Bench-101 does)")
        return oracle.fidelities(halfway=halfway)

    def start(self, fidelities: Sequence[Fidelity]) -> None:
        """Receive the fidelity ladder (cheapest first) before the first :meth:`ask`."""
        raise NotImplementedError

    def ask(self) -> Job:  # type: ignore[override]
        raise NotImplementedError

    def tell(self, job: Job, evaluation: Evaluation) -> None:  # type: ignore[override]
        raise NotImplementedError

    def run(self, oracle: Oracle) -> None:
        self.start(self.fidelities_of(oracle))
        while True:
            job = self.ask()
            self.tell(job, run_job(oracle, job))
