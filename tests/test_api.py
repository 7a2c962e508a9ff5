from __future__ import annotations

import base64
import json
import math
import struct
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench.nb101 import api
from nasbench_bench.nb101.records import ModelMetrics
from nasbench_bench.nb101.synth import synthetic_table

OFFICIAL_COMPUTED_KEYS = {
    "halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy", "halfway_test_accuracy",
    "final_training_time", "final_train_accuracy", "final_validation_accuracy", "final_test_accuracy",
}
QUERY_KEYS = {"module_adjacency", "module_operations", "trainable_parameters", "training_time",
              "train_accuracy", "validation_accuracy", "test_accuracy"}


@pytest.fixture()
def nb(nb101_full_table):
    return api.NASBench(nb101_full_table, seed=123)


def _spec(table, row: int) -> api.ModelSpec:
    return api.ModelSpec(table.adjacency(row).tolist(), table.op_names(row))


def test_drop_in_names(nb):
    assert api.OutOfDomainError is not None and api.ModelSpec is not None
    assert nb.config["module_vertices"] == 7 and nb.config["max_edges"] == 9
    assert nb.config["available_ops"] == ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]
    assert nb.config["num_repeats"] == 3
    assert nb.valid_epochs == {4, 12, 36, 108}


def test_load_from_path(nb101_only108_cache):
    nb = api.NASBench(str(nb101_only108_cache))
    assert nb.valid_epochs == {108}


def test_query_shape_and_values(nb, nb101_full_table):
    t = nb101_full_table
    r = 17
    spec = _spec(t, r)
    d = nb.query(spec, epochs=36)
    assert set(d) == QUERY_KEYS
    assert d["module_adjacency"].dtype == np.int8
    np.testing.assert_array_equal(d["module_adjacency"], t.adjacency(r))
    assert d["module_operations"] == t.op_names(r)
    assert isinstance(d["training_time"], float) and isinstance(d["trainable_parameters"], int)
    b = 2
    k = int(np.flatnonzero(t.valid_acc[r, b] == d["validation_accuracy"])[0])
    assert d["test_accuracy"] == t.test_acc[r, b, k] and d["training_time"] == t.train_time[r, b, k]
    # mutating the result does not touch the table
    d["module_adjacency"][:] = 0
    d["module_operations"].append("x")
    assert nb.query(spec, epochs=36)["module_operations"] == t.op_names(r)


def test_trials_uniform_and_counters(nb, nb101_full_table):
    t = nb101_full_table
    r = 5
    spec = _spec(t, r)
    n = 6000
    counts = np.zeros(3, int)
    total_time, total_epochs = 0.0, 0
    for i in range(n):
        halfway = i % 4 == 0
        d = nb.query(spec, epochs=108, stop_halfway=halfway)
        src = t.halfway_valid_acc if halfway else t.valid_acc
        k = int(np.flatnonzero(src[r, 3] == d["validation_accuracy"])[0])
        counts[k] += 1
        total_time += d["training_time"]
        total_epochs += 54 if halfway else 108
        if halfway:
            assert d["training_time"] == t.halfway_train_time[r, 3, k]
    # each trial ~1/3: binomial sd = sqrt(n * 1/3 * 2/3) ~ 37; allow 4.5 sd (false alarm ~2e-5)
    assert np.all(np.abs(counts - n / 3) < 4.5 * math.sqrt(n * 2 / 9)), counts
    spent_time, spent_epochs = nb.get_budget_counters()
    assert spent_epochs == total_epochs
    assert spent_time == pytest.approx(total_time, rel=1e-12)
    nb.reset_budget_counters()
    assert nb.get_budget_counters() == (0.0, 0)


def test_same_seed_same_sequence(nb101_full_table):
    specs = [_spec(nb101_full_table, r) for r in range(0, 60, 3)]

    def run(seed):
        nb = api.NASBench(nb101_full_table, seed=seed)
        return [nb.query(s, epochs=e)["validation_accuracy"] for s in specs for e in (4, 108)]

    assert run(9) == run(9)
    assert run(9) != run(10)


