"""Synthetic NAS-Bench-101-shaped data, clearly marked as such, for tests and optimizer benchmarks.

Metrics are a deterministic, vectorised function of each cell's structure and of ``(module hash, seed)``
only, so a cell gets the same values in any subset and in any order. Accuracy rises with conv3x3/conv1x1
count and depth (up to a point), cells without convolutions are poor, a few cells fail; trial noise shrinks
with epochs; validation and test accuracy are close but not identical; training time grows with the cell's
cost (108 epochs: mean ~1,900 s, median ~1,550 s, range ~280-5,400 s; proportionally less at fewer epochs).

None of this is real NAS-Bench-101 data: tables built here have ``synthetic=True`` and files written here
carry ``checkpoint_path = "synthetic://nasbench_bench/..."`` in every record so their conversions are marked too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_bench.nb101.cache import (
    FULL_BUDGETS,
    LABEL_INPUT,
    LABEL_OUTPUT,
    LABEL_PAD,
    SYNTHETIC_PREFIX,
    NB101Table,
    table_name,
)
from nasbench_bench.nb101.records import ModelMetrics, encode_metrics
from nasbench_bench.nb101.spec import MAX_VERTICES, OPS, ModelSpec
from nasbench_bench.nb101.tfrecord import TFRecordWriter, frame

__all__ = ["Cells", "cells_from_specs", "select_cells", "synthetic_metrics", "synthetic_table",
           "write_synthetic_tfrecord"]

log = logging.getLogger(__name__)

VARIANTS = {"full": FULL_BUDGETS, "only108": (108,)}
N_TRIALS = 3


@dataclass(frozen=True)
class Cells:
    """A set of cells as arrays (the layout of :class:`~nasbench_bench.nb101.space.SearchSpace`)."""

    hashes: np.ndarray  # (N,) 'S32'
    matrices: np.ndarray  # (N, 7, 7) uint8, pruned matrix in the top-left corner
    ops: np.ndarray  # (N, 7) int8 labels: -1 input, -2 output, 0..2 OPS, -3 padding
    num_vertices: np.ndarray  # (N,) uint8

    def __len__(self) -> int:
        return len(self.hashes)

    def take(self, idx: np.ndarray) -> Cells:
        return Cells(self.hashes[idx], self.matrices[idx], self.ops[idx], self.num_vertices[idx])

    def sorted(self) -> Cells:
        return self.take(np.argsort(self.hashes, kind="stable"))


def cells_from_specs(specs: Sequence[ModelSpec]) -> Cells:
    """Cells from valid specs (pruned, hashed, de-duplicated, sorted by hash)."""
    by_hash: dict[str, ModelSpec] = {}
    for s in specs:
        by_hash.setdefault(s.hash_spec(), s)
    keys = sorted(by_hash)
    n = len(keys)
    mats = np.zeros((n, MAX_VERTICES, MAX_VERTICES), np.uint8)
    ops = np.full((n, MAX_VERTICES), LABEL_PAD, np.int8)
    nv = np.zeros(n, np.uint8)
    for i, h in enumerate(keys):
        s = by_hash[h]
        assert s.matrix is not None
        k = s.matrix.shape[0]
        mats[i, :k, :k] = s.matrix
        ops[i, :k] = [LABEL_INPUT] + s.labeling()[1:-1] + [LABEL_OUTPUT]
        nv[i] = k
    return Cells(np.array(keys, dtype="S32"), mats, ops, nv)


def select_cells(cells: str | int | Cells | Sequence[ModelSpec] = "all", seed: int = 0) -> Cells:
    """``"all"`` cells of the space, a seeded random subset of ``N`` of them, or the given cells."""
    if isinstance(cells, Cells):
        return cells.sorted()
    if isinstance(cells, str) or isinstance(cells, (int, np.integer)):
        from nasbench_bench.nb101.space import get_space

        space = get_space()
        full = Cells(space.hashes, space.matrices, space.ops, space.num_vertices)
        if isinstance(cells, str):
            if cells != "all":
                raise ValueError(f"cells must be 'all', a number or cells, got {cells!r}")
            return full
        if not 0 < int(cells) <= len(full):
            raise ValueError(f"cells must be in 1..{len(full)}, got {cells}")
        pick = np.sort(np.random.default_rng(seed).choice(len(full), size=int(cells), replace=False))
        return full.take(pick)
    return cells_from_specs(list(cells))


# -- deterministic counter-based noise ---------------------------------------------------------------

_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (vectorised, wrapping uint64 arithmetic)."""
    z = x + _GOLD
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _hash_keys(hashes: np.ndarray, seed: int) -> np.ndarray:
    """(N,) uint64 key per cell from the first 16 hex digits of its hash, folded with the seed."""
    raw = np.frombuffer(np.ascontiguousarray(hashes, dtype="S32").tobytes(), np.uint8).reshape(-1, 32)[:, :16]
    nib = np.where(raw >= ord("a"), raw - ord("a") + 10, raw - ord("0")).astype(np.uint64)
    key = np.zeros(len(raw), np.uint64)
    for j in range(16):
        key = (key << np.uint64(4)) | nib[:, j]
    return _mix(key ^ _mix(np.array([seed & 0xFFFFFFFFFFFFFFFF], np.uint64)))


