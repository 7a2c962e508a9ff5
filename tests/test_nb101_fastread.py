"""The vectorised first load (nasbench_bench.nb101.fastread) against the reference reader, record by record.

Every test writes a (SYNTHETIC) official-format file, possibly with a twist the official format allows or a
corruption, and requires the fast reader to give exactly the reference reader's arrays and manifest, or the
same error (type, message, byte offset). The reference reader (one record at a time with json and the
protobuf classes) is the oracle; tests of its own correctness are in test_nb101_data.py.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from nasbench_bench.nb101 import fastread
from nasbench_bench.nb101.cache import read_tfrecord, read_tfrecord_reference
from nasbench_bench.nb101.records import ModelMetrics
from nasbench_bench.nb101.tfrecord import CorruptRecordError, iter_records, masked_crc, write_records
from nasbench_bench.store import DataFormatError


@pytest.fixture(scope="module")
def base_records(nb101_full_file) -> list[list]:
    """The decoded records of the session's small synthetic full-variant file (file order)."""
    return [json.loads(r) for r in iter_records(nb101_full_file)]


def _dump(rec: list, style: str = "canonical") -> bytes:
    if style == "compact":
        return json.dumps(rec, separators=(",", ":")).encode()
    if style == "spaced":
        h, e, a, o, m = rec
        return f'[ "{h}" ,\t{e} ,\n"{a}", "{o}" , "{m}" ]\n'.encode()
    return json.dumps(rec).encode()


def _write(path, records, style="canonical"):
    write_records(path, [r if isinstance(r, bytes) else _dump(r, style) for r in records])
    return path


def _same(path, **kw):
    """Fast and reference readers agree exactly (arrays, dtypes, NaN positions, manifest)."""
    fast_arrays, fast_manifest = fastread.read_tfrecord_fast(path, **kw)
    ref_arrays, ref_manifest = read_tfrecord_reference(path)
    assert set(fast_arrays) == set(ref_arrays)
    for name, ref in ref_arrays.items():
        got = fast_arrays[name]
        assert got.dtype == ref.dtype and got.shape == ref.shape, name
        np.testing.assert_array_equal(got, ref, err_msg=name)
    assert fast_manifest == ref_manifest
    return fast_arrays, fast_manifest


def _same_error(path):
    with pytest.raises((DataFormatError, CorruptRecordError)) as ref:
        read_tfrecord_reference(path)
    with pytest.raises(type(ref.value)) as got:
        read_tfrecord(path)  # fast first, reference if it hands over
    assert str(got.value) == str(ref.value)
    return got.value


def _metrics(rec) -> ModelMetrics:
    return ModelMetrics.FromString(base64.b64decode(rec[4]))


def _with_metrics(rec, raw: bytes) -> list:
    return [*rec[:4], base64.b64encode(raw).decode()]


@pytest.mark.parametrize("space", [False, None])
def test_synthetic_files_identical(nb101_full_file, nb101_only108_file, space):
    for path in (nb101_full_file, nb101_only108_file):
        _same(path, space=space)


def test_small_blocks_and_the_python_walk(tmp_path, base_records, monkeypatch):
    """Records straddling block boundaries (carried over), and framing by the plain length walk."""
    path = _write(tmp_path / "f.tfrecord", base_records)
    monkeypatch.setattr(fastread, "_BLOCK", 5000)
    _same(path, space=False)
    monkeypatch.setattr(fastread, "_frames_from_quotes", lambda *a: None)
    _same(path, space=False)


@pytest.mark.parametrize("style", ["compact", "spaced"])
def test_other_json_layouts(tmp_path, base_records, style):
    _same(_write(tmp_path / "f.tfrecord", base_records[:500], style), space=False)