def test_out_of_domain(nb, nb101_full_table):
    spec = _spec(nb101_full_table, 0)
    with pytest.raises(api.OutOfDomainError):
        nb.query(spec, epochs=100)
    disconnected = api.ModelSpec([[0, 0, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    assert not nb.is_valid(disconnected)
    with pytest.raises(api.OutOfDomainError):
        nb.query(disconnected)
    bad_op = api.ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"])
    with pytest.raises(api.OutOfDomainError):
        nb.query(bad_op)
    with pytest.raises(api.OutOfDomainError):
        nb.get_metrics_from_spec(bad_op)
    assert nb.get_budget_counters() == (0.0, 0)


def test_isomorphic_spec_same_row(nb, nb101_full_table):
    t = nb101_full_table
    # find a cell with >= 2 interior vertices and permute them (keeping a topological order valid)
    for r in range(t.n_cells):
        n = int(t.num_vertices[r])
        m = t.adjacency(r)
        if n >= 4 and m[1, 2] == 0:
            perm = [0, 2, 1] + list(range(3, n))
            spec = api.ModelSpec(m[np.ix_(perm, perm)], [t.op_names(r)[p] for p in perm])
            assert nb.row(spec) == r
            break
    else:  # pragma: no cover
        pytest.skip("no suitable cell")


def test_metrics_from_hash_and_spec(nb, nb101_full_table):
    t = nb101_full_table
    r = 3
    h = t.cell_id(r)
    fixed, computed = nb.get_metrics_from_hash(h)
    assert set(fixed) == {"module_adjacency", "module_operations", "trainable_parameters"}
    assert sorted(computed) == [4, 12, 36, 108]
    assert len(computed[108]) == 3 and set(computed[108][1]) == OFFICIAL_COMPUTED_KEYS
    assert computed[12][2]["final_test_accuracy"] == t.test_acc[r, 1, 2]
    assert computed[4][0]["halfway_training_time"] == t.halfway_train_time[r, 0, 0]
    f2, c2 = nb.get_metrics_from_spec(_spec(t, r))
    assert c2 == computed and f2["module_operations"] == fixed["module_operations"]
    computed[108].clear()
    assert len(nb.get_metrics_from_hash(h)[1][108]) == 3
    assert nb.get_budget_counters() == (0.0, 0)
    hashes = list(nb.hash_iterator())
    assert len(hashes) == t.n_cells and sorted(hashes) == [x.decode() for x in t.cell_ids]
    with pytest.raises(KeyError):
        nb.get_metrics_from_hash("0" * 32)


def test_uses_own_rng_not_global(nb101_full_table):
    import random

    spec = _spec(nb101_full_table, 1)
    state = random.getstate()
    np_state = np.random.get_state()[1].copy()
    nb = api.NASBench(nb101_full_table, seed=1)
    for _ in range(50):
        nb.query(spec)
    assert random.getstate() == state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_synthetic_table_in_api(small_cells):
    t = synthetic_table(small_cells, "only108", seed=0)
    nb = api.NASBench(t, seed=0)
    assert nb.valid_epochs == {108}
    assert "SYNTHETIC" in repr(nb)


# -- the official attributes: config, history, fixed/computed statistics, hash_iterator, evaluate --------------


def _official_view(path: Path) -> tuple[dict, dict]:
    """(fixed_statistics, computed_statistics) built from the TFRecord file the way the official API builds
    them (framing read with struct, records with json and the protobuf classes): the expected values."""
    fixed: dict = {}
    computed: dict = {}
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        h, epochs, adj, ops, raw = json.loads(data[pos + 12 : pos + 12 + length])
        pos += 12 + length + 4
        m = ModelMetrics.FromString(base64.b64decode(raw))
        if h not in fixed:
            n = int(len(adj) ** 0.5)
            fixed[h] = {"module_adjacency": np.array([int(c) for c in adj], np.int8).reshape(n, n),
                        "module_operations": ops.split(","), "trainable_parameters": m.trainable_parameters}
            computed[h] = {}
        half, final = m.evaluation_data[1], m.evaluation_data[2]
        computed[h].setdefault(epochs, []).append({
            "halfway_training_time": half.training_time, "halfway_train_accuracy": half.train_accuracy,
            "halfway_validation_accuracy": half.validation_accuracy, "halfway_test_accuracy": half.test_accuracy,
            "final_training_time": final.training_time, "final_train_accuracy": final.train_accuracy,
            "final_validation_accuracy": final.validation_accuracy, "final_test_accuracy": final.test_accuracy,
        })
    return fixed, computed


@pytest.fixture(scope="module")
def official_full(nb101_full_file):
    return _official_view(nb101_full_file)


def test_config_and_history_are_the_officials(nb):
    c = nb.config
    expected = {"module_vertices": 7, "max_edges": 9, "num_repeats": 3, "train_epochs": 108, "batch_size": 256,
                "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "stem_filter_size": 128,
                "num_stacks": 3, "num_modules_per_stack": 3, "num_labels": 10, "data_format": "channels_last",
                "intermediate_evaluations": ["0.5"], "lr_decay_method": "COSINE_BY_STEP", "train_seconds": 14400.0,
                "max_attempts": 5, "use_tpu": False}
    assert {k: c[k] for k in expected} == expected
    assert c["available_ops"] == ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]
    assert {"train_data_files", "valid_data_file", "test_data_file", "sample_data_file"} <= set(c)
    c["available_ops"].append("x")  # each instance has its own copy
    assert api.NASBench(nb.table).config["available_ops"] == ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]
    assert nb.history == {}


def test_statistics_have_the_official_structure(nb101_full_table, official_full):
    nb = api.NASBench(nb101_full_table, seed=0)
    fixed, computed = official_full
    assert isinstance(nb.fixed_statistics, Mapping) and isinstance(nb.computed_statistics, Mapping)
    assert len(nb.fixed_statistics) == len(fixed) == len(nb.computed_statistics)
    assert list(nb.fixed_statistics) == list(fixed)  # file order, as the official dicts
    assert list(nb.computed_statistics) == list(computed)
    for h in list(fixed)[::7]:
        f = nb.fixed_statistics[h]
        assert set(f) == set(fixed[h]) and f["module_operations"] == fixed[h]["module_operations"]
        assert f["module_adjacency"].dtype == np.int8
        np.testing.assert_array_equal(f["module_adjacency"], fixed[h]["module_adjacency"])
        assert f["trainable_parameters"] == fixed[h]["trainable_parameters"]
        c = nb.computed_statistics[h]
        assert sorted(c) == sorted(computed[h]) and all(c[e] == computed[h][e] for e in c)  # trials in file order
        assert nb.get_metrics_from_hash(h)[1] == c
    h = next(iter(fixed))
    assert h in nb.fixed_statistics and "0" * 32 not in nb.fixed_statistics and 17 not in nb.computed_statistics
    with pytest.raises(KeyError):
        nb.fixed_statistics["0" * 32]
    with pytest.raises(TypeError):
        nb.fixed_statistics[h] = {}  # read-only
    nb.computed_statistics[h][108].clear()
    nb.fixed_statistics[h]["module_operations"].append("x")
    assert len(nb.computed_statistics[h][108]) == 3
    assert nb.fixed_statistics[h]["module_operations"] == fixed[h]["module_operations"]
    assert nb.get_budget_counters() == (0.0, 0)


def test_hash_iterator_is_a_sized_reiterable_view_in_file_order(nb101_full_table, official_full):
    nb = api.NASBench(nb101_full_table)
    keys = nb.hash_iterator()
    expected = list(official_full[0])
    assert len(keys) == len(expected)
    assert list(keys) == expected and list(keys) == expected  # re-iterable
    assert expected[5] in keys and "f" * 32 not in keys
    assert keys & {expected[0], "nope"} == {expected[0]}  # a set-like view, as dict_keys


def test_hash_iterator_without_file_order_is_ascending(small_cells):
    nb = api.NASBench(synthetic_table(small_cells, "only108", seed=0))
    hashes = list(nb.hash_iterator())
    assert hashes == sorted(hashes) and len(hashes) == len(small_cells)


def test_evaluate_says_training_is_not_provided(nb, nb101_full_table):
    with pytest.raises(NotImplementedError, match="not part of this suite"):
        nb.evaluate(_spec(nb101_full_table, 0), "/tmp/model_dir")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.bool_, np.float64])
