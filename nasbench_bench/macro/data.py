"""NAS-Bench-Macro on CIFAR-10 (Su et al., CVPR 2021) as a :class:`~nasbench_bench.table.Table`.

The package ships ``nas-bench-macro/nas-bench-macro_cifar10.json`` (the authors' file, unchanged, Apache-2.0: see
``PROVENANCE.md`` and ``LICENSE`` beside it). :func:`load_macro_arrays` checks its sha256 against :data:`SHA256`,
reads it with the stdlib ``json`` (from the package directory only) and converts it once into the table store
(``cache_dir()/macro-v1/``); later calls read only that cache.

What the data is (from the file and the authors' ``train/`` scripts):

* 6,561 keys, one per configuration (8 layers x {Identity, MB3_K3, MB6_K5}); 3,969 distinct networks (the
  authors trained one network per canonical string and copied its entry to the others: see
  :mod:`.encoding`). The conversion checks that every key's entry equals its canonical key's.
* ``test_acc``: 3 values per network, percent, three independent trainings; each is the **best CIFAR-10 test
  accuracy over the training epochs** (the authors' ``train.py`` keeps the maximum over epochs of the accuracy
  on the 10,000 test images). There is no validation split, no training time, no other fidelity.
* ``params``: parameter count; ``flops``: multiply-accumulates of the conv and linear layers for one 3x32x32 image
  (the authors' ``count_FLOPs``), a count.

The table (:func:`load_macro`): one budget, :data:`EPOCHS` (the default ``--epochs`` of the authors'
``train/train.py``), 3 trials. The search sees ONE drawn training's test accuracy per evaluation
(``valid_acc`` holds the 3 per-training test accuracies); regret is on their mean (``test_acc`` holds the same 3
values, ``score_metric="test"``). Unit cost: nothing was timed, so every evaluation costs 1 and the budget
counts evaluations.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from importlib import resources
from typing import Any

import numpy as np

from nasbench_bench import store
from nasbench_bench.macro.encoding import N_CONFIGS, canonical, canonical_keys
from nasbench_bench.paths import cache_dir
from nasbench_bench.table import Table

__all__ = ["EPOCHS", "FILE", "N_CELLS", "SHA256", "load_macro", "load_macro_arrays"]

log = logging.getLogger(__name__)

FILE = "nas-bench-macro_cifar10.json"
DATA_DIR = "nas-bench-macro"
SHA256 = "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297"
N_CELLS = 3969
N_TRIALS = 3
#: The training schedule's length: the default ``--epochs`` of the authors' ``train/train.py`` (the README and the
#: json do not state it).
EPOCHS = 50
FORMAT_NAME = "nasbench_bench.macro"
FORMAT_VERSION = 1
CACHE_SUBDIR = f"macro-v{FORMAT_VERSION}"
SOURCE = {
    "repository": "https://github.com/xiusu/NAS-Bench-Macro",
    "commit": "61a2bfc2ca0dce04d0997e6cf498047c27d6acf2",
    "file": f"data/{FILE} (shipped unchanged as nasbench_bench/macro/{DATA_DIR}/{FILE})",
    "sha256": SHA256,
    "licence": "Apache-2.0, copyright 2021 Xiu Su (LICENSE shipped beside the data)",
    "paper": "Su et al., Prioritized Architecture Sampling with Monto-Carlo Tree Search, CVPR 2021",
}
COLUMNS = {
    "params": "parameter count (the authors' count of all model parameters)",
    "flops": "multiply-accumulates of the conv and linear layers for one 3x32x32 image, a count (the authors' "
             "count_FLOPs in train/utils.py)",
}
SEARCH_SEES = "one drawn training's TEST accuracy (of 3; no validation split)"
REGRET_ON = (f"mean test accuracy of the 3 trainings at budget {EPOCHS} (the same test values the search draws "
             "from: no separate validation split)")
NOTES = (
    "NAS-Bench-Macro (xiusu/NAS-Bench-Macro, Apache-2.0), CIFAR-10, 3,969 distinct networks (the 6,561 configurations "
    "of 8 layers x 3 blocks; configurations that differ only in where a stage's Identities sit are the same network "
    "and share one entry in the data). Each network trained 3 times independently; each value is the best test "
    f"accuracy over the {EPOCHS} training epochs (the authors' train.py). There is NO validation split: valid_acc "
    "holds the same 3 per-training TEST accuracies as test_acc, each evaluation draws one of them and regret is on "
    "their mean, so the search sees the test metric it is scored on. No training times were recorded: unit cost "
    "(train_time 1.0; the budget counts evaluations). No train accuracy."
)


# -- the shipped file -------------------------------------------------------------------------------------
def _read_package_file() -> bytes:
    """The shipped json, from the installed package's own directory (never a user path)."""
    ref = resources.files("nasbench_bench.macro").joinpath(DATA_DIR, FILE)
    try:
        return ref.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"the NAS-Bench-Macro data {DATA_DIR}/{FILE} is missing from the installed nasbench_bench package "
            f"({exc}); reinstall nasbench-bench"
        ) from None


