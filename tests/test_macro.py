"""NAS-Bench-Macro (``macro-cifar10``): the shipped json's checksum and counts, values and the optimum against the raw
json (read here with the stdlib, the authors' canonical form written here independently), the encoding onto the
3,969 distinct networks, the trial draw (one of the 3 trainings per evaluation, regret on their mean) and the unit
cost, the store round trip and package data."""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import nasbench_bench.macro.data as md
from nasbench_bench import store
from nasbench_bench.benchmarks import benchmark_family, benchmark_names, default_encoding, load_benchmark
from nasbench_bench.macro.encoding import EncodingMacro
from nasbench_bench.oracle import BudgetExhausted, Oracle

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "nasbench_bench" / "macro" / "nas-bench-macro"
JSON = DATA / "nas-bench-macro_cifar10.json"
#: From the data folder's README (xiusu/NAS-Bench-Macro commit 61a2bfc2), not from the code under test.
README_SHA256 = "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297"
README_SIZE = 1_178_821


def real_arch(key: str) -> str:
    """The authors' get_real_arch (train/train_benchmark.py), restated: per stage of 2, 3, 3 layers keep the first
    op, then the non-'0' ops in order, then the '0's."""
    out, pos = "", 0
    for size in (2, 3, 3):
        stage = list(key[pos:pos + size])
        pos += size
        out += stage[0] + "".join(c for c in stage[1:] if c != "0") + "0" * stage[1:].count("0")
    return out


@pytest.fixture(scope="module")
def raw() -> dict[str, dict]:
    return json.loads(JSON.read_bytes())


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory):
    return md.load_macro(tmp_path_factory.mktemp("macro-cache"))


def test_shipped_file_checksum_counts_licence_and_provenance(raw: dict[str, dict]) -> None:
    blob = JSON.read_bytes()
    assert len(blob) == README_SIZE and hashlib.sha256(blob).hexdigest() == README_SHA256 == md.SHA256
    assert sorted(raw) == ["".join(p) for p in itertools.product("012", repeat=8)]  # all 3^8 keys
    assert all(len(v["test_acc"]) == 3 for v in raw.values())
    groups = {real_arch(k) for k in raw}
    assert len(groups) == 3969
    # the authors copied each trained network's entry to every key with the same canonical form
    assert all(raw[k] == raw[real_arch(k)] for k in raw)
    # ... and distinct networks have distinct entries (so 3,969 is the number of trainings, not an artefact)
    assert len({json.dumps(raw[g], sort_keys=True) for g in groups}) == 3969
    lic = (DATA / "LICENSE").read_text()
    assert "Apache License" in lic and "Xiu Su" in lic
    prov = (DATA / "PROVENANCE.md").read_text()
    assert "xiusu/NAS-Bench-Macro" in prov and "61a2bfc2ca0dce04d0997e6cf498047c27d6acf2" in prov
    assert README_SHA256 in prov


def test_package_data_globs_ship_every_data_file() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["nasbench_bench.macro"]
    base = ROOT / "nasbench_bench" / "macro"
    assert {p for p in DATA.iterdir() if p.is_file()} == {p for pat in patterns for p in base.glob(pat)}


def test_table_shape_labels_and_unit_cost(table) -> None:
    assert table.name == "macro-cifar10" and not table.synthetic
    assert table.n_cells == 3969 and table.budgets.tolist() == [50] and table.max_trials == 3
    assert (table.n_trials == 3).all()
    assert table.cost_model == "unit" and (table.train_time == 1.0).all() and table.cost_unit == "evaluations"
    assert np.isnan(table.train_acc).all()
    assert table.score_metric == "test" and table.maximize and table.metric == "accuracy"
    m = table.meta
    assert m["domain"] == "image" and m["source"]["sha256"] == README_SHA256
    for key in ("task", "search_sees", "regret_on", "notes"):
        assert isinstance(m[key], str) and m[key]
    assert "one drawn training's TEST accuracy" in m["search_sees"] and "mean test accuracy" in m["regret_on"]
    assert "NO validation split" in m["notes"] and "unit cost" in m["notes"]
    assert set(table.columns) == {"params", "flops"} == set(m["columns"])
    assert "unit cost" in table.describe()