def test_query_any_matrix_dtype(nb, nb101_full_table, dtype):
    t = nb101_full_table
    for r in (0, 9, 33):
        spec = api.ModelSpec(t.adjacency(r).astype(dtype), t.op_names(r))
        assert nb.row(spec) == r
        assert nb.get_metrics_from_spec(spec)[1] == nb.get_metrics_from_hash(t.cell_id(r))[1]


# -- `from nasbench import api` through the opt-in alias ----------------------------------------------------------

_CLIENT = """
from nasbench import api
from nasbench.lib import graph_util, model_spec
import sys
nasbench = api.NASBench(sys.argv[1], seed=0)
first = next(iter(nasbench.hash_iterator()))
fixed, computed = nasbench.get_metrics_from_hash(first)
spec = api.ModelSpec(matrix=fixed["module_adjacency"], ops=fixed["module_operations"])
assert nasbench.is_valid(spec) and model_spec.ModelSpec is api.ModelSpec
data = nasbench.query(spec)
print(first, spec.hash_spec(nasbench.config["available_ops"]), data["trainable_parameters"],
      graph_util.num_edges(fixed["module_adjacency"]), len(computed[108]))
"""


def _python(tmp_path: Path, code: str, *args: str, pythonpath: str = "") -> subprocess.CompletedProcess:
    script = tmp_path / "client.py"
    script.write_text(textwrap.dedent(code))
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pythonpath, str(Path(api.__file__).parents[2])) if p)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_alias_runs_an_unmodified_client(tmp_path, nb101_full_cache, official_full):
    fixed, _ = official_full
    first = next(iter(fixed))
    out = _python(tmp_path, _CLIENT, "-m", "nasbench_bench.nb101.alias", "client.py", str(nb101_full_cache))
    assert out.returncode == 0, out.stderr
    h, h2, params, edges, trials = out.stdout.split()
    assert h == h2 == first
    assert int(params) == fixed[first]["trainable_parameters"]
    assert int(edges) == int(fixed[first]["module_adjacency"].sum()) and trials == "3"
    # without the alias the import fails as it would without the official package
    out = _python(tmp_path, _CLIENT, "client.py", str(nb101_full_cache))
    assert out.returncode != 0 and "No module named 'nasbench'" in out.stderr


def test_alias_never_shadows_a_real_nasbench_silently(tmp_path):
    real = tmp_path / "site" / "nasbench"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    code = """
    import logging, nasbench_bench.nb101 as nb101
    logging.basicConfig(level=logging.WARNING)
    try:
        nb101.install_alias()
    except ImportError as exc:
        print("refused:", exc)
    api = nb101.install_alias(force=True)
    import nasbench
    print("shadowed:", not hasattr(nasbench, "REAL"), nasbench.api is api)
    """
    out = _python(tmp_path, code, "client.py", pythonpath=str(tmp_path / "site"))
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and str(real) in out.stdout
    assert "shadowed: True True" in out.stdout
    assert "shadowing the real 'nasbench'" in out.stderr
    out = _python(tmp_path, "print(1)", "-m", "nasbench_bench.nb101.alias", "client.py",
                  pythonpath=str(tmp_path / "site"))
    assert out.returncode == 2 and out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1
