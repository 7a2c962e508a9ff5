"""The TransNAS-Bench-101 search encodings: the micro cell (4,096 cells) and the macro skeleton (3,256 networks).

Both are flat categorical encodings (ConfigSpace categoricals for TPE/SMAC/BOHB/Optuna, choice-index vectors
for the built-ins), with the one-step neighbourhood of :class:`~nasbench_bench.encodings.Encoding`.

**Micro** (:class:`EncodingTNB101Micro`): six op categoricals ``Op0`` .. ``Op5``, one per edge of the 4-node
cell in TransNAS-Bench-101's cell-string order ``64-41414-{0}_{1}{2}_{3}{4}{5}`` (edges 0->1 | 0->2, 1->2 |
0->3, 1->3, 2->3), choices ``none``, ``skip_connect``, ``conv1x1``, ``conv3x3`` = the benchmark's op codes 0-3.
Every one of the 4^6 = 4,096 vectors is a cell of the benchmark (all valid, no duplicates). Cell id: the six
op codes as digits, e.g. ``b"102333"`` = ``64-41414-1_02_333``.

**Macro** (:class:`EncodingTNB101Macro`): the network skeleton is a sequence of 4 to 6 modules (each two
ResNet basic blocks), each module coded 1-4 by what it changes (TransNAS-Bench-101's ``net_macro.py``):
1 = nothing, 2 = doubles the channels, 3 = halves the resolution (stride 2), 4 = both. The benchmark holds
every sequence with **4-6 modules, 1-4 down-sampling modules (codes 3, 4) and 1-3 channel-doubling modules
(codes 2, 4)**: 210 + 750 + 2,296 = 3,256 networks (checked against the data at conversion).

The encoding has six slot categoricals ``Module0`` .. ``Module5`` with choices ``none``, ``1``, ``2``, ``3``,
``4`` (so a vector entry is the module code, 0 = no module in that slot). The rule:

* the network is the sequence of the **non-empty slots in slot order** (``none`` slots are skipped), so
  e.g. ``(1, none, 2, 3, 4, none)`` and ``(1, 2, 3, 4, none, none)`` are the same network ``64-1234-basic``:
  such duplicates map to the same cell (15,625 vectors, 9,946 of them valid: a 6-module network has one
  vector, a 5-module network 6, a 4-module network 15);
* a vector is **invalid** (cell index -1) if it has fewer than 4 modules, no or more than 4 down-sampling
  modules, or no or more than 3 channel-doubling modules (not one of the 3,256 networks).

Consequence for samplers that draw vectors uniformly (random search, the initial populations): among valid
vectors, shorter networks are over-represented (4-module networks are 6.4 % of the networks but 31.7 % of the
valid vectors, 6-module ones 70.5 % and 23.1 %), as NAS-Bench-101's encodings over-represent cells with many
isomorphic graphs; the bias is part of the search space every optimizer is given.

Neighbourhood (RE mutation, local search, ``analyze`` locality): one step changes one slot, i.e. changes
one module's code (what it does to channels / resolution), deletes a module (slot -> ``none``) or inserts
a module at an empty slot; steps that break the count rules are invalid neighbours and steps that only move
an empty slot are impossible (one slot changes at a time). Cell id: the module codes followed by ``0`` up to
six digits (NASLib's padded op indices), e.g. ``b"123400"`` = ``64-1234-basic``.
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np

from nasbench_bench.encodings import Encoding, Param

__all__ = [
    "MACRO_CHOICES",
    "MICRO_OPS",
    "EncodingTNB101Macro",
    "EncodingTNB101Micro",
    "macro_networks",
    "macro_string",
    "micro_string",
    "op_composition",
]

#: Micro op names in the order of TransNAS-Bench-101's op codes 0-3.
MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "conv1x1", "conv3x3")
#: Macro slot choices: index = module code (0 = no module in this slot).
MACRO_CHOICES: tuple[str, ...] = ("none", "1", "2", "3", "4")
N_SLOTS = 6
MIN_MODULES, MAX_MODULES = 4, 6
DOWNSAMPLE_CODES, DOUBLE_CODES = (3, 4), (2, 4)
MIN_DOWNSAMPLE, MAX_DOWNSAMPLE = 1, 4
MIN_DOUBLE, MAX_DOUBLE = 1, 3
#: Macro module codes 1-4 by what they do (for op-composition analyses).
MACRO_MODULES: tuple[str, ...] = ("plain", "channels x2", "stride 2", "stride 2 + channels x2")


def micro_string(cell_id: str | bytes) -> str:
    """TransNAS-Bench-101 architecture string of a micro cell id, e.g. ``"102333"`` -> ``64-41414-1_02_333``."""
    c = cell_id.decode() if isinstance(cell_id, bytes) else cell_id
    return f"64-41414-{c[0]}_{c[1]}{c[2]}_{c[3]}{c[4]}{c[5]}"


def macro_string(cell_id: str | bytes) -> str:
    """TransNAS-Bench-101 architecture string of a macro cell id, e.g. ``"123400"`` -> ``64-1234-basic``."""
    c = cell_id.decode() if isinstance(cell_id, bytes) else cell_id
    return f"64-{c.rstrip('0')}-basic"


def is_macro_network(codes: tuple[int, ...]) -> bool:
    """Whether a module-code sequence is one of the 3,256 TransNAS-Bench-101 macro networks."""
    down = sum(c in DOWNSAMPLE_CODES for c in codes)
    double = sum(c in DOUBLE_CODES for c in codes)
    return (MIN_MODULES <= len(codes) <= MAX_MODULES and all(1 <= c <= 4 for c in codes)
            and MIN_DOWNSAMPLE <= down <= MAX_DOWNSAMPLE and MIN_DOUBLE <= double <= MAX_DOUBLE)


def macro_networks() -> list[tuple[int, ...]]:
    """The 3,256 macro networks as module-code tuples, enumerated from the space's rule (not from the data)."""
    out = [codes for n in range(MIN_MODULES, MAX_MODULES + 1) for codes in itertools.product((1, 2, 3, 4), repeat=n)
           if is_macro_network(codes)]
    return sorted(out, key=_macro_key)


