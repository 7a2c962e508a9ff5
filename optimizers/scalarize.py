"""Random Chebyshev scalarisation (ParEGO-style) around any single-objective optimizer: ``scalarize:re``,
``scalarize:smac``, ``scalarize:tpe``...

ParEGO (Knowles 2006) turns a multi-objective problem into a sequence of single-objective ones: each evaluation is
scored with the augmented Chebyshev function of a freshly drawn weight vector, on objectives normalised to [0, 1].
Here the wrapped optimizer is unchanged and sees, for every evaluation, ``search`` (the value it maximises) set to

    - ( max_i w_i f_i + rho * sum_i w_i f_i ),   w ~ uniform on the simplex (one draw per evaluation),

where ``f`` are the evaluation's minimised objectives (``Evaluation.objectives``: the negated metric and the costs)
normalised by the smallest and largest values *seen so far in the run* (the search never reads the table's
ranges) and ``rho = scalarize_rho`` (ParEGO: 0.05). Unlike ParEGO, which rescores its whole history with each new
weight before refitting its model, an ask/tell optimizer keeps the values it was told: each evaluation keeps the
weight and normalisation of its own step (documented approximation). The weights come from the wrapper's own
seeded stream, independent of the wrapped optimizer's. Without a Pareto problem the evaluations pass unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

import numpy as np

from nasbench_bench.optimizer import Optimizer, OptimizerError, inner_optimizer, wrapper_class
from nasbench_bench.oracle import Evaluation, Oracle
from nasbench_bench.problems import READS_VALID_ACC

__all__ = ["Scalarize", "make_scalarize"]

SCALARIZE_DEFAULTS: dict[str, Any] = {"scalarize_rho": 0.05}


class _Scalarizer:
    """The running normalisation and the weight stream of one run."""

    def __init__(self, seed: int, rho: float) -> None:
        self.rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5CA1A]))
        self.rho = float(rho)
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def __call__(self, ev: Evaluation) -> Evaluation:
        f = np.asarray(ev.objectives, dtype=np.float64)
        if len(f) < 2:
            return ev
        if not (ev.valid and np.isfinite(f).all()):
            return ev._replace(search=-2.0 - self.rho)  # worse than any valid value (in [-1 - rho, 0])
        self.low = f.copy() if self.low is None else np.minimum(self.low, f)
        self.high = f.copy() if self.high is None else np.maximum(self.high, f)
        span = self.high - self.low
        norm = np.where(span > 0, (f - self.low) / np.where(span > 0, span, 1.0), 0.0)
        w = self.rng.dirichlet(np.ones(len(f)))
        wf = w * norm
        return ev._replace(search=-float(wf.max() + self.rho * wf.sum()))


class _ScalarizingOracle:
    """What the wrapped optimizer's own loop evaluates through: every evaluation comes back scalarised. It sees no
    problem (``problem`` is None), so a multi-objective-aware optimizer inside runs single-objective."""

    problem = None

    def __init__(self, oracle: Oracle, scalarizer: _Scalarizer) -> None:
        self._oracle = oracle
        self._scalarize = scalarizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._oracle, name)

    def evaluate(self, config: Any, budget: int | None = None, *, halfway: bool = False) -> Evaluation:
        return self._scalarize(self._oracle.evaluate(config, budget, halfway=halfway))

    def evaluate_cell(self, cell: int, budget: int | None = None, halfway: bool = False) -> Evaluation:
        return self._scalarize(self._oracle.evaluate_cell(cell, budget, halfway))

    def resume(self, run_id: int) -> Evaluation:
        return self._scalarize(self._oracle.resume(run_id))

    def evaluate_cells(self, cells: np.ndarray, budget: int | None = None) -> None:
        """Batches return nothing (random search): no optimizer reads them, nothing to scalarise."""
        self._oracle.evaluate_cells(cells, budget)


class Scalarize(Optimizer):
    """Random Chebyshev scalarisation around the single-objective optimizer ``inner`` (set by
    :func:`make_scalarize`; see the module docstring). Its hyperparameters are the wrapped optimizer's plus
    ``scalarize_rho``; it is seeded with the run's seed."""

    name: ClassVar[str] = "scalarize"
    inner: ClassVar[type[Optimizer]]
    defaults: ClassVar[Mapping[str, Any]] = SCALARIZE_DEFAULTS

    def setup(self) -> None:
        rho = self.hp["scalarize_rho"]
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not (rho >= 0 and math.isfinite(rho)):
            raise OptimizerError(f"{self.name}: scalarize_rho must be a finite number >= 0, got {rho!r}")

    def _make_inner(self) -> Optimizer:
        return self.inner(self.encoding, seed=self.seed, **{k: self.hp[k] for k in self.inner.defaults})

    def run(self, oracle: Oracle) -> None:
        scalarizer = _Scalarizer(self.seed, self.hp["scalarize_rho"])
        self._inner = self._make_inner()
        self._inner.run(_ScalarizingOracle(oracle, scalarizer))  # type: ignore[arg-type]

    # parallel form: the wrapped optimizer's own, every completed evaluation scalarised before it is told
    def begin(self, oracle: Oracle, workers: int) -> None:
        self._scalarizer = _Scalarizer(self.seed, self.hp["scalarize_rho"])
        self._inner = self._make_inner()
        self._inner.begin(_ScalarizingOracle(oracle, self._scalarizer), workers)  # type: ignore[arg-type]

    def ask(self) -> Any:
        return self._inner.ask()

    def tell(self, config: Any, evaluation: Evaluation) -> None:
        self._inner.tell(config, self._scalarizer(evaluation))

    def end(self) -> None:
        if hasattr(self, "_inner"):
            self._inner.end()


@cache
def make_scalarize(argument: str) -> type[Optimizer]:
    """The class of ``scalarize:<argument>``: :class:`Scalarize` around the single-objective optimizer ``argument``."""
    inner = inner_optimizer("scalarize", argument, single_fidelity="the scalarisation wraps single-fidelity optimizers")
    if (inner.name or argument) in READS_VALID_ACC:
        raise OptimizerError(f"scalarize:{argument}: {inner.name or argument!r} reads the validation value directly, "
                             "so a scalarisation would not reach it")
    return wrapper_class("scalarize", Scalarize, SCALARIZE_DEFAULTS, inner, argument,
                         "Random Chebyshev scalarisation around {label} (see :class:`optimizers.scalarize.Scalarize`).")
