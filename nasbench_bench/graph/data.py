"""NAS-Bench-Graph as real :class:`~nasbench_bench.table.Table` objects, from the PyPI package ``nas-bench-graph``.

The package (``nas-bench-graph==1.4.0``, import name ``nas_bench_graph``, Apache-2.0; see ``PROVENANCE.md`` beside
this file) ships ``nas_bench_graph/light/<dataset>.bench``: pickles of ``{hash: {"valid_perf", "perf", "latency",
"para"}}`` whose values are Python floats and numpy float64 scalars. They are read **only**

* from the installed package's own directory, located with :mod:`importlib` (never from a user path),
* after their sha256 matched :data:`SHA256` (pinned to release 1.4.0),
* with :class:`NumpyScalarUnpickler`, which resolves numpy's scalar and dtype reconstructors for numeric dtypes
  and refuses every other global,

and converted once into the table store (``cache_dir()/graph-v1/<dataset>/``); later loads read only that cache
(``np.load(allow_pickle=False)``), also when the package is no longer installed.

What the files hold (checked, see ``PROVENANCE.md``): one record per architecture (26,206; proteins 2,021), one
value each (no per-seed values, no epochs, **no training time**): ``valid_perf`` / ``perf`` = validation / test
performance (accuracy as a fraction; ROC-AUC on proteins), ``latency`` (no unit stated; read as seconds) and
``para`` (millions of parameters). So the tables have one budget, one trial per cell, and a **unit** cost model:
every evaluation costs 1, the budget counts evaluations.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench import store
from nasbench_bench.graph.space import KEY_DTYPE, OPS, OPS_PROTEINS, build_space
from nasbench_bench.paths import cache_dir, installed_package_dir, installed_version
from nasbench_bench.table import Table

__all__ = [
    "DATASETS",
    "METRIC",
    "N_ARCHS",
    "SHA256",
    "NumpyScalarUnpickler",
    "bench_path",
    "load_graph",
    "load_space",
    "read_bench",
]

log = logging.getLogger(__name__)

PACKAGE = "nas_bench_graph"
DISTRIBUTION = "nas-bench-graph"
PACKAGE_VERSION = "1.4.0"
FORMAT_NAME = "nasbench_bench.graph"
SPACE_FORMAT_NAME = "nasbench_bench.graph_space"
FORMAT_VERSION = 1
CACHE_SUBDIR = f"graph-v{FORMAT_VERSION}"
SPACE_SUBDIR = f"graph-space-v{FORMAT_VERSION}"
BUDGET = 1  # one recorded result per architecture: the benchmark's full training (no fidelities)

#: The package's ``light/<dataset>.bench`` files of release 1.4.0.
SHA256: dict[str, str] = {
    "cora": "5e69b2f9bb08d8927d9ffd4921f8494a3cea349c9c3a461334cb9dc9e11701a8",
    "citeseer": "99c7f79b73372636305bf73fb32a58b63c57bd1871a152dd62ec72d984c8c50f",
    "pubmed": "10b4dcf6cfd3a24f6059f7d541a4a872960b4adac0b3dba26abed1bb9a3d904d",
    "cs": "71ae8469930517160b024f52db6000a4897f1aff5d765beb27bb60952ed5bd31",
    "physics": "1e309bafee0b832c8b84fa3c039c36992bc0a910238b128f26b7e9190d7f2aea",
    "photo": "5511b4dc3f63fa988792177227db7901290fb9b27fc6c02e3036b29e134ed6df",
    "computers": "fdb3dc0cf405d62322f0ab9614b2083c2a5e6576c2f43e4f2214be64bc62b1b3",
    "arxiv": "7ee21a7653297a806c0ed1be3efe6ecc06acc84e48e942da0bfde0e5d287debe",
    "proteins": "b9e7fb0902bda44fec32c948e5fde822fb22d38d674c52e43ace5197378f2d21",
}
DATASETS: tuple[str, ...] = tuple(SHA256)
N_ARCHS: dict[str, int] = {d: 2_021 if d == "proteins" else 26_206 for d in DATASETS}
#: What ``valid_perf`` / ``perf`` measure (the package does not name it; see PROVENANCE.md).
METRIC: dict[str, str] = {d: "ROC-AUC" if d == "proteins" else "accuracy" for d in DATASETS}
#: The datasets (PyG / OGB names) and their node-classification task.
TASK: dict[str, str] = {
    "cora": "Cora (Planetoid citation graph) node classification",
    "citeseer": "CiteSeer (Planetoid citation graph) node classification",
    "pubmed": "PubMed (Planetoid citation graph) node classification",
    "cs": "Coauthor-CS node classification",
    "physics": "Coauthor-Physics node classification",
    "photo": "Amazon-Photo node classification",
    "computers": "Amazon-Computers node classification",
    "arxiv": "ogbn-arxiv node classification",
    "proteins": "ogbn-proteins multi-label node property prediction",
}
#: Space name -> (its op list, the bench file whose record keys define its architectures).
SPACES: dict[str, tuple[tuple[str, ...], str]] = {"graph": (OPS, "cora"), "graph-proteins": (OPS_PROTEINS, "proteins")}
_FIELDS = ("valid_perf", "perf", "latency", "para")
COLUMNS_META = {
    "latency": "the package's 'latency', measured by the NAS-Bench-Graph authors on their hardware; unit not stated "
               "in the package (values 0.0003..0.58, read as seconds)",
    "params": "millions of parameters (the package's 'para')",
}


def space_of(dataset: str) -> str:
    """The search space (encoding family) of ``dataset``: ``graph-proteins`` for proteins, else ``graph``."""
    return "graph-proteins" if dataset == "proteins" else "graph"


# -- reading the package's files ------------------------------------------------------------------------------------
try:  # numpy >= 2
    from numpy._core.multiarray import scalar as _np_scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import scalar as _np_scalar  # type: ignore[no-redef]


def _numeric(dt: np.dtype) -> np.dtype:
    if not isinstance(dt, np.dtype) or dt.kind not in "biuf" or dt.fields is not None:
        raise pickle.UnpicklingError(f"refusing numpy dtype {dt!r} in a data pickle (numeric scalars only)")
    return dt


def _scalar(dtype: Any, *args: Any) -> Any:
    return _np_scalar(_numeric(dtype), *args)


def _dtype(*args: Any) -> np.dtype:
    return _numeric(np.dtype(*args))


class NumpyScalarUnpickler(pickle.Unpickler):
    """Unpickler for data pickles holding numpy scalars: resolves only numpy's scalar reconstructor
    (``numpy.core.multiarray.scalar`` / ``numpy._core.multiarray.scalar``) and ``numpy.dtype``, both restricted to
    numeric (bool, int, float) dtypes, and refuses every other global."""

    _ALLOWED = {
        ("numpy.core.multiarray", "scalar"): _scalar,
        ("numpy._core.multiarray", "scalar"): _scalar,
        ("numpy", "dtype"): _dtype,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing global {module}.{name} in a data pickle") from None


def _package_dir() -> Path | None:
    return installed_package_dir(PACKAGE)


def _package_version() -> str:
    return installed_version(DISTRIBUTION, "not installed")


def _check_dataset(dataset: str) -> None:
    if dataset not in SHA256:
        raise ValueError(f"unknown NAS-Bench-Graph dataset {dataset!r}; valid: {list(DATASETS)}")


def bench_path(dataset: str) -> Path:
    """The installed package's ``light/<dataset>.bench``; ``FileNotFoundError`` saying how to get it."""
    _check_dataset(dataset)
    pkg = _package_dir()
    path = None if pkg is None else pkg / "light" / f"{dataset}.bench"
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"NAS-Bench-Graph data for {dataset!r} needs the {DISTRIBUTION!r} package "
            f"(pip install {DISTRIBUTION}=={PACKAGE_VERSION})"
        )
    return path


