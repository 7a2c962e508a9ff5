"""Cross-benchmark statistics (nasbench_bench.across) on tiny hand-made results, checked against hand computations,
scipy and Demsar's table; suites and the per-table budget rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasbench_bench import across as X

# final regrets: benchmark -> optimizer -> per-seed final regret (seeds 0, 1); best - median = REF[benchmark]
FINAL = {
    "b1": {"rs": [0.4, 0.6], "re": [0.1, 0.3], "ls": [0.0, 0.0]},
    "b2": {"rs": [1.0, 1.0], "re": [0.5, 0.7], "ls": [0.2, 0.2]},
    "b3": {"rs": [0.3, 0.5], "re": [0.4, 0.4], "ls": [0.1, 0.3]},
}
REF = {"b1": 0.5, "b2": 2.0, "b3": 0.4}
DOMAIN = {"b1": "image", "b2": "image", "b3": "graph"}


def frames(final: dict = FINAL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-evaluation results (two evaluations per run: regret 2x then the final value) and the run table."""
    res, runs = [], []
    for b, per in final.items():
        for o, vals in per.items():
            for seed, v in enumerate(vals):
                res.append({"benchmark": b, "optimizer": o, "seed": seed, "eval": 0, "time": 1.0, "regret": 2 * v + 1})
                res.append({"benchmark": b, "optimizer": o, "seed": seed, "eval": 1, "time": 8.0, "regret": v})
                runs.append({"benchmark": b, "optimizer": o, "seed": seed, "status": "done", "budget_s": 10.0,
                             "best_score": 1.0, "median_score": 1.0 - REF[b.split("-")[0]],
                             "domain": DOMAIN[b.split("-")[0]],
                             "cost_unit": "evaluations", "score_metric": "validation", "cost_model": "unit"})
    return pd.DataFrame(res), pd.DataFrame(runs)


def test_normalized_regret_is_regret_over_the_median_configurations_regret() -> None:
    fin = X.final_normalized(*frames())
    row = fin[(fin.benchmark == "b2") & (fin.optimizer == "re") & (fin.seed == 1)].iloc[0]
    assert row.final_regret == pytest.approx(0.7) and row.norm_regret == pytest.approx(0.35)  # 0.7 / 2.0
    assert fin[fin.benchmark == "b1"]["norm_regret"].max() == pytest.approx(1.2)  # 0.6 / 0.5


def test_curves_are_drawn_over_the_budget_fraction() -> None:
    curves = X.normalized_curves(*frames(), fractions=np.array([0.05, 0.5, 1.0]), n_boot=50)
    ls = curves[curves.optimizer == "ls"].set_index("fraction")
    assert math.isnan(ls.loc[0.05, "mean"])  # nothing evaluated before t = 1 = 10 % of the budget
    first = np.mean([(2 * v + 1) / REF[b] for b in FINAL for v in FINAL[b]["ls"]])
    last = np.mean([v / REF[b] for b in FINAL for v in FINAL[b]["ls"]])
    assert ls.loc[0.5, "mean"] == pytest.approx(first) and ls.loc[1.0, "mean"] == pytest.approx(last)
    assert ls.loc[1.0, "lo"] <= last <= ls.loc[1.0, "hi"]


def test_friedman_against_scipy_and_by_hand() -> None:
    fin = X.final_normalized(*frames())
    f = X.friedman(fin)
    means = {b: {o: np.mean(v) for o, v in per.items()} for b, per in FINAL.items()}
    opts = sorted(means["b1"])
    cols = [[means[b][o] for b in sorted(means)] for o in opts]
    ref = stats.friedmanchisquare(*cols)
    assert f["statistic"] == pytest.approx(ref.statistic) and f["p"] == pytest.approx(ref.pvalue)
    # by hand: ranks per benchmark (1 = lowest): b1 ls 1 re 2 rs 3; b2 ls 1 re 2 rs 3; b3 ls 1 re 2.5 rs 2.5
    r = {"ls": 1.0, "re": (2 + 2 + 2.5) / 3, "rs": (3 + 3 + 2.5) / 3}
    assert dict(f["ranks"]) == pytest.approx(r)
    n, k = 3, 3
    chi2 = 12 * n / (k * (k + 1)) * (sum(v**2 for v in r.values()) - k * (k + 1) ** 2 / 4)
    # scipy corrects for ties; without ties in the example the corrected value would equal chi2
    assert f["statistic"] >= chi2 - 1e-12
    assert set(f["nemenyi"].columns) == set(opts)