def test_values_and_optimum_against_the_raw_json(table, raw: dict[str, dict]) -> None:
    # the optimum: the best mean of the three test accuracies over all keys of the raw file
    best_key = max(raw, key=lambda k: sum(raw[k]["test_acc"]) / 3)
    assert table.best_score == pytest.approx(sum(raw[best_key]["test_acc"]) / 300, abs=1e-12)
    assert table.cell_id(int(np.argmax(table.score))) == real_arch(best_key)
    # a handful of keys, canonical or not: every value read from the raw entry
    rng = np.random.default_rng(0)
    keys = sorted(raw)
    enc = EncodingMacro()
    for key in [keys[i] for i in rng.choice(len(keys), 12, replace=False)] + ["00000000", "22222222", "01020102"]:
        entry = raw[key]
        row = table.row(real_arch(key))
        vector = np.array([int(c) for c in key], dtype=float)
        assert int(enc.cell_index(vector)) == row == int(enc.cell_indices(vector[None])[0])
        np.testing.assert_allclose(table.valid_acc[row, 0], np.array(entry["test_acc"]) / 100, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(table.test_acc[row, 0], table.valid_acc[row, 0])
        assert table.score[row] == pytest.approx(entry["mean_acc"] / 100, abs=1e-12)
        assert table.columns["params"][row] == entry["params"] and table.columns["flops"][row] == entry["flops"]


def test_encoding_covers_every_configuration_and_cell(table) -> None:
    enc = EncodingMacro()
    assert enc.dim == 8 and all(p.choices == ("Identity", "MB3_K3", "MB6_K5") for p in enc.params)
    grid = np.array(list(itertools.product(range(3), repeat=8)), dtype=float)
    cells = enc.cell_indices(grid)
    assert (cells >= 0).all()  # all 6,561 valid
    assert np.array_equal(np.unique(cells), np.arange(3969))
    assert np.array_equal(enc.cell_ids(), table.cell_ids)
    keys = ["".join(str(int(x)) for x in v) for v in grid]
    assert [enc.cell_ids()[c].decode() for c in cells] == [real_arch(k) for k in keys]
    # an Identity moved among a stage's later layers: the same network; into a stage's first layer: another one
    for group in (("00010000", "00001000"), ("00000120", "00000102"), ("12020000", "12002000")):
        assert len({enc.cell_index(np.array([int(c) for c in k], float)) for k in group}) == 1
    assert enc.cell_index(np.array([0, 0, 1, 0, 0, 0, 0, 0.0])) != enc.cell_index(np.array([0, 0, 0, 1, 0, 0, 0, 0.0]))
    assert enc.cell_index(np.array([0, 1, 0, 0, 0, 0, 0, 0.0])) != enc.cell_index(np.array([1, 0, 0, 0, 0, 0, 0, 0.0]))


def test_each_evaluation_draws_one_of_the_three_trainings_at_unit_cost(table, raw: dict[str, dict]) -> None:
    enc = EncodingMacro()
    key = "12012012"
    values = np.array(raw[key]["test_acc"]) / 100
    assert len(set(values)) == 3
    oracle = Oracle(table, enc, time_budget=3000, seed=7)
    vector = np.array([int(c) for c in key], dtype=float)
    seen = []
    for i in range(3000):
        ev = oracle.evaluate(vector)
        assert ev.valid and ev.cost == 1.0 and ev.time == i + 1  # the clock counts evaluations
        seen.append(ev.valid_acc)
    with pytest.raises(BudgetExhausted):
        oracle.evaluate(vector)  # budget 3000 = 3000 evaluations
    counts = Counter(seen)
    assert set(counts) == set(values.tolist())
    assert all(800 < c < 1200 for c in counts.values())  # uniform over the three (p = 1/3; 3000 draws)
    # regret is on the mean of the three
    assert oracle.regret == pytest.approx(table.best_score - values.mean(), abs=1e-12)


def test_registered_benchmark() -> None:
    assert "macro-cifar10" in benchmark_names()
    assert benchmark_family("macro-cifar10") == "macro" and default_encoding("macro-cifar10") == "macro"
    assert load_benchmark("macro-cifar10").n_cells == 3969


def test_cache_is_built_once_and_rebuilt_when_outdated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays, manifest = md.load_macro_arrays(tmp_path)
    assert manifest["source"]["sha256"] == md.SHA256 and manifest["format"] == md.FORMAT_NAME

    def boom():
        raise AssertionError("rebuilt although the cache is current")

    monkeypatch.setattr(md, "_build", boom)
    again, _ = md.load_macro_arrays(tmp_path)
    assert np.array_equal(again["test_acc"], arrays["test_acc"])
    monkeypatch.undo()
    mf = tmp_path / md.CACHE_SUBDIR / store.MANIFEST
    mf.write_text(mf.read_text().replace(md.SHA256, "0" * 64))
    rebuilt, m2 = md.load_macro_arrays(tmp_path)
    assert m2["source"]["sha256"] == md.SHA256 and np.array_equal(rebuilt["params"], arrays["params"])


def test_altered_data_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = JSON.read_bytes().replace(b"45.31999969482422", b"55.31999969482422", 1)
    monkeypatch.setattr(md, "_read_package_file", lambda: blob)
    with pytest.raises(store.DataFormatError, match="sha256"):
        md.load_macro_arrays(tmp_path)


def test_converter_rejects_inconsistent_copies(raw: dict[str, dict]) -> None:
    bad = dict(raw)
    bad["00001000"] = dict(raw["00001000"], params=1)  # no longer equal to its canonical network 00010000
    with pytest.raises(store.DataFormatError, match="canonical"):
        md._convert(json.dumps(bad).encode())


def test_registry_entry_agrees_with_the_table(table) -> None:
    from nasbench_bench.benchmarks import benchmark

    b = benchmark("macro-cifar10")
    assert b.cost_unit == table.cost_unit == "evaluations" and b.domain == table.meta["domain"] == "image"
    assert not b.synthetic and b.data_path is None


def test_space_analysis_uses_the_params_column_and_block_counts_and_no_time(table, raw: dict[str, dict]) -> None:
    from nasbench_bench.space_analysis import analyze_space

    sa = analyze_space(table, EncodingMacro(), "macro", metric="test", n_walks=2, walk_length=20)
    assert sa.params_label == "parameters"
    row = table.row("22212220")
    assert sa.cost["params"].iloc[row] == raw["22212220"]["params"] and np.isnan(sa.cost["time"]).all()
    assert "time" not in set(sa.ecdfs["metric"])  # unit cost: 1.0 is not a recorded time
    # accuracy by block count: the 8-Identity network (all layers identity) is the one cell with 8 Identities
    eight = sa.ops[(sa.ops["op"] == "Identity") & (sa.ops["count"] == 8)]
    assert eight["n_cells"].tolist() == [1]
    assert eight["mean"].iloc[0] == pytest.approx(sum(raw["00000000"]["test_acc"]) / 300, abs=1e-12)
    assert set(sa.ops["op"]) == {"Identity", "MB3_K3", "MB6_K5"}


def test_data_info_describes_the_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.cli import main

    assert main(["data", "info", "macro-cifar10"]) == 0
    out = capsys.readouterr().out
    assert "3,969 cells" in out and "cost model    unit" in out and "search_sees" in out
    assert "column        params:" in out and "column        flops:" in out and README_SHA256 in out
