"""The fast first load: NAS-Bench-101 TFRecord -> the cache's arrays, vectorised, every check kept.

:func:`read_tfrecord_fast` returns exactly what the reference reader
(:func:`nasbench_bench.nb101.cache.read_tfrecord_reference`, one record at a time with ``json`` and the
protobuf classes) returns, for the records it understands, and hands every file it does not understand
back to the reference reader (``_Fallback``), so the result never depends on which reader ran.

It reads the file in large blocks and works on all the records of a block at once:

* framing: both masked CRC32C of every record (the 8-byte length header vectorised, the data with the C
  ``crc32c``), truncation and empty files, reported with the reference's messages and byte offsets;
* JSON: every record must be a list of 4 strings and an integer ``[hash, epochs, adjacency, operations,
  metrics]``; the structure around the strings (brackets, commas, whitespace, the epochs literal) is checked
  by ``json.loads`` once per distinct layout; the hash must be 32 lowercase hex digits and the metrics plain
  base64 (strict decoding); a string ending in a backslash, a non-canonical layout, or anything else unusual
  sends the file to the reference reader. The adjacency and operations strings of a cell's later records
  are delimited but not decoded (the reference does not use them either);
* protobuf: a vectorised proto2 wire-format walk of ``ModelMetrics`` and its ``EvaluationData`` messages
  (every message parsed to its end, unknown fields skipped, last value wins, defaults for missing fields);
* cells: the first record of each hash gives its adjacency, operations and parameter count (as the official
  API); with ``verify_hashes`` every cell's stored hash is checked against the official module hash of its
  stored spec: looked up in the enumerated search space (:mod:`~nasbench_bench.nb101.space`, whose 423,624
  hashes come from the package's sha256-checked table made with the same
  :func:`~nasbench_bench.nb101.spec.hash_module`, :mod:`~nasbench_bench.nb101.space_hashes`), or computed
  directly for a cell the space cannot vouch for (a stored graph that is not pruned, has more than 9 edges, or
  labels outside the space). A large file starts building the space (about 2 s) in a separate process, in
  parallel with the parse, when it is not built yet.
"""

from __future__ import annotations

import binascii
import json
import logging
import os
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import crc32c
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nasbench_bench.nb101.spec import MAX_VERTICES, OPS, structure_hash
from nasbench_bench.nb101.tfrecord import CorruptRecordError
from nasbench_bench.store import DataFormatError

__all__ = ["read_tfrecord_fast"]

log = logging.getLogger(__name__)

_BLOCK = 16 << 20  # bytes read per block
_PAD = 256  # zero bytes after each block, so fixed-width gathers never leave the buffer
_MASK_DELTA = 0xA282EAD8
_U32 = np.uint64(0xFFFFFFFF)
_SPACE_MIN_BYTES = 64 << 20  # build the search space for verification only for files at least this large
_SYNTHETIC_PREFIX = b"synthetic://nasbench_bench/"
_LABEL = {"input": -1, "output": -2, **{op: i for i, op in enumerate(OPS)}}
_GAP_WIDTH = (8, 24, 8, 8, 8)  # widest JSON structure accepted around the 4 strings (else: reference reader)
_OPS_WIDTH = 128
_MAX_EVALS = 8


class _Fallback(Exception):
    """This file needs the reference reader (not an error: the reference decides)."""


def _crc_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint64)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t[i] = c
    return t


_CRC_TABLE = _crc_table()


def _masked_crc8(block: np.ndarray) -> np.ndarray:
    """Masked CRC32C of each row of an (N, 8) uint8 array (the TFRecord length headers), vectorised."""
    c = np.full(len(block), 0xFFFFFFFF, dtype=np.uint64)
    for k in range(block.shape[1]):
        c = _CRC_TABLE[(c ^ block[:, k]) & np.uint64(0xFF)] ^ (c >> np.uint64(8))
    return _mask(c ^ _U32)


def _mask(c: np.ndarray) -> np.ndarray:
    c = c & _U32
    return ((((c >> np.uint64(15)) | (c << np.uint64(17))) & _U32) + np.uint64(_MASK_DELTA)) & _U32


def _le(rows: np.ndarray) -> np.ndarray:
    """Little-endian unsigned integers of the rows of an (N, k) uint8 array (k <= 8), as uint64."""
    out = np.zeros(len(rows), dtype=np.uint64)
    for k in range(rows.shape[1]):
        out |= rows[:, k].astype(np.uint64) << np.uint64(8 * k)
    return out


_BYTE_MASK = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