@pytest.mark.parametrize("k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (7, 2.949),
                                 (8, 3.031), (9, 3.102), (10, 3.164)])
def test_critical_difference_matches_demsars_table(k: int, q: float) -> None:
    """Demsar (2006), Table 5(a): q_0.05 of the Nemenyi test; CD = q sqrt(k(k+1)/(6N))."""
    n = 14
    assert X.critical_difference(k, n) == pytest.approx(q * math.sqrt(k * (k + 1) / (6 * n)), abs=2e-3)


def test_demsars_worked_example() -> None:
    # Demsar 2006, section 3.2.2: four algorithms on 14 data sets, CD = 2.569 sqrt(4*5 / (6*14)) = 1.25
    assert X.critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)


def test_performance_profile_by_hand() -> None:
    fin = X.final_normalized(*frames())
    pr = X.profile_ratios(fin).set_index(["benchmark", "optimizer"])
    # b1: ls mean 0 -> the best is 0: ls ratio 1, others infinite
    assert pr.loc[("b1", "ls"), "ratio"] == 1.0 and math.isinf(pr.loc[("b1", "re"), "ratio"])
    # b2 (ref 2): ls 0.1, re 0.3, rs 0.5 -> ratios 1, 3, 5
    assert pr.loc[("b2", "re"), "ratio"] == pytest.approx(3.0) and pr.loc[("b2", "rs"), "ratio"] == pytest.approx(5.0)
    # b3 (ref 0.4): ls 0.5, re 1.0, rs 1.0 -> 1, 2, 2
    prof = X.performance_profile(fin, taus=np.array([1.0, 2.0, 3.0, 10.0])).set_index(["optimizer", "tau"])["rho"]
    assert prof[("ls", 1.0)] == 1.0
    assert prof[("re", 1.0)] == 0.0 and prof[("re", 2.0)] == pytest.approx(1 / 3)
    assert prof[("re", 3.0)] == pytest.approx(2 / 3) and prof[("re", 10.0)] == pytest.approx(2 / 3)
    assert prof[("rs", 2.0)] == pytest.approx(1 / 3) and prof[("rs", 10.0)] == pytest.approx(2 / 3)


def test_adding_an_optimizer_changes_no_other_optimizers_normalized_regret_or_profile_input() -> None:
    before = X.final_normalized(*frames())
    more = {b: {**per, "new": [0.0, 0.0]} for b, per in FINAL.items()}
    after = X.final_normalized(*frames(more))
    key = ["benchmark", "optimizer", "seed"]
    merged = before.merge(after, on=key, suffixes=("", "_after"))
    assert len(merged) == len(before)
    assert np.allclose(merged["norm_regret"], merged["norm_regret_after"])
    pb = X.profile_ratios(before).set_index(["benchmark", "optimizer"])["value"]
    pa = X.profile_ratios(after).set_index(["benchmark", "optimizer"])["value"]
    assert np.allclose(pb, pa.loc[pb.index])


def test_domain_table_names_who_beats_the_baseline() -> None:
    big = {f"{b}-{i}": {o: [x + 0.01 * i for x in v] for o, v in per.items()} for i in range(4)
           for b, per in FINAL.items()}
    res, runs = frames(big)
    runs["domain"] = "image"
    dom = X.domain_table(X.final_normalized(res, runs), baseline="rs")
    verdict = dom.set_index("optimizer")["verdict"]
    assert verdict["ls"] == "better than rs"
    assert (dom["p_holm"] >= dom["p"]).all()


