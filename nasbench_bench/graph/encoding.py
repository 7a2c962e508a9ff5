"""The NAS-Bench-Graph search encodings: a link-pattern categorical plus one op categorical per computing node.

``Link`` chooses one of the package's 9 link patterns (:data:`~.space.LINKS`, written as 4 digits: the input
node of computing nodes 1..4, 0 = the graph input); ``Op1``..``Op4`` choose the op of each computing node (9 ops;
5 on proteins). That is 9 x 9**4 = 59,049 configurations (9 x 5**4 = 5,625 on proteins).

Configurations -> cells (the rule of :mod:`.space`): a configuration's cell is the recorded architecture that
computes the same thing (skip ops contracted, isomorphic DAGs identified), exactly as the package's
``Arch.valid_hash``; several configurations map to one cell (duplicates). The 9 all-``skip`` configurations
(one per link pattern) have no record and are **invalid** (cell index -1), as invalid NAS-Bench-101 cells are.
Cell keys are the package's architecture hashes as 5 ASCII digits (``Table.cell_ids`` of every ``graph-*``
table); the cell index is the position in the sorted keys. Neighbours (:meth:`Encoding.neighbours`) change the link
pattern or one op: 40 per configuration (24 on proteins), some of them the same cell or invalid.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from nasbench_bench.encodings import Encoding, Param
from nasbench_bench.graph.space import LINKS, N_NODES, OPS, OPS_PROTEINS

__all__ = ["LINK_CHOICES", "EncodingGraph", "EncodingGraphProteins"]

#: The ``Link`` choices: each pattern as 4 digits, e.g. ``"0012"``.
LINK_CHOICES: tuple[str, ...] = tuple("".join(map(str, lk)) for lk in LINKS)


class _GraphEncoding(Encoding):
    """Link pattern + 4 ops; the configuration -> cell table comes from :func:`~.data.load_space`."""

    ops: tuple[str, ...] = ()

    @cached_property
    def _space(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        from nasbench_bench.graph.data import load_space

        keys, lookup = load_space(self.benchmark)
        lookup = np.asarray(lookup, dtype=np.int64)
        return keys, lookup, lookup.tolist()

    @cached_property
    def _weights(self) -> np.ndarray:
        return len(self.ops) ** np.arange(N_NODES, -1, -1, dtype=np.int64)

    def configuration_index(self, vectors: np.ndarray) -> np.ndarray:
        """Grid index of each configuration: link major, then op1..op4 (op4 fastest)."""
        return np.atleast_2d(np.asarray(vectors)).astype(np.int64) @ self._weights

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return self._space[1][self.configuration_index(vectors)]

    def cell_index(self, vector: np.ndarray) -> int:
        v, n = vector, len(self.ops)
        return self._space[2][int((((v[0] * n + v[1]) * n + v[2]) * n + v[3]) * n + v[4])]

    def cell_ids(self) -> np.ndarray:
        return self._space[0]


class EncodingGraph(_GraphEncoding):
    """NAS-Bench-Graph (cora ... arxiv): ``Link`` (9 patterns) + ``Op1``..``Op4`` (9 ops); 26,206 cells."""

    name = "graph"
    benchmark = "graph"
    ops = OPS
    params = (Param("Link", "cat", LINK_CHOICES), *(Param(f"Op{i}", "cat", OPS) for i in range(1, N_NODES + 1)))


class EncodingGraphProteins(_GraphEncoding):
    """NAS-Bench-Graph on proteins: ``Link`` (9 patterns) + ``Op1``..``Op4`` (5 ops); 2,021 cells."""

    name = "graph-proteins"
    benchmark = "graph-proteins"
    ops = OPS_PROTEINS
    params = (Param("Link", "cat", LINK_CHOICES),
              *(Param(f"Op{i}", "cat", OPS_PROTEINS) for i in range(1, N_NODES + 1)))