class _Buf:
    """A byte buffer (length a multiple of 8, zero padding at the end) read as bytes or as unaligned words."""

    def __init__(self, u8: np.ndarray) -> None:
        self.u8 = u8

    def bytes(self, starts: np.ndarray, width: int) -> np.ndarray:
        """(N, width) uint8: the ``width`` bytes from each start (one row copy each, through a window view)."""
        return sliding_window_view(self.u8, width)[starts]

    def words(self, starts: np.ndarray, nwords: int) -> np.ndarray:
        """(N, nwords) little-endian uint64: the 8 * nwords bytes from each start (any alignment)."""
        return self.bytes(starts, 8 * nwords).view("<u8")

    def masked_words(self, starts: np.ndarray, lengths: np.ndarray, nwords: int) -> np.ndarray:
        """:meth:`words` with every byte at or beyond ``start + length`` zeroed (lengths <= 8 * nwords)."""
        w = self.words(starts, nwords)
        for k in range(nwords):
            w[:, k] &= _BYTE_MASK[np.clip(lengths - 8 * k, 0, 8)]
        return w

    def f64(self, offsets: np.ndarray) -> np.ndarray:
        """float64 (little-endian) at each offset, 0.0 where the offset is -1 (a field that is absent)."""
        present = offsets >= 0
        vals = self.words(np.where(present, offsets, 0), 1).ravel().view("<f8").astype(np.float64)
        vals[~present] = 0.0
        return vals


_FP = np.array([pow(0x9E3779B97F4A7C15, k + 1, 1 << 64) | 1 for k in range(64)], dtype=np.uint64)


def _group_rows(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index of each distinct row, inverse) of an (N, W) uint64 array, exactly (fingerprints are
    confirmed word by word; the common case, every row equal to the first, costs one comparison)."""
    n = len(words)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if np.all(words == words[0]):
        return np.zeros(1, np.int64), np.zeros(n, np.int64)
    key = (words * _FP[None, : words.shape[1]]).sum(axis=1, dtype=np.uint64)
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    inv = inv.ravel()
    if not np.array_equal(words, words[first[inv]]):
        raise _Fallback("fingerprint collision")
    return first, inv


# -- varints and the wire-format walk ------------------------------------------------------------------------


def _varints(pb: _Buf, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values uint64, byte lengths) of the varints starting at ``at``."""
    first = pb.u8[at]
    if not np.any(first & 0x80):
        return first.astype(np.uint64), np.ones(len(at), dtype=np.int64)
    b = pb.bytes(at, 10)
    term = b < 0x80
    if not term.any(axis=1).all():
        raise _Fallback("varint longer than 10 bytes")
    n = term.argmax(axis=1) + 1
    if np.any((n == 10) & (b[:, 9] > 1)):
        raise _Fallback("varint overflows 64 bits")
    k = np.arange(10)
    parts = (b & 0x7F).astype(np.uint64) << (7 * k).astype(np.uint64)[None, :]
    parts[k[None, :] >= n[:, None]] = 0
    return np.bitwise_or.reduce(parts, axis=1), n.astype(np.int64)


def _walk(pb: _Buf, start: np.ndarray, end: np.ndarray, fields: dict[int, str]) -> dict[int, Any]:
    """Walk proto2 messages ``pb[start:end]`` (vectorised over messages).

    ``fields``: field number -> ``"f64"`` (fixed64: offset of the last value, -1 if absent), ``"varint"`` (last
    value, 0 if absent), ``"str"`` (last (offset, length), (-1, 0) if absent) or ``"msgs"`` (every occurrence's
    (offset, length), in order, with a count). Other fields and wire types are skipped as unknown fields;
    groups, field number 0, or a message that does not end exactly at its end -> :class:`_Fallback`.
    """
    n = len(start)
    cur = start.astype(np.int64).copy()
    end = end.astype(np.int64)
    out: dict[int, Any] = {}
    for f, kind in fields.items():
        if kind == "f64":
            out[f] = np.full(n, -1, dtype=np.int64)
        elif kind == "varint":
            out[f] = np.zeros(n, dtype=np.uint64)
        elif kind == "str":
            out[f] = (np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64))
        else:
            out[f] = (np.zeros((n, _MAX_EVALS), np.int64), np.zeros((n, _MAX_EVALS), np.int64), np.zeros(n, np.int64))
    for _ in range(256):
        act = np.flatnonzero(cur < end)
        if not len(act):
            return out
        c = cur[act]
        tag, tl = _varints(pb, c)
        fn, wt = tag >> np.uint64(3), tag & np.uint64(7)
        if np.any(fn == 0) or np.any(fn >= np.uint64(1 << 29)):
            raise _Fallback("invalid field number")
        c = c + tl
        adv = np.zeros(len(act), dtype=np.int64)
        val = np.zeros(len(act), dtype=np.uint64)
        pay = c.copy()
        is0, is1, is2, is5 = wt == 0, wt == 1, wt == 2, wt == 5
        if not np.all(is0 | is1 | is2 | is5):
            raise _Fallback("group or invalid wire type")
        if is0.any():
            v, vl = _varints(pb, c[is0])
            val[is0], adv[is0] = v, vl
        adv[is1] = 8
        adv[is5] = 4
        if is2.any():
            ln, ll = _varints(pb, c[is2])
            room = end[act][is2] - c[is2] - ll
            if np.any(room < 0) or np.any(ln > np.maximum(room, 0).astype(np.uint64)):
                raise _Fallback("length-delimited field runs past its message")
            pay[is2] = c[is2] + ll
            adv[is2] = ll + ln.astype(np.int64)
            val[is2] = ln
        nxt = c + adv
        if np.any(nxt > end[act]):
            raise _Fallback("field runs past its message")
        fn_i = fn.astype(np.int64)
        for f, kind in fields.items():
            want = is1 if kind == "f64" else is0 if kind == "varint" else is2
            sel = np.flatnonzero((fn_i == f) & want)
            if not len(sel):
                continue
            rows = act[sel]
            if kind == "f64":
                out[f][rows] = c[sel]
            elif kind == "varint":
                out[f][rows] = val[sel]
            elif kind == "str":
                out[f][0][rows], out[f][1][rows] = pay[sel], val[sel].astype(np.int64)
            else:
                offs, lens, count = out[f]
                k = count[rows]
                if np.any(k >= _MAX_EVALS):
                    raise _Fallback("too many evaluations")
                offs[rows, k], lens[rows, k] = pay[sel], val[sel].astype(np.int64)
                count[rows] = k + 1
        cur[act] = nxt
    raise _Fallback("too many fields")


