"""NAS-Bench-Graph (``graph-*``): the package's files (sha256, counts), values and optima against the raw pickles read
here with this module's own small unpickler, the restricted unpickler's refusals, the configuration -> cell rule
against the package's own ``Arch.valid_hash`` (every configuration of both spaces), and the unit cost model."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench import store
from nasbench_bench.benchmarks import benchmark_family, benchmark_names, default_encoding, get_encoding, load_benchmark
from nasbench_bench.graph import data as gd
from nasbench_bench.oracle import BudgetExhausted, Oracle

A = pytest.importorskip("nas_bench_graph.architecture")  # the package itself: independent code

LIGHT = Path(A.__file__).parent / "light"
SHA = {  # typed from `sha256sum light/*.bench` of nas-bench-graph 1.4.0
    "arxiv": "7ee21a7653297a806c0ed1be3efe6ecc06acc84e48e942da0bfde0e5d287debe",
    "citeseer": "99c7f79b73372636305bf73fb32a58b63c57bd1871a152dd62ec72d984c8c50f",
    "computers": "fdb3dc0cf405d62322f0ab9614b2083c2a5e6576c2f43e4f2214be64bc62b1b3",
    "cora": "5e69b2f9bb08d8927d9ffd4921f8494a3cea349c9c3a461334cb9dc9e11701a8",
    "cs": "71ae8469930517160b024f52db6000a4897f1aff5d765beb27bb60952ed5bd31",
    "photo": "5511b4dc3f63fa988792177227db7901290fb9b27fc6c02e3036b29e134ed6df",
    "physics": "1e309bafee0b832c8b84fa3c039c36992bc0a910238b128f26b7e9190d7f2aea",
    "proteins": "b9e7fb0902bda44fec32c948e5fde822fb22d38d674c52e43ace5197378f2d21",
    "pubmed": "10b4dcf6cfd3a24f6059f7d541a4a872960b4adac0b3dba26abed1bb9a3d904d",
}
ALL = sorted(SHA)


class _Raw(pickle.Unpickler):
    """This test's own reader of the bench files: numpy scalars only."""

    def find_class(self, module: str, name: str):
        if name == "scalar" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return lambda dt, b: np.frombuffer(b, dtype=dt)[0]
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"{module}.{name}")


def raw(dataset: str) -> dict:
    return _Raw(io.BytesIO((LIGHT / f"{dataset}.bench").read_bytes())).load()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graph-cache")


def test_registry_names_families_and_encodings() -> None:
    names = set(benchmark_names())
    assert {f"graph-{d}" for d in ALL} <= names
    for d in ALL:
        fam = "graph-proteins" if d == "proteins" else "graph"
        assert benchmark_family(f"graph-{d}") == fam and default_encoding(f"graph-{d}") == fam


@pytest.mark.parametrize("dataset", ALL)
def test_files_sha256_counts_and_constants(dataset: str) -> None:
    assert hashlib.sha256((LIGHT / f"{dataset}.bench").read_bytes()).hexdigest() == SHA[dataset] == gd.SHA256[dataset]
    d = raw(dataset)
    assert len(d) == (2021 if dataset == "proteins" else 26206)
    assert all(set(r) == {"valid_perf", "perf", "latency", "para"} for r in d.values())


@pytest.mark.parametrize("dataset", ["cora", "arxiv", "proteins"])
def test_table_values_and_optimum_against_the_raw_file(dataset: str, cache: Path) -> None:
    d = raw(dataset)
    t = gd.load_graph(dataset, cache)
    assert t.n_cells == len(d) and t.score_metric == "test" and t.cost_model == "unit" and t.maximize
    assert t.metric == ("ROC-AUC" if dataset == "proteins" else "accuracy")
    assert t.meta["domain"] == "graph"
    best_test = max(r["perf"] for r in d.values())
    assert t.best_score == pytest.approx(best_test, abs=0)
    best_valid_key = max(d, key=lambda k: d[k]["valid_perf"])
    assert float(t.valid_acc[t.row(f"{best_valid_key:05d}"), 0, 0]) == d[best_valid_key]["valid_perf"]
    rng = np.random.default_rng(3)
    for k in rng.choice(sorted(d), 12, replace=False):
        r, rec = t.row(f"{int(k):05d}"), d[int(k)]
        assert float(t.valid_acc[r, 0, 0]) == rec["valid_perf"] and float(t.test_acc[r, 0, 0]) == rec["perf"]
        assert float(t.columns["latency"][r]) == rec["latency"] and float(t.columns["params"][r]) == rec["para"]
    assert (np.asarray(t.n_trials) == 1).all() and np.isnan(t.train_acc).all()


def test_cached_load_reads_only_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = gd.load_graph("citeseer", cache)
    monkeypatch.setattr(gd, "read_bench", lambda *a: pytest.fail("the cached load read the package's file"))
    again = gd.load_graph("citeseer", cache)
    assert np.array_equal(first.cell_ids, again.cell_ids) and np.array_equal(first.test_acc, again.test_acc)


