"""The NAS-Bench-Macro search encoding: one block choice per searchable layer (8 layers x 3 blocks = 6,561).

Every one of the 3^8 = 6,561 configurations is valid. They are **not** 6,561 different networks: the 8 layers
form three stages of 2, 3 and 3 layers (the first layer of a stage changes resolution/width; the others keep the
shape), and an Identity among a stage's later layers is a no-op wherever it sits. The benchmark's authors trained
each network once per *canonical* string (their ``get_real_arch``: inside each stage, the first layer stays, the
other layers keep their non-Identity blocks in order and their Identities move to the end of the stage) and copied
its result to every string with the same canonical form. So the 6,561 configurations map onto **3,969 cells** (the
distinct trained networks), keyed by the canonical 8-character string; :func:`canonical` is that mapping.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from nasbench_bench.encodings import Encoding, Param

__all__ = ["BLOCKS", "N_CONFIGS", "N_LAYERS", "STAGES", "EncodingMacro", "canonical", "canonical_keys"]

#: The candidate blocks, in the order of their digit in the data's keys ('0', '1', '2').
BLOCKS: tuple[str, ...] = ("Identity", "MB3_K3", "MB6_K5")
N_LAYERS = 8
STAGES: tuple[int, ...] = (2, 3, 3)
N_CONFIGS = len(BLOCKS) ** N_LAYERS


def canonical(key: str) -> str:
    """The canonical form of an 8-digit configuration string (the network the authors trained for it).

    Inside each stage (layers 0-1, 2-4, 5-7) the first layer stays; the other layers' non-Identity blocks keep
    their order and their Identities ('0') move to the stage's end. ``ValueError`` for anything but 8 digits 0-2.
    """
    if len(key) != N_LAYERS or any(c not in "012" for c in key):
        raise ValueError(f"a NAS-Bench-Macro configuration is {N_LAYERS} digits in 0..2, got {key!r}")
    out, start = [], 0
    for size in STAGES:
        stage = key[start:start + size]
        rest = stage[1:]
        kept = rest.replace("0", "")
        out.append(stage[0] + kept + "0" * (len(rest) - len(kept)))
        start += size
    return "".join(out)


def _config_key(index: int) -> str:
    """The 8-digit string of configuration ``index`` (base 3, layer 0 most significant)."""
    digits = [(index // 3 ** p) % 3 for p in range(N_LAYERS - 1, -1, -1)]
    return "".join(map(str, digits))


@cache
def canonical_keys() -> np.ndarray:
    """(3,969,) the canonical keys of all configurations, sorted ascending and unique (``S8``)."""
    return np.array(sorted({canonical(_config_key(i)) for i in range(N_CONFIGS)}), dtype="S8")


@cache
def _cell_of_config() -> np.ndarray:
    """(6,561,) int64: the cell index (row of :func:`canonical_keys`) of every configuration index."""
    keys = canonical_keys()
    canon = np.array([canonical(_config_key(i)) for i in range(N_CONFIGS)], dtype="S8")
    out = np.searchsorted(keys, canon).astype(np.int64)
    out.setflags(write=False)
    return out


class EncodingMacro(Encoding):
    """NAS-Bench-Macro: one block categorical per layer (Identity, MB3_K3, MB6_K5), 6,561 configurations, all valid,
    mapping onto 3,969 cells (configurations that differ only in where a stage's Identities sit share a cell)."""

    name = "macro"
    benchmark = "macro"
    params = tuple(Param(f"Layer{i}", "cat", BLOCKS) for i in range(N_LAYERS))
    _weights = 3 ** np.arange(N_LAYERS - 1, -1, -1, dtype=np.int64)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        config = np.atleast_2d(np.asarray(vectors)).astype(np.int64) @ self._weights
        return _cell_of_config()[config]

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector
        i = int(((((((v[0] * 3 + v[1]) * 3 + v[2]) * 3 + v[3]) * 3 + v[4]) * 3 + v[5]) * 3 + v[6]) * 3 + v[7])
        return int(_cell_of_config()[i])

    def cell_ids(self) -> np.ndarray:
        return canonical_keys()
