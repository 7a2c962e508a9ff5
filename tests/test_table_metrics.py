"""The generalised Table: minimised and negative metrics, unit costs, per-cell columns (small hand-made tables)."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_bench.oracle import Oracle
from nasbench_bench.table import Table
from tests._tables import RowEncoding


class GapEncoding(RowEncoding):
    """Row encoding whose last value (row = n) is an invalid configuration."""

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(vectors))[:, 0].astype(np.int64)
        return np.where(rows >= len(self._ids), -1, rows)

    def __init__(self, ids: np.ndarray) -> None:
        super().__init__(ids)
        from nasbench_bench.encodings import Param

        self.params = (Param("row", "int", lower=0, upper=len(ids)),)


def loss_table(losses: list[float], *, unit: bool = True, trials: int = 1) -> Table:
    """A minimised metric (an MSE): the arrays hold -loss, as the Table's orientation rule says."""
    n = len(losses)
    ids = np.array([f"c{i:03d}" for i in range(n)], dtype="S4")
    oriented = -np.repeat(np.asarray(losses, float)[:, None, None], trials, axis=2)
    return Table(
        name="mse", budgets=np.array([100]), cell_ids=ids, n_trials=np.full((n, 1), trials, np.int8),
        train_time=np.ones((n, 1, trials)) if unit else np.full((n, 1, trials), 7.0),
        train_acc=np.full((n, 1, trials), np.nan), valid_acc=oriented, test_acc=oriented.copy(),
        metric="MSE loss", maximize=False, cost_model="unit" if unit else "recorded",
        columns={"params": np.arange(n, dtype=float)},
    )


def test_minimised_metric_regret_is_nonnegative_and_zero_at_the_lowest_loss() -> None:
    t = loss_table([0.5, 0.02, 3.0])
    assert t.best_score == pytest.approx(-0.02)  # the lowest loss, oriented
    regret = t.best_score - t.score
    assert regret.min() == 0.0 and int(np.argmin(regret)) == 1
    assert (regret >= 0).all() and regret[2] == pytest.approx(2.98)
    assert t.recorded(t.best_score) == pytest.approx(0.02)  # displayed as the positive MSE
    assert "minimised" in t.describe() and "evaluations" in t.describe()


def test_invalid_configurations_score_at_the_floor_below_every_valid_value() -> None:
    t = loss_table([0.5, 0.02, 3.0])
    assert t.floor == pytest.approx(-3.0)  # worst valid oriented value; 0.0 would beat every valid cell
    oracle = Oracle(t, GapEncoding(t.cell_ids), time_budget=10)
    bad = oracle.evaluate(np.array([3.0]))
    good = oracle.evaluate(np.array([2.0]))
    assert not bad.valid and bad.value == t.floor and bad.value <= good.value
    assert bad.loss >= good.loss  # minimising libraries never prefer an invalid configuration
    acc = Table(name="acc", budgets=np.array([1]), cell_ids=np.array([b"a", b"b"]), n_trials=np.ones((2, 1), np.int8),
                train_time=np.ones((2, 1, 1)), train_acc=np.full((2, 1, 1), np.nan),
                valid_acc=np.array([0.3, 0.9]).reshape(2, 1, 1), test_acc=None, score_metric="validation")
    assert acc.floor == 0.0  # accuracies: the old convention (invalid = 0 accuracy, loss 1) is unchanged


def test_negative_metric_keeps_its_sign_and_its_direction() -> None:
    vals = np.array([-1.09, -0.60, -0.75]).reshape(3, 1, 1)  # a negative L2 loss: higher is better
    t = Table(name="neg", budgets=np.array([1]), cell_ids=np.array([b"a", b"b", b"c"]),
              n_trials=np.ones((3, 1), np.int8), train_time=np.ones((3, 1, 1)),
              train_acc=np.full((3, 1, 1), np.nan), valid_acc=vals, test_acc=None, score_metric="validation",
              metric="negative L2 loss", cost_model="unit")
    assert t.best_score == pytest.approx(-0.60) and t.recorded(t.best_score) == pytest.approx(-0.60)
    assert t.floor == pytest.approx(-1.09)
    assert np.allclose(t.best_score - t.score, [0.49, 0.0, 0.15])


def test_unit_cost_budget_counts_evaluations() -> None:
    t = loss_table([0.5, 0.02, 3.0], trials=2)
    oracle = Oracle(t, RowEncoding(t.cell_ids), time_budget=5, seed=3)
    rng = np.random.default_rng(0)
    n = 0
    from nasbench_bench.oracle import BudgetExhausted

    with pytest.raises(BudgetExhausted, match="5 evaluations"):
        while True:
            oracle.evaluate(np.array([float(rng.integers(3))]))
            n += 1
    assert n == 5 and oracle.clock == 5.0
    assert t.cost_unit == "evaluations" and loss_table([1.0], unit=False).cost_unit == "seconds"


def test_unit_cost_tables_must_charge_one_per_trial() -> None:
    t = loss_table([0.5, 0.02], unit=False)
    with pytest.raises(ValueError, match="unit-cost"):
        Table(**{**{f: getattr(t, f) for f in t.__dataclass_fields__}, "cost_model": "unit"})
    with pytest.raises(ValueError, match="cost_model"):
        Table(**{**{f: getattr(t, f) for f in t.__dataclass_fields__}, "cost_model": "guessed"})
    with pytest.raises(ValueError, match="column 'params'"):
        Table(**{**{f: getattr(t, f) for f in t.__dataclass_fields__}, "columns": {"params": np.zeros(5)}})


@pytest.mark.parametrize("name", ["re", "reinforce", "rs", "tpe", "ls"])
def test_optimizers_find_the_lowest_loss_and_never_keep_an_invalid_incumbent(name: str) -> None:
    from nasbench_bench.optimizer import get_optimizer, run_optimizer

    losses = list(np.linspace(3.0, 0.1, 40))
    t = loss_table(losses)
    enc = GapEncoding(t.cell_ids)
    oracle = Oracle(t, enc, time_budget=60, seed=1)
    run_optimizer(get_optimizer(name)(enc, seed=2), oracle)
    tr = oracle.trajectory()
    assert (tr.regret[~np.isnan(tr.regret)] >= 0).all()
    assert (tr.incumbent[tr.row >= 0] >= 0).all()
    inc = int(tr.incumbent[-1])
    # the incumbent is the best valid value seen: its loss is the minimum loss among evaluated rows
    seen = tr.row[tr.row >= 0]
    assert losses[inc] == pytest.approx(min(losses[r] for r in seen))


def test_evolution_and_reinforce_reward_an_invalid_configuration_with_the_floor() -> None:
    from nasbench_bench.optimizer import get_optimizer

    t = loss_table([0.5, 0.02, 3.0])
    enc = GapEncoding(t.cell_ids)
    oracle = Oracle(t, enc, time_budget=10)
    re = get_optimizer("re")(enc, seed=0)
    re.begin(oracle, 1)
    bad = oracle.evaluate(np.array([3.0]))
    re.tell(np.array([3.0]), bad)
    assert re._population[-1][1] == pytest.approx(-3.0)  # not 0.0, which would beat every valid loss here
    assert re._fitness(oracle, -1) == pytest.approx(-3.0)  # run(): the same value
