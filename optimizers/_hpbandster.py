"""In-process driver for hpbandster's Hyperband and BOHB: no Pyro name server, no sockets, no threads.

hpbandster's ``Master`` runs a Pyro name server, a dispatcher with two threads and a worker, and with one
worker it schedules strictly sequentially: fill the first active iteration's next run, wait for its result,
register it with the iteration and then with the config generator, repeat; open a new Hyperband iteration
when no active one has a run to offer. :class:`InProcessMaster` replays exactly that schedule with the
library's own pieces (``HyperBand.get_next_iteration`` builds its ``SuccessiveHalving`` iterations, the
config generator is the library's ``RandomSampling``, BOHB's KDE generator or its exact re-implementation
:class:`optimizers._bohb_exact.ExactBOHB`, results travel in its ``Job`` objects), so a seeded run gives the same
trajectory as the library's Pyro-based driver.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from nasbench_bench.oracle import Oracle

log = logging.getLogger(__name__)

_WARNED_SINGLE: set[str] = set()


def quiet_library_loggers() -> None:
    """Keep hpbandster's logger at ERROR unless the user configured it.

    It logs per job at DEBUG/INFO, and BOHB's generator dumps its KDE data as multi-line WARNINGs whenever a
    sampled vector has a NaN acquisition value (a categorical value absent from the good KDE), which on
    categorical spaces happens routinely and is handled by the library.
    """
    lib = logging.getLogger("hpbandster")
    if lib.level == logging.NOTSET:
        lib.setLevel(logging.ERROR)


@contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG (hpbandster draws from it) and restore the caller's state afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@contextmanager
def library_warnings_silenced() -> Iterator[None]:
    """Silence the third-party warnings a run triggers on every job.

    hpbandster 0.7.4 calls ConfigSpace 0.x methods that ConfigSpace 1.x flags as deprecated, statsmodels'
    KDE warns about its future default RNG, and its kernel divides by zero for a one-level categorical
    column (the result is then unused).
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def rung_budgets(table_budgets: Sequence[int], name: str) -> list[int]:
    """The table's budgets as Hyperband rungs; warn (once per optimizer) when there is only one."""
    budgets = sorted(int(b) for b in table_budgets)
    if len(budgets) == 1 and name not in _WARNED_SINGLE:
        _WARNED_SINGLE.add(name)
        log.warning(
            "%s: the table has a single budget (%d); it degenerates to its single-fidelity form "
            "(every bracket is one configuration at that budget)",
            name,
            budgets[0],
        )
    return budgets


class InProcessMaster:
    """A sequential, single-worker stand-in for hpbandster's ``Master`` (HyperBand and BOHB share it).

    Args:
        config_generator: an hpbandster config generator (``RandomSampling``, BOHB's ``BOHB``...).
        budgets: the rungs, smallest first (hpbandster's ``budgets`` attribute; ``max_SH_iter`` = their count).
        eta: the successive-halving ratio.
    """

    def __init__(self, config_generator: Any, budgets: Sequence[float], eta: float = 3) -> None:
        self.config_generator = config_generator
        self.eta = eta
        self.budgets = np.asarray(budgets, dtype=float)
        self.max_SH_iter = len(self.budgets)  # the attribute name hpbandster reads
        self.iterations: list[Any] = []

    def get_next_iteration(self, iteration: int, iteration_kwargs: dict[str, Any]) -> Any:
        """The library's own bracket construction (identical in its HyperBand and BOHB masters)."""
        from hpbandster.optimizers.hyperband import HyperBand

        return HyperBand.get_next_iteration(self, iteration, iteration_kwargs)  # type: ignore[arg-type]

    def run(self, compute: Callable[[dict[str, Any], float], float], n_iterations: int | None = None) -> None:
        """Run ``n_iterations`` Hyperband iterations (None: until ``compute`` raises).

        ``compute(config, budget) -> loss`` evaluates one job; whatever it raises ends the run.
        """
        from hpbandster.core.dispatcher import Job

        kwargs: dict[str, Any] = {"result_logger": None}
        cg = self.config_generator
        active: list[Any] = []
        remaining = -1 if n_iterations is None else int(n_iterations)
        while True:
            next_run = None
            for it in active:
                next_run = self.next_run(it)
                if next_run is not None:
                    break
            if next_run is None:
                active = [it for it in active if not it.is_finished]
                if active:  # cannot happen with one sequential worker; the library would wait here
                    raise RuntimeError("hpbandster iteration stalled without running jobs")
                if remaining == 0:
                    return
                remaining -= 1
                it = self.get_next_iteration(len(self.iterations), kwargs)
                self.iterations.append(it)
                active.append(it)
                continue
            config_id, config, budget = next_run
            job = Job(config_id, config=config, budget=budget, working_directory=".")
            job.result = {"loss": compute(config, budget), "info": {}}
            self.register_result(self.iterations[config_id[0]], job)
            cg.new_result(job)

    def ask(self, n_iterations: int | None = None) -> Any:
        """The next ``(config_id, config, budget)`` hpbandster's master would submit to a free worker, or None.

        As ``Master.run`` with ``K`` workers: the first active (unfinished) iteration with a run to give out
        provides it; if none has one, a new iteration is started (while ``n_iterations`` allows; None =
        unlimited, as this suite runs it) and asked; otherwise None, and the worker waits for a result
        (``thread_cond.wait()`` in the library).
        """
        if not hasattr(self, "_remaining"):
            self._remaining = -1 if n_iterations is None else int(n_iterations)
        while True:
            for it in self.iterations:
                if not it.is_finished:
                    next_run = self.next_run(it)
                    if next_run is not None:
                        return next_run
            if self._remaining == 0:
                return None
            self._remaining -= 1
            self.iterations.append(self.get_next_iteration(len(self.iterations), {"result_logger": None}))

    def tell(self, config_id: Any, config: dict[str, Any], budget: float, loss: float) -> None:
        """A finished run, as the library's ``job_callback``: to its iteration, then to the config generator."""
        from hpbandster.core.dispatcher import Job

        job = Job(config_id, config=config, budget=budget, working_directory=".")
        job.result = {"loss": loss, "info": {}}
        self.register_result(self.iterations[config_id[0]], job)
        self.config_generator.new_result(job)

    def next_run(self, iteration: Any) -> Any:
        """The iteration's next ``(config_id, config, budget)`` or None (the library's ``get_next_run``)."""
        return iteration.get_next_run()

    def register_result(self, iteration: Any, job: Any) -> None:
        """Hand a finished job to its iteration (the library's ``register_result``)."""
        iteration.register_result(job)