_EVAL_FIELDS = {1: "f64", 2: "f64", 3: "f64", 4: "f64", 5: "f64", 6: "str"}
_TOP_FIELDS = {1: "msgs", 2: "varint", 3: "f64"}


def _merge(out: dict[int, Any], rows: np.ndarray, part: dict[int, Any]) -> None:
    for f, v in part.items():
        if isinstance(v, tuple):
            for a, b in zip(out[f], v):
                a[rows] = b
        else:
            out[f][rows] = v


def _walk_evals(pb: _Buf, start: np.ndarray, end: np.ndarray) -> dict[int, Any]:
    """:func:`_walk` of ``EvaluationData`` messages; messages laid out as the official writer lays them out
    (fields 1-5 in order, then an optional short ``checkpoint_path``) are read directly."""
    n = len(start)
    length = end - start
    u8 = pb.u8
    ok = np.ones(n, dtype=bool)
    for rel, tag in ((0, 0x09), (9, 0x11), (18, 0x19), (27, 0x21), (36, 0x29)):
        ok &= u8[start + rel] == tag
    path_len = u8[start + 46].astype(np.int64)
    with_path = (u8[start + 45] == 0x32) & (path_len < 0x80) & (length == 47 + path_len)
    ok &= (length == 45) | with_path
    out = {f: np.full(n, -1, np.int64) for f in range(1, 6)}
    for f in range(1, 6):
        out[f][ok] = start[ok] + 1 + 9 * (f - 1)
    p_off = np.where(ok & with_path, start + 47, -1)
    p_len = np.where(ok & with_path, path_len, 0)
    out[6] = (p_off, p_len)
    rest = np.flatnonzero(~ok)
    if len(rest):
        _merge(out, rest, _walk(pb, start[rest], end[rest], _EVAL_FIELDS))
    return out


def _walk_top(pb: _Buf, start: np.ndarray, end: np.ndarray) -> dict[int, Any]:
    """:func:`_walk` of ``ModelMetrics`` messages; messages laid out as three evaluations, the parameter count
    and the total time, in that order, are read with a few vectorised steps."""
    n = len(start)
    offs = np.zeros((n, _MAX_EVALS), np.int64)
    lens = np.zeros((n, _MAX_EVALS), np.int64)
    cur = start.astype(np.int64).copy()
    ok = np.ones(n, dtype=bool)
    for k in range(3):
        ok &= pb.u8[cur] == 0x0A
        ln, ll = _varints(pb, np.where(ok, cur + 1, start))
        ln = np.where(ok, ln, 0).astype(np.int64)
        offs[:, k], lens[:, k] = cur + 1 + ll, ln
        cur = np.where(ok, cur + 1 + ll + ln, start)
        ok &= cur <= end
    ok &= pb.u8[np.where(ok, cur, start)] == 0x10
    val, vl = _varints(pb, np.where(ok, cur + 1, start))
    cur = np.where(ok, cur + 1 + vl, start)
    ok &= (cur < end) & (pb.u8[np.where(ok, cur, start)] == 0x19) & (cur + 9 == end)
    out: dict[int, Any] = {1: (offs, lens, np.where(ok, 3, 0)), 2: np.where(ok, val, np.uint64(0)),
                           3: np.where(ok, cur + 1, -1)}
    rest = np.flatnonzero(~ok)
    if len(rest):
        _merge(out, rest, _walk(pb, start[rest], end[rest], _TOP_FIELDS))
    return out


# -- verification of the cells' hashes --------------------------------------------------------------------


def _space_ready() -> Any:
    """The search space if its cache is built (loaded memory-mapped), else None."""
    from nasbench_bench import store
    from nasbench_bench.nb101 import space as sp
    from nasbench_bench.paths import cache_dir

    if store.existing_cache(cache_dir() / sp.CACHE_SUBDIR) is None:
        return None
    try:
        return sp.get_space()
    except Exception as exc:  # a damaged space: verify by hashing instead
        log.warning("search space unusable (%s); hashing every cell instead", exc)
        return None


#: The command that builds the search space cache (a fresh interpreter: never re-runs the caller's script).
_BUILD_SPACE = ("-c", "from nasbench_bench.nb101.space import SearchSpace; SearchSpace.load()")


