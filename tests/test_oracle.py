"""The simulated-budget oracle: exact accounting, invalid configurations, incumbent and regret."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from _tables import toy_table

from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.oracle import BudgetExhausted, Evaluation, Oracle
from nasbench_bench.table import Table

ENC = EncodingNB201()


@pytest.fixture(scope="module")
def table() -> Table:
    return toy_table()


def _random_run(table: Table, seed: int, budget_s: float, invalid_every: int = 0, budget: int | None = None):
    oracle = Oracle(table, ENC, budget_s, seed=seed)
    rng = np.random.default_rng(1000 + seed)
    evals = []
    try:
        for i in range(100_000):
            cell = -1 if invalid_every and i % invalid_every == 0 else int(rng.integers(table.n_cells))
            evals.append(oracle.evaluate_cell(cell, budget))
    except BudgetExhausted:
        pass
    return oracle, evals


def test_budget_accounting_is_exact(table: Table) -> None:
    oracle, evals = _random_run(table, seed=3, budget_s=2e5, invalid_every=7)
    tr = oracle.trajectory()
    assert oracle.exhausted and len(tr) == len(evals) > 50
    clock = 0.0
    for k in range(len(tr)):
        if tr.row[k] >= 0:
            cost = table.train_time[tr.row[k], -1, tr.trial[k]]
            assert evals[k].cost == cost
            clock += cost
        else:
            assert evals[k].cost == 0.0 and not evals[k].valid
        assert tr.time[k] == clock == evals[k].time
    assert oracle.clock == clock <= 2e5
    # the run ended because the next evaluation did not fit: every cell costs >= the cheapest trial
    assert oracle.remaining < table.train_time[:, -1, :].max()
    with pytest.raises(BudgetExhausted):
        oracle.evaluate_cell(0)
    with pytest.raises(BudgetExhausted):
        oracle.evaluate_cell(-1)


def test_invalid_configurations_cost_nothing_and_are_recorded(table: Table) -> None:
    oracle = Oracle(table, ENC, 1e5, seed=0)
    ev = oracle.evaluate_cell(-1)
    assert not ev.valid and ev.cost == 0 and math.isnan(ev.valid_acc) and ev.loss == 1.0
    tr = oracle.trajectory()
    assert tr.row.tolist() == [-1] and tr.time.tolist() == [0.0] and math.isnan(tr.regret[0])


def test_incumbent_and_regret_follow_the_protocol(table: Table) -> None:
    oracle, _ = _random_run(table, seed=5, budget_s=3e5, invalid_every=5)
    tr = oracle.trajectory()
    test_mean = table.test_acc[:, -1, :].mean(axis=1)  # independent of Table.score
    best = test_mean.max()
    best_val, inc = -1.0, -1
    for k in range(len(tr)):
        if tr.row[k] >= 0 and tr.valid_acc[k] > best_val:
            best_val, inc = tr.valid_acc[k], tr.row[k]
        assert tr.incumbent[k] == inc
        if inc < 0:
            assert math.isnan(tr.regret[k])
        else:
            assert tr.regret[k] == pytest.approx(best - test_mean[inc], abs=1e-12)
        if tr.row[k] >= 0:
            assert tr.valid_acc[k] == table.valid_acc[tr.row[k], -1, tr.trial[k]]


def test_trials_are_drawn_uniformly(table: Table) -> None:
    oracle = Oracle(table, ENC, 1e12, seed=11)
    for _ in range(30_000):
        oracle.evaluate_cell(7)
    counts = np.bincount(oracle.trajectory().trial, minlength=3)
    # each trial ~1/3: 5 standard deviations of a binomial(30000, 1/3) is ~408
    assert np.all(np.abs(counts - 10_000) < 408), counts


def test_missing_trials_are_never_drawn(table: Table) -> None:
    n_trials = table.n_trials.copy()
    n_trials[7, -1] = 2
    t2 = dataclasses.replace(table, n_trials=n_trials)
    oracle = Oracle(t2, ENC, 1e12, seed=1)
    for _ in range(3000):
        oracle.evaluate_cell(7)
    assert set(oracle.trajectory().trial.tolist()) == {0, 1}


def test_same_seed_same_draws_and_different_seed_differs(table: Table) -> None:
    a = _random_run(table, 1, 1e5)[0].trajectory()
    b = _random_run(table, 1, 1e5)[0].trajectory()
    c = Oracle(table, ENC, 1e12, seed=2)
    assert np.array_equal(a.trial, b.trial) and np.array_equal(a.time, b.time)
    d = Oracle(table, ENC, 1e12, seed=1)
    draws_c = [c.evaluate_cell(3) for _ in range(50)]
    draws_d = [d.evaluate_cell(3) for _ in range(50)]
    assert [e.valid_acc for e in draws_c] != [e.valid_acc for e in draws_d]


def test_lower_budgets_charge_their_own_time(table: Table) -> None:
    oracle = Oracle(table, ENC, 1e12, seed=0)
    ev = oracle.evaluate_cell(42, budget=12)
    tr = oracle.trajectory()
    assert ev.budget == 12 and tr.budget[0] == 12
    assert ev.cost == table.train_time[42, 1, tr.trial[0]]
    assert ev.valid_acc == table.valid_acc[42, 1, tr.trial[0]]
    with pytest.raises(ValueError, match="budget 13 is not in table"):
        oracle.evaluate_cell(42, budget=13)


def test_dict_and_vector_configurations_agree(table: Table) -> None:
    vec = np.array([3, 0, 2, 4, 1, 3], dtype=float)
    config = ENC.to_config(vec)
    assert config == {
        "Op0": "nor_conv_3x3",
        "Op1": "none",
        "Op2": "nor_conv_1x1",
        "Op3": "avg_pool_3x3",
        "Op4": "skip_connect",
        "Op5": "nor_conv_3x3",
    }
    a = Oracle(table, ENC, 1e6, seed=0).evaluate(config)
    b = Oracle(table, ENC, 1e6, seed=0).evaluate(vec)
    assert a == b
    with pytest.raises(ValueError, match="Op0"):
        Oracle(table, ENC, 1e6).evaluate({"Op0": "conv9x9"})


def test_evaluation_exposes_no_test_metric() -> None:
    names = set(Evaluation._fields)
    assert not any("test" in n for n in names)


def test_max_evaluations_ends_the_run(table: Table) -> None:
    oracle = Oracle(table, ENC, 1e12, seed=0, max_evaluations=5)
    for _ in range(5):
        oracle.evaluate_cell(-1)
    with pytest.raises(BudgetExhausted, match="max_evaluations"):
        oracle.evaluate_cell(-1)


def test_bad_budget_and_foreign_table_are_rejected(table: Table) -> None:
    with pytest.raises(ValueError, match="time_budget"):
        Oracle(table, ENC, -1)
    with pytest.raises(ValueError, match="time_budget"):
        Oracle(table, ENC, float("inf"))
    other = dataclasses.replace(table, cell_ids=np.char.add(b"x", table.cell_ids[:]).astype("S7"))
    with pytest.raises(ValueError, match="shares no cell"):
        Oracle(other, ENC, 1e6)


def test_cell_absent_from_table_is_a_clear_error(table: Table) -> None:
    keep = np.arange(0, table.n_cells, 2)
    half = Table(
        name="half",
        budgets=table.budgets,
        cell_ids=table.cell_ids[keep],
        n_trials=table.n_trials[keep],
        train_time=table.train_time[keep],
        train_acc=table.train_acc[keep],
        valid_acc=table.valid_acc[keep],
        test_acc=table.test_acc[keep],
    )
    oracle = Oracle(half, ENC, 1e6)
    oracle.evaluate_cell(0)
    with pytest.raises(KeyError, match="absent from table 'half'"):
        oracle.evaluate_cell(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_evaluation_is_bit_identical_to_one_at_a_time(table: Table, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = rng.integers(-1, table.n_cells, size=3000)
    cells[rng.random(3000) < 0.4] = -1  # many invalid configurations, also at the very start
    cells[:3] = -1
    budget = 4e5 if seed < 2 else 1e12  # seed 2: the batch ends before the budget
    one, many = Oracle(table, ENC, budget, seed=seed), Oracle(table, ENC, budget, seed=seed)
    one.evaluate_cell(int(rng.integers(table.n_cells)))  # a scalar evaluation before the batches
    many.evaluate_cell(one.trajectory().row[0])
    try:
        for c in cells.tolist():
            one.evaluate_cell(c)
    except BudgetExhausted:
        pass
    try:
        for chunk in np.array_split(cells, 7):
            many.evaluate_cells(chunk)
    except BudgetExhausted:
        pass
    a, b = one.trajectory(), many.trajectory()
    assert one.exhausted == many.exhausted == (seed < 2)
    assert one.clock == many.clock
    for field in a._fields if hasattr(a, "_fields") else a.__dataclass_fields__:
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), field
    if seed == 2:  # the stream continues identically after a batch
        assert one.evaluate_cell(5) == many.evaluate_cell(5)
