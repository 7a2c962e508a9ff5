"""Learning-curve early stopping (LCE) around any single-fidelity optimizer: ``lce:re``, ``lce:rs``, ``lce:tpe``...

The NAS-Bench-x11 idea (Yan et al., "NAS-Bench-x11 and the Power of Learning Curves", NeurIPS 2021): evaluate every
proposal at a low fidelity first, predict its top-budget validation accuracy, and train it fully only if the
prediction is promising. The wrapped optimizer is unchanged; it evaluates through a stand-in oracle that applies
the rule, so it sees only what it would see (its own proposals' evaluations, never test accuracy).
"""

from __future__ import annotations

import logging
from bisect import insort
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

import numpy as np

from nasbench_bench.optimizer import Optimizer, OptimizerError, inner_optimizer, wrapper_class
from nasbench_bench.oracle import Evaluation, Fidelity, Oracle
from optimizers._multifidelity import continues

__all__ = ["LCE", "LinearExtrapolation", "make_lce"]

log = logging.getLogger(__name__)

#: LCE's own hyperparameters (prefixed so they never clash with the wrapped optimizer's).
LCE_DEFAULTS: dict[str, Any] = {"lce_low": "auto", "lce_top_fraction": 0.5, "lce_min_points": 10}


class LinearExtrapolation:
    """The prediction model: ordinary least squares ``y = a + b x`` of top-budget validation accuracy ``y`` on
    low-fidelity validation accuracy ``x``, fitted on this run's fully trained proposals (both observed).

    ``threshold(f)`` is the ``1 - f`` quantile (linear interpolation) of the ``y`` seen so far.
    """

    def __init__(self) -> None:
        self.n = 0
        self._sx = self._sy = self._sxx = self._sxy = 0.0
        self._ys: list[float] = []  # sorted

    def add(self, x: float, y: float) -> None:
        self.n += 1
        self._sx += x
        self._sy += y
        self._sxx += x * x
        self._sxy += x * y
        insort(self._ys, y)

    def predict(self, x: float) -> float:
        n = self.n
        mx, my = self._sx / n, self._sy / n
        var = self._sxx / n - mx * mx
        slope = (self._sxy / n - mx * my) / var if var > 1e-15 else 0.0
        return my + slope * (x - mx)

    def threshold(self, top_fraction: float) -> float:
        pos = (1.0 - top_fraction) * (self.n - 1)
        lo = int(pos)
        hi = min(lo + 1, self.n - 1)
        return self._ys[lo] + (pos - lo) * (self._ys[hi] - self._ys[lo])


class _StoppingOracle:
    """What the wrapped optimizer evaluates through: a full evaluation (top budget, the default) becomes
    low fidelity -> prediction -> top budget only if promising. Everything else is the real oracle's."""

    def __init__(self, oracle: Oracle, owner: LCE, low: Fidelity) -> None:
        self._oracle = oracle
        self._owner = owner
        self._low = low
        self._top = Fidelity(oracle.table.top_budget)
        self._resume = continues(low, self._top)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._oracle, name)

    def evaluate(self, config: Mapping[str, Any] | np.ndarray, budget: int | None = None, *,
                 halfway: bool = False) -> Evaluation:
        vector = self._oracle.encoding.to_vector(config) if isinstance(config, Mapping) else config
        return self.evaluate_cell(self._oracle.encoding.cell_index(vector), budget, halfway)

    def evaluate_cells(self, cells: np.ndarray, budget: int | None = None) -> None:
        for cell in np.asarray(cells, dtype=np.int64).tolist():
            self.evaluate_cell(cell, budget)

    def evaluate_cell(self, cell: int, budget: int | None = None, halfway: bool = False) -> Evaluation:
        oracle = self._oracle
        if halfway or (budget is not None and budget != self._top.budget):
            return oracle.evaluate_cell(cell, budget, halfway)  # an explicit other fidelity: not ours to stop
        low = oracle.evaluate_cell(cell, self._low.budget, self._low.halfway)
        if not low.valid:
            return low
        owner = self._owner
        if not owner.promising(low.valid_acc):
            owner.stopped += 1
            return low  # the wrapped optimizer is told the low-fidelity observation it paid for
        top = oracle.resume(low.run_id) if self._resume else oracle.evaluate_cell(cell, self._top.budget)
        owner.model.add(low.valid_acc, top.valid_acc)
        owner.continued += 1
        return top._replace(cost=low.cost + top.cost)


