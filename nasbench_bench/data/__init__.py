"""NAS-Bench-101 data: TFRecord I/O, record codec, conversion to a NumPy cache, synthetic data."""

from __future__ import annotations

from nasbench_bench.data.nb101 import DataFormatError, NB101Table, convert, load_nb101, read_manifest
from nasbench_bench.data.tfrecord import CorruptRecordError, iter_records, write_records

__all__ = [
    "CorruptRecordError",
    "DataFormatError",
    "NB101Table",
    "convert",
    "iter_records",
    "load_nb101",
    "read_manifest",
    "write_records",
]