def run_hpbandster(
    config_generator: Any, oracle: Oracle, budgets: Sequence[int], eta: float, n_iterations: int | None = None,
    master: type[InProcessMaster] = InProcessMaster,
) -> InProcessMaster:
    """Drive ``config_generator`` on ``oracle`` in-process until the oracle's budget is spent.

    Library budgets (floats) map to the table's integer budgets; the loss is ``Evaluation.loss`` (1 for
    invalid configurations, which cost nothing). ``BudgetExhausted`` propagates to the caller. ``master``
    may be a subclass of :class:`InProcessMaster` (e.g. one that times its steps).
    """
    quiet_library_loggers()
    to_table = {float(b): int(b) for b in budgets}
    evaluate = oracle.evaluate

    def compute(config: dict[str, Any], budget: float) -> float:
        return evaluate(config, to_table[float(budget)]).loss

    driver = master(config_generator, [float(b) for b in budgets], eta)
    with library_warnings_silenced():
        driver.run(compute, n_iterations)
    return driver


class ParallelHyperband:
    """Mixin giving HB and BOHB their parallel form: hpbandster's own scheduling with K workers.

    ``ask`` is :meth:`InProcessMaster.ask` (what the library's master submits to a free worker; a new iteration is
    started whenever no active one has a run to give out, so with unlimited iterations no worker ever waits) and
    ``tell`` its ``job_callback``. hpbandster draws from numpy's global RNG: every ask/tell runs with the run's own
    global state (seeded with the run's seed), swapped in and out, so other code never disturbs it. With one
    worker this is exactly the sequential :meth:`run`.
    """

    pending_asks = True
    name: str
    seed: int

    def config_generator(self) -> Any:
        raise NotImplementedError

    def begin(self, oracle: Oracle, workers: int) -> None:
        from optimizers._multifidelity import Job

        self._job_type = Job
        quiet_library_loggers()
        budgets = rung_budgets(oracle.table.budgets, self.name)
        self._to_table = {float(b): int(b) for b in budgets}
        self._np_state = np.random.RandomState(self.seed).get_state()
        self._runs: dict[int, tuple[Any, dict[str, Any], float]] = {}
        with self._own_numpy():
            self._master = InProcessMaster(self.config_generator(), [float(b) for b in budgets],
                                           float(self.hp["eta"]))  # type: ignore[attr-defined]

    @contextmanager
    def _own_numpy(self) -> Iterator[None]:
        saved = np.random.get_state()
        np.random.set_state(self._np_state)
        try:
            with library_warnings_silenced():
                yield
        finally:
            self._np_state = np.random.get_state()
            np.random.set_state(saved)

    def ask(self) -> Any:
        from nasbench_bench.oracle import Fidelity

        with self._own_numpy():
            next_run = self._master.ask()
        if next_run is None:
            return None
        config_id, config, budget = next_run
        job = self._job_type(len(self._runs), config, Fidelity(self._to_table[float(budget)]))
        self._runs[id(job)] = (config_id, config, budget)
        return job

    def tell(self, job: Any, evaluation: Any) -> None:
        config_id, config, budget = self._runs.pop(id(job))
        with self._own_numpy():
            self._master.tell(config_id, config, budget, evaluation.loss)