def read_bench(dataset: str) -> dict[int, dict[str, float]]:
    """The package's ``light/<dataset>.bench`` as ``{hash: {field: float}}``: sha256 checked against :data:`SHA256`,
    read with :class:`NumpyScalarUnpickler`, its structure checked (int keys, the four fields, finite floats)."""
    path = bench_path(dataset)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SHA256[dataset]:
        raise store.DataFormatError(
            f"{path} has sha256 {sha}, expected {SHA256[dataset]} ({DISTRIBUTION} {PACKAGE_VERSION}); installed "
            f"{DISTRIBUTION}: {_package_version()} (pip install {DISTRIBUTION}=={PACKAGE_VERSION})"
        )
    data = NumpyScalarUnpickler(io.BytesIO(raw)).load()
    if not isinstance(data, dict):
        raise store.DataFormatError(f"{path}: expected a dict of architectures, got {type(data).__name__}")
    out: dict[int, dict[str, float]] = {}
    for key, rec in data.items():
        if type(key) is not int or not isinstance(rec, dict) or set(rec) != set(_FIELDS):
            raise store.DataFormatError(f"{path}: record {key!r} is not {{int: {{{', '.join(_FIELDS)}}}}}")
        vals = {}
        for f in _FIELDS:
            v = rec[f]
            if not isinstance(v, float | np.floating) or not np.isfinite(v):
                raise store.DataFormatError(f"{path}: record {key}: {f} = {v!r} is not a finite float")
            vals[f] = float(v)
        out[key] = vals
    return out


