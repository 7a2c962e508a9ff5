"""TransNAS-Bench-101 (micro and macro, 7 tasks each): the shipped zips (sha256, licences, counts), every table's
optimum and sampled values against the raw JSON (read here with zipfile + json, not through the code under test),
the direction of room layout's negative loss, the encodings (round trips, the macro invalid / duplicate rule,
neighbourhoods, ConfigSpace) and the unit cost model."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench import store
from nasbench_bench.benchmarks import (
    benchmark,
    benchmark_family,
    benchmark_names,
    default_encoding,
    get_encoding,
    load_benchmark,
    suite,
)
from nasbench_bench.oracle import Oracle
from nasbench_bench.tnb101 import tables
from nasbench_bench.tnb101.encoding import EncodingTNB101Macro, EncodingTNB101Micro

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "nasbench_bench" / "tnb101" / "data"
# expected values written here, not taken from the code under test
SHA = {
    "micro": ("tnb101_micro_zen.zip", "d70d3ddcda2264806a467d3fb3840e8ce04c5b0129776110a62018ea68e6d7f2"),
    "macro": ("tnb101_macro_zen.zip", "c34526c4f37f06205e61efeeb80bce5340dbce555ad558a10d6a897258d0de7b"),
}
COUNT = {"micro": 4096, "macro": 3256}
TASKS = ("class_object", "class_scene", "jigsaw", "segmentsemantic", "room_layout", "normal", "autoencoder")
PERCENT = {"class_object", "class_scene", "jigsaw", "segmentsemantic"}
METRIC = {"class_object": "top-1 accuracy", "class_scene": "top-1 accuracy", "jigsaw": "top-1 accuracy",
          "segmentsemantic": "pixel accuracy", "room_layout": "negative L2 loss", "normal": "SSIM",
          "autoencoder": "SSIM"}


def raw_records(space: str) -> dict[str, list[dict]]:
    """task -> the zip's records, read with the stdlib only."""
    out: dict[str, list[dict]] = defaultdict(list)
    with zipfile.ZipFile(DATA / SHA[space][0]) as zf:
        for name in zf.namelist():
            if name.endswith(".json"):
                task = name.split("--")[2]
                out[task].extend(json.loads(zf.read(name)))
    return dict(out)


def arch_tuple(rec: dict) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d", rec["arch"]))


def expected_value(task: str, rec: dict) -> float:
    v = float(rec["val_accuracy"])
    return v / 100.0 if task in PERCENT else v


@pytest.fixture(scope="module")
def raw() -> dict[str, dict[str, list[dict]]]:
    return {s: raw_records(s) for s in SHA}


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NASBENCH_BENCH_CACHE", str(tmp_path_factory.mktemp("tnb101-cache")))
    yield
    mp.undo()


def table(space: str, task: str):
    return load_benchmark(f"tnb101-{space}-{task}")


# -- shipped files ------------------------------------------------------------------------------------------
def test_shipped_files_checksums_licences_provenance() -> None:
    for space, (name, sha) in SHA.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == sha
        assert tables.SHA256[space] == sha and tables.FILES[space] == name
    assert "MIT License" in (DATA / "LICENSE-TransNAS-Bench-101").read_text()
    assert "Apache License" in (DATA / "LICENSE-NASLib").read_text()
    prov = (DATA / "PROVENANCE.md").read_text()
    assert "automl/NASLib" in prov and "8c45f19dc259956c3bd253071135c798ad3df8ce" in prov
    assert all(sha in prov for _, sha in SHA.values())


def test_package_data_globs_ship_every_data_file() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["nasbench_bench.tnb101"]
    matched = {p for pat in patterns for p in (ROOT / "nasbench_bench" / "tnb101").glob(pat)}
    assert {p for p in DATA.iterdir() if p.is_file()} == matched


def test_raw_counts_one_record_per_cell_and_task(raw) -> None:
    for space, by_task in raw.items():
        assert sorted(by_task) == sorted(TASKS)
        for task, recs in by_task.items():
            archs = [arch_tuple(r) for r in recs]
            assert len(recs) == COUNT[space] == len(set(archs)), (space, task)


def test_altered_zip_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = (DATA / SHA["micro"][0]).read_bytes()
    altered = real[:1000] + bytes([real[1000] ^ 1]) + real[1001:]
    monkeypatch.setattr(tables, "_read_package_file", lambda space: altered)
    with pytest.raises(store.DataFormatError, match="sha256"):
        tables.load_space("micro", cache=tmp_path)