def test_suites_come_from_the_registry() -> None:
    from nasbench_bench import benchmarks as B

    nb201 = B.suite("nb201")
    assert len(nb201) == 9 and all(b.startswith("nb201-") for b in nb201) and "toy" not in nb201
    real = B.suite("real")
    assert set(nb201) <= set(real) and "toy" not in real and "nb101" not in real and "nb101-synthetic" not in real
    with pytest.raises(KeyError, match="unknown suite"):
        B.suite("nope")


def test_budget_rule_is_resolved_per_table() -> None:
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.experiment import Experiment, ExperimentError

    exp = Experiment.from_dict({"benchmarks": ["nb201-cifar10", "nb201-cifar100-12ep"], "optimizers": ["rs"],
                                "seeds": 1, "time_budget": "100 evaluations"})
    for b in exp.benchmarks:
        t = load_benchmark(b)
        per_cell = pd.DataFrame(np.asarray(t.train_time)[:, -1, :]).mean(axis=1, skipna=True)
        assert exp.budget_for(b) == pytest.approx(100 * float(per_cell.mean()))
        run = next(r for r in exp.runs() if r.id.benchmark == b)
        assert run.time_budget == exp.budget_for(b) and run.settings["budget_rule"] == "100 evaluations"
    assert exp.budget_for("nb201-cifar10") != exp.budget_for("nb201-cifar100-12ep")
    plain = Experiment.from_dict({"benchmark": "nb201-cifar10", "optimizers": ["rs"], "seeds": 1, "time_budget": 5e4})
    assert "budget_rule" not in plain.runs()[0].settings  # runs without a rule keep their identity
    with pytest.raises(ExperimentError, match="time_budget"):
        Experiment.from_dict({"benchmark": "nb201-cifar10", "optimizers": ["rs"], "seeds": 1,
                              "time_budget": "-3 evaluations"})


def test_report_and_plot_pool_several_benchmarks(tmp_path, capsys) -> None:
    from nasbench_bench.cli import main

    out = tmp_path / "res"
    assert main(["run", "--benchmark", "nb201-cifar10-12ep,nb201-cifar100-12ep,nb201-cifar10", "--optimizers",
                 "rs,ls", "--seeds", "0-2", "--budget", "30 evaluations", "--out", str(out), "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "=== across 3 benchmarks ===" in text and "Friedman test over 3 benchmarks" in text
    assert "regret on the validation value the search sees" in text  # nb201-cifar10 has no test split
    assert main(["report", str(out), "--across", "none"]) == 0
    assert "=== across" not in capsys.readouterr().out
    assert main(["report", str(out), "--benchmarks", "nb201-cifar10-12ep,nb201-cifar100-12ep"]) == 0
    assert "=== across 2 benchmarks ===" in capsys.readouterr().out
    assert main(["report", str(out), "--benchmarks", "nb201-cifar10-12ep,graph-nope"]) == 2
    assert "graph-nope" in capsys.readouterr().err
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / "across.png").stat().st_size > 0


def test_domain_verdict_follows_the_signed_ranks_when_the_median_difference_is_zero() -> None:
    # 30 pairs: 16 ties, 14 where the optimizer is better -> median difference 0, yet significantly better
    per = {f"b{i}": {"rs": [0.5], "x": [0.5 if i < 16 else 0.1]} for i in range(30)}
    global REF, DOMAIN
    old = (REF, DOMAIN)
    REF, DOMAIN = {f"b{i}": 1.0 for i in range(30)}, {f"b{i}": "image" for i in range(30)}
    try:
        dom = X.domain_table(X.final_normalized(*frames(per)), baseline="rs")
    finally:
        REF, DOMAIN = old
    row = dom.set_index("optimizer").loc["x"]
    assert row["median_diff"] == 0 and row["p_holm"] < 0.05 and row["verdict"] == "better than rs"
