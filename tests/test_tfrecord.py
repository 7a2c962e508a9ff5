from __future__ import annotations

import pytest

from nasbench_bench.nb101.tfrecord import (
    CorruptRecordError,
    TFRecordWriter,
    iter_records,
    iter_records_with_offsets,
    masked_crc,
    write_records,
)

RECORDS = [b"", b"a", b"hello world" * 50, bytes(range(256)) * 3]


def test_masked_crc_known_value():
    crc = 0xE3069283  # the standard CRC-32C check value of b"123456789"
    rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
    assert masked_crc(b"123456789") == (rotated + 0xA282EAD8) % 2**32
    assert masked_crc(b"") == 0xA282EAD8


def test_roundtrip(tmp_path):
    path = tmp_path / "r.tfrecord"
    assert write_records(path, RECORDS) == len(RECORDS)
    assert list(iter_records(path)) == RECORDS
    offsets = [o for o, _ in iter_records_with_offsets(path)]
    expected, pos = [], 0
    for r in RECORDS:
        expected.append(pos)
        pos += 16 + len(r)
    assert offsets == expected
    assert path.stat().st_size == pos


def test_writer_is_atomic(tmp_path):
    path = tmp_path / "r.tfrecord"
    with pytest.raises(RuntimeError), TFRecordWriter(path) as w:
        w.write(b"x")
        raise RuntimeError("boom")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("which", [1, 2])
def test_corrupt_byte_reports_offset(tmp_path, which):
    path = tmp_path / "r.tfrecord"
    write_records(path, RECORDS)
    data = bytearray(path.read_bytes())
    start = 16 + len(RECORDS[0]) + 16 + len(RECORDS[1])  # third record
    flip = start + (3 if which == 1 else 12 + 5)  # in the length field / in the data
    data[flip] ^= 0x40
    path.write_bytes(bytes(data))
    it = iter_records(path)
    assert next(it) == RECORDS[0]
    assert next(it) == RECORDS[1]
    with pytest.raises(CorruptRecordError) as ei:
        next(it)
    assert ei.value.offset == start
    assert ei.value.path == str(path)
    assert str(start) in str(ei.value)


@pytest.mark.parametrize("cut", [1, 5, 14, 40])
def test_truncated_file(tmp_path, cut):
    path = tmp_path / "r.tfrecord"
    write_records(path, RECORDS)
    size = path.stat().st_size
    last = size - (16 + len(RECORDS[-1]))
    path.write_bytes(path.read_bytes()[: size - cut])
    with pytest.raises(CorruptRecordError) as ei:
        list(iter_records(path))
    assert ei.value.offset == last
    assert isinstance(ei.value, ValueError)


def test_small_chunks_cross_boundaries(tmp_path, monkeypatch):
    import nasbench_bench.nb101.tfrecord as tfr

    monkeypatch.setattr(tfr, "_CHUNK", 7)
    path = tmp_path / "r.tfrecord"
    write_records(path, RECORDS * 3)
    assert list(iter_records(path)) == RECORDS * 3
