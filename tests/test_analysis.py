"""Hand-computed checks of nasbench_bench.analysis (expected values are worked out in the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasbench_bench import analysis as A

NAN = np.nan


def runs_frame(runs: dict[tuple[str, str, int], list[tuple[float, float]]]) -> pd.DataFrame:
    """Long results frame from {(benchmark, optimizer, seed): [(time, regret), ...]}."""
    rows = []
    for (b, o, s), evals in runs.items():
        for i, (t, r) in enumerate(evals):
            rows.append({"benchmark": b, "optimizer": o, "seed": s, "eval": i, "time": t, "regret": r,
                         "extra": "ignored"})
    return pd.DataFrame(rows)


# three runs of one optimizer; values picked so that means/medians are easy by hand
TOY = runs_frame({
    ("nb", "x", 0): [(5.0, NAN), (10.0, 0.9), (20.0, 0.5), (40.0, 0.2)],
    ("nb", "x", 1): [(15.0, 0.6), (30.0, 0.3)],
    ("nb", "x", 2): [(8.0, NAN), (25.0, NAN), (50.0, 0.4), (100.0, 0.1)],
})


def test_time_grid():
    g = A.time_grid(10, 1e7, 7)
    np.testing.assert_allclose(g, [1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7])
    assert len(A.time_grid()) == 200


def test_regret_matrix_step_function():
    grid = np.array([1.0, 5.0, 9.9, 10.0, 12.0, 15.0, 20.0, 45.0, 100.0, 1e6])
    m = A.regret_matrix(TOY, grid)
    assert list(m) == [("nb", "x")]
    seeds, v = m["nb", "x"]
    np.testing.assert_array_equal(seeds, [0, 1, 2])
    # seed 0: NaN before t=10 (first eval at 5 is invalid), value of the last eval with time <= t,
    # kept after the run ended at 40.
    np.testing.assert_array_equal(v[0], [NAN, NAN, NAN, 0.9, 0.9, 0.9, 0.5, 0.2, 0.2, 0.2])
    np.testing.assert_array_equal(v[1], [NAN, NAN, NAN, NAN, NAN, 0.6, 0.6, 0.3, 0.3, 0.3])
    np.testing.assert_array_equal(v[2], [NAN] * 7 + [NAN, 0.1, 0.1])


def test_regret_matrix_unsorted_rows_and_nan_after_valid():
    df = TOY.sample(frac=1.0, random_state=3)  # shuffled rows must give the same answer
    grid = np.array([10.0, 20.0, 60.0])
    v = A.regret_matrix(df, grid)["nb", "x"].values
    np.testing.assert_array_equal(v, [[0.9, 0.5, 0.2], [NAN, 0.6, 0.3], [NAN, NAN, 0.4]])
    # a NaN logged after a valid evaluation does not erase the incumbent
    df2 = runs_frame({("nb", "x", 0): [(1.0, 0.5), (2.0, NAN)]})
    np.testing.assert_array_equal(A.regret_matrix(df2, np.array([3.0]))["nb", "x"].values, [[0.5]])


def test_regret_matrix_ties_in_time_use_eval_order():
    # two evaluations finish at the same time: the later one (eval 1) is the incumbent state
    df = runs_frame({("nb", "x", 0): [(10.0, 0.7), (10.0, 0.3)]})
    assert A.regret_matrix(df, np.array([10.0]))["nb", "x"].values[0, 0] == 0.3


def test_summarize_curves_by_hand():
    grid = np.array([12.0, 22.0, 60.0])
    s = A.summarize_curves(TOY, grid, n_boot=200)
    assert list(s.columns) == ["benchmark", "optimizer", "time", "n_runs", "mean", "median", "q_low",
                               "q_high", "ci_low", "ci_high"]
    # t=12: only seed 0 (0.9).  t=22: seeds 0 (0.5), 1 (0.6).  t=60: 0.2, 0.3, 0.4
    np.testing.assert_array_equal(s["n_runs"], [1, 2, 3])
    np.testing.assert_allclose(s["mean"], [0.9, 0.55, 0.3])
    np.testing.assert_allclose(s["median"], [0.9, 0.55, 0.3])
    # linear-interpolated quantiles of {0.2, 0.3, 0.4}: 25% -> 0.25, 75% -> 0.35; of {0.5, 0.6}: 0.525/0.575
    np.testing.assert_allclose(s["q_low"], [0.9, 0.525, 0.25])
    np.testing.assert_allclose(s["q_high"], [0.9, 0.575, 0.35])
    # one run: every resample is that run
    assert s["ci_low"].iloc[0] == pytest.approx(0.9) and s["ci_high"].iloc[0] == pytest.approx(0.9)
    # bootstrap means of {0.2, 0.3, 0.4} lie within [0.2, 0.4]
    assert 0.2 - 1e-12 <= s["ci_low"].iloc[2] <= 0.3 <= s["ci_high"].iloc[2] <= 0.4 + 1e-12


def test_summarize_curves_no_value_yet_is_nan():
    s = A.summarize_curves(TOY, np.array([1.0]), n_boot=10)
    assert s["n_runs"].iloc[0] == 0
    assert s[["mean", "median", "q_low", "q_high", "ci_low", "ci_high"]].isna().all(axis=None)


def _many_seeds(n: int, rng: np.random.Generator) -> pd.DataFrame:
    regret = rng.exponential(1.0, size=n)
    return pd.DataFrame({"benchmark": "nb", "optimizer": "x", "seed": np.arange(n), "eval": 0,
                         "time": 1.0, "regret": regret})


def test_bootstrap_ci_contains_mean_shrinks_and_is_seeded():
    rng = np.random.default_rng(1)
    widths = []
    for n in (20, 2000):
        df = _many_seeds(n, rng)
        s = A.summarize_curves(df, np.array([2.0]), n_boot=500, seed=7)
        lo, hi, mean = s["ci_low"].iloc[0], s["ci_high"].iloc[0], s["mean"].iloc[0]
        assert mean == pytest.approx(df["regret"].mean())
        assert lo < mean < hi
        widths.append(hi - lo)
        again = A.summarize_curves(df, np.array([2.0]), n_boot=500, seed=7)
        assert again["ci_low"].iloc[0] == lo  # seeded: identical
    # CI width ~ 1/sqrt(n): 100x the seeds -> ~10x narrower
    assert widths[1] < widths[0] / 5


def test_final_regret_default_and_at():
    f = A.final_regret(TOY)
    assert list(f.columns) == ["benchmark", "optimizer", "seed", "final_regret"]
    np.testing.assert_allclose(f["final_regret"], [0.2, 0.3, 0.1])
    f2 = A.final_regret(TOY, at=30.0)
    np.testing.assert_allclose(f2["final_regret"], [0.5, 0.3, NAN])


def test_ecdf_values():
    x, y = A.ecdf([0.3, 0.1, 0.2, 0.2])
    np.testing.assert_array_equal(x, [0.1, 0.2, 0.2, 0.3])
    np.testing.assert_allclose(y, [0.25, 0.5, 0.75, 1.0])
    # a NaN (run without result) counts in n but is not plotted: the curve ends at 2/3
    x, y = A.ecdf([0.5, NAN, 0.1])
    np.testing.assert_array_equal(x, [0.1, 0.5])
    np.testing.assert_allclose(y, [1 / 3, 2 / 3])


def test_final_regret_ecdf_tidy():
    e = A.final_regret_ecdf(TOY)
    np.testing.assert_allclose(e["final_regret"], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(e["ecdf"], [1 / 3, 2 / 3, 1.0])
    # also accepts the final_regret frame
    e2 = A.final_regret_ecdf(A.final_regret(TOY, at=30.0))
    np.testing.assert_allclose(e2["ecdf"], [1 / 3, 2 / 3])


def _final_df(table: dict[str, list[float]], bench: str = "nb") -> pd.DataFrame:
    """Results frame with one evaluation per run at t=1 and the given regret per seed."""
    rows = []
    for opt, vals in table.items():
        for seed, r in enumerate(vals):
            rows.append({"benchmark": bench, "optimizer": opt, "seed": seed, "eval": 0, "time": 1.0,
                         "regret": r})
    return pd.DataFrame(rows)


def test_average_rank_ties_and_nans_by_hand():
    df = _final_df({"a": [0.1, 0.5, NAN, 0.1], "b": [0.1, 0.2, NAN, NAN], "c": [0.3, NAN, 0.4, 0.2]})
    r = A.average_rank(df, np.array([0.5, 2.0]))
    r = r.set_index(["optimizer", "time"])["mean_rank"]
    # t=2: seed0: a,b tie at 1.5, c 3.  seed1: b 1, a 2, c NaN 3.  seed2: c 1, a/b NaN tie 2.5
    #      seed3: a 1, c 2, b NaN 3
    assert r["a", 2.0] == pytest.approx((1.5 + 2 + 2.5 + 1) / 4)
    assert r["b", 2.0] == pytest.approx((1.5 + 1 + 2.5 + 3) / 4)
    assert r["c", 2.0] == pytest.approx((3 + 3 + 1 + 2) / 4)
    # t=0.5: nobody has a value yet: nobody is ranked (a flat line at rank 2 would look like a result)
    assert np.isnan([r["a", 0.5], r["b", 0.5], r["c", 0.5]]).all()


def test_average_rank_pairs_by_seed():
    # seed 2 is only run by "a": it must not enter the ranks
    df = _final_df({"a": [0.1, 0.1, 9.0], "b": [0.2, 0.2]})
    r = A.average_rank(df, np.array([2.0])).set_index("optimizer")
    assert r.loc["a", "mean_rank"] == 1.0 and r.loc["b", "mean_rank"] == 2.0
    assert (r["n_seeds"] == 2).all()


def test_holm_by_hand():
    # sorted p: 0.01, 0.02, 0.03, 0.04 (m=4) -> 0.04, 0.06, 0.06 (max with 0.06), 0.06 (max(0.04,0.06))
    p = [0.04, 0.01, 0.03, 0.02]
    np.testing.assert_allclose(A.holm(p), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(A.holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    np.testing.assert_allclose(A.holm([0.01, NAN, 0.04]), [0.02, NAN, 0.04])  # NaN not in the family


def test_pairwise_wilcoxon_direction_zero_diffs_and_holm():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 1.0, size=12)
    df = _final_df({"good": list(base * 0.5), "bad": list(base), "same": list(base)})
    res = A.pairwise_tests(df).set_index(["a", "b"])
    assert list(res.columns) == ["benchmark", "n", "median_diff", "p", "p_holm", "better"]
    # bad - good > 0 on every seed: exact two-sided p = 2 / 2**12
    row = res.loc["bad", "good"]
    assert row["n"] == 12 and row["median_diff"] > 0
    assert row["p"] == pytest.approx(2 / 2**12)
    assert row["better"] == "good"
    assert res.loc["good", "same"]["better"] == "good"
    # identical regrets: all differences zero -> p = 1, nobody better
    assert res.loc["bad", "same"]["p"] == 1.0 and res.loc["bad", "same"]["better"] == ""
    # Holm over the three pairs: p sorted (2/4096, 2/4096, 1) -> x3, x2 (then max), x1
    np.testing.assert_allclose(
        sorted(res["p_holm"]), [3 * 2 / 4096, 3 * 2 / 4096, 1.0])


def test_summary_table_time_to_reach_and_wins():
    # rs:  seed0 0.8@1 -> 0.4@100, seed1 0.6@1 -> 0.2@100 ; final mean 0.3, mean curve 0.7 then 0.3
    # fast: reaches mean 0.25 at t=10 (both seeds), final 0.1/0.3
    # slow: never below 0.5
    df = runs_frame({
        ("nb", "rs", 0): [(1.0, 0.8), (100.0, 0.4)],
        ("nb", "rs", 1): [(1.0, 0.6), (100.0, 0.2)],
        ("nb", "fast", 0): [(1.0, 0.5), (10.0, 0.1)],
        ("nb", "fast", 1): [(1.0, 0.5), (10.0, 0.4), (50.0, 0.2)],
        ("nb", "slow", 0): [(1.0, 0.9), (100.0, 0.5)],
        ("nb", "slow", 1): [(1.0, 0.9), (100.0, 0.2)],
    })
    grid = np.array([1.0, 10.0, 50.0, 100.0])
    t = A.summary_table(df, baseline="rs", grid=grid).set_index("optimizer")
    assert t.loc["rs", "final_mean"] == pytest.approx(0.3)
    assert t.loc["fast", "final_median"] == pytest.approx(0.15)
    assert t.loc["slow", "final_std"] == pytest.approx(np.std([0.5, 0.2], ddof=1))
    # fast mean curve: t=1 0.5, t=10 0.25 <= 0.3 -> reached at 10; rs reaches its own 0.3 at 100
    assert t.loc["fast", "time_to_reach"] == 10.0
    assert t.loc["rs", "time_to_reach"] == 100.0
    assert t.loc["fast", "speedup"] == pytest.approx(10.0)
    assert t.loc["rs", "speedup"] == pytest.approx(1.0)
    # slow mean curve: 0.9, 0.9, 0.9, 0.35 -> never <= 0.3
    assert np.isnan(t.loc["slow", "time_to_reach"]) and np.isnan(t.loc["slow", "speedup"])
    # wins: seed0 finals rs .4, fast .1, slow .5 -> fast; seed1 rs .2, fast .2, slow .2 -> tie, nobody
    assert t.loc["fast", "wins"] == 1 and t.loc["rs", "wins"] == 0 and t.loc["slow", "wins"] == 0
    text = A.format_table(t.reset_index())
    assert "time_to_reach" in text and "fast" in text and len(text.splitlines()) == 5


def test_summary_table_baseline_falls_back_to_its_parallel_runs_with_fewest_workers():
    # every rs run used parallel workers: the baseline is rs@K8 (fewest workers), not missing
    df = runs_frame({
        ("nb", "rs@K64", 0): [(1.0, 0.9), (100.0, 0.5)],
        ("nb", "rs@K8", 0): [(1.0, 0.8), (100.0, 0.4)],
        ("nb", "re@K8", 0): [(1.0, 0.5), (10.0, 0.3)],
    })
    t = A.summary_table(df, baseline="rs", grid=np.array([1.0, 10.0, 100.0])).set_index("optimizer")
    assert t.loc["rs@K8", "speedup"] == pytest.approx(1.0) and t.loc["rs@K8", "time_to_reach"] == 100.0
    assert t.loc["re@K8", "time_to_reach"] == 10.0 and t.loc["re@K8", "speedup"] == pytest.approx(10.0)
    assert np.isnan(t.loc["rs@K64", "time_to_reach"])  # 0.5 never reaches rs@K8's 0.4


def test_time_to_reach_ignores_partial_coverage():
    curves = pd.DataFrame({"benchmark": "nb", "optimizer": "x", "time": [1.0, 2.0, 3.0],
                           "n_runs": [1, 3, 3], "mean": [0.0, 0.5, 0.2]})
    # at t=1 only one of three runs has a value: it does not count
    assert A.time_to_reach(curves, 0.3)["time_to_reach"].iloc[0] == 3.0
    assert np.isnan(A.time_to_reach(curves, 0.1)["time_to_reach"].iloc[0])


def test_prepared_results_give_same_answers():
    p = A.prepare_results(TOY)
    grid = np.array([12.0, 60.0])
    pd.testing.assert_frame_equal(A.summarize_curves(p, grid, n_boot=50), A.summarize_curves(TOY, grid,
                                                                                               n_boot=50))
    pd.testing.assert_frame_equal(A.final_regret(p), A.final_regret(TOY))


def test_missing_column_is_an_error():
    with pytest.raises(ValueError, match="regret"):
        A.final_regret(TOY.drop(columns="regret"))


def test_large_input_is_fast():
    """7 x 100 runs x 2000 evaluations (1.4M rows) well under a few seconds."""
    import time

    rng = np.random.default_rng(0)
    n_runs, n_ev = 700, 2000
    t = np.cumsum(rng.uniform(300, 3500, size=(n_runs, n_ev)), axis=1)
    r = np.minimum.accumulate(rng.exponential(0.05, size=(n_runs, n_ev)), axis=1)
    df = pd.DataFrame({
        "benchmark": "nb",
        "optimizer": np.repeat([f"o{i}" for i in range(7)], 100 * n_ev),
        "seed": np.tile(np.repeat(np.arange(100), n_ev), 7),
        "eval": np.tile(np.arange(n_ev), n_runs),
        "time": t.ravel(), "regret": r.ravel(),
    })
    start = time.perf_counter()
    s = A.summarize_curves(df, A.time_grid(), n_boot=200)
    assert time.perf_counter() - start < 5.0
    # spot check one step-function value against a direct search
    k = 123
    run = df.iloc[k * n_ev:(k + 1) * n_ev]
    m = A.regret_matrix(df, np.array([1e5]))["nb", "o1"].values
    direct = run["regret"].to_numpy()[np.searchsorted(run["time"].to_numpy(), 1e5, side="right") - 1]
    assert m[k - 100, 0] == direct
    assert len(s) == 7 * 200


def test_empty_results_give_empty_frames():
    empty = TOY.iloc[:0]
    assert A.final_regret(empty).empty
    assert A.summarize_curves(empty, A.time_grid(n=5), n_boot=10).empty
    assert A.summary_table(empty).empty
