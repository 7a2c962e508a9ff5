from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nasbench_bench.nb101 import cache as nb101
from nasbench_bench.nb101.cache import DataFormatError, NB101Table, convert, load_nb101, read_manifest
from nasbench_bench.nb101.records import ModelMetrics, encode_record
from nasbench_bench.nb101.synth import synthetic_table
from nasbench_bench.nb101.tfrecord import CorruptRecordError, write_records

VALUE_ARRAYS = ("train_time", "train_acc", "valid_acc", "test_acc", "halfway_train_time", "halfway_train_acc",
                "halfway_valid_acc", "halfway_test_acc", "total_time", "trainable_parameters", "matrices",
                "ops", "num_vertices", "cell_ids", "n_trials", "budgets")


@pytest.mark.parametrize("variant", ["full", "only108"])
def test_convert_load_reproduces_written_values(request, small_cells, variant):
    cache = request.getfixturevalue(f"nb101_{variant}_cache")
    table = load_nb101(cache)
    expected = synthetic_table(small_cells, variant=variant, seed=7)
    assert isinstance(table, NB101Table)
    assert table.n_cells == len(small_cells)
    for name in VALUE_ARRAYS:
        a, b = getattr(table, name), getattr(expected, name)
        assert a.dtype == b.dtype or name in ("trainable_parameters",), name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert table.budgets.tolist() == ([4, 12, 36, 108] if variant == "full" else [108])
    assert table.variant == variant


def test_manifest_marks_synthetic(nb101_full_cache, nb101_full_file):
    m = read_manifest(nb101_full_cache)
    assert m["synthetic"] is True
    assert m["format_version"] == nb101.FORMAT_VERSION
    assert m["variant"] == "full"
    assert m["source"]["name"] == nb101_full_file.name
    assert m["source"]["size"] == nb101_full_file.stat().st_size
    assert m["n_records"] == m["n_cells"] * 4 * 3
    assert m["trials_histogram"] == {"3": m["n_cells"] * 4}
    table = load_nb101(nb101_full_cache)
    assert table.synthetic and "SYNTHETIC" in table.describe()
    assert "NOT real" in table.describe()


def test_loading_never_unpickles(nb101_full_cache, monkeypatch):
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    load_nb101(nb101_full_cache)
    assert calls and all(c is False for c in calls)


def test_object_array_is_refused(nb101_full_cache, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(nb101_full_cache, bad)
    np.save(bad / "hashes.npy", np.array([object()] * 3, dtype=object), allow_pickle=True)
    with pytest.raises((ValueError, DataFormatError)):
        load_nb101(bad)


def test_unknown_format_version(nb101_full_cache, tmp_path):
    bad = tmp_path / "v99"
    shutil.copytree(nb101_full_cache, bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["format_version"] = 99
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DataFormatError, match="format version 99"):
        load_nb101(bad)


def test_missing_and_not_tfrecord(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_nb101(tmp_path / "nope.tfrecord")
    junk = tmp_path / "junk.tfrecord"
    junk.write_bytes(b"this is not a tfrecord file at all" * 10)
    with pytest.raises(DataFormatError, match="not a TFRecord"):
        convert(junk, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataFormatError, match="not a nasbench_bench"):
        load_nb101(tmp_path)


def test_corrupt_record_offset_during_convert(nb101_only108_file, tmp_path):
    data = bytearray(nb101_only108_file.read_bytes())
    # find the 10th record's offset by walking the framing
    off = 0
    for _ in range(10):
        off += 16 + int.from_bytes(data[off : off + 8], "little")
    data[off + 12 + 20] ^= 1
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError) as ei:
        convert(bad, tmp_path / "out")
    assert ei.value.offset == off
    assert not (tmp_path / "out").exists()


def test_load_tfrecord_converts_once_into_cache(nb101_only108_file, tmp_path, monkeypatch):
    src = tmp_path / nb101_only108_file.name
    shutil.copy(nb101_only108_file, src)
    root = tmp_path / "cache"
    t1 = load_nb101(src, cache_root=root)
    expected_dir = nb101.default_cache_path(src, root)
    assert expected_dir.is_dir() and (expected_dir / "manifest.json").is_file()

    def boom(*a, **k):
        raise AssertionError("converted twice")

    monkeypatch.setattr(nb101, "convert", boom)
    t2 = load_nb101(src, cache_root=root)
    np.testing.assert_array_equal(t1.valid_acc, t2.valid_acc)


def test_hash_verification(tmp_path, small_cells):
    # a record whose stored hash does not match its spec
    m = ModelMetrics(trainable_parameters=1)
    for _ in range(3):
        m.evaluation_data.add(training_time=1.0)
    rec = encode_record("f" * 32, 108, "0100", "input,output", m)
    path = tmp_path / "x.tfrecord"
    write_records(path, [rec])
    with pytest.raises(DataFormatError, match="hashes to"):
        convert(path, tmp_path / "out")
    out = convert(path, tmp_path / "out2", verify_hashes=False)
    assert load_nb101(out).n_cells == 1


def test_uneven_trial_counts_are_kept(tmp_path, small_cells):
    # cell 0: 5 trials at 108, cell 1: 1 trial; nothing may be lost
    recs = []
    for row, n in ((0, 5), (1, 1)):
        k = int(small_cells.num_vertices[row])
        adj = "".join(map(str, small_cells.matrices[row, :k, :k].ravel().tolist()))
        names = {-1: "input", -2: "output", 0: "conv3x3-bn-relu", 1: "conv1x1-bn-relu", 2: "maxpool3x3"}
        ops = ",".join(names[x] for x in small_cells.ops[row, :k].tolist())
        for trial in range(n):
            m = ModelMetrics(trainable_parameters=10)
            for j in range(3):
                m.evaluation_data.add(validation_accuracy=0.5 + 0.01 * trial + j)
            recs.append(encode_record(small_cells.hashes[row].decode(), 108, adj, ops, m))
    path = tmp_path / "uneven.tfrecord"
    write_records(path, recs)
    t = load_nb101(convert(path, tmp_path / "c"))
    assert t.max_trials == 5
    r0, r1 = t.row(small_cells.hashes[0]), t.row(small_cells.hashes[1])
    assert t.n_trials[r0, 0] == 5 and t.n_trials[r1, 0] == 1
    np.testing.assert_allclose(t.valid_acc[r0, 0], 2.5 + 0.01 * np.arange(5))
    assert t.valid_acc[r1, 0, 0] == 2.5 and np.isnan(t.valid_acc[r1, 0, 1:]).all()
    assert read_manifest(path.parent / "c")["synthetic"] is False


def test_save_nb101_round_trips_an_in_memory_table(tmp_path) -> None:
    from nasbench_bench.nb101.cache import _TABLE_ARRAYS, load_nb101, save_nb101
    from nasbench_bench.nb101.synth import synthetic_table

    table = synthetic_table(300, variant="full", seed=3)
    loaded = load_nb101(save_nb101(table, tmp_path / "cache"))
    assert loaded.synthetic and loaded.n_cells == 300
    for field in _TABLE_ARRAYS.values():
        a, b = getattr(table, field), getattr(loaded, field)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), field
