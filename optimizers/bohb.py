"""BOHB (Falkner et al. 2018): hpbandster's master driven in-process (see :mod:`optimizers._hpbandster`).

By default the configurations come from :class:`optimizers._bohb_exact.ExactBOHB`, an exact re-implementation of
hpbandster 0.7.4's BOHB config generator (the same proposals at a fraction of the cost);
:meth:`BOHB.run_with_hpbandster` and :class:`HpbandsterBOHB` use the library's own generator for comparisons.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Oracle
from optimizers._hpbandster import (
    ParallelHyperband,
    library_warnings_silenced,
    run_hpbandster,
    rung_budgets,
    seeded_global_numpy,
)


class BOHB(ParallelHyperband, Optimizer):
    """hpbandster's BOHB: Hyperband brackets whose new configurations come from a TPE-like KDE model.

    Paper settings: eta 3, budgets = the table's (4/12/36/108 epochs), random fraction 0, 4 samples to
    optimise the acquisition, minimum bandwidth 0.3, bandwidth factor 3; other settings are hpbandster's
    defaults (top 15 %, ``min_points_in_model`` = dimension + 1). A single-budget table degenerates to
    the KDE model on that budget alone. Brackets on two budgets: see :class:`optimizers.hyperband.Hyperband`
    (eta 3: 3 at 12 -> 1 at 200, and 2 at 200; eta 16: 16 at 12 -> 1 at 200, and 2 at 200).
    """

    name = "bohb"
    defaults = {
        "eta": 3,
        "random_fraction": 0.0,
        "num_samples": 4,
        "min_bandwidth": 0.3,
        "bandwidth_factor": 3.0,
        "top_n_percent": 15,
        "min_points_in_model": None,
    }
    multi_fidelity = True
    #: where the configurations come from: "exact" (:class:`~optimizers._bohb_exact.ExactBOHB`) or "hpbandster"
    #: (the library's own generator, with statsmodels' KDEs)
    generator = "exact"

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "eta", minimum=1, exclusive_minimum=True)
        check_number(cls, hp, "random_fraction", minimum=0, maximum=1)
        check_number(cls, hp, "num_samples", integer=True, minimum=1)
        check_number(cls, hp, "min_bandwidth", minimum=0, exclusive_minimum=True)
        check_number(cls, hp, "bandwidth_factor", minimum=0, exclusive_minimum=True)
        check_number(cls, hp, "top_n_percent", minimum=0, maximum=100, exclusive_minimum=True,
                     exclusive_maximum=True)
        check_number(cls, hp, "min_points_in_model", integer=True, minimum=1, optional=True)

    def _settings(self) -> dict[str, Any]:
        hp = self.hp
        return {k: hp[k] for k in ("min_points_in_model", "top_n_percent", "num_samples", "random_fraction",
                                   "bandwidth_factor", "min_bandwidth")}

    def config_generator(self) -> Any:
        """This run's config generator over the seeded ConfigurationSpace (:attr:`generator` says which)."""
        if self.generator == "hpbandster":
            return self.library_config_generator()
        from optimizers._bohb_exact import ExactBOHB

        return ExactBOHB(self.encoding.configspace(seed=self.seed), **self._settings())

    def library_config_generator(self) -> Any:
        """hpbandster's own BOHB KDE generator with this run's settings over the seeded ConfigurationSpace."""
        from hpbandster.optimizers.config_generators.bohb import BOHB as KDEGenerator

        return KDEGenerator(configspace=self.encoding.configspace(seed=self.seed), **self._settings())

    def run(self, oracle: Oracle) -> None:
        self._run(oracle, self.config_generator)

    def run_with_hpbandster(self, oracle: Oracle) -> None:
        """The same search with hpbandster's own config generator (statsmodels KDEs, scipy sampling; slow)."""
        self._run(oracle, self.library_config_generator)

    def _run(self, oracle: Oracle, make_generator: Any) -> None:
        from optimizers._bohb_exact import single_threaded_blas

        budgets = rung_budgets(oracle.table.budgets, self.name)
        with seeded_global_numpy(self.seed), library_warnings_silenced(), single_threaded_blas():
            run_hpbandster(make_generator(), oracle, budgets, float(self.hp["eta"]))

    @contextmanager
    def _own_numpy(self) -> Iterator[None]:
        """The parallel form's ask/tell: the run's own global RandomState, and BLAS on one thread."""
        from optimizers._bohb_exact import single_threaded_blas

        with super()._own_numpy(), single_threaded_blas():
            yield


class HpbandsterBOHB(BOHB):
    """:class:`BOHB` with hpbandster's own config generator (``optimizers.bohb:HpbandsterBOHB``; for comparisons),
    sequentially and in the parallel form."""

    name = "bohb-hpbandster"
    generator = "hpbandster"
