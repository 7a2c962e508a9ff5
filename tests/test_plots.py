"""Figures (files, magic bytes, labels) and the plot/report commands on a stand-in results reader."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from nasbench_bench import analysis as A
from nasbench_bench import plots

PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-"


def toy_results(benchmarks=("nb101",), optimizers=("rs", "re", "tpe"), n_seeds=6, n_ev=40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for b in benchmarks:
        for k, o in enumerate(optimizers):
            for s in range(n_seeds):
                t = np.cumsum(rng.uniform(300, 3000, size=n_ev))
                r = np.minimum.accumulate(rng.exponential(0.05 / (k + 1), size=n_ev))
                r[0] = np.nan  # first evaluation invalid
                if o == "re" and s == 0:
                    r[-5:] = 0.0  # found the optimum: must not break log axes
                keep = t <= 1e5
                frames.append(pd.DataFrame({"benchmark": b, "optimizer": o, "seed": s,
                                            "eval": np.arange(keep.sum()), "time": t[keep],
                                            "regret": r[keep], "config": "ignored"}))
    return pd.concat(frames, ignore_index=True)


def toy_runs(results: pd.DataFrame, synthetic: bool, metric: str = "test") -> pd.DataFrame:
    runs = results[["benchmark", "optimizer", "seed"]].drop_duplicates().reset_index(drop=True)
    runs["status"] = "done"
    runs["budget_s"] = 1e5
    runs["score_metric"] = metric
    runs["synthetic"] = synthetic
    return runs


def check_files(paths, stem_suffixes=(".png", ".pdf")) -> None:
    assert [p.suffix for p in paths] == list(stem_suffixes)
    for p in paths:
        data = p.read_bytes()
        assert len(data) > 1000
        assert data.startswith(PNG if p.suffix == ".png" else PDF)


def test_figure7_files_labels_and_synthetic_mark(tmp_path):
    df = toy_results()
    grid = A.time_grid(10, 1e5, 50)
    curves = A.summarize_curves(df, grid, n_boot=100)
    ecdf = A.final_regret_ecdf(df)
    paths = plots.plot_figure7(curves, ecdf, "nb101 toy", tmp_path / "fig7", synthetic=True,
                               score_metric="validation")
    check_files(paths)
    assert paths[0].name == "fig7.png" and paths[1].name == "fig7.pdf"
    # the title (with the synthetic mark) is stored uncompressed in both files' metadata
    for p in paths:
        assert b"SYNTHETIC DATA" in p.read_bytes()

    fig = plots.figure7(curves, ecdf, "nb101 toy", synthetic=True, score_metric="validation")
    left, right = fig.axes[:2]
    assert "SYNTHETIC DATA" in fig.get_suptitle()
    assert "validation regret" in left.get_ylabel() and "validation regret" in right.get_xlabel()
    assert left.get_xscale() == left.get_yscale() == right.get_xscale() == "log"
    # the time axis starts at the first grid time at which some run has a value, not at the grid's start
    first = curves.loc[curves["n_runs"] > 0, "time"].min()
    assert first > 10 and left.get_xlim() == pytest.approx((first, 1e5))
    # one line per optimizer, same colour in both panels and in the rank figure
    colours = {ln.get_label().split(" ")[0]: ln.get_color() for ln in left.get_lines()
               if not ln.get_label().startswith("_")}
    assert set(colours) == {"rs", "re", "tpe"}
    assert {ln.get_label(): ln.get_color() for ln in right.get_lines()} == colours
    ranks = plots.ranks_figure(A.average_rank(df, grid), "r")
    assert {ln.get_label(): ln.get_color() for ln in ranks.axes[0].get_lines()} == colours
    assert "test regret" in ranks.axes[0].get_ylabel()
    assert "SYNTHETIC" not in ranks.get_suptitle()
    # the band is named in the legend
    assert "bootstrap CI" in left.get_legend().get_title().get_text()


def test_real_data_title_not_marked(tmp_path):
    df = toy_results(n_seeds=3)
    grid = A.time_grid(10, 1e5, 20)
    fig = plots.figure7(A.summarize_curves(df, grid, n_boot=10), A.final_regret_ecdf(df), "real",
                        band="quantile")
    assert fig.get_suptitle() == "real"
    assert "test regret" in fig.axes[0].get_ylabel()
    assert "25%-75% quantiles" in fig.axes[0].get_legend().get_title().get_text()
    paths = plots.plot_ranks(A.average_rank(df, grid), "ranks", tmp_path / "sub" / "ranks")
    check_files(paths)
    assert b"SYNTHETIC" not in paths[1].read_bytes()


def test_plot_refuses_mixed_benchmarks(tmp_path):
    df = toy_results(benchmarks=("a", "b"), n_seeds=2)
    grid = A.time_grid(10, 1e5, 10)
    with pytest.raises(ValueError, match="several benchmarks"):
        plots.plot_figure7(A.summarize_curves(df, grid, n_boot=10), A.final_regret_ecdf(df), "x",
                           tmp_path / "x")


def test_colours_stable():
    assert plots.optimizer_color("RS") == plots.optimizer_color("rs")
    assert plots.optimizer_color("my_opt") == plots.optimizer_color("my_opt")
    assert plots.optimizer_color("rs") != plots.optimizer_color("re")


# ---------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def fake_results(monkeypatch):
    """Install a stand-in ``nasbench_bench.results`` serving frames from a dict keyed by path."""
    store: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    mod = types.ModuleType("nasbench_bench.results")
    mod.load_results = lambda path, **kw: store[str(path)][0]
    mod.load_runs = lambda path: store[str(path)][1]
    monkeypatch.setitem(sys.modules, "nasbench_bench.results", mod)
    return store


@pytest.mark.slow
def test_cli_plot_writes_files(tmp_path, fake_results, capsys):
    from nasbench_bench.cli import main

    res = toy_results(benchmarks=("nb101", "nb201"), n_seeds=4)
    fake_results[str(tmp_path)] = (res, toy_runs(res, synthetic=True))
    assert main(["plot", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    files = sorted(p for p in (tmp_path / "plots").iterdir())
    assert len(files) == 8  # 2 benchmarks x (figure7, ranks) x (png, pdf)
    assert sorted(printed) == sorted(str(f) for f in files)
    for f in files:
        assert f.read_bytes().startswith(PNG if f.suffix == ".png" else PDF)
        assert b"SYNTHETIC DATA" in f.read_bytes()

    out = tmp_path / "only"
    assert main(["plot", str(tmp_path), "--out", str(out), "--benchmark", "nb201"]) == 0
    assert sorted(f.name for f in out.iterdir()) == ["nb201_figure7.pdf", "nb201_figure7.png",
                                                     "nb201_ranks.pdf", "nb201_ranks.png"]


def test_cli_report_prints_tables_and_warnings(tmp_path, fake_results, capsys):
    from nasbench_bench.cli import main

    res = toy_results(n_seeds=8)
    runs = toy_runs(res, synthetic=True, metric="validation")
    runs.loc[(runs["optimizer"] == "tpe") & (runs["seed"] == 7), "status"] = "failed"
    fake_results[str(tmp_path)] = (res, runs)
    assert main(["report", str(tmp_path), "--baseline", "rs", "--at", "50000"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC DATA" in out
    assert "VALIDATION regret" in out
    assert "1 run(s) not finished" in out and "EXCLUDED" in out
    assert "tpe 7/8" in out
    assert "at t = 5e+04 s" in out
    assert "time_to_reach" in out and "p_holm" in out
    # the failed run is gone from the analysis: tpe has 7 runs in the summary table
    line = next(ln for ln in out.splitlines() if ln.startswith("tpe "))
    assert line.split()[1] == "7"


def test_cli_report_real_test_regret(tmp_path, fake_results, capsys):
    from nasbench_bench.cli import main

    res = toy_results(n_seeds=3)
    fake_results[str(tmp_path)] = (res, toy_runs(res, synthetic=False))
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" not in out and "TEST regret" in out


def test_axes_follow_the_data_when_runs_reach_regret_zero(tmp_path) -> None:
    """Several runs at regret 0: the band's low end is 0, which must not stretch the log axis to 1e-12."""
    df = toy_results(optimizers=("rs", "re"))
    zero = (df["optimizer"] == "re") & (df["seed"] < 4) & (df["eval"] > 20)
    df.loc[zero, "regret"] = 0.0
    grid = A.time_grid(10, 1e5, 60)
    curves = A.summarize_curves(df, grid, n_boot=200)
    assert (curves.loc[curves["optimizer"] == "re", "ci_low"] == 0).any()  # the case the fix is about
    fig = plots.figure7(curves, A.final_regret_ecdf(df), "zeros")
    left = fig.axes[0]
    positive_means = curves.loc[curves["mean"] > 0, "mean"]
    assert left.get_ylim()[0] > 1e-6 and left.get_ylim()[0] <= positive_means.min()
    assert any("regret 0" in t.get_text() for t in left.texts)