def _start_space_build() -> tuple[subprocess.Popen, Any]:
    import nasbench_bench
    from nasbench_bench.paths import CACHE_ENV, cache_dir

    env = dict(os.environ)
    root = str(Path(nasbench_bench.__file__).resolve().parents[1])  # the same nasbench_bench as this process
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env[CACHE_ENV] = str(cache_dir().resolve())
    err = tempfile.TemporaryFile()
    # run in ``root``: ``python -c`` puts the working directory first on sys.path, before PYTHONPATH (another
    # checkout of the package there would otherwise be imported)
    return subprocess.Popen([sys.executable, *_BUILD_SPACE], env=env, cwd=root, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err), err


class _Verifier:
    """Checks stored hashes against the official hash of each cell's stored spec (see the module docstring)."""

    def __init__(self, src: Path, size: int, space: Any = None) -> None:
        self.src = src
        self.space = None if space is False else space if space is not None else _space_ready()
        self.proc: Any = None
        self.pending: list[tuple[np.ndarray, ...]] = []
        self.n_space = self.n_computed = 0
        if self.space is None and space is None and size >= _SPACE_MIN_BYTES:
            log.info("building the NAS-Bench-101 search space (once, in parallel with reading %s) to verify "
                     "the cells' hashes", src.name)
            self.proc, self._err = _start_space_build()

    def add(self, hashes: np.ndarray, nv: np.ndarray, mats: np.ndarray, ops: np.ndarray, offsets: np.ndarray) -> None:
        batch = (hashes, nv, mats, ops, offsets)
        if self.proc is not None:
            self.pending.append(batch)
        else:
            self._check(*batch)

    def finish(self) -> None:
        """Check everything still pending (waiting for the space being built, if it is)."""
        if self.proc is not None:
            t0 = time.perf_counter()
            code = self.proc.wait()
            self.proc = None
            self.space = _space_ready() if code == 0 else None
            if self.space is None:
                self._err.seek(0)
                last = self._err.read().decode(errors="replace").strip().splitlines()[-1:]
                log.warning("building the search space failed (exit code %s%s); hashing every cell instead", code,
                            f": {last[0]}" if last else "")
            self._err.close()
            log.info("waited %.1f s for the search space", time.perf_counter() - t0)
        pending, self.pending = self.pending, []
        for batch in pending:
            self._check(*batch)

    def _check(self, hashes: np.ndarray, nv: np.ndarray, mats: np.ndarray, ops: np.ndarray,
               offsets: np.ndarray) -> None:
        computed = np.zeros(len(hashes), dtype="S32")
        todo = np.ones(len(hashes), dtype=bool)
        if self.space is not None:
            idx = self._space_index(nv, mats, ops)
            ok = idx >= 0
            ok[ok] = self.space.num_vertices[idx[ok]] == nv[ok]  # the stored graph is already pruned
            computed[ok] = self.space.hashes[idx[ok]]
            todo = ~ok
            self.n_space += int(ok.sum())
        for i in np.flatnonzero(todo).tolist():
            n = int(nv[i])
            computed[i] = structure_hash(mats[i, :n, :n], ops[i, :n].tolist()).encode("ascii")
            self.n_computed += 1
        bad = np.flatnonzero(computed != hashes)
        if len(bad):
            i = int(bad[0])
            raise DataFormatError(f"{self.src}: record at byte offset {int(offsets[i])}: stored hash "
                                  f"{hashes[i].decode()} but the stored spec hashes to {computed[i].decode()}")

    def _space_index(self, nv: np.ndarray, mats: np.ndarray, ops: np.ndarray) -> np.ndarray:
        """Space cell of each stored spec embedded in 7 vertices (output -> vertex 6), -1 if not in the space."""
        from nasbench_bench.nb101.space import RAW_EDGE_POSITIONS

        pos = {p: k for k, p in enumerate(RAW_EDGE_POSITIONS)}
        codes = np.zeros(len(nv), dtype=np.int64)
        mids = np.zeros((len(nv), 5), dtype=np.int64)
        usable = np.zeros(len(nv), dtype=bool)
        for n in range(2, MAX_VERTICES + 1):
            sel = np.flatnonzero(nv == n)
            if not len(sel):
                continue
            place = list(range(n - 1)) + [MAX_VERTICES - 1]
            for a in range(n):
                for b in range(a + 1, n):
                    codes[sel] |= mats[sel, a, b].astype(np.int64) << pos[(place[a], place[b])]
            mid = ops[sel, 1 : n - 1].astype(np.int64)
            usable[sel] = np.all((mid >= 0) & (mid <= 2), axis=1)
            mids[sel, : n - 2] = np.clip(mid, 0, 2)
        idx = self.space.index(codes, mids)
        idx[~usable] = -1
        return idx


# -- the reader --------------------------------------------------------------------------------------------


def _frames(buf: bytearray, n: int) -> tuple[np.ndarray, int]:
    """Offsets of the records lying entirely in ``buf[:n]``, and where the next one starts."""
    unpack = struct.Struct("<Q").unpack_from
    offs = array("q")
    append = offs.append
    pos = 0
    while pos + 12 <= n:
        (length,) = unpack(buf, pos)
        end = pos + 16 + length
        if end > n:
            break
        append(pos)
        pos = end
    return np.frombuffer(offs, dtype=np.int64), pos