# -- tables against the raw JSON ------------------------------------------------------------------------------
def test_registry_lists_all_fourteen() -> None:
    names = set(benchmark_names())
    for space in SHA:
        for task in TASKS:
            name = f"tnb101-{space}-{task}"
            assert name in names
            assert benchmark_family(name) == f"tnb101-{space}" == default_encoding(name)
            b = benchmark(name)
            assert b.cost_unit == "evaluations" == table(space, task).cost_unit and b.domain == "taskonomy"
    assert sorted(suite("tnb101")) == sorted(f"tnb101-{s}-{t}" for s in SHA for t in TASKS)


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_every_table_optimum_and_sampled_values_match_the_raw_zip(raw, space: str) -> None:
    rng = np.random.default_rng(0)
    for task in TASKS:
        t = table(space, task)
        recs = raw[space][task]
        assert t.n_cells == COUNT[space] and t.score_metric == "validation" and t.test_acc is None
        assert t.metric == METRIC[task] and t.maximize is True
        assert t.meta["domain"] == "taskonomy" and t.meta["task"] == task
        best = max(recs, key=lambda r: float(r["val_accuracy"]))
        assert t.best_score == expected_value(task, best)
        assert t.cell_id(int(np.argmax(t.score))) == "".join(map(str, arch_tuple(best))).ljust(6, "0")
        for i in rng.choice(len(recs), 6, replace=False):
            r = recs[i]
            row = t.row("".join(map(str, arch_tuple(r))).ljust(6, "0"))
            assert t.valid_acc[row, 0, 0] == expected_value(task, r)
            assert t.columns["zen_score"][row] == r["zen"]["score"]
            assert t.columns["zen_time"][row] == r["zen"]["time"]
        assert {"zen_score", "zen_time"} <= set(t.meta["columns"])


def test_a_few_values_written_out() -> None:
    """Values copied by hand from the README's first records (independent of any reader)."""
    assert table("micro", "class_object").valid_acc[table("micro", "class_object").row("232323"), 0, 0] == \
        pytest.approx(0.427597541809082, abs=1e-15)
    t = table("macro", "normal")
    assert t.valid_acc[t.row("431210"), 0, 0] == pytest.approx(0.5506141185760498, abs=1e-15)


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_room_layout_negative_loss_direction(raw, space: str) -> None:
    t = table(space, "room_layout")
    recs = raw[space]["room_layout"]
    vals = [float(r["val_accuracy"]) for r in recs]
    assert max(vals) < 0  # a negative loss stays negative
    assert t.best_score == max(vals)  # best = least negative, not the largest loss
    regret = t.best_score - t.score
    assert (regret >= 0).all() and regret.min() == 0.0
    assert regret.max() == pytest.approx(max(vals) - min(vals))
    worst = min(recs, key=lambda r: float(r["val_accuracy"]))
    enc = get_encoding(f"tnb101-{space}")
    codes = arch_tuple(worst)
    ev_best = Oracle(t, enc, time_budget=10, seed=0)
    best_rec = max(recs, key=lambda r: float(r["val_accuracy"]))
    ev_best.evaluate(vector_of(space, arch_tuple(best_rec)))
    assert ev_best.regret == 0.0
    o = Oracle(t, enc, time_budget=10, seed=0)
    o.evaluate(vector_of(space, codes))
    assert o.regret == pytest.approx(max(vals) - min(vals)) and o.regret > 0


def vector_of(space: str, codes: tuple[int, ...]) -> np.ndarray:
    """The encoding vector of an arch tuple as the data writes it (macro: empty slots at the end)."""
    return np.array(list(codes) + [0] * (6 - len(codes)), dtype=float)


def test_unit_cost_every_evaluation_costs_one() -> None:
    for space in SHA:
        t = table(space, "jigsaw")
        assert t.cost_model == "unit"
        assert (np.asarray(t.train_time) == 1.0).all() and (np.asarray(t.n_trials) == 1).all()
        enc = get_encoding(f"tnb101-{space}")
        o = Oracle(t, enc, time_budget=40, seed=1)
        rng = np.random.default_rng(0)
        valid = 0
        while valid < 5:
            v = enc.sample(rng)
            ev = o.evaluate(v)
            valid += enc.cell_index(v) >= 0
            assert ev.cost == (1.0 if enc.cell_index(v) >= 0 else 0.0)
        assert o.clock == 5.0


# -- encodings --------------------------------------------------------------------------------------------------
def test_micro_encoding_is_a_bijection_onto_the_data(raw) -> None:
    enc = EncodingTNB101Micro()
    ids = enc.cell_ids()
    assert len(ids) == 4096 and len(set(ids.tolist())) == 4096
    data = {"".join(map(str, arch_tuple(r))).encode() for r in raw["micro"]["jigsaw"]}
    assert set(ids.tolist()) == data
    allv = np.array(list(itertools.product(range(4), repeat=6)), dtype=float)
    idx = enc.cell_indices(allv)
    assert sorted(idx.tolist()) == list(range(4096))
    assert [enc.cell_index(v) for v in allv] == idx.tolist()  # the scalar form agrees
    for v in allv[::97]:
        assert ids[enc.cell_index(v)].decode() == "".join(str(int(x)) for x in v)
        cfg = enc.to_config(v)
        assert np.array_equal(enc.to_vector(cfg), v)
        assert set(cfg.values()) <= {"none", "skip_connect", "conv1x1", "conv3x3"}