def test_wrong_checksum_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(gd.SHA256, "photo", "0" * 64)
    with pytest.raises(store.DataFormatError, match="sha256"):
        gd.load_graph("photo", tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo never-run",))


@pytest.mark.parametrize("payload", [
    pickle.dumps(_Evil(), protocol=2),
    pickle.dumps(_Evil(), protocol=4),
    pickle.dumps(np.arange(3)),  # an ndarray: numpy's _reconstruct is not allowed
    pickle.dumps(np.dtype(object)),  # numpy.dtype, but not a numeric one
])
def test_restricted_unpickler_refuses(payload: bytes) -> None:
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        gd.NumpyScalarUnpickler(io.BytesIO(payload)).load()


def test_restricted_unpickler_reads_numpy_scalars() -> None:
    obj = {1: {"a": np.float64(0.25), "b": 0.5, "c": np.int64(3)}}
    assert gd.NumpyScalarUnpickler(io.BytesIO(pickle.dumps(obj, protocol=3))).load() == obj


@pytest.mark.parametrize("space, ops", [("graph", A.gnn_list), ("graph-proteins", A.gnn_list_proteins)])
def test_every_configuration_maps_to_the_packages_valid_hash(space: str, ops: list[str]) -> None:
    """All 59,049 (5,625) configurations: the encoding's cell = the package's valid_hash; all-skip invalid."""
    enc = get_encoding(space)
    ids = enc.cell_ids()
    vectors = np.array(list(product(range(9), *[range(len(ops))] * 4)), dtype=float)
    cells = enc.cell_indices(vectors)
    assert len(ids) == (2021 if space == "graph-proteins" else 26206)
    n_invalid = 0
    for v, c in zip(vectors, cells):
        cfg = enc.to_config(v)
        link = [int(ch) for ch in cfg["Link"]]
        arch_ops = [cfg[f"Op{i}"] for i in range(1, 5)]
        assert [int(x) for x in enc.params[0].choices[int(v[0])]] == A.link_list[int(v[0])]
        if all(o == "skip" for o in arch_ops):
            assert c == -1
            n_invalid += 1
            continue
        h = A.Arch(link, arch_ops).valid_hash()
        assert ids[c] == f"{h:05d}".encode(), (cfg, ids[c], h)
    assert n_invalid == 9
    assert len(set(cells[cells >= 0].tolist())) == len(ids)  # every cell is reachable
    rng = np.random.default_rng(0)
    for v in vectors[rng.choice(len(vectors), 200, replace=False)]:
        assert enc.cell_index(v) == cells[int(enc.configuration_index(v)[0])]


def test_neighbours_change_one_parameter() -> None:
    for name, n in (("graph", 8 + 4 * 8), ("graph-proteins", 8 + 4 * 4)):
        enc = get_encoding(name)
        v = enc.sample(np.random.default_rng(1))
        nb = enc.neighbours(v)
        assert len(nb) == n and ((nb != v).sum(axis=1) == 1).all()


def test_unit_cost_the_budget_counts_evaluations() -> None:
    t = load_benchmark("graph-cora")
    enc = get_encoding("graph")
    assert (np.asarray(t.train_time) == 1.0).all()
    oracle = Oracle(t, enc, time_budget=25, seed=0)
    rng = np.random.default_rng(5)
    n = 0
    with pytest.raises(BudgetExhausted):
        while True:
            oracle.evaluate(enc.sample(rng))
            n += 1
    traj = oracle.trajectory()
    assert n == 25 and oracle.clock == 25.0 and oracle.exhausted
    assert np.array_equal(traj.time, np.arange(1, 26, dtype=float))
    reg = traj.regret[np.isfinite(traj.regret)]
    assert (reg >= 0).all()


def test_analyze_names_the_metric_uses_params_and_ops_and_no_unit_time() -> None:
    from nasbench_bench.space_analysis import analyze_space

    t = load_benchmark("graph-proteins")
    sa = analyze_space(t, get_encoding("graph-proteins"), "graph-proteins", n_walks=3, walk_length=20)
    assert sa.metric == "ROC-AUC" and "ROC-AUC" in sa.score_label
    assert not (sa.ecdfs["metric"] == "time").any() and sa.cost["time"].isna().all()
    d = raw("proteins")
    assert np.array_equal(sa.cost["params"].to_numpy(), [d[int(k)]["para"] for k in t.cell_ids])
    row = sa.ops.set_index(["op", "count"])
    # four gcn (gnn_list index 1): the hashes whose four op digits are all 1, one per link pattern
    four_gcn = [r["valid_perf"] for k, r in d.items() if f"{k:05d}"[1:] == "1111"]
    assert len(four_gcn) == 9 and row.loc[("gcn", 4), "n_cells"] == 9
    assert row.loc[("gcn", 4), "median"] == pytest.approx(float(np.median(four_gcn)), abs=1e-15)


def test_data_info_describes_a_benchmark_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.cli import main

    assert main(["data", "info", "graph-proteins"]) == 0
    out = capsys.readouterr().out
    assert "2,021 cells" in out and "ROC-AUC" in out and "the budget counts evaluations" in out
    assert SHA["proteins"] in out and "domain        graph" in out
