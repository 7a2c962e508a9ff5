"""Encode and decode one NAS-Bench-101 record (JSON list with a base64 ``ModelMetrics`` protobuf).

The protobuf classes are built at run time from a ``FileDescriptorProto`` (proto2, package ``nasbench``),
so there is no generated code and no hand-written wire parser.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = [
    "EvaluationData",
    "ModelMetrics",
    "Record",
    "RecordFormatError",
    "decode_metrics",
    "decode_record",
    "encode_metrics",
    "encode_record",
]


class RecordFormatError(ValueError):
    """A record whose payload is not a NAS-Bench-101 record (bad JSON, layout or protobuf)."""


def _build_classes() -> tuple[type[Any], type[Any]]:
    fdp = descriptor_pb2.FileDescriptorProto(name="nasbench_bench/model_metrics.proto", package="nasbench")
    fdp.syntax = "proto2"
    F = descriptor_pb2.FieldDescriptorProto
    ev = fdp.message_type.add(name="EvaluationData")
    for number, name in enumerate(
        ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy"), start=1
    ):
        ev.field.add(name=name, number=number, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    ev.field.add(name="checkpoint_path", number=6, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    mm = fdp.message_type.add(name="ModelMetrics")
    mm.field.add(
        name="evaluation_data", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
        type_name=".nasbench.EvaluationData",
    )
    mm.field.add(name="trainable_parameters", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    mm.field.add(name="total_time", number=3, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    fd = pool.Add(fdp)
    del fd
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.EvaluationData")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics")),
    )


#: Message classes of ``nasbench.EvaluationData`` and ``nasbench.ModelMetrics``.
EvaluationData, ModelMetrics = _build_classes()


@dataclass(frozen=True)
class Record:
    """One decoded record: a (cell, epochs, trial) training run."""

    module_hash: str
    epochs: int
    raw_adjacency: str
    raw_operations: str
    metrics: Any  # a ModelMetrics message

    @property
    def ops(self) -> list[str]:
        return self.raw_operations.split(",")


def decode_metrics(raw_metrics: str | bytes) -> Any:
    """Parse the base64 ``ModelMetrics`` of a record."""
    try:
        return ModelMetrics.FromString(base64.b64decode(raw_metrics, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise RecordFormatError(f"raw_metrics is not a base64 ModelMetrics protobuf: {exc}") from exc


def encode_metrics(metrics: Any) -> str:
    """Serialize a ``ModelMetrics`` message to the base64 text stored in records."""
    return base64.b64encode(metrics.SerializeToString()).decode("ascii")


def split_record(data: bytes) -> list[Any]:
    """The JSON list ``[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]`` of a record."""
    try:
        item = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordFormatError(f"record is not JSON: {exc}") from exc
    if not (isinstance(item, list) and len(item) == 5):
        raise RecordFormatError("record is not a JSON list of 5 items")
    return item


def decode_record(data: bytes) -> Record:
    """Decode one record's bytes."""
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = split_record(data)
    return Record(str(module_hash), int(epochs), str(raw_adjacency), str(raw_operations), decode_metrics(raw_metrics))


def encode_record(module_hash: str, epochs: int, raw_adjacency: str, raw_operations: str, metrics: Any) -> bytes:
    """Encode one record (``metrics`` a ``ModelMetrics`` message or its base64 text) as UTF-8 JSON."""
    raw = metrics if isinstance(metrics, str) else encode_metrics(metrics)
    return json.dumps([module_hash, int(epochs), raw_adjacency, raw_operations, raw]).encode("utf-8")