def _frames_from_quotes(b: _Buf, n: int, quotes: np.ndarray) -> tuple[np.ndarray, int] | None:
    """:func:`_frames` without a Python loop when every record's data starts with ``["``: the record starts are
    guessed from those quotes and accepted only if they form the exact chain of lengths from offset 0 (with
    valid length checksums); ``None`` when they do not (then :func:`_frames` walks the block)."""
    qs = quotes[quotes >= 13]
    c = qs[b.u8[qs - 1] == 91] - 13
    if not len(c) or c[0] != 0:
        return None
    hdr = b.words(c, 2)
    good = _masked_crc8(hdr[:, :1].view(np.uint8)) == (hdr[:, 1] & _U32)
    c, length = c[good], hdr[good, 0]
    if not len(c) or c[0] != 0 or np.any(length > np.uint64(n)):
        return None
    nxt = c + 16 + length.astype(np.int64)
    complete = nxt <= n
    k = int(np.argmin(complete)) if not complete.all() else len(c)
    if k == 0 or np.any(complete[k:]) or np.any(nxt[: k - 1] != c[1:k]):
        return None
    stop = int(nxt[k - 1])
    if k < len(c):
        if c[k] != stop:
            return None
    elif stop + 13 < n:  # a record that starts before the end would have been found
        return None
    return c[:k], stop


class _State:
    """Everything accumulated over the blocks."""

    def __init__(self) -> None:
        self.known_hi = np.zeros(0, np.uint64)  # first 8 bytes of each cell's hash, sorted
        self.known_id = np.zeros(0, np.int64)  # its cell index (file order)
        self.cell_lo: list[np.ndarray] = []
        self.cell_hex: list[np.ndarray] = []
        self.cell_nv: list[np.ndarray] = []
        self.cell_mat: list[np.ndarray] = []
        self.cell_ops: list[np.ndarray] = []
        self.cell_params: list[np.ndarray] = []
        # per-record arrays, preallocated for the largest number of records the file could hold (untouched
        # pages cost no memory) and grown if needed: one large allocation each, released whole (peak memory)
        self.cap = 0
        self.rec_cell = np.zeros(0, np.int32)
        self.rec_epochs = np.zeros(0, np.int32)
        self.columns: list[np.ndarray] = []
        self.n_cells = 0
        self.n_records = 0
        self.synthetic = False
        self.layouts: dict[bytes, int] = {}  # validated JSON layouts -> epochs

    def reserve(self, n: int) -> None:
        """Room for ``n`` more records."""
        need = self.n_records + n
        if need <= self.cap:
            return
        cap = max(need, 2 * self.cap)
        old = self.n_records

        def grow(a: np.ndarray) -> np.ndarray:
            b = np.empty(cap, dtype=a.dtype)
            b[:old] = a[:old]
            return b

        self.rec_cell, self.rec_epochs = grow(self.rec_cell), grow(self.rec_epochs)
        self.columns = [grow(c) for c in self.columns] if self.columns else [np.empty(cap) for _ in range(9)]
        self.cap = cap


def _epochs_of_layout(gaps: list[bytes], state: _State) -> int:
    """Epochs of one JSON layout (the bytes around the 4 strings), validated by ``json.loads``."""
    key = b"\0".join(gaps)
    got = state.layouts.get(key)
    if got is not None:
        return got
    text = gaps[0] + b'"h"' + gaps[1] + b'"a"' + gaps[2] + b'"o"' + gaps[3] + b'"m"' + gaps[4]
    try:
        item = json.loads(text)
    except ValueError as exc:
        raise _Fallback(f"record layout {text!r}") from exc
    if not (isinstance(item, list) and len(item) == 5 and item[0] == "h" and item[2:] == ["a", "o", "m"]
            and type(item[1]) is int and 0 <= item[1] < 2**31):
        raise _Fallback(f"record layout {text!r}")
    state.layouts[key] = item[1]
    return item[1]