def independent_macro_rule(slots: tuple[int, ...]) -> tuple[int, ...] | None:
    """TransNAS-Bench-101's macro space (net_macro.py: channels double for codes 2, 4; stride 2 for codes 3, 4;
    the paper: 4-6 modules, 1-4 down-sampling, 1-3 channel-doubling); empty slots (0) are skipped."""
    codes = tuple(c for c in slots if c != 0)
    down = sum(c > 2 for c in codes)
    double = sum(c % 2 == 0 for c in codes)
    return codes if 4 <= len(codes) <= 6 and 1 <= down <= 4 and 1 <= double <= 3 else None


def test_macro_encoding_rule_duplicates_and_invalid(raw) -> None:
    enc = EncodingTNB101Macro()
    ids = enc.cell_ids()
    data = {"".join(map(str, arch_tuple(r))).ljust(6, "0").encode() for r in raw["macro"]["jigsaw"]}
    assert len(ids) == 3256 and set(ids.tolist()) == data
    allv = list(itertools.product(range(5), repeat=6))
    idx = enc.cell_indices(np.array(allv, dtype=float))
    assert [enc.cell_index(np.array(v, dtype=float)) for v in allv] == idx.tolist()
    n_valid = 0
    for slots, i in zip(allv, idx):
        codes = independent_macro_rule(slots)
        if codes is None:
            assert i == -1, slots
        else:
            n_valid += 1
            assert ids[i].decode() == "".join(map(str, codes)).ljust(6, "0"), slots
    assert n_valid == 9946  # 2,296 six-module x 1 + 750 x 6 + 210 x 15 placements of the empty slots
    # duplicates: the same network wherever its empty slots are
    a = enc.cell_index(np.array([1, 0, 2, 3, 0, 4.0]))
    assert a == enc.cell_index(np.array([1, 2, 3, 4, 0, 0.0])) == enc.cell_index(np.array([0, 0, 1, 2, 3, 4.0]))
    assert a >= 0 and ids[a] == b"123400"
    # invalid: too few modules, no down-sampling, too many down-sampling, no / too many channel doublings
    for bad in ([1, 2, 3, 0, 0, 0], [1, 2, 1, 2, 1, 0], [3, 3, 3, 3, 3, 2], [1, 3, 1, 3, 0, 0], [2, 2, 2, 2, 3, 0]):
        assert enc.cell_index(np.array(bad, dtype=float)) == -1, bad
    for v in np.array(allv[::211], dtype=float):
        assert np.array_equal(enc.to_vector(enc.to_config(v)), v)


def test_macro_neighbours_change_delete_and_insert_modules() -> None:
    enc = EncodingTNB101Macro()
    v = np.array([1, 2, 3, 4, 0, 0.0])
    nb = enc.neighbours(v)
    assert nb.shape == (24, 6) and ((nb != v).sum(axis=1) == 1).all()
    nets = {enc.cell_ids()[i].decode() for i in enc.cell_indices(nb) if i >= 0}
    assert "124000" not in nets  # deleting module 3 leaves 3 modules: invalid
    assert "123410" in nets and "123440" in nets  # insertion at the first empty slot
    assert "223400" in nets  # change of a code (1 -> 2: one more channel doubling)
    v6 = np.array([1, 2, 3, 4, 1, 3.0])
    nets6 = {enc.cell_ids()[i].decode() for i in enc.cell_indices(enc.neighbours(v6)) if i >= 0}
    assert {"234130", "134130", "124130", "123130", "123430", "123410"} <= nets6  # every deletion


def test_micro_neighbours_are_the_18_single_op_changes() -> None:
    enc = EncodingTNB101Micro()
    v = np.array([1, 0, 2, 3, 3, 1.0])
    nb = enc.neighbours(v)
    assert nb.shape == (18, 6) and len(set(enc.cell_indices(nb).tolist())) == 18


@pytest.mark.parametrize("cls", [EncodingTNB101Micro, EncodingTNB101Macro])
def test_configspace_samples_map_to_cells(cls) -> None:
    enc = cls()
    cs = enc.configspace(seed=0)
    assert len(list(cs.values())) == 6
    got = [enc.cell_index(enc.to_vector(dict(c))) for c in cs.sample_configuration(200)]
    assert all(-1 <= g < len(enc.cell_ids()) for g in got) and sum(g >= 0 for g in got) > 50


def test_data_info_describes_a_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    from nasbench_bench.cli import main

    assert main(["data", "info", "tnb101-macro-room_layout"]) == 0
    out = capsys.readouterr().out
    assert "negative L2 loss" in out and "taskonomy" in out and "unit" in out and "evaluations" in out
    assert SHA["macro"][1] in out and "zen_time" in out
