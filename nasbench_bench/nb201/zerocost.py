"""Zen-NAS zero-cost scores of all NAS-Bench-201 cells (NASLib's ``zerocost`` benchmark data), as table columns.

The package ships ``zen/nb201_zen.zip`` (``run/results/benchmarks/nb201_zen.zip`` of automl/NASLib, unchanged;
Apache-2.0 packaging, MIT NAS-Bench-201 data: see ``zen/PROVENANCE.md`` and the two licences beside it).
:func:`load_zen` checks its sha256 against :data:`SHA256`, reads it with the stdlib (``zipfile`` + ``json``, from
the package directory only) and converts it once into the table store (``cache_dir()/nb201-zen-v1/``); later calls
read only that cache.

The join to the suite's NAS-Bench-201 cell ids: NASLib's ``arch`` lists 6 op indices over NASLib's edge order
(1,2),(1,3),(1,4),(2,3),(2,4),(3,4) in NASLib's op order (Identity, Zero, ReLUConvBN3x3, ReLUConvBN1x1,
AvgPool1x1); the suite's id lists the ops of edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3 as none=0, skip_connect=1,
nor_conv_1x1=2, nor_conv_3x3=3, avg_pool_3x3=4. So each op is mapped by :data:`NASLIB_TO_NB201_OP` and the
positions taken in the order :data:`NASLIB_POSITIONS`. The conversion checks the join is one to one onto all
15,625 cells of each dataset.

:func:`zen_columns` gives the columns every real NAS-Bench-201 table of a dataset carries:

* ``zen_score``: the Zen-NAS proxy (no training), as NASLib recorded it; NASLib stores ``-1e8`` for the 341 cells
  whose output is disconnected from the input (no score);
* ``zen_time``: seconds to compute it, measured by NASLib's authors on their hardware.

NASLib's ``val_accuracy`` (one 200-epoch training's validation accuracy, percent) is kept in the cache
(``<dataset>_val_accuracy``, as a fraction) but not as a table column: the tables already hold validation accuracy.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import zipfile
from importlib import resources
from typing import Any

import numpy as np

from nasbench_bench import store
from nasbench_bench.paths import cache_dir

__all__ = ["COLUMNS", "FILE", "NASLIB_POSITIONS", "NASLIB_TO_NB201_OP", "SHA256", "load_zen", "zen_columns"]

log = logging.getLogger(__name__)

FILE = "nb201_zen.zip"
DATA_DIR = "zen"
SHA256 = "6c9aec8cd0c235d7b7a37a27f224bb719e7376e8048f2dd6d91bc06dcfcc2a2e"
N_CELLS = 5**6
FORMAT_NAME = "nasbench_bench.nb201_zen"
FORMAT_VERSION = 1
CACHE_SUBDIR = f"nb201-zen-v{FORMAT_VERSION}"
#: NASLib op index -> the suite's NB201 op index (NASLib: 0 Identity, 1 Zero, 2 conv3x3, 3 conv1x1, 4 avgpool).
NASLIB_TO_NB201_OP = (1, 0, 3, 2, 4)
#: The suite's edge i is NASLib's position NASLIB_POSITIONS[i].
NASLIB_POSITIONS = (0, 1, 3, 2, 4, 5)
#: Our dataset name -> NASLib's.
NASLIB_DATASET = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
SENTINEL = -1e8
SOURCE = {
    "repository": "https://github.com/automl/NASLib",
    "branch": "zerocost",
    "commit": "8c45f19dc259956c3bd253071135c798ad3df8ce",
    "file": f"run/results/benchmarks/{FILE} (shipped unchanged as nasbench_bench/nb201/{DATA_DIR}/{FILE})",
    "sha256": SHA256,
    "licence": "NASLib: Apache-2.0; NAS-Bench-201: MIT (both licences shipped beside the data)",
}
COLUMNS = {
    "zen_score": "Zen-NAS zero-cost proxy score (no training; unitless), NASLib zerocost branch "
                 f"({FILE}); -1e8 is NASLib's value for the 341 cells whose output is disconnected from the input",
    "zen_time": "seconds to compute zen_score for the cell, measured by NASLib's authors on their hardware",
}
_MEMBER = re.compile(r"zen/benchmark--nasbench201--(cifar10|cifar100|ImageNet16-120)--(\d+)\.json")


def _read_package_file() -> bytes:
    """The shipped zip, from the installed package's own directory (never a user path)."""
    ref = resources.files("nasbench_bench.nb201").joinpath(DATA_DIR, FILE)
    try:
        return ref.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"the Zen-NAS NAS-Bench-201 data {DATA_DIR}/{FILE} is missing from the installed nasbench_bench package "
            f"({exc}); reinstall nasbench-bench"
        ) from None