def _block(buf: bytearray, b: _Buf, n: int, base: int, src: Path, state: _State,
           verifier: _Verifier | None) -> int:
    """Parse the complete records of one block; returns where the first incomplete one starts."""
    quotes = np.flatnonzero(b.u8[:n] == 34)
    framed = _frames_from_quotes(b, n, quotes)
    offs, stop = framed if framed is not None else _frames(buf, n)
    bad_at: tuple[int, str] | None = None
    if stop + 12 <= n:
        # the walk stopped at a record running past the block: its header checksum decides what that means
        hb = b.u8[stop : stop + 12][None, :]
        if _masked_crc8(hb[:, :8])[0] != _le(hb[:, 8:12])[0]:
            bad_at = (stop, "length checksum mismatch (not a TFRecord file?)")
    if len(offs):
        hdr = b.words(offs, 2)
        length = hdr[:, 0].astype(np.int64)
        bad_hdr = _masked_crc8(hdr[:, :1].view(np.uint8)) != (hdr[:, 1] & _U32)
        ds = offs + 12
        de = ds + length
        mv = memoryview(buf)
        crc = crc32c.crc32c
        data_crc = np.array([crc(mv[x:y]) for x, y in zip(ds.tolist(), de.tolist())], dtype=np.uint64)
        bad_data = _mask(data_crc) != (b.words(de, 1)[:, 0] & _U32)
        bad = np.flatnonzero(bad_hdr | bad_data)
        if len(bad):
            i = int(bad[0])
            reason = ("length checksum mismatch (not a TFRecord file?)" if bad_hdr[i] else "data checksum mismatch")
            bad_at = (int(offs[i]), reason)
            offs, ds, de = offs[:i], ds[:i], de[:i]
            stop = bad_at[0]
        if len(offs):
            _records(b, mv, quotes, offs, ds, de, base, src, state, verifier)
    if bad_at is not None:
        if verifier is not None:
            verifier.finish()  # a hash mismatch in an earlier record is the first problem, as in the reference
        off, reason = bad_at
        if base + off == 0 and reason.startswith("length"):
            raise DataFormatError(f"{src} is not a TFRecord file (bad checksum in the first record header)")
        raise CorruptRecordError(src, base + off, reason)
    return stop


