"""K parallel workers on one simulated clock: an event simulation over the oracle's charged evaluations.

``workers = 1`` never comes here: the runner then calls the optimizer's own sequential loop (today's protocol,
bit for bit). With ``K > 1`` workers the run is a discrete-event simulation driven through the optimizer's
ask/tell interface:

* at time 0 all K workers are free; free workers ask the optimizer for work, lowest worker id first;
* ``ask()`` returns a configuration (vector or dict, evaluated at the table's top budget), a job with a
  ``fidelity`` (``optimizers._multifidelity.Job``: budget, halfway point, or the resumption of a paused run), or
  ``None``: no work now (a synchronous optimizer waiting for results); the worker then waits for the next
  completion, and so do the other free workers (they would get the same answer);
* a started evaluation draws its trial at once, from the run's one stream, in dispatch order
  (:meth:`Oracle.start_evaluation`), and completes after its recorded training time; an invalid configuration
  costs nothing and completes at its start time (after everything else completing at that time);
* completions are delivered in time order, ties broken by dispatch order (a heap of ``(end, sequence)``); each
  delivery records the evaluation (:meth:`Oracle.finish_evaluation`: the clock moves to its end, the incumbent is
  updated in completion order), then calls ``tell``, then the freed worker (with any waiting ones) asks again;
* **budget rule**: an evaluation whose end is after the time budget is never delivered: the run ends at the
  first such completion (every evaluation still running then ends later still and is cut too), so a run never
  exceeds its budget; an evaluation ending exactly at the budget is delivered (as in the sequential protocol).
  The protocol's ``max_evaluations`` caps *delivered* evaluations the same way. Cut evaluations are never told
  and never recorded; :class:`EventSimulation` counts them.

Everything is a deterministic function of the seed: no threads, no wall-clock, so every executor gives the same
run. An optimizer declares that ``ask`` may be called again before earlier asks are told with
``Optimizer.pending_asks = True``; without it, one evaluation is in flight at a time (the other workers idle), the
only honest parallel form of an optimizer that cannot handle pending evaluations.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from nasbench_bench.oracle import BudgetExhausted, Oracle, ParallelTrajectory, Pending

__all__ = ["MAX_WORKERS", "EventSimulation", "check_workers", "run_parallel", "supports_workers"]

log = logging.getLogger(__name__)

#: Largest number of simulated workers accepted (the event loop itself has no limit).
MAX_WORKERS = 4096

_WARNED_SERIAL: set[str] = set()


def check_workers(value: Any) -> int:
    """``value`` as a number of workers (an integer in ``1..MAX_WORKERS``), else ``ValueError`` saying why."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            raise ValueError(f"workers must be an integer from 1 to {MAX_WORKERS}, got {value!r}")
    if not 1 <= int(value) <= MAX_WORKERS:
        raise ValueError(f"workers must be an integer from 1 to {MAX_WORKERS}, got {value!r}")
    return int(value)


def supports_workers(cls: type) -> str | None:
    """None if optimizer class ``cls`` can run with several workers (it implements ``ask``), else why not."""
    from nasbench_bench.optimizer import Optimizer

    name = getattr(cls, "name", "") or cls.__name__
    if getattr(cls, "ask", None) is Optimizer.ask:
        return f"optimizer {name!r} owns its loop (run) and has no ask/tell, so it cannot run with workers > 1"
    inner = getattr(cls, "inner", None)  # a wrapper (lce:NAME) runs in parallel only if what it wraps does
    if isinstance(inner, type) and getattr(inner, "ask", None) is Optimizer.ask:
        return f"optimizer {name!r} wraps {getattr(inner, 'name', '') or inner.__name__!r}, which has no ask/tell, " \
               "so it cannot run with workers > 1"
    return None


