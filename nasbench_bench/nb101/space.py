"""Exact enumeration of the NAS-Bench-101 search space and a fast raw-encoding -> cell lookup.

The 423,624 cells are enumerated without hashing every raw encoding: unlabelled pruned graphs are
canonicalised under permutations of their middle vertices (input and output fixed), each class's
automorphism group splits the 3^k labellings into orbits, and only one representative per orbit is hashed
with the official module hash. Those 423,624 hashes (about 20 CPU-seconds of md5) ship with the package as a
sha256-checked table made by this same code (:mod:`~nasbench_bench.nb101.space_hashes`); a build takes them from
there, re-computes a spread sample with :func:`~nasbench_bench.nb101.spec.hash_module`, and hashes every cell
itself only if the table is unusable. Cell ``i`` is the cell whose hash has rank ``i`` (hashes sorted ascending).

For :meth:`SearchSpace.index`, every one of the 2^21 raw 7-vertex adjacency codes is pruned and mapped,
once, to its class and to the vertex correspondence with the class representative; a raw ``(code, ops)``
then resolves with a few array gathers. Everything is kept in the table store (``.npy`` files plus a JSON
manifest, see :mod:`nasbench_bench.store`) under ``paths.cache_dir()/space-v2/``.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from nasbench_bench import store
from nasbench_bench.nb101.spec import (
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    OPS,
    OUTPUT,
    ModelSpec,
    OutOfDomainError,
    hash_dag,
    hash_module,
)
from nasbench_bench.paths import cache_dir

logger = logging.getLogger(__name__)

__all__ = [
    "N_CELLS",
    "RAW_EDGE_POSITIONS",
    "SearchSpace",
    "encode_adjacency",
    "enumerate_cells",
    "get_space",
]

#: Number of unique cells in NAS-Bench-101 (a hard check of the enumeration).
N_CELLS = 423_624
#: The 21 upper-triangle positions of a 7x7 matrix, row-major; bit k of an adjacency code is position k.
RAW_EDGE_POSITIONS: list[tuple[int, int]] = [(i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES)]
N_RAW_CODES = 1 << len(RAW_EDGE_POSITIONS)

CACHE_SUBDIR = "space-v2"
#: ``0``: build the space by hashing every cell instead of from the shipped table (to measure the difference)
SHIPPED_HASHES_ENV = "NASBENCH_BENCH_NB101_SHIPPED_HASHES"
FORMAT_NAME = "nasbench_bench.nb101.space"
FORMAT_VERSION = 2
_N_RAW_OPS = 3**5  # raw middle-op labellings of 5 vertices (fits a uint8)
_MAP_BITS = 9  # packed raw entry = class_offset << _MAP_BITS | vertex-map id
_MAP_MASK = (1 << _MAP_BITS) - 1
_PAD = -3
_LABEL_INPUT, _LABEL_OUTPUT = -1, -2
_POW3 = np.array([1, 3, 9, 27, 81], dtype=np.int64)

#: raw middle-op labels (tuple of 5 labels 0..2) -> base-3 code
_RAW_OPS_CODE: dict[tuple[int, ...], int] = {
    t: sum(v * 3**m for m, v in enumerate(t)) for t in itertools.product(range(3), repeat=5)
}

_POPCOUNT8 = np.array([bin(x).count("1") for x in range(256)], dtype=np.uint8)


def _positions(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def _popcount(codes: np.ndarray) -> np.ndarray:
    c = codes.astype(np.int64)
    out = np.zeros(c.shape, dtype=np.int64)
    for shift in range(0, 32, 8):
        out += _POPCOUNT8[(c >> shift) & 255]
    return out


def _keep_mask(codes: np.ndarray, n: int) -> np.ndarray:
    """Bitmask of vertices on an input->output path for each upper-triangular code (0 = disconnected)."""
    pos = {p: k for k, p in enumerate(_positions(n))}
    bit = {p: ((codes >> k) & 1).astype(bool) for p, k in pos.items()}
    fwd: list[np.ndarray] = [np.ones(codes.shape, dtype=bool)]
    for v in range(1, n):
        r = np.zeros(codes.shape, dtype=bool)
        for u in range(v):
            r |= fwd[u] & bit[(u, v)]
        fwd.append(r)
    bwd: list[np.ndarray | None] = [None] * n
    bwd[n - 1] = np.ones(codes.shape, dtype=bool)
    for u in range(n - 2, -1, -1):
        r = np.zeros(codes.shape, dtype=bool)
        for w in range(u + 1, n):
            r |= bwd[w] & bit[(u, w)]  # type: ignore[operator]
        bwd[u] = r
    keep = np.zeros(codes.shape, dtype=np.int64)
    for v in range(n):
        keep |= (fwd[v] & bwd[v]).astype(np.int64) << v  # type: ignore[operator]
    return keep


def _chunk_tables(newbits: np.ndarray) -> np.ndarray:
    """Tables (..., 3, 128) int64: OR of ``1 << newbits[..., k]`` over the set bits of each 7-bit chunk.

    ``newbits`` has shape (..., 21); entries < 0 mean "drop this position".
    """
    nb = np.full(newbits.shape[:-1] + (21,), -1, dtype=np.int64)
    nb[..., : newbits.shape[-1]] = newbits
    nb = nb.reshape(newbits.shape[:-1] + (3, 7))
    contrib = np.where(nb >= 0, np.left_shift(1, np.maximum(nb, 0), dtype=np.int64), 0)
    xbits = (np.arange(128)[:, None] >> np.arange(7)[None, :]) & 1  # (128, 7)
    return (xbits[None, :, :] * contrib[..., None, :]).sum(-1)  # (..., 3, 128)


def _apply_tables(tables: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return tables[0][codes & 127] | tables[1][(codes >> 7) & 127] | tables[2][codes >> 14]


def _code_to_matrix(code: int, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.uint8)
    for k, (i, j) in enumerate(_positions(n)):
        if (code >> k) & 1:
            m[i, j] = 1
    return m


def encode_adjacency(matrix: object) -> int:
    """The 21-bit raw adjacency code of a 7x7 0/1 matrix (upper triangle, row-major, bit k = position k)."""
    m = np.asarray(matrix)
    if m.shape != (MAX_VERTICES, MAX_VERTICES):
        raise ValueError(f"expected a 7x7 matrix, got shape {m.shape}")
    return int(sum(1 << k for k, (i, j) in enumerate(RAW_EDGE_POSITIONS) if m[i, j]))


# ----------------------------------------------------------------------------------------------------
# hashing (worker side)

def _hash_chunk(jobs: list[tuple[int, int, list[int]]]) -> list[bytes]:
    """Hash ``(n_vertices, upper-triangular code, [label codes])`` jobs; one hash per label code."""
    out: list[bytes] = []
    for n, code, labs in jobs:
        pos = _positions(n)
        edges = [pos[k] for k in range(len(pos)) if (code >> k) & 1]
        preds: list[list[int]] = [[] for _ in range(n)]
        succs: list[list[int]] = [[] for _ in range(n)]
        for i, j in edges:
            preds[j].append(i)
            succs[i].append(j)
        k = n - 2
        for lab in labs:
            labels = [_LABEL_INPUT] + [(lab // 3**m) % 3 for m in range(k)] + [_LABEL_OUTPUT]
            out.append(hash_dag(preds, succs, labels).encode("ascii"))
    return out


# ----------------------------------------------------------------------------------------------------
# build


class _Classes:
    """Unlabelled pruned graphs of one vertex count, canonicalised under middle-vertex permutations."""

    def __init__(self, n: int) -> None:
        self.n = n
        npos = n * (n - 1) // 2
        codes = np.arange(1 << npos, dtype=np.int64)
        keep = _keep_mask(codes, n)
        ok = (keep == (1 << n) - 1) & (_popcount(codes) <= MAX_EDGES)
        graphs = codes[ok]  # ascending
        mids = list(range(1, n - 1))
        perms = np.array([[0, *p, n - 1] for p in itertools.permutations(mids)], dtype=np.int64)
        pos = np.array(_positions(n), dtype=np.int64).reshape(-1, 2)
        newbits = perms[:, pos[:, 0]] * n + perms[:, pos[:, 1]]  # (P, npos)
        tables = _chunk_tables(newbits)  # (P, 3, 128)
        best = np.full(graphs.shape, np.iinfo(np.int64).max, dtype=np.int64)
        arg = np.zeros(graphs.shape, dtype=np.int64)
        for p in range(len(perms)):
            c = _apply_tables(tables[p], graphs)
            better = c < best
            best[better] = c[better]
            arg[better] = p
        _, first, inverse = np.unique(best, return_index=True, return_inverse=True)
        self.rep_codes = graphs[first]  # smallest upper-triangular member of each class
        sigma = perms[arg[first]]  # (C, n): rep's canonicalising perm
        # automorphisms of each representative: perms leaving its (full) matrix unchanged
        ident = _apply_tables(tables[0], self.rep_codes)
        self.auto = np.stack([_apply_tables(tables[p], self.rep_codes) == ident for p in range(len(perms))], 1)
        self.perms = perms
        # vertex correspondence: rep vertex a <- graph vertex pi^-1(sigma(a))
        pinv = np.argsort(perms, axis=1)
        g_pinv = pinv[arg]  # (G, n)
        g_sigma = sigma[inverse.ravel()]  # (G, n)
        self.graphs = graphs
        self.graph_class = inverse.ravel().astype(np.int64)
        self.graph_src = np.take_along_axis(g_pinv, g_sigma, axis=1)  # (G, n)

    def orbit_min(self) -> np.ndarray:
        """(C, 3^k) smallest label code in the orbit of each label code under the class's automorphisms."""
        k = self.n - 2
        n_lab = 3**k
        labs = np.arange(n_lab, dtype=np.int64)
        digits = (labs[:, None] // (3 ** np.arange(k))[None, :]) % 3  # (3^k, k)
        out = np.tile(labs, (len(self.rep_codes), 1))
        for p in range(1, len(self.perms)):
            rows = np.nonzero(self.auto[:, p])[0]
            if rows.size == 0:
                continue
            gm = self.perms[p, 1 : self.n - 1] - 1
            lp = (digits[:, gm] * (3 ** np.arange(k))[None, :]).sum(1)
            out[rows] = np.minimum(out[rows], lp[None, :])
        return out


def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class _Enumeration:
    """The enumerated cells before hashing: per vertex count its classes, and one row per cell (orbit rep)."""

    def __init__(self, per_v: dict[int, _Classes], cls_off: dict[int, np.ndarray], rep_of: dict[int, np.ndarray],
                 jobs: list[tuple[int, int, list[int]]], r_n: np.ndarray, r_code: np.ndarray, r_lab: np.ndarray,
                 offset: int) -> None:
        self.per_v, self.cls_off, self.rep_of, self.jobs = per_v, cls_off, rep_of, jobs
        self.r_n, self.r_code, self.r_lab, self.offset = r_n, r_code, r_lab, offset


def _enumerate() -> _Enumeration:
    """Enumerate the 423,624 cells (numpy, no hashing): canonical classes and label-orbit representatives."""
    t0 = time.perf_counter()
    per_v = {n: _Classes(n) for n in range(2, MAX_VERTICES + 1)}
    logger.info(
        "unlabelled classes per vertex count: %s (%.1fs)",
        {n: len(c.rep_codes) for n, c in per_v.items()},
        time.perf_counter() - t0,
    )

    # global class numbering, label-table offsets and orbit representatives
    cls_off: dict[int, np.ndarray] = {}
    rep_of: dict[int, np.ndarray] = {}  # per n: (C, 3^k) global rep id of each label code
    jobs: list[tuple[int, int, list[int]]] = []
    rep_n: list[np.ndarray] = []
    rep_code: list[np.ndarray] = []
    rep_lab: list[np.ndarray] = []
    offset = 0
    n_classes = 0
    n_reps = 0
    for n, c in per_v.items():
        n_lab = 3 ** (n - 2)
        n_cls = len(c.rep_codes)
        n_classes += n_cls
        cls_off[n] = offset + n_lab * np.arange(n_cls, dtype=np.int64)
        offset += n_lab * n_cls
        om = c.orbit_min()
        is_rep = om == np.arange(n_lab)[None, :]
        ids = np.full(om.shape, -1, dtype=np.int64)
        ids[is_rep] = n_reps + np.arange(int(is_rep.sum()))
        n_reps += int(is_rep.sum())
        rep_of[n] = np.take_along_axis(ids, om, axis=1)
        rows, labs = np.nonzero(is_rep)
        rep_n.append(np.full(rows.shape, n, dtype=np.uint8))
        rep_code.append(c.rep_codes[rows])
        rep_lab.append(labs.astype(np.int64))
        for r in range(n_cls):
            jobs.append((n, int(c.rep_codes[r]), np.nonzero(is_rep[r])[0].tolist()))
    if n_reps != N_CELLS:
        raise RuntimeError(f"search-space enumeration found {n_reps} cells, expected {N_CELLS}")
    logger.info("%d classes, %d cells (%.1fs)", n_classes, n_reps, time.perf_counter() - t0)
    return _Enumeration(per_v, cls_off, rep_of, jobs, np.concatenate(rep_n), np.concatenate(rep_code),
                        np.concatenate(rep_lab), offset)


def _hash_reps(e: _Enumeration, progress: bool = False, workers: int | None = None) -> np.ndarray:
    """'S32' module hash of every enumerated cell (enumeration order), computed in ``workers`` processes."""
    n_reps = len(e.r_n)
    chunks: list[list[tuple[int, int, list[int]]]] = []
    cur: list[tuple[int, int, list[int]]] = []
    size = 0
    for job in e.jobs:
        cur.append(job)
        size += len(job[2])
        if size >= 4000:
            chunks.append(cur)
            cur, size = [], 0
    if cur:
        chunks.append(cur)
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_reps, desc="hashing NB101 cells", unit="cell")
    results: list[bytes] = []
    if n_workers > 1:
        with _pool_context().Pool(n_workers) as pool:
            for part in pool.imap(_hash_chunk, chunks):
                results.extend(part)
                if bar is not None:
                    bar.update(len(part))
    else:
        for chunk in chunks:
            part = _hash_chunk(chunk)
            results.extend(part)
            if bar is not None:
                bar.update(len(part))
    if bar is not None:
        bar.close()
    return np.array(results, dtype="S32")


