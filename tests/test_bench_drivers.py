"""The driver benchmark's HB/BOHB instrumentation: it splits a run into parts that add up and leaves the
library as it found it; the timed run is the same run as an untimed one."""

from __future__ import annotations

import numpy as np
import pytest
from _tables import toy_table
from hpbandster.core.base_iteration import BaseIteration

from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.optimizer import get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
from optimizers._hpbandster import InProcessMaster
from perf.drivers import _ours

ENC = EncodingNB201()
N = 150


@pytest.mark.parametrize("name", ["hb", "bohb"])
def test_hyperband_run_splits_into_timed_parts(name: str) -> None:
    table = toy_table()
    originals = (BaseIteration.get_next_run, BaseIteration.register_result, InProcessMaster.get_next_iteration)
    oracle, parts = _ours(name, table, ENC, N, seed=3)

    assert (BaseIteration.get_next_run, BaseIteration.register_result,
            InProcessMaster.get_next_iteration) == originals
    assert len(oracle.stamps) == N
    assert parts["get_config"] > 0 and parts["register"] > 0 and parts["bracket"] > 0
    # get_config is called from inside get_next_run, so the outer timing contains it
    assert parts["next_run"] > parts["get_config"]
    accounted = parts["new_result"] + parts["next_run"] + parts["register"] + parts["bracket"] + oracle.inside
    assert accounted < parts["total"]

    untimed = run_optimizer(get_optimizer(name)(ENC, seed=3), Oracle(table, ENC, 1e15, seed=3, max_evaluations=N))
    timed = oracle.trajectory()
    assert np.array_equal(timed.row, untimed.row) and np.array_equal(timed.budget, untimed.budget)
    assert np.array_equal(timed.trial, untimed.trial)