class LCE(Optimizer):
    """Learning-curve early stopping around the single-fidelity optimizer ``inner`` (set by :func:`make_lce`).

    Every proposal of the wrapped optimizer is first evaluated at the low fidelity ``lce_low`` (charged). The
    model (:class:`LinearExtrapolation`: least squares of top-budget validation accuracy on low-fidelity
    validation accuracy over this run's fully trained proposals) predicts its top-budget validation accuracy;
    it is trained at the top budget (charged) only if the prediction is at least the ``1 - lce_top_fraction``
    quantile of the top-budget accuracies of the fully trained proposals so far (default 0.5: better than their
    median). Until ``lce_min_points`` proposals are fully trained every proposal continues.

    ``lce_low``: ``"auto"`` = the top budget's halfway point where the table records it (NAS-Bench-101: epoch 54
    of the 108-epoch run, continued *as the same run*, charged exactly the rest), else the largest budget below
    the top (``nb201-*-mf``: 12 epochs, a separate run, so continuing charges the full 200-epoch time); or a
    fidelity such as ``"12"`` or ``"108/2"``.

    What the wrapped optimizer is told: for a continued proposal, the top-budget evaluation (its ``cost`` is the
    total charged, low + top); for a stopped one, the low-fidelity evaluation itself (``budget``/``halfway`` say
    which fidelity; its lower accuracy makes the proposal look worse than fully trained ones, which is what it
    is). The other hyperparameters are the wrapped optimizer's own; it is seeded with the run's seed.

    On a table with a single budget and no halfway evaluations (TransNAS-Bench-101, NAS-Bench-Graph, NAS-Bench-Macro,
    FCNet, HPOBench) there is no low fidelity: with ``lce_low="auto"`` every proposal is trained fully, i.e. the run
    is the wrapped optimizer's own run, bit for bit, and a warning says so (once per process).
    """

    name: ClassVar[str] = "lce"
    inner: ClassVar[type[Optimizer]]
    defaults: ClassVar[Mapping[str, Any]] = LCE_DEFAULTS
    multi_fidelity = True

    def setup(self) -> None:
        f = self.hp["lce_top_fraction"]
        if not 0 < f <= 1:
            raise OptimizerError(f"{self.name}: lce_top_fraction must be in (0, 1], got {f!r}")
        if int(self.hp["lce_min_points"]) < 2:
            raise OptimizerError(f"{self.name}: lce_min_points must be at least 2, got {self.hp['lce_min_points']!r}")
        self.model = LinearExtrapolation()
        self.stopped = self.continued = 0

    def promising(self, low_acc: float) -> bool:
        """The rule: continue while the model has too few points, else iff the prediction reaches the threshold."""
        model = self.model
        if model.n < int(self.hp["lce_min_points"]):
            return True
        return model.predict(low_acc) >= model.threshold(float(self.hp["lce_top_fraction"]))

    def low_fidelity(self, oracle: Oracle) -> Fidelity | None:
        """The fidelity proposals are screened at on ``oracle``'s table (see ``lce_low``); None when ``lce_low`` is
        ``"auto"`` and the table has a single budget and no halfway evaluations."""
        top = Fidelity(oracle.table.top_budget)
        spec = str(self.hp["lce_low"])
        if spec == "auto":
            if oracle.has_halfway:
                return Fidelity(top.budget, True)
            if len(oracle.table.budgets) < 2:
                return None  # nothing to screen at: every proposal is trained fully (see the class docstring)
            return Fidelity(int(oracle.table.budgets[-2]))
        try:
            low = Fidelity.parse(spec)
        except ValueError as exc:
            raise OptimizerError(f"{self.name}: lce_low: {exc}") from None
        if low not in oracle.fidelities() or low == top:
            raise OptimizerError(f"{self.name}: lce_low {spec!r} is not a fidelity below the top of table "
                                 f"{oracle.table.name!r}: {[str(f) for f in oracle.fidelities()]}")
        return low

    # -- parallel form (several simulated workers): the same rule over the wrapped optimizer's ask/tell ---------
    def begin(self, oracle: Oracle, workers: int) -> None:
        """Parallel form: a free worker first continues a proposal whose low-fidelity result was promising (oldest
        first), else screens the wrapped optimizer's next proposal at the low fidelity; the rule is applied when
        a low-fidelity result arrives, with the model as it is then. The wrapped optimizer runs in its own
        parallel form and is told exactly what :meth:`run` tells it. With one worker this is exactly :meth:`run`."""
        from nasbench_bench.simulator import supports_workers
        from optimizers._multifidelity import Job

        why = supports_workers(self.inner)
        if why is not None:
            raise OptimizerError(f"{self.name}: {why}")
        self._job = Job
        low = self.low_fidelity(oracle)
        self._inner = self.inner(self.encoding, seed=self.seed, **{k: self.hp[k] for k in self.inner.defaults})
        self._inner.begin(oracle, workers)
        self._passthrough = low is None
        if low is None:
            _warn_no_low(self.name, oracle)
            return
        self._low = low
        self._top = Fidelity(oracle.table.top_budget)
        self._resume = continues(self._low, self._top)
        self._promoted: list[tuple[Any, Evaluation]] = []  # (proposal, its low-fidelity evaluation), oldest first
        self._asked: dict[int, tuple[Any, Evaluation | None]] = {}  # id(job) -> (proposal, low evaluation or None)
        self._n = 0

    def ask(self) -> Any:
        if self._passthrough:
            return self._inner.ask()
        if self._promoted:
            proposal, low = self._promoted.pop(0)
            job = self._job(self._n, proposal, self._top, low.run_id if self._resume else -1)
        else:
            proposal = self._inner.ask()
            if proposal is None:
                return None
            low = None
            job = self._job(self._n, proposal, self._low)
        self._n += 1
        self._asked[id(job)] = (proposal, low)
        return job

    def tell(self, job: Any, evaluation: Evaluation) -> None:  # type: ignore[override]
        if self._passthrough:
            self._inner.tell(job, evaluation)
            return
        proposal, low = self._asked.pop(id(job))
        if low is not None:  # a continued proposal's top-budget result
            self.model.add(low.valid_acc, evaluation.valid_acc)
            self.continued += 1
            self._inner.tell(proposal, evaluation._replace(cost=low.cost + evaluation.cost))
        elif evaluation.valid and self.promising(evaluation.valid_acc):
            self._promoted.append((proposal, evaluation))
        else:
            if evaluation.valid:
                self.stopped += 1
            self._inner.tell(proposal, evaluation)

    def end(self) -> None:
        if hasattr(self, "_inner"):
            self._inner.end()

    def run(self, oracle: Oracle) -> None:
        low = self.low_fidelity(oracle)
        inner = self.inner(self.encoding, seed=self.seed, **{k: self.hp[k] for k in self.inner.defaults})
        if low is None:
            _warn_no_low(self.name, oracle)
            inner.run(oracle)
            return
        try:
            inner.run(_StoppingOracle(oracle, self, low))  # type: ignore[arg-type]
        finally:
            log.debug("%s: %d proposals fully trained, %d stopped at %s", self.name, self.continued, self.stopped, low)


_WARNED_NO_LOW: set[str] = set()


def _warn_no_low(name: str, oracle: Oracle) -> None:
    if name not in _WARNED_NO_LOW:
        _WARNED_NO_LOW.add(name)
        log.warning("%s: table %r has a single budget and no halfway evaluations: no low fidelity to stop at, every "
                    "proposal is trained fully (the wrapped optimizer's own run)", name, oracle.table.name)


@cache
def make_lce(argument: str) -> type[Optimizer]:
    """The class of ``lce:<argument>``: :class:`LCE` around the single-fidelity optimizer ``argument``."""
    inner = inner_optimizer("lce", argument, single_fidelity="LCE wraps single-fidelity optimizers")
    return wrapper_class("lce", LCE, LCE_DEFAULTS, inner, argument,
                         "LCE around {label} (see :class:`optimizers.lce.LCE`).")