def _uniform(keys: np.ndarray, stream: int) -> np.ndarray:
    z = _mix(keys ^ _mix(np.array([stream], np.uint64) * _GOLD))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def _normal(keys: np.ndarray, stream: int) -> np.ndarray:
    u1, u2 = _uniform(keys, 2 * stream + 1), _uniform(keys, 2 * stream + 2)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _normal_pair(keys: np.ndarray, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals per key (both Box-Muller outputs of one 64-bit draw)."""
    z = _mix(keys ^ _mix(np.array([stream], np.uint64) * _GOLD))
    u1 = ((z >> np.uint64(32)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    u2 = ((z & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    r, a = np.sqrt(-2.0 * np.log(u1)), 2.0 * np.pi * u2
    return r * np.cos(a), r * np.sin(a)


# -- structure ---------------------------------------------------------------------------------------

# (input channels, output channels, spatial side, number of such cells) over the 3 stacks of 3 cells
_CELL_KINDS = ((128, 128, 32, 3), (128, 256, 16, 1), (256, 256, 16, 2), (256, 512, 8, 1), (512, 512, 8, 2))


def _structure(matrices: np.ndarray, ops: np.ndarray, num_vertices: np.ndarray) -> dict[str, np.ndarray]:
    n = len(num_vertices)
    ar = np.arange(n)
    m = matrices.astype(bool)
    nv = num_vertices.astype(np.int64)
    out = nv - 1
    interior = ops >= 0
    n3 = (ops == 0).sum(1)
    n1 = (ops == 1).sum(1)
    npool = (ops == 2).sum(1)
    # longest input->output path (edges)
    dist = np.full((n, MAX_VERTICES), -100, np.int64)
    dist[:, 0] = 0
    for v in range(1, MAX_VERTICES):
        cand = np.where(m[:, :v, v], dist[:, :v] + 1, -100)
        dist[:, v] = cand.max(1)
    depth = dist[ar, out]
    skip = m[ar, 0, out]
    # vertex channels like the official model builder (as fractions of the cell's output channels: the
    # interior vertices feeding the output split it, the others take their successors' maximum), then
    # trainable parameters and a FLOP proxy summed over the network's cells
    feeds = m[ar, :, out] & interior
    k = np.maximum(feeds.sum(1), 1).astype(np.float64)
    frac = np.where(feeds, 1.0 / k[:, None], 0.0)
    for v in range(MAX_VERTICES - 2, 0, -1):
        succ = np.where(m[:, v, :] & interior, frac, 0.0).max(1)
        frac[:, v] = np.where(interior[:, v] & ~feeds[:, v], succ, frac[:, v])
    conv = (ops == 0) | (ops == 1)
    s2 = (np.where(ops == 0, 9.0, np.where(ops == 1, 1.0, 0.0)) * frac * frac).sum(1)
    s1 = np.where(conv, 2.0 * frac, 0.0).sum(1)
    proj = np.where(m[:, 0, :] & interior, frac, 0.0).sum(1)
    params = np.full(n, 3 * 3 * 3 * 128 + 2 * 128 + 512 * 10 + 10, np.float64)
    flops = np.zeros(n, np.float64)
    for c_in, c_out, res, count in _CELL_KINDS:
        p = (c_out * c_out * s2 + c_out * s1 + (c_in * c_out + 2 * c_out) * proj
             + np.where(skip, c_in * c_out + 2 * c_out, 0))
        params += count * p
        flops += count * p * (res * res) / 1024.0
    params = np.rint(params).astype(np.int64)
    return {"n3": n3, "n1": n1, "npool": npool, "depth": depth, "skip": skip, "nv": nv,
            "params": params, "flops": flops, "edges": m.sum((1, 2))}


def synthetic_metrics(
    matrices: np.ndarray,
    ops: np.ndarray,
    num_vertices: np.ndarray,
    hashes: np.ndarray,
    budgets: Sequence[int] = FULL_BUDGETS,
    n_trials: int = N_TRIALS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Synthetic metrics for cells given as arrays; a pure function of structure, hash and seed.

    Returns ``trainable_parameters`` (N,) int64 and, each (N, E, T) float64: ``train_time``,
    ``train_acc``, ``valid_acc``, ``test_acc``, ``halfway_*`` of the same, and ``total_time``.
    """
    st = _structure(np.asarray(matrices), np.asarray(ops), np.asarray(num_vertices))
    keys = _hash_keys(np.asarray(hashes), seed)
    n, budgets_a = len(keys), np.asarray(budgets, np.float64)
    z_cell = _normal(keys, 1)
    z_lowfid = _normal(keys, 2)
    z_time = _normal(keys, 3)
    fail = _uniform(keys, 8) < 0.002
    u_poor = _uniform(keys, 9)

    depth = st["depth"].astype(np.float64)
    s = (0.55 * st["n3"] + 0.30 * st["n1"] - 0.05 * st["npool"]
         + 0.45 * np.minimum(depth, 4) - 0.30 * np.maximum(depth - 4, 0) + 0.10 * st["skip"] + 0.35 * z_cell)
    acc108 = 0.9445 - 0.065 * np.exp(-0.9 * (s - 1.0))
    acc108 = np.maximum(acc108, 0.55 + 0.1 * u_poor)
    no_conv = (st["n3"] + st["n1"]) == 0
    acc108 = np.where(no_conv, 0.35 + 0.40 * u_poor, acc108)
    acc108 = np.where(fail, 0.1, acc108)

    # low budgets: a gap that shrinks with epochs; deeper / bigger cells learn slower (imperfect rank corr.)
    g = 0.17 * ((108.0 / budgets_a - 1.0) / 26.0) ** 0.6  # (E,)
    slow = 1.0 + 0.06 * (depth - 3.0) + 0.10 * z_lowfid
    acc_e = acc108[:, None] - g[None, :] * np.clip(slow, 0.3, None)[:, None] * (acc108[:, None] / 0.92)
    acc_e = np.where(fail[:, None], 0.1, acc_e)

    # time: grows with the FLOP proxy and vertex count; 108-epoch scale, then proportional to epochs
    c = np.log(st["flops"] / 1.0e6) + 0.08 * st["nv"] + 0.04 * z_time
    t108 = 280.0 + 1270.0 * np.exp(0.70 * (c - _TIME_C0))
    t108 = np.where(t108 > 4800.0, 5400.0 - 600.0 * np.exp(-(np.maximum(t108, 4800.0) - 4800.0) / 600.0), t108)

    e_, t_ = len(budgets_a), n_trials
    shape = (n, e_, t_)
    sub = (keys[:, None, None] ^ _mix(np.arange(e_ * t_, dtype=np.uint64) + np.uint64(1000)).reshape(1, e_, t_))
    sub = _mix(sub)
    (z_trial, z_v), (z_t, z_h), (z_tt, z_tr) = _normal_pair(sub, 11), _normal_pair(sub, 12), _normal_pair(sub, 13)
    sd = (0.003 + 0.012 * (4.0 / budgets_a) ** 0.7)[None, :, None]
    base = acc_e[:, :, None]
    valid = base + sd * z_trial + 0.0015 * z_v
    test = base - 0.006 + 0.9 * sd * z_trial + 0.0015 * z_t
    ep = budgets_a[None, :, None]
    train = 1.0 - (1.0 - base) * (0.02 + 0.9 * (4.0 / ep)) + 0.5 * sd * z_tr
    half_gap = 0.06 + 0.10 * np.sqrt(4.0 / ep)
    h_valid = valid - half_gap * (0.7 + 0.3 * base) + 1.5 * sd * z_h
    h_test = test - half_gap * (0.7 + 0.3 * base) + 1.5 * sd * z_h
    h_train = train - half_gap * 1.2
    time = np.minimum(t108[:, None, None] * (1.0 + 0.02 * z_tt), 5400.0) * (ep / 108.0) + 2.0
    h_time = time * (0.5 + 0.005 * z_tt)
    total = time * 1.035 + 15.0 * (ep / 108.0) + 3.0

    def acc(x: np.ndarray) -> np.ndarray:
        return np.clip(x, 0.08, 1.0)

    failed = np.broadcast_to(fail[:, None, None], shape)
    return {
        "trainable_parameters": st["params"],
        "train_time": time,
        "train_acc": np.where(failed, 0.1, acc(train)),
        "valid_acc": np.where(failed, 0.1, acc(valid)),
        "test_acc": np.where(failed, 0.1, acc(test)),
        "halfway_train_time": h_time,
        "halfway_train_acc": np.where(failed, 0.1, acc(h_train)),
        "halfway_valid_acc": np.where(failed, 0.1, acc(h_valid)),
        "halfway_test_acc": np.where(failed, 0.1, acc(h_test)),
        "total_time": total,
    }


_TIME_C0 = 0.2645  # median of the time model's cost over the 423,624 cells (calibration)


def _budgets(variant: str) -> tuple[int, ...]:
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}") from None


