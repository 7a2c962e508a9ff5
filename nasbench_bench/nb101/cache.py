"""NAS-Bench-101 as a :class:`~nasbench_bench.table.Table`: one-pass conversion of the official TFRecord
files into the suite's table store (``.npy`` arrays plus ``manifest.json``, see :mod:`nasbench_bench.store`),
and a fast, pickle-free loader.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from nasbench_bench import store
from nasbench_bench.nb101.records import ModelMetrics
from nasbench_bench.nb101.spec import INPUT, MAX_VERTICES, OPS, OUTPUT, hash_module
from nasbench_bench.nb101.tfrecord import CorruptRecordError, iter_records_with_offsets
from nasbench_bench.paths import cache_dir
from nasbench_bench.store import DataFormatError
from nasbench_bench.table import Table

__all__ = [
    "FORMAT_VERSION",
    "SYNTHETIC_PREFIX",
    "DataFormatError",
    "NB101Table",
    "convert",
    "default_cache_path",
    "load_nb101",
    "read_manifest",
    "read_tfrecord",
    "read_tfrecord_reference",
    "save_nb101",
]

log = logging.getLogger(__name__)

FORMAT_NAME = "nasbench_bench.nb101"
FORMAT_VERSION = 1
#: ``checkpoint_path`` prefix that marks records written by :mod:`nasbench_bench.nb101.synth`.
SYNTHETIC_PREFIX = "synthetic://nasbench_bench/"
FULL_BUDGETS = (4, 12, 36, 108)

LABEL_INPUT, LABEL_OUTPUT, LABEL_PAD = -1, -2, -3
_OP_LABEL = {INPUT: LABEL_INPUT, OUTPUT: LABEL_OUTPUT, **{op: i for i, op in enumerate(OPS)}}

#: Per-(cell, budget, trial) metric arrays, in the order values are collected per record.
TRIAL_ARRAYS = (
    "halfway_train_time", "halfway_train_acc", "halfway_valid_acc", "halfway_test_acc",
    "train_time", "train_acc", "valid_acc", "test_acc", "total_time",
)
CELL_ARRAYS = ("hashes", "num_vertices", "matrices", "ops", "trainable_parameters")


@dataclass(frozen=True, eq=False, kw_only=True)
class NB101Table(Table):
    """NAS-Bench-101 metrics, rows sorted by module hash (``cell_ids``, 'S32').

    ``train_time``/``train_acc``/``valid_acc``/``test_acc`` are the final values (end of training,
    ``evaluation_data[2]``); the ``halfway_*`` arrays are ``evaluation_data[1]``. ``file_order`` (when the table
    was converted from a file) lists the rows in the order their cells first appear in it (the official API's
    ``hash_iterator()`` order). ``ops`` holds labels:
    -1 input, -2 output, 0/1/2 = index in :data:`~nasbench_bench.nb101.spec.OPS`, -3 padding; ``matrices``
    are the stored (pruned) adjacency matrices in the top-left ``num_vertices`` corner.
    """

    matrices: np.ndarray  # (N, 7, 7) uint8
    num_vertices: np.ndarray  # (N,) uint8
    ops: np.ndarray  # (N, 7) int8
    trainable_parameters: np.ndarray  # (N,) int64
    halfway_train_time: np.ndarray  # (N, E, T) float64
    halfway_train_acc: np.ndarray
    halfway_valid_acc: np.ndarray
    halfway_test_acc: np.ndarray
    total_time: np.ndarray  # (N, E, T) float64
    file_order: np.ndarray | None = None  # (N,) rows in the order the cells first appear in the source file

    def __post_init__(self) -> None:
        super().__post_init__()
        n = self.n_cells
        if self.file_order is not None and self.file_order.shape != (n,):
            raise ValueError(f"NB101Table: file_order has shape {self.file_order.shape}, expected ({n},)")
        shape3 = self.valid_acc.shape
        for name in ("halfway_train_time", "halfway_train_acc", "halfway_valid_acc", "halfway_test_acc",
                     "total_time"):
            if getattr(self, name).shape != shape3:
                raise ValueError(f"NB101Table: {name} has shape {getattr(self, name).shape}, expected {shape3}")
        if self.matrices.shape != (n, MAX_VERTICES, MAX_VERTICES) or self.ops.shape != (n, MAX_VERTICES):
            raise ValueError("NB101Table: matrices must be (N, 7, 7) and ops (N, 7)")
        if self.num_vertices.shape != (n,) or self.trainable_parameters.shape != (n,):
            raise ValueError("NB101Table: num_vertices and trainable_parameters must be (N,)")

    @property
    def variant(self) -> str:
        """``"full"`` (4/12/36/108 epochs), ``"only108"`` or ``"custom"``."""
        return _variant(self.budgets.tolist())

    def op_names(self, row: int) -> list[str]:
        """The op names of a row's stored spec (``input``, ..., ``output``)."""
        n = int(self.num_vertices[row])
        return [_label_name(int(x)) for x in self.ops[row, :n]]

    def adjacency(self, row: int) -> np.ndarray:
        """A copy of a row's stored (pruned) adjacency matrix, ``(V, V)`` int8 like the official API."""
        n = int(self.num_vertices[row])
        return self.matrices[row, :n, :n].astype(np.int8)

    def describe(self) -> str:
        text = super().describe()
        if self.synthetic:
            text += " -- SYNTHETIC data, NOT real NAS-Bench-101 results"
        return text


