"""Results format: run files round-trip, invalid evaluations, load_results/load_runs, label collisions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_bench.benchmarks import get_encoding, load_benchmark
from nasbench_bench.oracle import Oracle, Trajectory
from nasbench_bench.results import (
    RUN_COLUMNS,
    RunId,
    load_results,
    load_runs,
    read_metadata,
    read_run,
    settings_hash,
    trajectory_table,
    write_failure,
    write_run,
)


@pytest.fixture(scope="module")
def toy():
    return load_benchmark("toy")


def a_trajectory(toy, seed: int = 0, n: int = 12) -> Trajectory:
    enc = get_encoding("nb201")
    oracle = Oracle(toy, enc, 1e9, seed=seed)
    rng = np.random.default_rng(seed)
    for v in enc.sample(rng, n):
        oracle.evaluate(v)
    return oracle.trajectory()


def with_invalid(traj: Trajectory) -> Trajectory:
    """Prepend an invalid evaluation (row -1) as an NB101 encoding would produce."""
    def pre(a: np.ndarray, v) -> np.ndarray:
        return np.concatenate([np.array([v], dtype=a.dtype), a])

    return Trajectory(
        time=pre(traj.time, 0.0), row=pre(traj.row, -1), budget=pre(traj.budget, 108), trial=pre(traj.trial, -1),
        valid_acc=pre(traj.valid_acc, np.nan), train_acc=pre(traj.train_acc, np.nan),
        incumbent=pre(traj.incumbent, -1), regret=pre(traj.regret, np.nan),
    )


def write(root: Path, toy, label: str, seed: int, shash: str = "0badc0de", bench: str = "toy", n: int = 12) -> Path:
    traj = with_invalid(a_trajectory(toy, seed, n))
    path = RunId(bench, label, shash, seed).paths(root).result
    meta = {"benchmark": bench, "optimizer": label, "seed": seed, "status": "done", "n_evals": len(traj),
            "time_budget": 1e9, "score_metric": "test", "synthetic": True, "final_regret": float(traj.regret[-1]),
            "wall_s": 0.5}
    write_run(path, trajectory_table(traj, toy, RunId(bench, label, shash, seed)), meta)
    return path


def test_run_file_round_trip(tmp_path: Path, toy) -> None:
    path = write(tmp_path, toy, "rs", 3)
    assert path == tmp_path / "runs" / "toy" / "rs-0badc0de" / "seed-00003.parquet"
    assert path.read_bytes()[:4] == b"PAR1"  # Parquet, not pickle
    df, meta = read_run(path)
    assert tuple(df.columns) == RUN_COLUMNS
    assert meta["seed"] == 3 and meta["synthetic"] is True and meta["format_version"] == 1
    assert meta["time_budget"] == 1e9 and isinstance(meta["final_regret"], float)

    traj = with_invalid(a_trajectory(toy, 3))
    assert len(df) == len(traj)
    # the invalid evaluation: empty cell and incumbent, NaN accuracies and regret, trial -1
    first = df.iloc[0]
    assert first["cell"] == "" and first["incumbent"] == "" and not first["valid"]
    assert np.isnan(first["valid_acc"]) and np.isnan(first["regret"]) and first["trial"] == -1
    rest = df.iloc[1:]
    assert rest["valid"].all()
    assert rest["cell"].astype(str).tolist() == [toy.cell_id(r) for r in traj.row[1:]]
    assert rest["incumbent"].astype(str).tolist() == [toy.cell_id(r) for r in traj.incumbent[1:]]
    np.testing.assert_array_equal(df["time"], traj.time)
    np.testing.assert_array_equal(df["regret"], traj.regret)
    np.testing.assert_array_equal(df["eval"], np.arange(len(traj)))
    assert (df["seed"] == 3).all() and set(df["optimizer"].astype(str)) == {"rs"}


def test_write_is_atomic_and_leaves_no_temporaries(tmp_path: Path, toy) -> None:
    path = write(tmp_path, toy, "rs", 0)
    before = path.read_bytes()

    class Boom(Exception):
        pass

    bad = trajectory_table(a_trajectory(toy, 1), toy, RunId("toy", "rs", "0badc0de", 0))
    with pytest.raises(Boom):
        from nasbench_bench import results

        original = results.pq.write_table

        def exploding(*a, **k):
            original(*a, **k)
            raise Boom

        results.pq.write_table = exploding
        try:
            write_run(path, bad, {})
        finally:
            results.pq.write_table = original
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["seed-00000.parquet"]


def test_load_results_all_runs_long_format(tmp_path: Path, toy) -> None:
    for label in ("rs", "re"):
        for seed in (0, 1, 2):
            write(tmp_path, toy, label, seed)
    write(tmp_path, toy, "rs", 0, bench="toy2")
    (tmp_path / "runs" / "toy" / "rs-0badc0de" / ".seed-00009.parquet.abc.parquet.tmp").write_bytes(b"junk")
    (tmp_path / "runs" / "toy" / "rs-0badc0de" / ".seed-00009.lock").write_text("{}")

    df = load_results(tmp_path)
    assert tuple(df.columns) == RUN_COLUMNS
    for c in ("benchmark", "optimizer", "settings", "cell", "incumbent"):
        assert isinstance(df[c].dtype, pd.CategoricalDtype), c
    assert len(df) == 7 * 13
    keys = df[["benchmark", "optimizer", "seed"]].drop_duplicates().astype({"benchmark": str, "optimizer": str})
    assert list(map(tuple, keys.to_numpy())) == [
        ("toy", "re", 0), ("toy", "re", 1), ("toy", "re", 2), ("toy", "rs", 0), ("toy", "rs", 1), ("toy", "rs", 2),
        ("toy2", "rs", 0),
    ]
    same = df[(df["benchmark"] == "toy") & (df["optimizer"] == "rs") & (df["seed"] == 1)].reset_index(drop=True)
    alone, _ = read_run(RunId("toy", "rs", "0badc0de", 1).paths(tmp_path).result)
    pd.testing.assert_frame_equal(same.astype({c: str for c in ("benchmark", "optimizer", "settings", "cell",
                                                                "incumbent")}),
                                  alone.astype({c: str for c in ("benchmark", "optimizer", "settings", "cell",
                                                                 "incumbent")}))

    sub = load_results(tmp_path, columns=["optimizer", "seed", "regret"], benchmarks=["toy"], optimizers=["re"])
    assert list(sub.columns) == ["optimizer", "seed", "regret"] and len(sub) == 3 * 13
    assert set(sub["optimizer"].astype(str)) == {"re"}
    # the runs/ directory itself works too
    assert len(load_results(tmp_path / "runs", columns=["time"])) == len(df)
    with pytest.raises(ValueError, match="unknown result column"):
        load_results(tmp_path, columns=["test_acc"])


def test_load_results_feeds_the_analysis(tmp_path: Path, toy) -> None:
    from nasbench_bench import analysis

    for seed in range(3):
        write(tmp_path, toy, "rs", seed)
    prepared = analysis.prepare_results(load_results(tmp_path))
    assert len(prepared.runs) == 3


def test_empty_and_missing_directories(tmp_path: Path) -> None:
    empty = load_results(tmp_path)
    assert tuple(empty.columns) == RUN_COLUMNS and len(empty) == 0
    assert isinstance(empty["optimizer"].dtype, pd.CategoricalDtype)
    runs = load_runs(tmp_path)
    assert len(runs) == 0 and "status" in runs.columns
    with pytest.raises(FileNotFoundError):
        load_results(tmp_path / "nope")


def test_load_runs_includes_failures(tmp_path: Path, toy) -> None:
    write(tmp_path, toy, "rs", 0)
    write(tmp_path, toy, "rs", 1)
    fail = RunId("toy", "rs", "0badc0de", 2).paths(tmp_path).failed
    write_failure(fail, {"benchmark": "toy", "optimizer": "rs", "seed": 2, "time_budget": 1e9,
                         "error": "ValueError: nope", "traceback": "Traceback ...\nValueError: nope"})
    # a stale failure record beside a finished run does not count as a failure
    write_failure(RunId("toy", "rs", "0badc0de", 1).paths(tmp_path).failed, {"error": "old"})
    record = json.loads(fail.read_text())
    assert record["status"] == "failed" and record["traceback"].endswith("nope")

    runs = load_runs(tmp_path)
    assert runs["seed"].tolist() == [0, 1, 2]
    assert runs["status"].astype(str).tolist() == ["done", "done", "failed"]
    assert runs["error"].tolist() == ["", "", "ValueError: nope"]
    assert runs["n_evals"].tolist() == [13, 13, 0]
    assert runs["budget_s"].tolist() == [1e9] * 3
    assert runs["synthetic"].tolist()[:2] == [True, True]
    assert len(load_results(tmp_path).groupby("seed")) == 2
    assert read_metadata(fail)["seed"] == 2


def test_one_label_with_two_settings_is_disambiguated(tmp_path: Path, toy, caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    write(tmp_path, toy, "re", 0, shash="aaaaaaaa")
    write(tmp_path, toy, "re", 0, shash="bbbbbbbb")
    write(tmp_path, toy, "rs", 0)
    with caplog.at_level(logging.WARNING):
        df = load_results(tmp_path)
    assert "2 different settings" in caplog.text
    assert sorted(df["optimizer"].astype(str).unique()) == ["re-aaaaaaaa", "re-bbbbbbbb", "rs"]
    assert df.groupby(["optimizer", "seed"], observed=True).ngroups == 3
    assert sorted(load_runs(tmp_path)["optimizer"].astype(str)) == ["re-aaaaaaaa", "re-bbbbbbbb", "rs"]
    assert set(load_results(tmp_path, optimizers=["re-aaaaaaaa"])["optimizer"].astype(str)) == {"re-aaaaaaaa"}


def test_settings_hash_is_canonical() -> None:
    a = settings_hash({"optimizer": "re", "hyperparameters": {"a": 1, "b": 2}, "time_budget": 1e7})
    b = settings_hash({"time_budget": 1e7, "hyperparameters": {"b": 2, "a": 1}, "optimizer": "re"})
    assert a == b and len(a) == 8 and int(a, 16) >= 0
    assert settings_hash({"optimizer": "re", "hyperparameters": {"a": 1, "b": 3}, "time_budget": 1e7}) != a


def test_labels_must_be_path_safe(tmp_path: Path) -> None:
    for bad in ("", "a/b", "../x", ".hidden", "a b"):
        with pytest.raises(ValueError, match="label"):
            RunId("toy", bad, "0badc0de", 0).paths(tmp_path)


def test_settings_hash_follows_resolved_defaults(monkeypatch) -> None:
    """Changing an optimizer's default hyperparameters must not reuse results made with the old ones."""
    from nasbench_bench.experiment import Experiment
    from optimizers.regularized_evolution import RegularizedEvolution

    raw = {"benchmark": "toy", "optimizers": ["re"], "seeds": "0", "time_budget": 1e4}
    before = Experiment.from_dict(raw).runs()[0]
    assert before.settings["hyperparameters"]["population_size"] == 100
    monkeypatch.setattr(RegularizedEvolution, "defaults", {"population_size": 50, "tournament_size": 10})
    after = Experiment.from_dict(raw).runs()[0]
    assert after.id.settings_hash != before.id.settings_hash