def op_composition(cell_ids: np.ndarray, space: str) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (N, k) counts): micro = how many of the 6 edges carry each op; macro = how many modules of each
    code 1-4 the network has (``analyze``'s accuracy by op composition)."""
    digits = np.frombuffer(np.ascontiguousarray(cell_ids).tobytes(), dtype=np.uint8).reshape(len(cell_ids), -1)
    digits = digits.astype(np.int64) - ord("0")
    names, codes = (MICRO_OPS, range(4)) if space == "micro" else (MACRO_MODULES, range(1, 5))
    return names, np.stack([(digits == c).sum(axis=1) for c in codes], axis=1)


def _macro_key(codes: tuple[int, ...]) -> str:
    return "".join(map(str, codes)).ljust(N_SLOTS, "0")


class EncodingTNB101Micro(Encoding):
    """TransNAS-Bench-101 micro: one op categorical per cell edge (6 edges x 4 ops = 4,096 cells, all valid)."""

    name = "tnb101-micro"
    benchmark = "tnb101-micro"
    params = tuple(Param(f"Op{i}", "cat", MICRO_OPS) for i in range(N_SLOTS))
    _weights = 4 ** np.arange(N_SLOTS - 1, -1, -1, dtype=np.int64)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(vectors)).astype(np.int64) @ self._weights

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector
        return int(((((v[0] * 4 + v[1]) * 4 + v[2]) * 4 + v[3]) * 4 + v[4]) * 4 + v[5])

    def cell_ids(self) -> np.ndarray:
        return self._ids

    @cached_property
    def _ids(self) -> np.ndarray:
        return np.array(["".join(map(str, d)) for d in itertools.product(range(4), repeat=N_SLOTS)], dtype="S6")


class EncodingTNB101Macro(Encoding):
    """TransNAS-Bench-101 macro: six module slots (``none`` or code 1-4); empty slots are skipped.

    3,256 networks; 9,946 of the 15,625 vectors are valid (duplicates share a cell), the rest are invalid (-1).
    See the module docstring for the rule and the neighbourhood.
    """

    name = "tnb101-macro"
    benchmark = "tnb101-macro"
    params = tuple(Param(f"Module{i}", "cat", MACRO_CHOICES) for i in range(N_SLOTS))
    _weights = 5 ** np.arange(N_SLOTS - 1, -1, -1, dtype=np.int64)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return self._lut[np.atleast_2d(np.asarray(vectors)).astype(np.int64) @ self._weights]

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector
        return int(self._lut_list[int(((((v[0] * 5 + v[1]) * 5 + v[2]) * 5 + v[3]) * 5 + v[4]) * 5 + v[5])])

    def cell_ids(self) -> np.ndarray:
        return self._ids

    @cached_property
    def _ids(self) -> np.ndarray:
        return np.array([_macro_key(c) for c in macro_networks()], dtype="S6")

    @cached_property
    def _lut(self) -> np.ndarray:
        """Cell index of every one of the 5^6 vectors (base-5 digits = slot codes), -1 where invalid."""
        index = {_macro_key(c): i for i, c in enumerate(macro_networks())}
        lut = np.full(5**N_SLOTS, -1, dtype=np.int64)
        for k, slots in enumerate(itertools.product(range(5), repeat=N_SLOTS)):
            codes = tuple(c for c in slots if c)
            if is_macro_network(codes):
                lut[k] = index[_macro_key(codes)]
        return lut

    @cached_property
    def _lut_list(self) -> list[int]:
        return self._lut.tolist()