def _entry(data: dict[str, Any], key: str) -> tuple[list[float], int, int]:
    e = data[key]
    try:
        acc = [float(x) for x in e["test_acc"]]
        params, flops, mean = int(e["params"]), int(e["flops"]), float(e["mean_acc"])
    except (KeyError, TypeError, ValueError) as exc:
        raise store.DataFormatError(f"{FILE}: entry {key!r} is malformed ({exc})") from None
    if len(acc) != N_TRIALS or not all(0.0 <= a <= 100.0 for a in acc):
        raise store.DataFormatError(f"{FILE}: entry {key!r} has test_acc {acc}, expected {N_TRIALS} percentages")
    if not math.isclose(sum(acc) / N_TRIALS, mean, rel_tol=0, abs_tol=1e-6):
        raise store.DataFormatError(f"{FILE}: entry {key!r}: mean_acc {mean} is not the mean of {acc}")
    return acc, params, flops


def _convert(raw: bytes) -> dict[str, np.ndarray]:
    """json -> arrays over the canonical keys (sorted): ``cell_ids``, ``test_acc`` (N, 3) fractions, ``params``,
    ``flops``. Checks all 6,561 keys are present and every key's entry equals its canonical key's."""
    data = json.loads(raw)
    if not isinstance(data, dict) or len(data) != N_CONFIGS:
        raise store.DataFormatError(f"{FILE}: expected a dict of {N_CONFIGS:,} configurations")
    keys = canonical_keys()
    if len(keys) != N_CELLS:
        raise store.DataFormatError(f"expected {N_CELLS:,} canonical networks, the encoding gives {len(keys):,}")
    for key in data:
        try:
            canon = canonical(key)
        except ValueError as exc:
            raise store.DataFormatError(f"{FILE}: {exc}") from None
        if data[key] != data.get(canon):
            raise store.DataFormatError(f"{FILE}: entry {key!r} differs from its canonical network {canon!r}")
    acc = np.empty((N_CELLS, N_TRIALS))
    params = np.empty(N_CELLS, dtype=np.int64)
    flops = np.empty(N_CELLS, dtype=np.int64)
    for r, key in enumerate(keys.astype(str)):
        a, params[r], flops[r] = _entry(data, key)
        acc[r] = a
    return {"cell_ids": keys, "test_acc": acc / 100.0, "params": params, "flops": flops}


def _build() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    raw = _read_package_file()
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SHA256:
        raise store.DataFormatError(f"{DATA_DIR}/{FILE} has sha256 {sha}, expected {SHA256}: the shipped data was "
                                    "altered; reinstall nasbench-bench")
    arrays = _convert(raw)
    manifest = {
        "n_cells": N_CELLS,
        "n_configurations": N_CONFIGS,
        "trials": N_TRIALS,
        "budgets": [EPOCHS],
        "budget_unit": "epochs",
        "units": {"test_acc": "fraction (file: percent)", "params": "count", "flops": "multiply-accumulates"},
        "source": SOURCE,
        "synthetic": False,
    }
    return arrays, manifest


def load_macro_arrays(cache: str | os.PathLike[str] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of NAS-Bench-Macro from the table store, converted from the shipped json on first use."""
    dest = cache_dir(cache) / CACHE_SUBDIR
    return store.cached(dest, _build, fmt=FORMAT_NAME, version=FORMAT_VERSION,
                        current=lambda m: m.get("source", {}).get("sha256") == SHA256,
                        what="the NAS-Bench-Macro cache")


def load_macro(cache: str | os.PathLike[str] | None = None) -> Table:
    """``macro-cifar10``: 3,969 networks x 1 budget (:data:`EPOCHS`) x 3 trainings, test accuracy, unit cost.

    ``valid_acc`` and ``test_acc`` both hold the 3 per-training test accuracies (fractions): each evaluation
    draws one, regret is on their mean. ``train_time`` is 1.0 (unit cost), ``train_acc`` NaN (not in the data);
    ``columns`` are ``params`` and ``flops``.
    """
    arrays, manifest = load_macro_arrays(cache)
    n = len(arrays["cell_ids"])
    acc = np.asarray(arrays["test_acc"])[:, None, :]
    meta = {
        "domain": "image",
        "task": "CIFAR-10 image classification",
        "dataset": "cifar10",
        "search_sees": SEARCH_SEES,
        "regret_on": REGRET_ON,
        "source": SOURCE,
        "columns": COLUMNS,
        "notes": NOTES,
        "n_configurations": N_CONFIGS,
        "budget_unit": "epochs",
        "path": str(cache_dir(cache) / CACHE_SUBDIR),
        "synthetic": False,
        "created_utc": manifest.get("created_utc"),
    }
    return Table(
        name="macro-cifar10",
        budgets=np.array([EPOCHS], dtype=np.int64),
        cell_ids=arrays["cell_ids"],
        n_trials=np.full((n, 1), N_TRIALS, dtype=np.int8),
        train_time=np.ones((n, 1, N_TRIALS)),
        train_acc=np.full((n, 1, N_TRIALS), np.nan),
        valid_acc=acc,
        test_acc=acc.copy(),
        score_metric="test",
        synthetic=False,
        meta=meta,
        metric="accuracy",
        maximize=True,
        cost_model="unit",
        columns={"params": arrays["params"], "flops": arrays["flops"]},
    )