def _label_name(label: int) -> str:
    if label == LABEL_INPUT:
        return INPUT
    if label == LABEL_OUTPUT:
        return OUTPUT
    return OPS[label]


def _variant(budgets: list[int]) -> str:
    if tuple(budgets) == FULL_BUDGETS:
        return "full"
    if list(budgets) == [108]:
        return "only108"
    return "custom"


def table_name(variant: str, synthetic: bool) -> str:
    return f"{'synthetic-' if synthetic else ''}nasbench101-{variant}"


# -- conversion --------------------------------------------------------------------------------------


def default_cache_path(src: str | os.PathLike[str], cache_root: str | os.PathLike[str] | None = None) -> Path:
    """Cache directory for a TFRecord file, keyed by its name, size and modification time."""
    src = Path(src)
    st = src.stat()
    return cache_dir(cache_root) / "nb101" / f"{src.stem}-{st.st_size}-{st.st_mtime_ns}"


def _parse_cell(h: str, raw_adjacency: str, raw_operations: str, where: str, verify: bool):
    n = int(round(len(raw_adjacency) ** 0.5))
    if n * n != len(raw_adjacency) or not 2 <= n <= MAX_VERTICES or set(raw_adjacency) - {"0", "1"}:
        raise DataFormatError(f"{where}: bad raw_adjacency {raw_adjacency!r}")
    mat = np.frombuffer(raw_adjacency.encode("ascii"), dtype=np.uint8).reshape(n, n) - ord("0")
    names = raw_operations.split(",")
    try:
        labels = [_OP_LABEL[x] for x in names]
    except KeyError as exc:
        raise DataFormatError(f"{where}: unknown operation {exc.args[0]!r}") from None
    if len(labels) != n or labels[0] != LABEL_INPUT or labels[-1] != LABEL_OUTPUT:
        raise DataFormatError(f"{where}: operations {raw_operations!r} do not fit a {n}-vertex matrix")
    if verify:
        if np.any(np.tril(mat)):
            raise DataFormatError(f"{where}: adjacency is not upper triangular")
        computed = hash_module(mat, labels)
        if computed != h:
            raise DataFormatError(f"{where}: stored hash {h} but the stored spec hashes to {computed}")
    return n, mat, labels