def _records(b: _Buf, mv: memoryview, quotes: np.ndarray, offs: np.ndarray, ds: np.ndarray, de: np.ndarray,
             base: int, src: Path, state: _State, verifier: _Verifier | None) -> None:
    n_rec = len(offs)
    arr = b.u8
    # -- JSON structure: exactly 8 quotes per record, the 4 strings between them --------------------------
    lo, hi = np.searchsorted(quotes, ds), np.searchsorted(quotes, de)
    if np.any(hi - lo != 8):
        raise _Fallback("a record is not 4 plain strings and a number")
    q = quotes[lo[:, None] + np.arange(8)]
    if np.any(arr[q[:, [1, 3, 5, 7]] - 1] == 92):  # a closing quote that a backslash would escape
        raise _Fallback("escaped quote")
    spans = [(ds, q[:, 0]), (q[:, 1] + 1, q[:, 2]), (q[:, 3] + 1, q[:, 4]), (q[:, 5] + 1, q[:, 6]), (q[:, 7] + 1, de)]
    gap_words, gap_lens = [], []
    for (x, y), width in zip(spans, _GAP_WIDTH):
        ln = y - x
        if np.any(ln > width):
            raise _Fallback("unusual JSON layout")
        gap_words.append(b.masked_words(x, ln, width // 8))
        gap_lens.append(ln)
    lens = np.stack(gap_lens, axis=1)
    layout = np.concatenate([*gap_words, lens.astype(np.uint64)], axis=1)
    first, inv = _group_rows(layout)
    epochs_u = np.array([
        _epochs_of_layout([gap_words[g][i].tobytes()[: int(lens[i, g])] for g in range(5)], state)
        for i in first.tolist()
    ], dtype=np.int64)
    epochs = epochs_u[inv]
    # -- the hash: 32 lowercase hex digits -> (hi, lo) 64-bit halves --------------------------------------
    if np.any(q[:, 1] - q[:, 0] != 33):
        raise _Fallback("hash is not 32 characters")
    hexw = b.words(q[:, 0] + 1, 4)
    hexb = hexw.view(np.uint8).reshape(n_rec, 32)
    digit = (hexb >= 48) & (hexb <= 57)
    letter = (hexb >= 97) & (hexb <= 102)
    if not np.all(digit | letter):
        raise _Fallback("hash is not lowercase hex")
    nib = np.where(digit, hexb - 48, hexb - 87)
    digest = np.ascontiguousarray((nib[:, 0::2] << 4) | nib[:, 1::2]).view(">u8")  # (N, 2) big-endian halves
    h_hi, h_lo = digest[:, 0].astype(np.uint64), digest[:, 1].astype(np.uint64)
    # -- metrics: base64 (strict) -> one buffer of ModelMetrics messages ----------------------------------
    a2b = binascii.a2b_base64
    try:
        decoded = [a2b(mv[x:y], strict_mode=True) for x, y in zip((q[:, 6] + 1).tolist(), q[:, 7].tolist())]
    except binascii.Error as exc:
        raise _Fallback(f"metrics are not plain base64: {exc}") from exc
    plen = np.fromiter(map(len, decoded), dtype=np.int64, count=n_rec)
    pstart = np.concatenate(([0], np.cumsum(plen)[:-1]))
    total = int(plen.sum())
    decoded.append(bytes(_PAD + (-total) % 8))
    pb = _Buf(np.frombuffer(b"".join(decoded), dtype=np.uint8))
    top = _walk_top(pb, pstart, pstart + plen)
    ev_off, ev_len, ev_count = top[1]
    if np.any(ev_count < 3):
        raise _Fallback("fewer than 3 evaluations")
    k_idx = np.arange(_MAX_EVALS)[None, :] < ev_count[:, None]
    sub = _walk_evals(pb, ev_off[k_idx], ev_off[k_idx] + ev_len[k_idx])
    # position of evaluation k of record r among the flattened sub-messages
    flat_base = np.concatenate(([0], np.cumsum(ev_count)[:-1]))
    half, final = flat_base + 1, flat_base + 2
    where = np.concatenate([sub[f][e] for e in (half, final) for f in (2, 3, 4, 5)] + [top[3]])
    metric_vals = pb.f64(where)  # the 9 TRIAL_ARRAYS columns, one after the other
    params = (top[2] & _U32).astype(np.uint32).view(np.int32).astype(np.int64)
    # -- cells: the first record of each hash ------------------------------------------------------------
    u_hi, u_first, u_inv = np.unique(h_hi, return_index=True, return_inverse=True)
    u_inv = u_inv.ravel()
    ids = np.full(len(u_hi), -1, dtype=np.int64)
    if len(state.known_hi):
        pos = np.minimum(np.searchsorted(state.known_hi, u_hi), len(state.known_hi) - 1)
        found = state.known_hi[pos] == u_hi
        ids[found] = state.known_id[pos[found]]
    new_u = np.flatnonzero(ids < 0)
    new_u = new_u[np.argsort(u_first[new_u], kind="stable")]  # in file order
    ids[new_u] = state.n_cells + np.arange(len(new_u))
    if len(new_u):
        keys = np.concatenate([state.known_hi, u_hi[new_u]])
        vals = np.concatenate([state.known_id, ids[new_u]])
        order = np.argsort(keys, kind="stable")
        state.known_hi, state.known_id = keys[order], vals[order]
        first_rec = u_first[new_u]
        state.cell_lo.append(h_lo[first_rec])
        _new_cells(b, pb, q, first_rec, hexw, params, sub, final, offs, base, state, verifier)
        state.n_cells += len(new_u)
        if len(state.cell_lo) > 1:
            state.cell_lo = [np.concatenate(state.cell_lo)]
    rec_cell = ids[u_inv]
    if not np.array_equal(state.cell_lo[0][rec_cell], h_lo):
        raise _Fallback("two hashes share their first 16 hex digits")
    state.reserve(n_rec)
    r0, r1 = state.n_records, state.n_records + n_rec
    state.rec_cell[r0:r1] = rec_cell
    state.rec_epochs[r0:r1] = epochs
    for j in range(9):
        state.columns[j][r0:r1] = metric_vals[j * n_rec : (j + 1) * n_rec]
    state.n_records = r1


def _new_cells(b: _Buf, pb: _Buf, q: np.ndarray, rec: np.ndarray, hexw: np.ndarray, params: np.ndarray,
               sub: dict[int, Any], final: np.ndarray, offs: np.ndarray, base: int, state: _State,
               verifier: _Verifier | None) -> None:
    """Adjacency, operations, parameters (and the synthetic marker) of the cells first seen in records ``rec``."""
    m = len(rec)
    # adjacency: n*n characters '0'/'1', 2 <= n <= 7
    a0, alen = q[rec, 2] + 1, q[rec, 3] - q[rec, 2] - 1
    nv = np.rint(np.sqrt(alen)).astype(np.int64)
    if np.any(nv * nv != alen) or np.any((nv < 2) | (nv > MAX_VERTICES)):
        raise _Fallback("bad adjacency")
    chars = b.bytes(a0, MAX_VERTICES * MAX_VERTICES)
    inside = np.arange(MAX_VERTICES * MAX_VERTICES)[None, :] < alen[:, None]
    if np.any(inside & (chars != 48) & (chars != 49)):
        raise _Fallback("bad adjacency")
    bits = ((chars == 49) & inside).astype(np.uint8)
    mats = np.zeros((m, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    for n in range(2, MAX_VERTICES + 1):
        sel = np.flatnonzero(nv == n)
        if len(sel):
            mats[sel, :n, :n] = bits[sel, : n * n].reshape(-1, n, n)
    if np.any(np.tril(mats)):  # the reference raises "not upper triangular" (when verifying)
        raise _Fallback("adjacency not upper triangular")
    # operations: each distinct string parsed once
    o0, olen = q[rec, 4] + 1, q[rec, 5] - q[rec, 4] - 1
    if np.any(olen > _OPS_WIDTH):
        raise _Fallback("long operations")
    owords = b.masked_words(o0, olen, _OPS_WIDTH // 8)
    first, inv = _group_rows(np.concatenate([owords, olen.astype(np.uint64)[:, None]], axis=1))
    labels = np.full((len(first), MAX_VERTICES), -3, dtype=np.int8)
    counts = np.zeros(len(first), dtype=np.int64)
    for j, i in enumerate(first.tolist()):
        raw = owords[i].tobytes()[: int(olen[i])]
        if not raw.isascii() or any(c < 32 for c in raw) or b"\\" in raw:
            raise _Fallback("operations need JSON decoding")
        try:
            labs = [_LABEL[x] for x in raw.decode("ascii").split(",")]
        except KeyError as exc:
            raise _Fallback("unknown operation") from exc
        if len(labs) > MAX_VERTICES or labs[0] != -1 or labs[-1] != -2:
            raise _Fallback("operations do not fit")
        labels[j, : len(labs)] = labs
        counts[j] = len(labs)
    if np.any(counts[inv] != nv):
        raise _Fallback("operations do not fit the matrix")
    ops = labels[inv]
    # the synthetic marker: the final evaluation's checkpoint path of the cell's first record
    p_off, p_len = sub[6][0][final[rec]], sub[6][1][final[rec]]
    has = (p_off >= 0) & (p_len >= len(_SYNTHETIC_PREFIX))
    if has.any():
        pre = pb.bytes(p_off[has], len(_SYNTHETIC_PREFIX))
        if np.any(np.all(pre == np.frombuffer(_SYNTHETIC_PREFIX, np.uint8)[None, :], axis=1)):
            state.synthetic = True
    present = p_off >= 0
    if present.any():
        path_bytes = np.repeat(p_off[present], p_len[present]) + (
            np.arange(int(p_len[present].sum())) - np.repeat(np.cumsum(p_len[present]) - p_len[present],
                                                              p_len[present]))
        if np.any(pb.u8[path_bytes] >= 0x80):
            raise _Fallback("non-ASCII checkpoint path")
    hashes = np.ascontiguousarray(hexw[rec]).view("S32").ravel()
    state.cell_hex.append(hashes)
    state.cell_nv.append(nv.astype(np.uint8))
    state.cell_mat.append(mats)
    state.cell_ops.append(ops)
    state.cell_params.append(params[rec])
    if verifier is not None:
        verifier.add(hashes, nv, mats, ops, base + offs[rec])


def read_tfrecord_fast(src: str | os.PathLike[str], progress: bool = False, verify_hashes: bool = True,
                       space: Any = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of a NAS-Bench-101 TFRecord file, as the reference reader returns them.

    Raises ``_Fallback`` for a file it does not handle (the caller then uses the reference reader), and the
    reference's errors (:class:`DataFormatError`, :class:`CorruptRecordError`) for a corrupt one. ``space``:
    a :class:`~nasbench_bench.nb101.space.SearchSpace` to verify against, ``False`` to compute every hash, or
    ``None`` (default): the built space, else built in parallel for a large file, else computed hashes.
    """
    from nasbench_bench.nb101.cache import _assemble, _variant

    src = Path(src)
    size = src.stat().st_size
    state = _State()
    state.reserve(size // 200 + 1)  # a record takes at least ~250 bytes
    verifier = _Verifier(src, size, space) if verify_hashes else None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"convert {src.name}", leave=False)
    base = 0
    carry = b""
    buf = bytearray(0)
    try:
        with open(src, "rb", buffering=0) as fh:
            while True:
                need = len(carry) + _BLOCK + _PAD
                need += (-need) % 8
                if need > len(buf):
                    buf = bytearray(need)
                buf[: len(carry)] = carry
                got = fh.readinto(memoryview(buf)[len(carry) : len(carry) + _BLOCK]) or 0
                n = len(carry) + got
                buf[n : n + _PAD] = bytes(_PAD)
                stop = _block(buf, _Buf(np.frombuffer(buf, dtype=np.uint8)), n, base, src, state, verifier) if n else 0
                carry = bytes(buf[stop:n])
                base += stop
                if bar is not None:
                    bar.update(stop)
                if not got:
                    break
        if carry:
            if verifier is not None:
                verifier.finish()
            rest = len(carry)
            if rest < 12:
                raise CorruptRecordError(src, base, f"truncated header ({rest} of 12 bytes)")
            (length,) = struct.unpack_from("<Q", carry, 0)
            raise CorruptRecordError(src, base, f"truncated record (needs {12 + length + 4} bytes, {rest} left)")
        if state.n_records == 0:
            raise DataFormatError(f"{src}: no records (an empty file?)")
        if verifier is not None:
            verifier.finish()
    finally:
        if bar is not None:
            bar.close()
        # a space build still running (the file was handed over, or is corrupt) finishes on its own: its cache
        # is written atomically and serves the next conversion
    cat = np.concatenate
    cell_hi = np.empty(state.n_cells, np.uint64)
    cell_hi[state.known_id] = state.known_hi
    by_hash = np.lexsort((state.cell_lo[0], cell_hi))  # hex order is the order of the 128-bit digests
    r = state.n_records
    columns = [c[:r] for c in state.columns]
    state.columns = []
    arrays, stats = _assemble(
        cat(state.cell_hex), cat(state.cell_nv), cat(state.cell_params), cat(state.cell_mat), cat(state.cell_ops),
        state.rec_cell[:r], state.rec_epochs[:r], columns, order=by_hash)
    budgets = arrays["budgets"].tolist()
    manifest: dict[str, Any] = {
        "source": {"name": src.name, "size": size, "mtime_ns": src.stat().st_mtime_ns},
        "n_records": state.n_records,
        "n_cells": state.n_cells,
        "budgets": budgets,
        "variant": _variant(budgets),
        "synthetic": state.synthetic,
        "max_trials": stats["max_trials"],
        "trials_histogram": stats["trials_histogram"],
        "verify_hashes": verify_hashes,
    }
    if verifier is not None:
        log.info("verified %d cell hashes (%d against the search space, %d computed)",
                 verifier.n_space + verifier.n_computed, verifier.n_space, verifier.n_computed)
    return arrays, manifest