def synthetic_table(
    cells: str | int | Cells | Sequence[ModelSpec] = "all", variant: str = "full", seed: int = 0
) -> NB101Table:
    """An in-memory SYNTHETIC :class:`NB101Table` (no file): all cells, ``N`` random ones, or given cells."""
    budgets = _budgets(variant)
    cs = select_cells(cells, seed)
    metrics = synthetic_metrics(cs.matrices, cs.ops, cs.num_vertices, cs.hashes, budgets, N_TRIALS, seed)
    n = len(cs)
    meta: dict[str, Any] = {"synthetic": True, "seed": seed, "variant": variant, "n_cells": n,
                            "source": {"name": f"synthetic_table(seed={seed})"}}
    return NB101Table(
        name=table_name(variant, True),
        budgets=np.array(budgets, np.int64),
        cell_ids=np.asarray(cs.hashes, dtype="S32"),
        n_trials=np.full((n, len(budgets)), N_TRIALS, np.int8),
        train_time=metrics["train_time"],
        train_acc=metrics["train_acc"],
        valid_acc=metrics["valid_acc"],
        test_acc=metrics["test_acc"],
        synthetic=True,
        meta=meta,
        matrices=np.asarray(cs.matrices, np.uint8),
        num_vertices=np.asarray(cs.num_vertices, np.uint8),
        ops=np.asarray(cs.ops, np.int8),
        trainable_parameters=metrics["trainable_parameters"],
        halfway_train_time=metrics["halfway_train_time"],
        halfway_train_acc=metrics["halfway_train_acc"],
        halfway_valid_acc=metrics["halfway_valid_acc"],
        halfway_test_acc=metrics["halfway_test_acc"],
        total_time=metrics["total_time"],
    )