def test_escapes_and_oddities_go_to_the_reference(tmp_path, base_records):
    recs = [list(r) for r in base_records[:300]]
    path = tmp_path / "f.tfrecord"
    text = [_dump(r) for r in recs]
    b64 = recs[7][4]
    text[7] = text[7].replace(b64.encode(), b"\\u%04x" % ord(b64[0]) + b64[1:].encode())  # the same string
    assert json.loads(text[7]) == recs[7]
    write_records(path, text)
    with pytest.raises(fastread._Fallback):
        fastread.read_tfrecord_fast(path, space=False)
    arrays, _ = read_tfrecord(path)  # handed over: the reference's result
    np.testing.assert_array_equal(arrays["valid_acc"], read_tfrecord_reference(path)[0]["valid_acc"])
    with pytest.raises(DataFormatError, match="not handled by the fast reader"):
        read_tfrecord(path, reader="fast")


def test_protobuf_variants(tmp_path, base_records):
    """Field order, unknown fields, repeated scalars (last wins), absent fields, a fourth evaluation."""
    recs = [list(r) for r in base_records[:400]]
    for i in range(0, 400, 5):
        m = _metrics(recs[i])
        kind = (i // 5) % 5
        if kind == 0:  # fields in reverse order, written by hand
            raw = bytearray()
            raw += b"\x19" + struct.pack("<d", m.total_time)
            raw += b"\x10" + _varint(m.trainable_parameters)
            for ev in m.evaluation_data:
                raw += b"\x0a" + _varint(len(ev.SerializeToString())) + ev.SerializeToString()
            recs[i] = _with_metrics(recs[i], bytes(raw))
        elif kind == 1:  # unknown fields of every wire type, and a repeated total_time (the last one counts)
            raw = m.SerializeToString()
            raw += b"\x28\x05" + b"\x31" + b"\x00" * 8 + b"\x3a\x03abc" + b"\x45" + b"\x00" * 4
            raw += b"\x19" + struct.pack("<d", 123.5)
            recs[i] = _with_metrics(recs[i], raw)
        elif kind == 2:  # a fourth evaluation, and a long checkpoint path on the final one
            m.evaluation_data.add(current_epoch=1.0, training_time=2.0)
            m.evaluation_data[2].checkpoint_path = "x" * 300
            recs[i] = _with_metrics(recs[i], m.SerializeToString())
        elif kind == 3:  # absent fields take their defaults
            m.evaluation_data[1].ClearField("test_accuracy")
            m.ClearField("total_time")
            recs[i] = _with_metrics(recs[i], m.SerializeToString())
        else:  # negative parameter count (a 10-byte varint), an unknown field inside an evaluation
            m.trainable_parameters = -5
            ev = m.evaluation_data[2].SerializeToString() + b"\x38\x01" + b"\x29" + struct.pack("<d", 0.25)
            head = b"".join(b"\x0a" + _varint(len(e.SerializeToString())) + e.SerializeToString()
                            for e in m.evaluation_data[:2])
            tail = m.SerializeToString().split(m.evaluation_data[2].SerializeToString(), 1)[1]
            recs[i] = _with_metrics(recs[i], head + b"\x0a" + _varint(len(ev)) + ev + tail)
    _same(_write(tmp_path / "f.tfrecord", recs), space=False)


def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _framed(records: list[bytes]) -> bytearray:
    out = bytearray()
    for r in records:
        h = struct.pack("<Q", len(r))
        out += h + struct.pack("<I", masked_crc(h)) + r + struct.pack("<I", masked_crc(r))
    return out


@pytest.mark.parametrize("where", ["header", "data", "footer", "first-header"])
def test_checksum_errors_match_the_reference(tmp_path, base_records, where):
    data = [_dump(r) for r in base_records[:200]]
    raw = _framed(data)
    starts = np.cumsum([0] + [16 + len(d) for d in data])
    at = {"header": starts[150] + 3, "data": starts[120] + 40, "footer": starts[91] - 2, "first-header": 2}[where]
    raw[int(at)] ^= 0x40
    path = tmp_path / "f.tfrecord"
    path.write_bytes(bytes(raw))
    _same_error(path)


@pytest.mark.parametrize("cut", [5, 11, 20, 200])
def test_truncated_files_match_the_reference(tmp_path, base_records, cut):
    raw = _framed([_dump(r) for r in base_records[:50]])
    path = tmp_path / "f.tfrecord"
    path.write_bytes(bytes(raw[:-cut]))
    err = _same_error(path)
    assert isinstance(err, CorruptRecordError)


def test_empty_and_not_a_tfrecord(tmp_path):
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    _same_error(empty)
    junk = tmp_path / "junk.tfrecord"
    junk.write_bytes(b"this is not a TFRecord file at all" * 10)
    _same_error(junk)


@pytest.mark.parametrize("space", [False, True])
def test_hash_mismatch_matches_the_reference(tmp_path, base_records, space):
    recs = [list(r) for r in base_records[:300]]
    first = {}
    for i, r in enumerate(recs):
        first.setdefault(r[0], i)
    i = sorted(first.values())[40]
    wrong = ("f" if recs[i][0][0] != "f" else "e") + recs[i][0][1:]
    for r in recs:
        if r[0] == recs[i][0] and r is not recs[i]:
            r[0] = wrong
    recs[i][0] = wrong
    path = _write(tmp_path / "f.tfrecord", recs)
    if space:
        from nasbench_bench.nb101.space import get_space

        with pytest.raises(DataFormatError) as ref:
            read_tfrecord_reference(path)
        with pytest.raises(DataFormatError) as got:
            fastread.read_tfrecord_fast(path, space=get_space())
        assert str(got.value) == str(ref.value) and "stored hash" in str(ref.value)
    else:
        assert "stored hash" in str(_same_error(path))


def test_bad_cells_match_the_reference(tmp_path, base_records):
    firsts: dict[str, int] = {}
    for i, r in enumerate(base_records[:100]):
        firsts.setdefault(r[0], i)
    i = sorted(firsts.values())[10]  # the first record of the 11th cell: the one the readers parse
    for change in ("op", "adjacency", "lower"):
        recs = [list(r) for r in base_records[:100]]
        if change == "op":
            recs[i][3] = recs[i][3].replace("input", "conv5x5", 1)
        elif change == "adjacency":
            recs[i][2] = recs[i][2][:-1]
        else:
            n = int(len(recs[i][2]) ** 0.5)
            recs[i][2] = recs[i][2][:n] + "1" + recs[i][2][n + 1 :]  # an edge below the diagonal
        _same_error(_write(tmp_path / f"{change}.tfrecord", recs))


def test_cells_outside_the_space_are_hashed(tmp_path, base_records):
    """A stored graph with a dangling vertex is not a pruned cell: its hash is computed, as the reference does."""
    from nasbench_bench.nb101.spec import hash_module

    rec = next(r for r in base_records if len(r[2]) == 16)  # a 4-vertex cell
    n = 5
    adj = np.zeros((n, n), dtype=int)
    adj[:4, :4] = np.array([int(c) for c in rec[2]]).reshape(4, 4)
    adj[:, [3, 4]] = adj[:, [4, 3]]  # output moves to vertex 4; vertex 3 dangles
    adj[[3, 4], :] = adj[[4, 3], :]
    ops = rec[3].split(",")
    ops = ops[:3] + ["maxpool3x3", ops[3]]
    labels = [-1] + [["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"].index(o) for o in ops[1:-1]] + [-2]
    h = hash_module(adj, labels)
    odd = [h, rec[1], "".join(map(str, adj.ravel())), ",".join(ops), rec[4]]
    from nasbench_bench.nb101.space import get_space

    path = _write(tmp_path / "f.tfrecord", [*base_records[:50], odd])
    fast, _ = fastread.read_tfrecord_fast(path, space=get_space())
    ref, _ = read_tfrecord_reference(path)
    for name in ref:
        np.testing.assert_array_equal(fast[name], ref[name])


def test_a_backslash_before_a_closing_quote_is_not_a_string_end(tmp_path, base_records):
    """``"...\\", "...`` is one string to JSON (and here an invalid record): not two strings."""
    seen = set()
    later = next(i for i, r in enumerate(base_records) if r[0] in seen or seen.add(r[0]))  # a cell's 2nd record
    text = [_dump(r) for r in base_records[:200]]
    rec = base_records[later]
    h, e, a, o, m = rec
    text[later] = f'["{h}", {e}, "{a}\\", "{o}", "{m}"]'.encode()
    path = tmp_path / "f.tfrecord"
    write_records(path, text)
    _same_error(path)


@pytest.mark.parametrize("builds", [True, False])
def test_space_built_in_parallel_when_missing(nb101_full_file, monkeypatch, caplog, builds):
    """A large file without a built space starts a build process and checks the hashes once it is there;
    if the build fails, every hash is computed. (The build command is replaced: building takes ~30 s.)"""
    from nasbench_bench.nb101.space import get_space

    calls = []

    def ready():
        calls.append(1)
        return get_space() if builds and len(calls) > 1 else None  # missing at the start, built at the end

    monkeypatch.setattr(fastread, "_space_ready", ready)
    monkeypatch.setattr(fastread, "_SPACE_MIN_BYTES", 0)
    monkeypatch.setattr(fastread, "_BUILD_SPACE", ("-c", "pass" if builds else "import sys; sys.exit('no room')"))
    with caplog.at_level("INFO", logger="nasbench_bench.nb101.fastread"):
        _same(nb101_full_file)
    assert "building the NAS-Bench-101 search space" in caplog.text
    if builds:
        assert "0 computed" in caplog.text
    else:
        assert "building the search space failed (exit code 1: no room)" in caplog.text and "0 against" in caplog.text


def test_the_space_build_process_imports_this_package(tmp_path, monkeypatch):
    """``python -c`` puts the working directory first on sys.path: a checkout of another nasbench_bench there must
    not be the one that builds the space."""
    import nasbench_bench

    decoy = tmp_path / "nasbench_bench"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NASBENCH_BENCH_CACHE", "rel-cache")  # relative: still this directory's cache
    expect = str(Path(nasbench_bench.__file__).resolve())
    code = ("import os, sys, nasbench_bench; from pathlib import Path; "
            f"ok = str(Path(nasbench_bench.__file__).resolve()) == {expect!r} and "
            f"os.environ['NASBENCH_BENCH_CACHE'] == {str(tmp_path / 'rel-cache')!r}; sys.exit(0 if ok else 4)")
    monkeypatch.setattr(fastread, "_BUILD_SPACE", ("-c", code))
    proc, err = fastread._start_space_build()
    assert proc.wait() == 0
    err.close()


@pytest.mark.parametrize("tampered", [False, True])
def test_fresh_machine_builds_the_space_from_the_shipped_table(tmp_path, monkeypatch, caplog, base_records, tampered):
    """No space in the cache: a (large) file's conversion builds it in a parallel process from the shipped hash
    table (a few seconds, not stubbed) and checks every cell against it; a record with a wrong hash is refused."""
    from nasbench_bench import store
    from nasbench_bench.nb101 import space as space_mod

    cache = tmp_path / "empty-cache"
    monkeypatch.setenv("NASBENCH_BENCH_CACHE", str(cache))
    monkeypatch.setattr(space_mod, "_SPACE", None)
    monkeypatch.setattr(fastread, "_SPACE_MIN_BYTES", 0)
    recs = [list(r) for r in base_records[:400]]
    if tampered:
        bad = recs[123][0]
        wrong = ("0" if bad[0] != "0" else "1") + bad[1:]
        for r in recs:
            if r[0] == bad:
                r[0] = wrong
    path = _write(tmp_path / "f.tfrecord", recs)
    with caplog.at_level("INFO", logger="nasbench_bench.nb101.fastread"):
        if tampered:
            with pytest.raises(DataFormatError, match=f"stored hash {wrong} but the stored spec hashes to {bad}"):
                fastread.read_tfrecord_fast(path)
        else:
            _same(path)
            assert "0 computed" in caplog.text
    assert "building the NAS-Bench-101 search space" in caplog.text
    assert (store.existing_cache(cache / space_mod.CACHE_SUBDIR) or {}).get("hashes") == "shipped"
