"""Hyperband (Li et al. 2017) through hpbandster, driven in-process (see :mod:`optimizers._hpbandster`)."""

from __future__ import annotations

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


class Hyperband(ParallelHyperband, Optimizer):
    """hpbandster's HyperBand: random configurations, successive halving over the table's budgets.

    Paper settings: eta 3, budgets 4/12/36/108 epochs (the table's budgets). Each budget is a separate
    training run in the table. A single-budget table degenerates to random search at that budget.

    The rungs are the table's budgets and ``eta`` only sizes the brackets (hpbandster's formula). On two budgets
    [12, 200] (``nb201-*-mf``) eta 3 gives brackets 3 at 12 -> 1 at 200, and 2 at 200; eta 16 (about 200/12, the
    budget ratio Hyperband's geometry assumes) gives 16 at 12 -> 1 at 200, and 2 at 200 (brackets of about equal
    cost). The default stays the paper's 3.
    """

    name = "hb"
    defaults = {"eta": 3}
    multi_fidelity = True

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "eta", minimum=1, exclusive_minimum=True)

    def config_generator(self) -> Any:
        """hpbandster's ``RandomSampling`` over the encoding's ConfigurationSpace seeded with the run's seed."""
        from hpbandster.optimizers.config_generators.random_sampling import RandomSampling

        return RandomSampling(self.encoding.configspace(seed=self.seed))

    def run(self, oracle: Oracle) -> None:
        budgets = rung_budgets(oracle.table.budgets, self.name)
        with seeded_global_numpy(self.seed), library_warnings_silenced():
            run_hpbandster(self.config_generator(), oracle, budgets, float(self.hp["eta"]))
