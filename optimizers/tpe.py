"""TPE (Bergstra et al. 2011) with hyperopt's defaults (paper: "TPE: hyperopt defaults").

By default the suggestions come from :mod:`optimizers._tpe_exact`, an exact re-implementation of hyperopt
0.3.0's ``tpe.suggest`` (same vectors, bit for bit, at a small fraction of the cost per suggestion);
:meth:`TPE.run_with_hyperopt` and :class:`HyperoptTPE` run hyperopt's own ``tpe.suggest`` for comparisons.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.optimizer import Optimizer
from nasbench_bench.oracle import Oracle
from optimizers._tpe_exact import ExactTPE, params_from_encoding

log = logging.getLogger(__name__)


def hyperopt_space(encoding: Encoding) -> dict[str, Any]:
    """The encoding as a hyperopt space: ``hp.choice`` over choice indices, ``hp.uniformint``, ``hp.uniform``.

    A trial's ``misc['vals']`` then holds the encoding vector directly (choice index / integer / float).
    """
    from hyperopt import hp

    space: dict[str, Any] = {}
    for p in encoding.params:
        if p.kind == "cat":
            space[p.name] = hp.choice(p.name, list(range(len(p.choices))))
        elif p.kind == "int":
            space[p.name] = hp.uniformint(p.name, int(p.lower), int(p.upper))
        else:
            space[p.name] = hp.uniform(p.name, p.lower, p.upper)
    return space


def _quiet() -> None:
    lib = logging.getLogger("hyperopt")
    if lib.level == logging.NOTSET:  # tpe.suggest logs an INFO line per suggestion
        lib.setLevel(logging.WARNING)


class TPE(Optimizer):
    """hyperopt's ``tpe.suggest`` with its default settings, in the loop ``fmin`` runs (queue length 1).

    The loop is ``fmin``'s: per trial one seed drawn from ``rstate = default_rng(seed)``, then the
    suggestion, evaluate, record. The suggestions are identical to
    ``fmin(fn, hyperopt_space(encoding), tpe.suggest, rstate=np.random.default_rng(seed))`` whether they come
    from :class:`~optimizers._tpe_exact.ExactTPE` (:meth:`run`, the default) or from hyperopt itself
    (:meth:`run_with_hyperopt`). Loss = 1 - validation accuracy (1 for invalid configurations, which cost
    nothing).
    """

    name = "tpe"
    defaults: dict[str, Any] = {}
    #: Parallel form: hyperopt's own asynchronous mechanism (``fmin`` with a queue, Mongo/Spark trials):
    #: ``tpe.suggest`` is called while other trials are still pending (state NEW, no result). hyperopt 0.3.0 does
    #: not ignore them: ``tpe.suggest`` gives pending trials an infinite loss (they count towards
    #: ``n_startup_jobs`` and fall in the "bad" group), and a trial's result replaces that loss at its tid when it
    #: completes. Here each ask observes its suggestion in :class:`ExactTPE` with no loss (+inf) and each tell
    #: sets its loss; :class:`HyperoptTPE` does the same with hyperopt's own ``Trials`` (the two agree, tested).
    #: With one worker this is exactly :meth:`run`.
    pending_asks = True

    def begin(self, oracle: Oracle, workers: int) -> None:
        self._engine = ExactTPE(params_from_encoding(self.encoding), self.seed)
        self._pending: dict[int, int] = {}  # id(vector) -> its index (tid) in the engine's history

    def ask(self) -> np.ndarray:
        engine = self._engine
        vector = engine.ask()
        self._pending[id(vector)] = engine.n_observed
        engine.observe(vector, None)  # pending: +inf until told, as hyperopt sees a NEW trial
        return vector

    def tell(self, config: np.ndarray, evaluation: Any) -> None:  # type: ignore[override]
        self._engine.set_loss(self._pending.pop(id(config)), evaluation.loss)

    def run(self, oracle: Oracle) -> None:
        """Search with the exact re-implementation until the oracle raises ``BudgetExhausted``."""
        enc = self.encoding
        engine = ExactTPE(params_from_encoding(enc), self.seed)
        cell_index = enc.cell_index
        evaluate_cell = oracle.evaluate_cell
        try:
            while True:
                vector = engine.ask()
                engine.observe(vector, evaluate_cell(cell_index(vector)).loss)
        finally:
            log.debug("tpe seed %d: %d suggestions evaluated", self.seed, engine.n_observed)

    def run_with_hyperopt(self, oracle: Oracle) -> None:
        """The same search through hyperopt's own ``tpe.suggest``, ``Trials`` and pyll graph (slow): the loop
        ``fmin`` runs, written out over :class:`HyperoptTPE`'s ask/tell so that the oracle's ``BudgetExhausted``
        ends the run without hyperopt's error log or progress bar, with one ``refresh`` per trial."""
        lib = HyperoptTPE(self.encoding, seed=self.seed)
        lib.begin(oracle, 1)
        cell_index, evaluate_cell = self.encoding.cell_index, oracle.evaluate_cell
        while True:
            vector = lib.ask()
            lib.tell(vector, evaluate_cell(cell_index(vector)))


class HyperoptTPE(TPE):
    """:class:`TPE` through hyperopt's own ``tpe.suggest`` (``optimizers.tpe:HyperoptTPE``; for comparisons)."""

    name = "tpe-hyperopt"

    def run(self, oracle: Oracle) -> None:
        self.run_with_hyperopt(oracle)

    # the parallel form through hyperopt's own Trials: pending documents (state NEW) while other asks run
    def begin(self, oracle: Oracle, workers: int) -> None:
        from hyperopt import Trials, base

        _quiet()
        self._names = [p.name for p in self.encoding.params]
        self._domain = base.Domain(lambda config: 0.0, hyperopt_space(self.encoding))
        self._trials = Trials()
        self._rstate = np.random.default_rng(self.seed)
        self._docs: dict[int, dict[str, Any]] = {}  # id(vector) -> its pending trial document
        self._stale = False  # documents inserted or told since the last Trials.refresh

    def ask(self) -> np.ndarray:
        from hyperopt import tpe

        trials = self._trials
        if self._stale:  # tpe.suggest reads the refreshed view: every pending (NEW) and told document
            trials.refresh()
        docs = tpe.suggest(trials.new_trial_ids(1), self._domain, trials, self._rstate.integers(2**31 - 1))
        trials.insert_trial_docs(docs)
        self._stale = True
        doc = trials._dynamic_trials[-1]
        vals = doc["misc"]["vals"]
        vector = np.array([vals[n][0] for n in self._names], dtype=float)
        self._docs[id(vector)] = doc
        return vector

    def tell(self, config: np.ndarray, evaluation: Any) -> None:  # type: ignore[override]
        from hyperopt import JOB_STATE_DONE, STATUS_OK

        doc = self._docs.pop(id(config))
        doc["state"] = JOB_STATE_DONE
        doc["result"] = {"loss": evaluation.loss, "status": STATUS_OK}
        self._stale = True