def cell_id_from_naslib(arch: str) -> str:
    """The suite's 6-digit NB201 cell id of NASLib's ``arch`` string, e.g. ``'(1, 1, 3, 0, 2, 4)'``."""
    m = re.fullmatch(r"\((\d), (\d), (\d), (\d), (\d), (\d)\)", arch)
    if m is None or any(int(d) > 4 for d in m.groups()):
        raise store.DataFormatError(f"{FILE}: not a NASLib NAS-Bench-201 arch: {arch!r}")
    ops = [int(d) for d in m.groups()]
    return "".join(str(NASLIB_TO_NB201_OP[ops[p]]) for p in NASLIB_POSITIONS)


def _convert(raw: bytes) -> dict[str, np.ndarray]:
    """zip -> arrays over the sorted NB201 cell ids: ``cell_ids`` and, per dataset, ``<d>_zen_score``,
    ``<d>_zen_time``, ``<d>_val_accuracy`` (fraction)."""
    entries: dict[str, list[dict[str, Any]]] = {d: [] for d in NASLIB_DATASET.values()}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for name in zf.namelist():
            if name.endswith("/"):
                continue
            m = _MEMBER.fullmatch(name)
            if m is None:
                raise store.DataFormatError(f"{FILE}: unexpected member {name!r}")
            part = json.loads(zf.read(name))
            if not isinstance(part, list):
                raise store.DataFormatError(f"{FILE}: {name} is not a JSON list")
            entries[m.group(1)].extend(part)
    ids: np.ndarray | None = None
    out: dict[str, np.ndarray] = {}
    for ours, theirs in NASLIB_DATASET.items():
        rows = entries[theirs]
        try:
            keys = [cell_id_from_naslib(e["arch"]) for e in rows]
            vals = np.array([[float(e["zen"]["score"]), float(e["zen"]["time"]), float(e["val_accuracy"])]
                             for e in rows])
        except (KeyError, TypeError, ValueError) as exc:
            raise store.DataFormatError(f"{FILE}: malformed {theirs} entry ({exc})") from None
        if len(keys) != N_CELLS or len(set(keys)) != N_CELLS:
            raise store.DataFormatError(f"{FILE}: {theirs} has {len(keys):,} entries / {len(set(keys)):,} distinct "
                                        f"cells, expected {N_CELLS:,} (one to one)")
        if not (np.isfinite(vals).all() and (vals[:, 1] > 0).all()):
            raise store.DataFormatError(f"{FILE}: {theirs} has non-finite values or non-positive times")
        key_arr = np.array(keys, dtype="S6")
        order = np.argsort(key_arr, kind="stable")
        if ids is None:
            ids = key_arr[order]
        elif not np.array_equal(ids, key_arr[order]):
            raise store.DataFormatError(f"{FILE}: the datasets do not hold the same cells")
        out[f"{ours}_zen_score"] = vals[order, 0]
        out[f"{ours}_zen_time"] = vals[order, 1]
        out[f"{ours}_val_accuracy"] = vals[order, 2] / 100.0
    assert ids is not None
    return {"cell_ids": ids, **out}


def _build() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    raw = _read_package_file()
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SHA256:
        raise store.DataFormatError(f"{DATA_DIR}/{FILE} has sha256 {sha}, expected {SHA256}: the shipped data was "
                                    "altered; reinstall nasbench-bench")
    arrays = _convert(raw)
    manifest = {
        "n_cells": N_CELLS,
        "datasets": list(NASLIB_DATASET),
        "units": {"*_zen_score": "unitless (-1e8: no score, disconnected cell)", "*_zen_time": "seconds",
                  "*_val_accuracy": "fraction (NASLib: percent), one 200-epoch training"},
        "sentinel_cells": {d: int((arrays[f"{d}_zen_score"] == SENTINEL).sum()) for d in NASLIB_DATASET},
        "source": SOURCE,
        "synthetic": False,
    }
    return arrays, manifest


def load_zen(cache: str | os.PathLike[str] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of the Zen-NAS data from the table store, converted from the shipped zip on first use.

    Rows are sorted by NB201 cell id (the order of every NB201 table).
    """
    dest = cache_dir(cache) / CACHE_SUBDIR
    return store.cached(dest, _build, fmt=FORMAT_NAME, version=FORMAT_VERSION,
                        current=lambda m: m.get("source", {}).get("sha256") == SHA256,
                        what="the Zen-NAS NAS-Bench-201 cache")


def zen_columns(dataset: str, cell_ids: np.ndarray, cache: str | os.PathLike[str] | None = None
                ) -> dict[str, np.ndarray]:
    """``{"zen_score", "zen_time"}`` of ``dataset`` aligned with ``cell_ids`` (a table's sorted ids)."""
    if dataset not in NASLIB_DATASET:
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; valid: {list(NASLIB_DATASET)}")
    arrays, _ = load_zen(cache)
    if not np.array_equal(np.asarray(cell_ids), arrays["cell_ids"]):
        raise store.DataFormatError("the Zen-NAS data and the NAS-Bench-201 table do not hold the same cells")
    return {"zen_score": arrays[f"{dataset}_zen_score"], "zen_time": arrays[f"{dataset}_zen_time"]}