def convert(
    src: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    verify_hashes: bool = True,
    cache_root: str | os.PathLike[str] | None = None,
) -> Path:
    """Convert a NAS-Bench-101 TFRecord file into a cache directory of ``.npy`` arrays; returns it.

    One pass over the file (:func:`read_tfrecord`), written through the table store: atomically, and only
    over an empty directory or a cache this suite wrote (:class:`~nasbench_bench.store.StoreRefused`
    otherwise, raised before the file is read). Default directory: :func:`default_cache_path`.
    """
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"NAS-Bench-101 file not found: {src}")
    dst = Path(dst_dir) if dst_dir is not None else default_cache_path(src, cache_root)
    store.check_destination(dst)
    t0 = time.perf_counter()
    arrays, manifest = read_tfrecord(src, progress=progress, verify_hashes=verify_hashes)
    replaced = store.write(dst, arrays, manifest, fmt=FORMAT_NAME, version=FORMAT_VERSION)
    if replaced is not None:
        log.info("replaced the cache in %s (converted from %s)", dst, replaced.get("source", {}).get("name"))
    log.info("converted %s: %d records, %d cells in %.1f s -> %s",
             src.name, manifest["n_records"], manifest["n_cells"], time.perf_counter() - t0, dst)
    return dst


def _records(src: Path, progress: bool, desc: str) -> Iterator[tuple[int, list[Any]]]:
    """``(byte offset, [module_hash, epochs, raw_adjacency, raw_operations, raw_metrics])`` of every record
    of a NAS-Bench-101 TFRecord file, checksums verified, with a progress bar; :class:`DataFormatError` naming
    the offset for a record that is not a NAS-Bench-101 record, a file that is not a TFRecord, or no records."""
    size = src.stat().st_size
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"{desc} {src.name}", leave=False)
    last, n, loads = 0, 0, json.loads
    try:
        for offset, data in iter_records_with_offsets(src):
            try:
                fields = loads(data)
                if not isinstance(fields, list) or len(fields) != 5:
                    raise ValueError(f"expected a list of 5 items, got {type(fields).__name__}")
            except ValueError as exc:
                raise DataFormatError(
                    f"{src}: record at byte offset {offset} is not a NAS-Bench-101 record: {exc}"
                ) from exc
            yield offset, fields
            n += 1
            if bar is not None and not n % 20000:
                bar.update(offset - last)
                last = offset
    except CorruptRecordError as exc:
        if exc.offset == 0 and "length checksum" in exc.reason:
            raise DataFormatError(f"{src} is not a TFRecord file (bad checksum in the first record header)") from exc
        raise
    finally:
        if bar is not None:
            bar.update(size - last)
            bar.close()
    if n == 0:
        raise DataFormatError(f"{src}: no records (an empty file?)")


def _metrics(raw_metrics: Any, src: Path, offset: int) -> Any:
    """The decoded ``ModelMetrics`` of a record (``DataFormatError`` naming the offset if it is not one)."""
    try:
        m = ModelMetrics.FromString(base64.b64decode(raw_metrics))
        m.evaluation_data[2]
    except (ValueError, TypeError, IndexError, binascii.Error, DecodeError) as exc:
        raise DataFormatError(f"{src}: record at byte offset {offset} is not a NAS-Bench-101 record: {exc}") from exc
    return m


def scan_tfrecord(src: str | os.PathLike[str], progress: bool = False) -> dict[str, Any]:
    """What a NAS-Bench-101 TFRecord file holds, from one pass over it (checksums verified): ``size``,
    ``n_records``, ``n_cells``, ``records_per_budget``, ``variant`` and ``synthetic`` (its records' marker)."""
    src = Path(src)
    cells: set[str] = set()
    per_budget: dict[int, int] = {}
    synthetic: bool | None = None
    for offset, (h, epochs, _, _, raw_metrics) in _records(src, progress, "scan"):
        if synthetic is None:
            synthetic = _metrics(raw_metrics, src, offset).evaluation_data[2].checkpoint_path.startswith(
                SYNTHETIC_PREFIX)
        cells.add(h)
        per_budget[int(epochs)] = per_budget.get(int(epochs), 0) + 1
    budgets = sorted(per_budget)
    return {"size": src.stat().st_size, "n_records": sum(per_budget.values()), "n_cells": len(cells),
            "records_per_budget": {b: per_budget[b] for b in budgets}, "variant": _variant(budgets),
            "synthetic": bool(synthetic)}