# -- the search spaces ------------------------------------------------------------------------------------------
def _build_space(space: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    ops, ref = SPACES[space]
    keys, lookup = build_space(ops, read_bench(ref).keys())
    manifest = {
        "space": space,
        "ops": list(ops),
        "n_cells": int(len(keys)),
        "n_configurations": int(len(lookup)),
        "n_invalid_configurations": int((lookup < 0).sum()),
        "source": {"package": DISTRIBUTION, "version": PACKAGE_VERSION, "file": f"light/{ref}.bench",
                   "sha256": SHA256[ref]},
        "synthetic": False,
    }
    return {"keys": keys, "lookup": lookup}, manifest


def load_space(space: str, cache: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted cell keys ``S5``, cell index of every configuration or -1) of ``space`` (``graph`` or
    ``graph-proteins``), from the table store; built once from the record keys of the space's bench file."""
    if space not in SPACES:
        raise ValueError(f"unknown NAS-Bench-Graph space {space!r}; valid: {list(SPACES)}")
    ref = SPACES[space][1]
    arrays, _ = store.cached(
        cache_dir(cache) / SPACE_SUBDIR / space, lambda: _build_space(space), fmt=SPACE_FORMAT_NAME,
        version=FORMAT_VERSION, current=lambda m: m.get("source", {}).get("sha256") == SHA256[ref],
        what=f"the NAS-Bench-Graph {space} space",
    )
    return arrays["keys"], arrays["lookup"]


# -- tables ---------------------------------------------------------------------------------------------------
def _build(dataset: str, cache: str | os.PathLike[str] | None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    data = read_bench(dataset)
    hashes = sorted(data)
    keys = np.array([f"{h:05d}" for h in hashes], dtype=KEY_DTYPE)
    space = space_of(dataset)
    space_keys, _ = load_space(space, cache)
    if len(keys) != N_ARCHS[dataset] or not np.array_equal(keys, space_keys):
        raise store.DataFormatError(
            f"light/{dataset}.bench holds {len(keys):,} architectures, not the {len(space_keys):,} of the "
            f"{space} space"
        )
    vals = np.array([[data[h][f] for f in _FIELDS] for h in hashes], dtype=np.float64)
    if not ((vals[:, :2] >= 0) & (vals[:, :2] <= 1)).all() or not (vals[:, 2:] > 0).all():
        raise store.DataFormatError(f"light/{dataset}.bench: performance outside [0, 1] or non-positive cost")
    arrays = {"cell_ids": keys, "valid": vals[:, 0], "test": vals[:, 1], "latency": vals[:, 2],
              "params": vals[:, 3]}
    manifest = {
        "dataset": dataset,
        "space": space,
        "n_cells": int(len(keys)),
        "metric": METRIC[dataset],
        "units": {"valid": f"{METRIC[dataset]}, fraction", "test": f"{METRIC[dataset]}, fraction",
                  **COLUMNS_META},
        "source": {"package": DISTRIBUTION, "version": PACKAGE_VERSION, "file": f"light/{dataset}.bench",
                   "sha256": SHA256[dataset], "licence": "Apache-2.0"},
        "synthetic": False,
    }
    return arrays, manifest


def _cache(dataset: str, cache: str | os.PathLike[str] | None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    _check_dataset(dataset)
    return store.cached(
        cache_dir(cache) / CACHE_SUBDIR / dataset, lambda: _build(dataset, cache), fmt=FORMAT_NAME,
        version=FORMAT_VERSION, current=lambda m: m.get("source", {}).get("sha256") == SHA256[dataset],
        what=f"the NAS-Bench-Graph {dataset} cache",
    )


def load_graph(dataset: str = "cora", cache: str | os.PathLike[str] | None = None) -> Table:
    """NAS-Bench-Graph on ``dataset`` (one of :data:`DATASETS`) as a table, converted on first use.

    One budget, one trial per cell (the package records one value per architecture). The search sees
    ``valid_acc`` = the recorded validation performance; regret is on ``test_acc`` = the recorded test performance
    (``score_metric="test"``); both are accuracy fractions (ROC-AUC on proteins), higher is better. No training time
    is recorded: ``train_time`` is 1.0 for every cell (``cost_model="unit"``: the budget counts evaluations).
    ``columns``: ``latency`` (no unit stated; read as seconds) and ``params`` (millions), as recorded.
    ``train_acc`` is NaN (not in the package's light files).
    """
    arrays, manifest = _cache(dataset, cache)
    n = len(arrays["cell_ids"])
    metric = METRIC[dataset]
    notes = (
        f"NAS-Bench-Graph {dataset} ({DISTRIBUTION} {PACKAGE_VERSION}, light/{dataset}.bench): one recorded value "
        f"per architecture (the light files do not say whether it is one seed or an aggregate of the full "
        f"release's three), so every evaluation of a cell returns the same number. The search sees the validation "
        f"{metric}; regret is on the test {metric}. No training time is recorded: unit cost, the budget counts "
        f"evaluations. Duplicate encodings (isomorphic architectures) map to one cell; the 9 all-skip "
        f"configurations are invalid."
    )
    return Table(
        name=f"graph-{dataset}",
        budgets=np.array([BUDGET], dtype=np.int64),
        cell_ids=arrays["cell_ids"],
        n_trials=np.ones((n, 1), dtype=np.int8),
        train_time=np.ones((n, 1, 1)),
        train_acc=np.full((n, 1, 1), np.nan),
        valid_acc=np.asarray(arrays["valid"])[:, None, None].copy(),
        test_acc=np.asarray(arrays["test"])[:, None, None].copy(),
        score_metric="test",
        synthetic=False,
        metric=metric,
        maximize=True,
        cost_model="unit",
        columns={"latency": arrays["latency"], "params": arrays["params"]},
        meta={
            "dataset": dataset,
            "domain": "graph",
            "task": TASK[dataset],
            "search_sees": f"the recorded validation {metric} of the architecture (one value per architecture)",
            "regret_on": f"the recorded test {metric} of the incumbent (chosen by validation {metric})",
            "source": manifest["source"],
            "columns": COLUMNS_META,
            "budget_unit": "one recorded training run per architecture (no fidelities)",
            "notes": notes,
            "synthetic": False,
        },
    )