#: cells whose shipped hash is recomputed with :func:`~nasbench_bench.nb101.spec.hash_module` at every build
_N_CROSS_CHECK = 1000


def _build(progress: bool = False, workers: int | None = None,
           shipped: bool = True) -> tuple[dict[str, np.ndarray], str]:
    """The space's arrays and where its hashes came from (``"shipped"`` or ``"computed"``). ``shipped``: take
    the cells' hashes from the shipped table (:mod:`~nasbench_bench.nb101.space_hashes`, sha256-checked) when it
    is usable, else compute them."""
    from nasbench_bench.nb101 import space_hashes

    t0 = time.perf_counter()
    e = _enumerate()
    n_reps = len(e.r_n)
    r_n, r_code, r_lab = e.r_n, e.r_code, e.r_lab
    per_v, cls_off, rep_of, offset = e.per_v, e.cls_off, e.rep_of, e.offset
    hashes_unsorted = None
    if shipped:
        try:
            hashes_unsorted = space_hashes.lookup(space_hashes.encode(r_n, r_code, r_lab))
            logger.info("took the %d cells' hashes from the shipped table (sha256 checked)", n_reps)
        except store.DataFormatError as exc:
            logger.warning("%s; computing the hashes instead", exc)
    source = "shipped" if hashes_unsorted is not None else "computed"
    if hashes_unsorted is None:
        hashes_unsorted = _hash_reps(e, progress=progress, workers=workers)
    # cross-check against the matrix path of spec.hash_module on a spread sample (of the shipped table: a check
    # that the hash function and the enumeration still agree with the table)
    for i in range(0, n_reps, max(1, n_reps // _N_CROSS_CHECK)):
        n = int(r_n[i])
        labels = [_LABEL_INPUT] + [(int(r_lab[i]) // 3**m) % 3 for m in range(n - 2)] + [_LABEL_OUTPUT]
        ref = hash_module(_code_to_matrix(int(r_code[i]), n), labels)
        if ref.encode("ascii") != hashes_unsorted[i]:
            raise RuntimeError(f"the {source} hash of cell {i} disagrees with spec.hash_module")
    order = np.argsort(hashes_unsorted, kind="stable")
    hashes = hashes_unsorted[order]
    if np.any(hashes[1:] == hashes[:-1]):
        raise RuntimeError("module hashes are not distinct across the enumerated cells")
    rank = np.empty(n_reps, dtype=np.int64)
    rank[order] = np.arange(n_reps)
    logger.info("hashes of %d cells (%s) checked distinct (%.1fs)", n_reps, source, time.perf_counter() - t0)

    # per-cell arrays in index order
    num_vertices = r_n[order]
    matrices = np.zeros((n_reps, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    ops = np.full((n_reps, MAX_VERTICES), _PAD, dtype=np.int8)
    for n in range(2, MAX_VERTICES + 1):
        sel = np.nonzero(num_vertices == n)[0]
        codes = r_code[order][sel]
        for k, (i, j) in enumerate(_positions(n)):
            matrices[sel, i, j] = (codes >> k) & 1
        ops[sel, 0] = _LABEL_INPUT
        ops[sel, n - 1] = _LABEL_OUTPUT
        labs = r_lab[order][sel]
        for m in range(n - 2):
            ops[sel, 1 + m] = (labs // 3**m) % 3

    celltable = np.empty(offset, dtype=np.int32)
    for n in per_v:
        celltable[cls_off[n][:, None] + np.arange(3 ** (n - 2))[None, :]] = rank[rep_of[n]]

    # raw 7-vertex codes -> (class label-table offset, vertex map)
    raw = np.arange(N_RAW_CODES, dtype=np.int64)
    keep = _keep_mask(raw, MAX_VERTICES)
    raw_off = np.full(N_RAW_CODES, -1, dtype=np.int64)
    raw_src = np.full((N_RAW_CODES, 5), -1, dtype=np.int64)  # op slot (raw vertex - 1) per rep position
    rawpos = np.array(RAW_EDGE_POSITIONS, dtype=np.int64)
    for mask in np.unique(keep):
        if mask == 0:
            continue
        sel = np.nonzero(keep == mask)[0]
        kept = [v for v in range(MAX_VERTICES) if (mask >> v) & 1]
        n = len(kept)
        c = per_v[n]
        newidx = {p: k for k, p in enumerate(_positions(n))}
        where = {v: i for i, v in enumerate(kept)}
        newbits = np.array(
            [newidx[(where[a], where[b])] if a in where and b in where else -1 for a, b in rawpos.tolist()],
            dtype=np.int64,
        )
        pruned = _apply_tables(_chunk_tables(newbits), raw[sel])
        gi = np.searchsorted(c.graphs, pruned)
        gi_clip = np.minimum(gi, len(c.graphs) - 1)
        found = c.graphs[gi_clip] == pruned  # False where > MAX_EDGES edges after pruning
        sel, gi = sel[found], gi_clip[found]
        raw_off[sel] = cls_off[n][c.graph_class[gi]]
        kept_arr = np.array(kept, dtype=np.int64)
        for m in range(n - 2):
            raw_src[sel, m] = kept_arr[c.graph_src[gi, m + 1]] - 1
    key = ((raw_src + 1) * (6 ** np.arange(5))[None, :]).sum(1)
    ukeys, map_id = np.unique(key, return_inverse=True)
    map_id = map_id.ravel()
    if len(ukeys) >= 1 << _MAP_BITS:
        raise RuntimeError("too many distinct vertex maps")
    srcs = (ukeys[:, None] // (6 ** np.arange(5))[None, :]) % 6 - 1  # (M, 5)
    rc = np.arange(_N_RAW_OPS)
    rdig = (rc[:, None] // _POW3[None, :]) % 3  # (243, 5)
    maplab = np.zeros((len(ukeys), _N_RAW_OPS), dtype=np.uint8)
    for m in range(5):
        used = srcs[:, m] >= 0
        maplab[used] += (rdig[:, srcs[used, m]].T * 3**m).astype(np.uint8)
    raw_packed = np.where(raw_off >= 0, (raw_off << _MAP_BITS) | map_id, -1).astype(np.int64)
    logger.info("built the search space in %.1fs", time.perf_counter() - t0)
    arrays = {
        "hashes": hashes,
        "num_vertices": num_vertices.astype(np.uint8),
        "matrices": matrices,
        "ops": ops,
        "raw_packed": raw_packed,
        "maplab": maplab,
        "celltable": celltable,
    }
    return arrays, source


# ----------------------------------------------------------------------------------------------------
# public API


class SearchSpace:
    """The 423,624 NAS-Bench-101 cells, indexed by the rank of their module hash, with fast lookups."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.hashes: np.ndarray = arrays["hashes"]
        self.num_vertices: np.ndarray = arrays["num_vertices"]
        self.matrices: np.ndarray = arrays["matrices"]
        self.ops: np.ndarray = arrays["ops"]
        self.n_cells: int = int(self.hashes.shape[0])
        self._raw_packed = arrays["raw_packed"]
        self._maplab = arrays["maplab"]
        self._celltable = arrays["celltable"]
        # zero-copy scalar views for index_one (indexing a memoryview returns a Python int)
        self._packed_mv = memoryview(np.ascontiguousarray(self._raw_packed))
        self._maplab_mv = memoryview(np.ascontiguousarray(self._maplab).reshape(-1))
        self._cell_mv = memoryview(np.ascontiguousarray(self._celltable))

    def __len__(self) -> int:
        return self.n_cells

    def __repr__(self) -> str:
        return f"SearchSpace(n_cells={self.n_cells})"

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def load(cls, cache: str | Path | None = None, progress: bool = False, workers: int | None = None) -> SearchSpace:
        """Load the space from ``cache_dir(cache)/space-v2/`` (memory-mapped), building it first if needed.

        A build takes the cells' hashes from the shipped table (:mod:`~nasbench_bench.nb101.space_hashes`,
        sha256-checked); if that is unusable (or ``$NASBENCH_BENCH_NB101_SHIPPED_HASHES`` is ``0``, a benchmark
        seam), ``workers`` (default: up to 2) processes compute them.
        """
        def build() -> tuple[dict[str, np.ndarray], dict[str, object]]:
            shipped = os.environ.get(SHIPPED_HASHES_ENV, "1") != "0"
            arrays, source = _build(progress=progress, workers=workers, shipped=shipped)
            return arrays, {"n_cells": N_CELLS, "hashes": source}

        arrays, _ = store.cached(
            cache_dir(cache) / CACHE_SUBDIR, build, fmt=FORMAT_NAME, version=FORMAT_VERSION, mmap=True,
            current=lambda m: m.get("n_cells") == N_CELLS, what="the NAS-Bench-101 search space",
        )
        return cls(arrays)

    # -- accessors -------------------------------------------------------------------------------
    def hash(self, i: int) -> str:
        """The module hash of cell ``i``."""
        return self.hashes[i].decode("ascii")

    def op_names(self, i: int) -> list[str]:
        """Op names of cell ``i`` (pruned, ``input`` ... ``output``)."""
        n = int(self.num_vertices[i])
        labels = self.ops[i, :n].tolist()
        return [INPUT] + [OPS[x] for x in labels[1:-1]] + [OUTPUT]

    def spec(self, i: int) -> ModelSpec:
        """The canonical pruned :class:`ModelSpec` of cell ``i``."""
        if not -self.n_cells <= i < self.n_cells:
            raise IndexError(f"cell index {i} out of range [0, {self.n_cells})")
        n = int(self.num_vertices[i])
        return ModelSpec(np.array(self.matrices[i, :n, :n], dtype=np.int8), self.op_names(i))

    def index_of_hash(self, module_hash: str | bytes) -> int:
        """Cell index of a module hash, or -1 if it is not a cell of the space."""
        h = module_hash.encode("ascii") if isinstance(module_hash, str) else bytes(module_hash)
        i = int(np.searchsorted(self.hashes, h))
        return i if i < self.n_cells and self.hashes[i] == h else -1

    # -- lookups ---------------------------------------------------------------------------------
    def index(self, adj_codes: np.ndarray, ops: np.ndarray) -> np.ndarray:
        """Cell index of each raw 7-vertex ``(adjacency code, middle ops)``; -1 where out of domain.

        ``adj_codes``: (B,) 21-bit codes (bit k = ``RAW_EDGE_POSITIONS[k]``); ``ops``: (B, 5) labels 0..2
        of raw vertices 1..5. Out of domain = input not connected to output, or more than 9 edges after
        pruning (the official semantics; the raw edge count does not matter).
        """
        codes = np.asarray(adj_codes)
        o = np.asarray(ops)
        if codes.size and not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"adjacency codes must be integers, got dtype {codes.dtype}")
        if o.size and not (np.issubdtype(o.dtype, np.integer) or o.dtype == bool):
            raise ValueError(f"op labels must be integers, got dtype {o.dtype}")
        codes = codes.astype(np.int64, copy=False).reshape(-1)
        if o.shape != (codes.shape[0], 5):
            raise ValueError(f"ops must have shape ({codes.shape[0]}, 5), got {o.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= N_RAW_CODES):
            raise ValueError("adjacency codes must be in [0, 2**21)")
        o = o.astype(np.int64, copy=False)
        if o.size and (o.min() < 0 or o.max() > 2):
            raise ValueError("op labels must be 0, 1 or 2")
        rc = o @ _POW3
        packed = self._raw_packed[codes]
        valid = packed >= 0
        safe = np.where(valid, packed, 0)
        lab = self._maplab[safe & _MAP_MASK, rc].astype(np.int64)
        out = self._celltable[(safe >> _MAP_BITS) + lab].astype(np.int64)
        out[~valid] = -1
        return out

    def index_one(self, adj_code: int, ops: Sequence[int]) -> int:
        """Scalar :meth:`index`: cell index of one raw ``(adjacency code, 5 middle op labels)``, or -1."""
        if not 0 <= adj_code < N_RAW_CODES:
            raise ValueError("adjacency code must be in [0, 2**21)")
        rc = _RAW_OPS_CODE.get(tuple(ops))  # also validates: 5 labels, each 0..2 (numpy ints work too)
        if rc is None:
            raise ValueError(f"ops must be 5 op labels in 0..2, got {ops!r}")
        p = self._packed_mv[adj_code]
        if p < 0:
            return -1
        return self._cell_mv[(p >> _MAP_BITS) + self._maplab_mv[(p & _MAP_MASK) * _N_RAW_OPS + rc]]

    def index_of_spec(self, matrix: object, ops: Sequence[str] | None = None) -> int:
        """Cell index of any valid spec (``matrix`` + op names, or a :class:`ModelSpec`).

        Raises :class:`OutOfDomainError` naming the problem when the spec is outside the space.
        """
        spec = matrix if isinstance(matrix, ModelSpec) and ops is None else ModelSpec(matrix, ops or [])
        spec.check()
        assert spec.matrix is not None and spec.ops is not None
        n = spec.matrix.shape[0]
        # embed the pruned spec into 7 vertices: 0..n-2 keep their index, output -> 6
        place = list(range(n - 1)) + [MAX_VERTICES - 1]
        code = 0
        for a, b in zip(*np.nonzero(spec.matrix)):
            code |= 1 << _RAW_POS_INDEX[(place[a], place[b])]
        labels = [OPS.index(op) for op in spec.ops[1:-1]]
        labels += [0] * (5 - len(labels))
        idx = self.index_one(code, labels)
        if idx < 0:  # pragma: no cover - cannot happen for a spec that passed check()
            raise OutOfDomainError("spec is valid but not found in the search space")
        return idx

    def iter_cells(self) -> Iterator[tuple[np.ndarray, list[str], str]]:
        """Yield ``(pruned matrix, op names, hash)`` for every cell in index order."""
        for i in range(self.n_cells):
            n = int(self.num_vertices[i])
            yield np.array(self.matrices[i, :n, :n]), self.op_names(i), self.hash(i)


_RAW_POS_INDEX = {p: k for k, p in enumerate(RAW_EDGE_POSITIONS)}

_SPACE: SearchSpace | None = None
_SPACE_LOCK = threading.Lock()


def get_space(progress: bool = False) -> SearchSpace:
    """The process-wide :class:`SearchSpace` (``SearchSpace.load()`` on first use, then memoised)."""
    global _SPACE
    if _SPACE is None:
        with _SPACE_LOCK:
            if _SPACE is None:
                _SPACE = SearchSpace.load(progress=progress)
    return _SPACE


def enumerate_cells(progress: bool = False) -> Iterator[tuple[np.ndarray, list[str], str]]:
    """Yield ``(pruned matrix, op names, hash)`` for each of the 423,624 cells exactly once, in index order."""
    yield from get_space(progress=progress).iter_cells()