def read_tfrecord(
    src: str | os.PathLike[str], progress: bool = False, verify_hashes: bool = True, reader: str = "auto"
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of a NAS-Bench-101 TFRecord file, ready for the table store.

    One pass over the file; every record's checksums are verified, and with ``verify_hashes`` every cell's
    stored hash is checked against the official module hash of its stored spec. Trials are numbered in file
    order. ``reader``: ``"auto"`` (the vectorised :func:`~nasbench_bench.nb101.fastread.read_tfrecord_fast`,
    which hands files it does not handle to the reference reader), ``"fast"`` (no hand-over:
    :class:`DataFormatError` instead) or ``"reference"`` (:func:`read_tfrecord_reference`). Both readers give
    the same arrays and manifest.
    """
    if reader not in ("auto", "fast", "reference"):
        raise ValueError(f"reader must be 'auto', 'fast' or 'reference', got {reader!r}")
    if reader != "reference":
        from nasbench_bench.nb101.fastread import _Fallback, read_tfrecord_fast

        try:
            return read_tfrecord_fast(src, progress=progress, verify_hashes=verify_hashes)
        except _Fallback as exc:
            if reader == "fast":
                raise DataFormatError(f"{src}: not handled by the fast reader: {exc}") from None
            log.info("%s: using the reference reader (%s)", src, exc)
    return read_tfrecord_reference(src, progress=progress, verify_hashes=verify_hashes)


def read_tfrecord_reference(
    src: str | os.PathLike[str], progress: bool = False, verify_hashes: bool = True
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """:func:`read_tfrecord` one record at a time, as the official API reads the file (``json`` and the
    protobuf classes per record; every new cell's hash recomputed): the reference the fast reader matches."""
    src = Path(src)
    size = src.stat().st_size
    index: dict[str, int] = {}
    hashes: list[str] = []
    cell_nv = array("B")
    cell_params = array("q")
    cell_mats: list[np.ndarray] = []
    cell_labels: list[list[int]] = []
    rec_cell = array("i")
    rec_epochs = array("i")
    vals = array("d")
    synthetic = False
    n_records = 0
    for offset, (h, epochs, raw_adjacency, raw_operations, raw_metrics) in _records(src, progress, "convert"):
        m = _metrics(raw_metrics, src, offset)
        half, final = m.evaluation_data[1], m.evaluation_data[2]
        idx = index.get(h)
        if idx is None:
            if not isinstance(h, str) or len(h) != 32:
                raise DataFormatError(f"{src}: record at byte offset {offset}: bad module hash {h!r}")
            n, mat, labels = _parse_cell(
                h, raw_adjacency, raw_operations, f"{src}: record at byte offset {offset}", verify_hashes
            )
            idx = len(hashes)
            index[h] = idx
            hashes.append(h)
            cell_nv.append(n)
            cell_params.append(m.trainable_parameters)
            cell_mats.append(mat)
            cell_labels.append(labels)
            if final.checkpoint_path.startswith(SYNTHETIC_PREFIX):
                synthetic = True
        rec_cell.append(idx)
        rec_epochs.append(epochs)
        vals.extend((
            half.training_time, half.train_accuracy, half.validation_accuracy, half.test_accuracy,
            final.training_time, final.train_accuracy, final.validation_accuracy, final.test_accuracy,
            m.total_time,
        ))
        n_records += 1
    c = len(hashes)
    mats = np.zeros((c, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    ops = np.full((c, MAX_VERTICES), LABEL_PAD, dtype=np.int8)
    for i, (mat, labels) in enumerate(zip(cell_mats, cell_labels)):
        k = len(labels)
        mats[i, :k, :k] = mat
        ops[i, :k] = labels
    values = np.frombuffer(vals, dtype=np.float64).reshape(-1, len(TRIAL_ARRAYS))
    arrays, stats = _assemble(
        np.array(hashes, dtype="S32"), np.frombuffer(cell_nv, dtype=np.uint8), np.frombuffer(cell_params, np.int64),
        mats, ops, np.frombuffer(rec_cell, dtype=np.int32), np.frombuffer(rec_epochs, dtype=np.int32),
        [values[:, j] for j in range(len(TRIAL_ARRAYS))])
    budgets = arrays["budgets"].tolist()
    manifest: dict[str, Any] = {
        "source": {"name": src.name, "size": size, "mtime_ns": src.stat().st_mtime_ns},
        "n_records": n_records,
        "n_cells": len(hashes),
        "budgets": budgets,
        "variant": _variant(budgets),
        "synthetic": synthetic,
        "max_trials": stats["max_trials"],
        "trials_histogram": stats["trials_histogram"],
        "verify_hashes": verify_hashes,
    }
    return arrays, manifest


def _assemble(hashes: np.ndarray, cell_nv: np.ndarray, cell_params: np.ndarray, cell_mats: np.ndarray,
              cell_ops: np.ndarray, rec_cell: np.ndarray, rec_epochs: np.ndarray, columns: list[Any],
              order: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The cache arrays from the cells (in file order: hashes 'S32', vertex counts, parameters, (C, 7, 7)
    matrices, (C, 7) labels) and the records (cell index, epochs, and the :data:`TRIAL_ARRAYS` columns, each
    an array or a list of chunks; the list is emptied as they are placed). ``order``: the cells sorted by
    hash, if the caller knows it."""
    n = len(hashes)
    if order is None:
        order = np.argsort(hashes, kind="stable")
    rank = np.empty(n, dtype=np.int32)  # int32 indices throughout: the peak memory of a full-size file
    rank[order] = np.arange(n, dtype=np.int32)
    epochs = np.asarray(rec_epochs)
    budgets = np.unique(epochs).astype(np.int64)
    e = len(budgets)
    key = rank[rec_cell] * np.int32(e) + np.searchsorted(budgets, epochs).astype(np.int32)
    del rank
    rec_order = np.argsort(key, kind="stable")  # file order within each (cell, budget)
    counts = np.bincount(key, minlength=n * e)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int32)
    sorted_key = key[rec_order]
    del key
    trial = np.arange(len(sorted_key), dtype=np.int32) - starts[sorted_key]
    t = int(counts.max())
    if t > 127:
        raise DataFormatError(f"{t} trials for one cell and budget; at most 127 are supported")
    file_order = np.empty(n, dtype=np.int32)
    file_order[order] = np.arange(n, dtype=np.int32)
    arrays: dict[str, np.ndarray] = {
        "hashes": hashes[order],
        "file_order": file_order,
        "budgets": budgets,
        "n_trials": counts.reshape(n, e).astype(np.int8),
        "num_vertices": np.asarray(cell_nv, dtype=np.uint8)[order],
        "matrices": np.asarray(cell_mats, dtype=np.uint8)[order],
        "ops": np.asarray(cell_ops, dtype=np.int8)[order],
        "trainable_parameters": np.asarray(cell_params, dtype=np.int64)[order],
    }
    flat = sorted_key.astype(np.intp)  # position in the (N, E, T) arrays of each record, in rec_order
    del sorted_key, starts
    flat *= t
    flat += trial
    del trial
    for name in TRIAL_ARRAYS:  # one column at a time, each released once placed (peak memory)
        col = columns.pop(0)
        if isinstance(col, list):
            col = np.concatenate(col)
        arr = np.full(n * e * t, np.nan)
        arr[flat] = col[rec_order]
        del col
        arrays[name] = arr.reshape(n, e, t)
    hist = np.bincount(counts)
    stats = {"max_trials": t, "trials_histogram": {str(k): int(v) for k, v in enumerate(hist) if v}}
    return arrays, stats


_TABLE_ARRAYS = {  # cache array name -> NB101Table field
    "budgets": "budgets", "hashes": "cell_ids", "n_trials": "n_trials", "train_time": "train_time",
    "train_acc": "train_acc", "valid_acc": "valid_acc", "test_acc": "test_acc", "matrices": "matrices",
    "num_vertices": "num_vertices", "ops": "ops", "trainable_parameters": "trainable_parameters",
    "halfway_train_time": "halfway_train_time", "halfway_train_acc": "halfway_train_acc",
    "halfway_valid_acc": "halfway_valid_acc", "halfway_test_acc": "halfway_test_acc", "total_time": "total_time",
}


def save_nb101(table: NB101Table, dst: str | os.PathLike[str], source: dict[str, Any] | None = None) -> Path:
    """Write an in-memory table (e.g. a synthetic one) as a cache directory that :func:`load_nb101` reads."""
    arrays, manifest = table_arrays(table, source)
    store.write(dst, arrays, manifest, fmt=FORMAT_NAME, version=FORMAT_VERSION)
    return Path(dst)


def table_arrays(table: NB101Table, source: dict[str, Any] | None = None
                 ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of an in-memory table, as the table store writes them."""
    arrays = {name: np.ascontiguousarray(getattr(table, field)) for name, field in _TABLE_ARRAYS.items()}
    if table.file_order is not None:
        arrays["file_order"] = np.ascontiguousarray(table.file_order)
    budgets = arrays["budgets"].tolist()
    manifest: dict[str, Any] = {
        "source": source or {"name": table.name},
        "n_records": int(table.n_trials.sum()),
        "n_cells": table.n_cells,
        "budgets": budgets,
        "variant": _variant(budgets),
        "synthetic": bool(table.synthetic),
        "max_trials": table.max_trials,
    }
    return arrays, manifest


# -- loading -----------------------------------------------------------------------------------------

_HINT = "re-run `nasbench-bench data convert` on the source file"


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a cache directory; clear errors for a missing or unknown-format one."""
    return store.read_manifest(path, fmt=FORMAT_NAME, version=FORMAT_VERSION, hint=_HINT)


def load_nb101(
    path: str | os.PathLike[str],
    cache_root: str | os.PathLike[str] | None = None,
    mmap: bool = False,
    progress: bool = False,
) -> NB101Table:
    """Load NAS-Bench-101 from a cache directory, or from a TFRecord file (converted into the default
    cache on first use, once even when several processes ask at the same time, then loaded). Arrays are
    read with ``np.load(allow_pickle=False)``; with ``mmap`` they are memory-mapped read-only.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"NAS-Bench-101 data not found: {path}")
    if path.is_file():
        src = path
        path = default_cache_path(src, cache_root)
        arrays, manifest = store.cached(path, lambda: read_tfrecord(src, progress=progress), fmt=FORMAT_NAME,
                                        version=FORMAT_VERSION, mmap=mmap, what=f"the NAS-Bench-101 cache of {src}")
    else:
        arrays, manifest = store.read(path, fmt=FORMAT_NAME, version=FORMAT_VERSION, mmap=mmap, hint=_HINT)
    return table_from_arrays(arrays, manifest, path)


def table_from_arrays(arrays: dict[str, np.ndarray], manifest: dict[str, Any], path: Path) -> NB101Table:
    """The :class:`NB101Table` of a cache's arrays and manifest."""
    missing = sorted(set(_TABLE_ARRAYS) - set(arrays))
    if missing:
        raise DataFormatError(f"{path}: the cache lacks arrays {missing}")
    synthetic = bool(manifest.get("synthetic", False))
    meta = dict(manifest)
    meta["path"] = str(path)
    return NB101Table(
        name=table_name(manifest.get("variant", "custom"), synthetic),
        synthetic=synthetic,
        meta=meta,
        file_order=arrays.get("file_order"),  # absent in caches written before it was recorded
        **{field: arrays[name] for name, field in _TABLE_ARRAYS.items()},
    )
