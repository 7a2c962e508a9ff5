"""TransNAS-Bench-101 tables from the shipped NASLib zips (real data), micro and macro, 7 Taskonomy tasks each.

The package ships ``data/tnb101_micro_zen.zip`` and ``data/tnb101_macro_zen.zip`` unchanged from automl/NASLib
(see ``data/PROVENANCE.md``; licences ``data/LICENSE-NASLib``, Apache-2.0, and
``data/LICENSE-TransNAS-Bench-101``, MIT). :func:`load_space` checks the zip's sha256 against :data:`SHA256`,
reads its JSON shards with the stdlib (``zipfile`` + ``json``, from the package directory only, never a
pickle), checks that every task holds exactly the space's cells (4,096 micro cells / 3,256 macro networks,
enumerated from the space's rule in :mod:`.encoding`), and converts it once into the table store
(``cache_dir()/tnb101-<space>-v1/``); later calls read only that cache.

:func:`load_tnb101` builds the table of one space and task (``tnb101-<space>-<task>``): one budget, one value
per cell (no seeds, no test split), so ``score_metric="validation"`` and the search and the regret see the
same number. The value is the task's final validation metric as NASLib queries it (:data:`TASKS`):
accuracies in percent become fractions, SSIM stays 0-1, room layout's negative L2 loss stays negative; all
are higher-is-better (``maximize=True``). No training times were recorded: ``cost_model="unit"``,
``train_time`` 1.0 per cell, the budget counts evaluations. The Zen-NAS zero-cost score and its compute time
are the table's ``columns`` ``zen_score`` and ``zen_time``.
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
from nasbench_bench.table import Table
from nasbench_bench.tnb101.encoding import EncodingTNB101Macro, EncodingTNB101Micro

__all__ = ["FILES", "SHA256", "SPACES", "TASKS", "TaskInfo", "load_space", "load_tnb101"]

log = logging.getLogger(__name__)

SPACES = ("micro", "macro")
DATA_DIR = "data"
FILES = {"micro": "tnb101_micro_zen.zip", "macro": "tnb101_macro_zen.zip"}
SHA256 = {
    "micro": "d70d3ddcda2264806a467d3fb3840e8ce04c5b0129776110a62018ea68e6d7f2",
    "macro": "c34526c4f37f06205e61efeeb80bce5340dbce555ad558a10d6a897258d0de7b",
}
#: Path of each zip in the NASLib repository (branch ``zerocost``, commit :data:`NASLIB_COMMIT`).
UPSTREAM_PATH = {
    "micro": "naslib/data/zc_benchmarks/all_benchmarks_zen.zip",
    "macro": "run/results/benchmarks/tnb101_macro_zen.zip",
}
NASLIB_COMMIT = "8c45f19dc259956c3bd253071135c798ad3df8ce"
FORMAT_NAME = "nasbench_bench.tnb101"
FORMAT_VERSION = 1
N_CELLS = {"micro": 4096, "macro": 3256}


class TaskInfo:
    """What a task's recorded value is: ``metric`` (display name), ``field`` (TransNAS-Bench-101 metric key
    NASLib reads as ``val_accuracy``), ``percent`` (recorded in percent: the table holds value / 100) and a
    description."""

    __slots__ = ("description", "field", "metric", "percent")

    def __init__(self, metric: str, field: str, percent: bool, description: str) -> None:
        self.metric, self.field, self.percent, self.description = metric, field, percent, description


#: The 7 Taskonomy tasks, in TransNAS-Bench-101's order.
TASKS: dict[str, TaskInfo] = {
    "class_object": TaskInfo("top-1 accuracy", "valid_top1", True, "object classification (100 classes)"),
    "class_scene": TaskInfo("top-1 accuracy", "valid_top1", True, "scene classification (63 classes)"),
    "jigsaw": TaskInfo("top-1 accuracy", "valid_top1", True, "jigsaw puzzle (1,000 permutations)"),
    "segmentsemantic": TaskInfo("pixel accuracy", "valid_acc", True, "semantic segmentation"),
    "room_layout": TaskInfo("negative L2 loss", "valid_neg_loss", False, "room layout regression"),
    "normal": TaskInfo("SSIM", "valid_ssim", False, "surface normal estimation"),
    "autoencoder": TaskInfo("SSIM", "valid_ssim", False, "autoencoding"),
}

_SHARD = re.compile(r"zen/benchmark--transbench101_(micro|macro)--([a-z_]+)--(\d+)\.json")
_ARCH = re.compile(r"\((\d(?:, \d)*)\)")


def _source(space: str) -> dict[str, str]:
    return {
        "repository": "https://github.com/automl/NASLib (branch zerocost)",
        "commit": NASLIB_COMMIT,
        "path": UPSTREAM_PATH[space],
        "file": f"nasbench_bench/tnb101/{DATA_DIR}/{FILES[space]}",
        "sha256": SHA256[space],
        "licence": "values: MIT (TransNAS-Bench-101, yawen-d/TransNASBench, Duan et al. CVPR 2021); packaging and "
                   "Zen-NAS scores: Apache-2.0 (NASLib); both licence files ship beside the data",
    }


def _encoding(space: str) -> EncodingTNB101Micro | EncodingTNB101Macro:
    return EncodingTNB101Micro() if space == "micro" else EncodingTNB101Macro()


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ValueError(f"unknown TransNAS-Bench-101 space {space!r}; valid: {list(SPACES)}")


# -- the shipped file -------------------------------------------------------------------------------------
def _read_package_file(space: str) -> bytes:
    """The shipped zip of ``space``, from the installed package's own directory (never a user path)."""
    ref = resources.files("nasbench_bench.tnb101").joinpath(DATA_DIR, FILES[space])
    try:
        return ref.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"the TransNAS-Bench-101 data {DATA_DIR}/{FILES[space]} is missing from the installed nasbench_bench "
            f"package ({exc}); reinstall nasbench-bench"
        ) from None