def test_custom_optimizers_are_not_drawn_dotted() -> None:
    """Dotted means 'not every run has a value yet' in the legend; a user's label must never get it."""
    names = [f"my-opt-{i}" for i in range(12)]
    df = toy_results(optimizers=tuple(names), n_seeds=2)
    curves = A.summarize_curves(df, A.time_grid(10, 1e5, 40), n_boot=0)
    fig = plots.figure7(curves, A.final_regret_ecdf(df), "custom")
    labelled = [ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
    assert len(labelled) == len(names) and all(ln.get_linestyle() != ":" for ln in labelled)


def test_rank_plot_starts_at_the_first_evaluation() -> None:
    df = toy_results()
    grid = A.time_grid(10, 1e5, 50)
    ranks = A.average_rank(df, grid)
    first_eval = df.loc[df["regret"].notna(), "time"].min()
    assert ranks.loc[ranks["time"] < first_eval, "mean_rank"].isna().all()
    ax = plots.ranks_figure(ranks, "ranks").axes[0]
    assert ax.get_xlim()[0] >= first_eval and ax.get_xlim()[0] == pytest.approx(grid[grid >= first_eval][0])


def test_files_get_the_users_umask(tmp_path) -> None:
    import os
    import stat

    df = toy_results()
    curves = A.summarize_curves(df, A.time_grid(10, 1e5, 20), n_boot=0)
    old = os.umask(0o022)
    try:
        paths = plots.plot_figure7(curves, A.final_regret_ecdf(df), "perm", tmp_path / "fig")
    finally:
        os.umask(old)
    assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [0o644, 0o644]
