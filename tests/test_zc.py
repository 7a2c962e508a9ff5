"""zc:NAME, the zero-cost warm-up: proxy time charged, seeding, refusals, and behaviour on NAS-Bench-201."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from _tables import toy_table

from nasbench_bench.benchmarks import get_encoding, load_benchmark
from nasbench_bench.optimizer import OptimizerError, get_optimizer, run_optimizer
from nasbench_bench.oracle import Oracle
from nasbench_bench.table import Table

ENC = get_encoding("nb201")


@pytest.fixture(scope="module")
def cifar10() -> Table:
    return load_benchmark("nb201-cifar10")


def _with_columns(table: Table, score: np.ndarray, time: np.ndarray) -> Table:
    return dataclasses.replace(table, columns={"zen_score": score, "zen_time": time})


def test_proxy_time_is_charged_to_the_clock(cifar10: Table) -> None:
    """Every scoring costs its recorded time: with every cell's proxy time set to 7 s, 50 scorings put the first
    evaluation at 350 s + its own recorded training time."""
    n = cifar10.n_cells
    table = _with_columns(cifar10, np.asarray(cifar10.columns["zen_score"]), np.full(n, 7.0))
    opt = get_optimizer("zc:re")(ENC, seed=1, zc_samples=50, population_size=10, tournament_size=3)
    tr = run_optimizer(opt, Oracle(table, ENC, 1e5, seed=1))
    first = float(table.train_time[tr.row[0], -1, tr.trial[0]])
    assert opt.scored == 50 and tr.time[0] == pytest.approx(350.0 + first)
    # the recorded proxy times themselves: the clock before the first evaluation is their sum
    real = get_optimizer("zc:re")(ENC, seed=1, zc_samples=50, population_size=10, tournament_size=3)
    tr2 = run_optimizer(real, Oracle(cifar10, ENC, 1e5, seed=1))
    first2 = float(cifar10.train_time[tr2.row[0], -1, tr2.trial[0]])
    assert 20 < real.proxy_seconds < 100  # ~0.8 s per recorded Zen scoring on NB201
    assert tr2.time[0] == pytest.approx(real.proxy_seconds + first2)


def test_seeds_are_the_best_scored_cells(cifar10: Table) -> None:
    """With the table's own score as the proxy, RE's initial population is the best cells among those scored, best
    first, and the run's first incumbent is far better than an unassisted one's."""
    table = _with_columns(cifar10, np.asarray(cifar10.score), np.ones(cifar10.n_cells))
    opt = get_optimizer("zc:re")(ENC, seed=2, zc_samples=500, population_size=10, tournament_size=3)
    tr = run_optimizer(opt, Oracle(table, ENC, 1e5, seed=2))
    first = table.score[tr.row[:10]]
    assert (np.diff(first) <= 0).all() and len(set(tr.row[:10].tolist())) == 10
    assert first[0] > np.quantile(table.score, 0.99)


def test_unit_cost_tables_are_not_charged_proxy_seconds() -> None:
    table = load_benchmark("tnb101-micro-class_scene")
    enc = get_encoding("tnb101-micro")
    opt = get_optimizer("zc:rs")(enc, seed=0, zc_samples=100)
    tr = run_optimizer(opt, Oracle(table, enc, 20, seed=0))
    assert opt.proxy_seconds > 0 and tr.time.tolist() == list(range(1, 21))


def test_tables_without_a_proxy_are_refused() -> None:
    with pytest.raises(OptimizerError, match=r"zc-re: table 'toy' has no zero-cost proxy 'zen'"):
        run_optimizer(get_optimizer("zc:re")(ENC, seed=0), Oracle(toy_table(), ENC, 1e5, seed=0))


def test_wrappers_refuse_what_they_cannot_seed() -> None:
    with pytest.raises(OptimizerError, match="cannot start from given configurations"):
        get_optimizer("zc:ls")
    with pytest.raises(OptimizerError, match="zc:nope"):
        get_optimizer("zc:nope")
    with pytest.raises(OptimizerError, match="zc_samples"):
        get_optimizer("zc:re")(ENC, seed=0, zc_samples=0)
    with pytest.raises(OptimizerError, match="tournament_size"):
        get_optimizer("zc:re")(ENC, seed=0, population_size=5, tournament_size=10)


def _paired(table: Table, budget: float, seeds: range) -> dict[str, np.ndarray]:
    return {name: np.array([run_optimizer(get_optimizer(name)(ENC, seed=s, population_size=10, tournament_size=3),
                                          Oracle(table, ENC, budget, seed=s)).regret[-1] for s in seeds])
            for name in ("re", "zc:re")}


@pytest.mark.xfail(strict=True, reason="does not reproduce with the Zen-NAS proxy the suite ships (measured 15 "
                   "better / 15 worse of 30 seeds): on NB201 the top Zen-scored cells are worse than the median "
                   "cell (docs/baselines.md)")
def test_zc_re_beats_re_at_a_small_budget_on_nb201() -> None:
    """Mellor et al. (2021) / Abdelfattah et al. (2021): a zero-cost warm-up helps RE at small budgets. Paired over
    seeds, NB201 cifar100, RE with Dong et al.'s NB201 settings (population 10, tournament 3), 1e5 s (~40
    evaluations; the warm-up's 3000 Zen scorings cost ~2,400 s of it)."""
    final = _paired(load_benchmark("nb201-cifar100"), 1e5, range(30))
    gain = final["re"] - final["zc:re"]
    assert gain.mean() > 0 and (gain > 0).sum() > (gain < 0).sum(), {k: v.mean() for k, v in final.items()}


def test_an_experiment_with_zc_on_a_table_without_a_proxy_is_refused_before_any_run(tmp_path: Path) -> None:
    from nasbench_bench.experiment import Experiment, ExperimentError
    from nasbench_bench.runner import run_experiment

    exp = Experiment.from_dict({"benchmark": "graph-cora", "optimizers": ["rs", "zc:re"], "seeds": "0-1",
                                "time_budget": 10})
    with pytest.raises(ExperimentError, match=r"graph-cora.*zc-re.*no zero-cost proxy 'zen'"):
        run_experiment(exp, tmp_path / "out", executor="inline")
    assert not list((tmp_path / "out").rglob("*.parquet"))