def _cell_id(space: str, arch: str, where: str) -> str:
    m = _ARCH.fullmatch(arch)
    if m is None:
        raise store.DataFormatError(f"{where}: arch {arch!r} is not a tuple of digits")
    digits = m.group(1).replace(", ", "")
    return digits if space == "micro" else digits.ljust(6, "0")


def _convert(space: str, raw: bytes) -> dict[str, np.ndarray]:
    """Zip of JSON shards -> arrays: ``cell_ids`` (the encoding's, sorted) and per task ``<task>`` (table value:
    fraction / SSIM / negative loss), ``<task>_zen_score``, ``<task>_zen_time``, ``<task>_naslib_idx``."""
    ids = _encoding(space).cell_ids()
    row_of = {c.decode(): i for i, c in enumerate(ids)}
    n = len(ids)
    if n != N_CELLS[space]:
        raise AssertionError(f"the {space} encoding has {n} cells, expected {N_CELLS[space]}")
    fields = ("value", "zen_score", "zen_time", "naslib_idx")
    out: dict[str, dict[str, np.ndarray]] = {
        t: {f: np.full(n, -1 if f == "naslib_idx" else np.nan) for f in fields} for t in TASKS}
    seen = {t: np.zeros(n, dtype=bool) for t in TASKS}
    name = FILES[space]
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for member in zf.namelist():
            if member.endswith("/"):
                continue
            m = _SHARD.fullmatch(member)
            if m is None or m.group(1) != space or m.group(2) not in TASKS:
                raise store.DataFormatError(f"{name}: unexpected member {member!r}")
            task = m.group(2)
            records = json.loads(zf.read(member))
            if not isinstance(records, list):
                raise store.DataFormatError(f"{name}/{member}: not a JSON list")
            arr = out[task]
            for rec in records:
                where = f"{name}/{member}"
                try:
                    row = row_of[_cell_id(space, rec["arch"], where)]
                    vals = (float(rec["val_accuracy"]), float(rec["zen"]["score"]), float(rec["zen"]["time"]),
                            int(rec["idx"]))
                except KeyError as exc:
                    raise store.DataFormatError(f"{where}: record {str(rec)[:80]} lacks {exc} or is not a "
                                                f"{space} cell of TransNAS-Bench-101") from None
                except (TypeError, ValueError) as exc:
                    raise store.DataFormatError(f"{where}: malformed record {str(rec)[:80]}: {exc}") from None
                if seen[task][row]:
                    raise store.DataFormatError(f"{where}: cell {rec['arch']} appears twice for task {task}")
                seen[task][row] = True
                for f, v in zip(fields, vals):
                    arr[f][row] = v
    arrays: dict[str, np.ndarray] = {"cell_ids": ids}
    for task, info in TASKS.items():
        missing = int((~seen[task]).sum())
        if missing:
            raise store.DataFormatError(f"{name}: task {task} lacks {missing:,} of the {n:,} {space} cells")
        a = out[task]
        if not all(np.isfinite(a[f]).all() for f in fields):
            raise store.DataFormatError(f"{name}: task {task} has non-finite values")
        arrays[task] = a["value"] / 100.0 if info.percent else a["value"]
        arrays[f"{task}_zen_score"] = a["zen_score"]
        arrays[f"{task}_zen_time"] = a["zen_time"]
        arrays[f"{task}_naslib_idx"] = a["naslib_idx"].astype(np.int32)
    return arrays