class EventSimulation:
    """One parallel run of ``optimizer`` on ``oracle`` with ``workers`` simulated workers (see the module doc).

    After :meth:`run`: ``dispatched`` evaluations were started, ``delivered`` told, ``cut`` not delivered because
    they would end after the budget (``dispatched == delivered + cut``); ``log`` (when ``keep_log``) lists
    ``(event, worker, time, request)`` with event ``"start"`` or ``"end"``.
    """

    def __init__(self, optimizer: Any, oracle: Oracle, workers: int, keep_log: bool = False) -> None:
        self.optimizer = optimizer
        self.oracle = oracle
        self.workers = check_workers(workers)
        self.keep_log = keep_log
        self.log: list[tuple[str, int, float, Any]] = []
        self.dispatched = 0
        self.delivered = 0
        self.cut = 0
        self._worker: list[int] = []
        self._start: list[float] = []

    def _cell(self, config: Any) -> int:
        enc = self.optimizer.encoding
        config = self.optimizer.checked(config)
        vector = enc.to_vector(config) if isinstance(config, Mapping) else config
        return int(enc.cell_index(vector))

    def _begin(self, request: Any) -> Pending:
        fidelity = getattr(request, "fidelity", None)
        if fidelity is not None and hasattr(request, "config"):  # a multi-fidelity job
            if getattr(request, "run_id", -1) >= 0:
                return self.oracle.start_resume(request.run_id)
            return self.oracle.start_evaluation(self._cell(request.config), fidelity.budget, fidelity.halfway)
        return self.oracle.start_evaluation(self._cell(request))

    def run(self) -> ParallelTrajectory:
        """Simulate until the budget (or the protocol's evaluation cap) ends the run; return the trajectory."""
        opt, oracle = self.optimizer, self.oracle
        why = supports_workers(type(opt))
        if why is not None:
            from nasbench_bench.optimizer import OptimizerError

            raise OptimizerError(why)
        parallel = bool(getattr(opt, "pending_asks", False))
        name = getattr(opt, "name", "") or type(opt).__name__
        if not parallel and self.workers > 1 and name not in _WARNED_SERIAL:
            _WARNED_SERIAL.add(name)
            log.warning("%s does not declare pending_asks = True: one evaluation in flight at a time, the other "
                        "%d workers idle", name, self.workers - 1)
        opt.begin(oracle, self.workers)
        budget = oracle.time_budget
        cap = oracle.max_evaluations if oracle.max_evaluations is not None else math.inf
        running: list[tuple[float, int, int, float, Any, Pending]] = []  # (end, seq, worker, start, request, p)
        idle = list(range(self.workers))  # a heap of free worker ids
        seq = 0
        now = 0.0
        keep = self.keep_log
        try:
            while True:
                # free workers ask, lowest id first, until one gets no work (or, serially, one is running)
                while idle and (parallel or not running):
                    request = opt.ask()
                    if request is None:
                        break
                    worker = heapq.heappop(idle)
                    p = self._begin(request)
                    heapq.heappush(running, (now + p.cost, seq, worker, now, request, p))
                    seq += 1
                    self.dispatched += 1
                    if keep:
                        self.log.append(("start", worker, now, request))
                if not running:
                    from nasbench_bench.optimizer import OptimizerError

                    raise OptimizerError(f"optimizer {name!r}: ask() returned no work while no evaluation is running "
                                         "(nothing could ever complete)")
                end, _, worker, start, request, p = running[0]
                if end > budget or self.delivered >= cap:
                    oracle.exhausted = True
                    break
                heapq.heappop(running)
                ev = oracle.finish_evaluation(p, end)
                self._worker.append(worker)
                self._start.append(start)
                self.delivered += 1
                now = end
                if keep:
                    self.log.append(("end", worker, end, request))
                opt.tell(request, ev)
                heapq.heappush(idle, worker)
        except BudgetExhausted:
            pass
        finally:
            opt.end()
        self.cut = self.dispatched - self.delivered
        traj = oracle.trajectory()
        return ParallelTrajectory(**{f.name: getattr(traj, f.name) for f in dataclasses.fields(traj)},
                                  worker=np.asarray(self._worker, dtype=np.int32),
                                  start=np.asarray(self._start, dtype=np.float64), workers=self.workers)


def run_parallel(optimizer: Any, oracle: Oracle, workers: int) -> ParallelTrajectory:
    """Run ``optimizer`` on ``oracle`` with ``workers`` simulated workers (see the module docstring)."""
    return EventSimulation(optimizer, oracle, workers).run()
