from __future__ import annotations

import base64
import json

import pytest

from nasbench_bench.nb101.records import (
    ModelMetrics,
    RecordFormatError,
    decode_metrics,
    decode_record,
    encode_metrics,
    encode_record,
)


def _metrics() -> object:
    m = ModelMetrics(trainable_parameters=2_941_978, total_time=1234.5)
    for epoch, t, acc in ((0.0, 0.0, 0.1), (54.0, 700.25, 0.85), (108.0, 1400.5, 0.9301)):
        m.evaluation_data.add(current_epoch=epoch, training_time=t, train_accuracy=acc + 0.05,
                              validation_accuracy=acc, test_accuracy=acc - 0.001, checkpoint_path=f"ck/{epoch}")
    return m


def test_descriptor_matches_reference_field_numbers():
    d = ModelMetrics.DESCRIPTOR
    assert d.full_name == "nasbench.ModelMetrics"
    assert {f.name: f.number for f in d.fields} == {"evaluation_data": 1, "trainable_parameters": 2, "total_time": 3}
    ev = d.fields_by_name["evaluation_data"].message_type
    assert ev.full_name == "nasbench.EvaluationData"
    assert [f.number for f in ev.fields] == [1, 2, 3, 4, 5, 6]
    assert ev.fields_by_name["checkpoint_path"].number == 6


def test_wire_bytes_are_proto2_layout():
    m = ModelMetrics(trainable_parameters=5)
    assert m.SerializeToString() == b"\x10\x05"  # field 2, varint 5


def test_record_roundtrip():
    m = _metrics()
    h = "0123456789abcdef" * 2
    data = encode_record(h, 108, "0110001", "input,conv3x3-bn-relu,output", m)
    item = json.loads(data)
    assert item[:4] == [h, 108, "0110001", "input,conv3x3-bn-relu,output"]
    assert base64.b64decode(item[4]) == m.SerializeToString()
    rec = decode_record(data)
    assert rec.module_hash == h and rec.epochs == 108
    assert rec.ops == ["input", "conv3x3-bn-relu", "output"]
    assert rec.metrics == m
    assert rec.metrics.evaluation_data[2].validation_accuracy == 0.9301
    assert rec.metrics.evaluation_data[1].training_time == 700.25
    assert decode_metrics(encode_metrics(m)) == m


@pytest.mark.parametrize("bad", [b"not json", b"[1, 2]", b'["h", 4, "0", "input", "!!notbase64"]'])
def test_bad_records(bad):
    with pytest.raises(RecordFormatError):
        decode_record(bad)