def write_synthetic_tfrecord(
    path: str | os.PathLike[str],
    cells: str | int | Cells | Sequence[ModelSpec] = "all",
    variant: str = "full",
    seed: int = 0,
    progress: bool = False,
    chunk: int = 4096,
) -> int:
    """Write a SYNTHETIC file in the official format: one record per (cell, epochs, trial), shuffled.

    Values equal :func:`synthetic_table` for the same cells, variant and seed. Every record's final evaluation
    has ``checkpoint_path`` ``synthetic://nasbench_bench/seed=S`` (the marker; the other evaluations have none,
    which keeps records about the size of the official ones, ~400 bytes). Returns the number of records.
    """
    budgets = _budgets(variant)
    cs = select_cells(cells, seed)
    n, e, t = len(cs), len(budgets), N_TRIALS
    total = n * e * t
    order = np.random.default_rng([seed, 101]).permutation(total)
    # Readers number trials in file order: renumber so the k-th record of a (cell, budget) is trial k.
    group = order // t
    by_group = np.argsort(group, kind="stable")
    order[by_group] = group[by_group] * t + np.arange(total) % t
    op_names = {LABEL_INPUT: "input", LABEL_OUTPUT: "output", **{i: op for i, op in enumerate(OPS)}}
    ckpt = f"{SYNTHETIC_PREFIX}seed={seed}"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="rec", unit_scale=True, desc=f"synth {Path(path).name}")
    with TFRecordWriter(path) as writer:
        for lo in range(0, total, chunk * e * t):
            recs = order[lo : lo + chunk * e * t]
            ci, rest = np.divmod(recs, e * t)
            bi, ti = np.divmod(rest, t)
            uniq, inv = np.unique(ci, return_inverse=True)
            sub = cs.take(uniq)
            met = synthetic_metrics(sub.matrices, sub.ops, sub.num_vertices, sub.hashes, budgets, t, seed)
            static = {}
            for j in range(len(uniq)):
                k = int(sub.num_vertices[j])
                adj = "".join(map(str, sub.matrices[j, :k, :k].ravel().tolist()))
                opstr = ",".join(op_names[x] for x in sub.ops[j, :k].tolist())
                static[j] = (sub.hashes[j].decode(), adj, opstr, int(met["trainable_parameters"][j]))
            buf = []
            cols = [met[name][inv, bi, ti].tolist() for name in (
                "halfway_train_time", "halfway_train_acc", "halfway_valid_acc", "halfway_test_acc",
                "train_time", "train_acc", "valid_acc", "test_acc", "total_time")]
            inv_l, bi_l = inv.tolist(), bi.tolist()
            for r in range(len(recs)):
                h, adj, opstr, params = static[inv_l[r]]
                ep = budgets[bi_l[r]]
                m = ModelMetrics(trainable_parameters=params, total_time=cols[8][r])
                ev = m.evaluation_data
                ev.add(current_epoch=0.0, training_time=0.0, train_accuracy=0.1, validation_accuracy=0.1,
                       test_accuracy=0.1)
                ev.add(current_epoch=ep / 2, training_time=cols[0][r], train_accuracy=cols[1][r],
                       validation_accuracy=cols[2][r], test_accuracy=cols[3][r])
                ev.add(current_epoch=float(ep), training_time=cols[4][r], train_accuracy=cols[5][r],
                       validation_accuracy=cols[6][r], test_accuracy=cols[7][r], checkpoint_path=ckpt)
                data = f'["{h}", {ep}, "{adj}", "{opstr}", "{encode_metrics(m)}"]'.encode()
                buf.append(frame(data))
            writer.write_framed(b"".join(buf), len(buf))
            if bar is not None:
                bar.update(len(recs))
    if bar is not None:
        bar.close()
    log.info("wrote SYNTHETIC NB101 file %s: %d cells, %d records", path, n, total)
    return total


def cached_synthetic_table(seed: int = 0) -> NB101Table:
    """The full-space synthetic table, generated once into the cache and memory-mapped afterwards.

    The cache key includes a hash of this module's source, so a changed synthetic model is regenerated.
    """
    import hashlib

    from nasbench_bench import store
    from nasbench_bench.nb101.cache import FORMAT_NAME, FORMAT_VERSION, table_arrays, table_from_arrays
    from nasbench_bench.paths import cache_dir

    model = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    path = cache_dir() / "nb101-synthetic" / f"full-seed{seed}-{model}"

    def build() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table = synthetic_table("all", variant="full", seed=seed)
        return table_arrays(table, source={"name": "synthetic_table", "seed": seed, "model": model})

    arrays, manifest = store.cached(path, build, fmt=FORMAT_NAME, version=FORMAT_VERSION, mmap=True,
                                    what="the synthetic NAS-Bench-101 table")
    return table_from_arrays(arrays, manifest, path)