def _build(space: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    raw = _read_package_file(space)
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SHA256[space]:
        raise store.DataFormatError(f"{DATA_DIR}/{FILES[space]} has sha256 {sha}, expected {SHA256[space]}: the "
                                    "shipped data was altered; reinstall nasbench-bench")
    arrays = _convert(space, raw)
    manifest = {
        "space": space,
        "n_cells": N_CELLS[space],
        "tasks": {t: {"metric": i.metric, "field": i.field, "percent": i.percent} for t, i in TASKS.items()},
        "units": {"<task>": "recorded validation metric (percent / 100 -> fraction; SSIM and negative loss as "
                            "recorded)", "<task>_zen_score": "Zen-NAS score", "<task>_zen_time": "seconds",
                  "<task>_naslib_idx": "NASLib's record index"},
        "source": _source(space),
        "synthetic": False,
    }
    return arrays, manifest


def load_space(space: str, cache: str | os.PathLike[str] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of one space from the table store, converted from the shipped zip on first use.

    Rebuilt if the cache's source checksum differs from :data:`SHA256` or the cache is damaged.
    """
    _check_space(space)
    dest = cache_dir(cache) / f"tnb101-{space}-v{FORMAT_VERSION}"
    return store.cached(dest, lambda: _build(space), fmt=FORMAT_NAME, version=FORMAT_VERSION,
                        current=lambda m: m.get("source", {}).get("sha256") == SHA256[space],
                        what=f"the TransNAS-Bench-101 {space} cache")


# -- tables ----------------------------------------------------------------------------------------------
def load_tnb101(space: str, task: str, cache: str | os.PathLike[str] | None = None) -> Table:
    """The table ``tnb101-<space>-<task>``: one value per cell, unit cost, regret on the same validation value."""
    _check_space(space)
    if task not in TASKS:
        raise ValueError(f"unknown TransNAS-Bench-101 task {task!r}; valid: {list(TASKS)}")
    arrays, _ = load_space(space, cache)
    info = TASKS[task]
    n = len(arrays["cell_ids"])
    value = np.asarray(arrays[task], dtype=np.float64)
    what = "cell" if space == "micro" else "network"
    unit = ", percent -> fraction" if info.percent else ""
    sees = f"the final validation {info.metric} ({info.field}{unit}; one value per {what})"
    notes = (f"TransNAS-Bench-101 {space} space, task {task} ({info.description}; Taskonomy images). One value per "
             f"cell and no test split: the search and the regret see the same number (validation {info.metric}). "
             "No training times recorded: unit cost (train_time 1.0 per evaluation; budgets count evaluations). The "
             "budget axis has one entry, 1 = the end of the benchmark's own training schedule (these files record "
             "no epoch count).")
    return Table(
        name=f"tnb101-{space}-{task}",
        budgets=np.array([1], dtype=np.int64),
        cell_ids=arrays["cell_ids"],
        n_trials=np.ones((n, 1), dtype=np.int8),
        train_time=np.ones((n, 1, 1)),
        train_acc=np.full((n, 1, 1), np.nan),
        valid_acc=value[:, None, None].copy(),
        test_acc=None,
        score_metric="validation",
        synthetic=False,
        metric=info.metric,
        maximize=True,
        cost_model="unit",
        columns={"zen_score": np.asarray(arrays[f"{task}_zen_score"], dtype=np.float64),
                 "zen_time": np.asarray(arrays[f"{task}_zen_time"], dtype=np.float64)},
        meta={
            "domain": "taskonomy",
            "task": task,
            "space": space,
            "search_sees": sees,
            "regret_on": f"the same validation {info.metric} (no test split)",
            "source": _source(space),
            "notes": notes,
            "columns": {
                "zen_score": "Zen-NAS zero-cost proxy score of the cell's network on this task (dimensionless); "
                             "computed by the NASLib authors",
                "zen_time": "seconds to compute zen_score, measured by the NASLib authors on their hardware (not "
                            "on this machine, not a training time)",
            },
            "budget_unit": "one evaluation (the final value of the benchmark's training schedule)",
            "synthetic": False,
        },
    )
