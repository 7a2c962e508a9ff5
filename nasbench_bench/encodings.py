"""Search encodings: a configuration space and its exact configuration -> cell mapping.

Every encoding exposes its hyperparameters as :class:`Param` rows and a configuration in two forms:
a ``dict`` (what ConfigSpace-based libraries use) and a float64 *vector* (categorical = choice index,
integer = value, float = value) that the built-in optimizers manipulate cheaply. ``cell_index`` maps a
vector to the encoding's cell index (``-1`` = invalid); ``cell_ids()`` gives the key of every cell index so
the oracle can line cells up with any table's rows.

NAS-Bench-101 encodings A, B, C follow the paper (see ``shared/NB101_REFERENCE.md``, "Encodings").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_bench.spec import MAX_EDGES, OPS

if TYPE_CHECKING:
    from ConfigSpace import ConfigurationSpace

N_RAW_EDGES = 21
N_MIDDLE = 5
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@dataclass(frozen=True)
class Param:
    """One hyperparameter: ``kind`` is 'cat' (choices), 'int' (lower..upper inclusive) or 'float'."""

    name: str
    kind: str
    choices: tuple[Any, ...] = ()
    lower: float = 0.0
    upper: float = 1.0

    @property
    def n_values(self) -> int | None:
        """Number of distinct values (None for floats)."""
        if self.kind == "cat":
            return len(self.choices)
        if self.kind == "int":
            return int(self.upper - self.lower) + 1
        return None


class Encoding:
    """Base class of an encoding. Subclasses set ``name``, ``benchmark``, ``params`` and the mapping."""

    name: str = ""
    benchmark: str = ""  # table family this encoding indexes: "nb101" or "nb201"
    params: tuple[Param, ...] = ()

    # -- forms of a configuration ---------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.params)

    def to_vector(self, config: Mapping[str, Any]) -> np.ndarray:
        """Dict configuration -> vector; ``ValueError`` naming a missing or unknown value."""
        out = np.empty(self.dim)
        for i, p in enumerate(self.params):
            if p.name not in config:
                raise ValueError(f"configuration for encoding {self.name!r} lacks {p.name!r}")
            v = config[p.name]
            if p.kind == "cat":
                try:
                    out[i] = self._choice_index[i][v]
                except (KeyError, TypeError):
                    raise ValueError(f"{p.name}={v!r} is not one of {list(p.choices)}") from None
            else:
                out[i] = float(v)
        return out

    def to_config(self, vector: np.ndarray) -> dict[str, Any]:
        """Vector -> dict configuration (plain Python values)."""
        out: dict[str, Any] = {}
        for p, v in zip(self.params, vector):
            if p.kind == "cat":
                out[p.name] = p.choices[int(v)]
            elif p.kind == "int":
                out[p.name] = int(v)
            else:
                out[p.name] = float(v)
        return out

    @cached_property
    def _choice_index(self) -> list[dict[Any, int]]:
        return [{c: j for j, c in enumerate(p.choices)} for p in self.params]

    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Uniform random vector(s), shape (dim,) or (n, dim), from one block of uniforms."""
        u = rng.random((1 if n is None else n, self.dim))
        scale, offset, discrete = self._sampling
        out = offset + u * scale
        np.floor(out, out=out, where=discrete)
        return out[0] if n is None else out

    @cached_property
    def _sampling(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scale = np.array([p.n_values if p.n_values is not None else p.upper - p.lower for p in self.params], float)
        offset = np.array([0.0 if p.kind == "cat" else p.lower for p in self.params], float)
        discrete = np.array([p.kind != "float" for p in self.params])
        return scale, offset, discrete

    def configspace(self, seed: int | None = None) -> ConfigurationSpace:
        """A fresh ConfigSpace ``ConfigurationSpace`` of this encoding (for library optimizers)."""
        from ConfigSpace import (
            CategoricalHyperparameter,
            ConfigurationSpace,
            UniformFloatHyperparameter,
            UniformIntegerHyperparameter,
        )

        cs = ConfigurationSpace(name=f"{self.benchmark}-{self.name}", seed=seed)
        hps = []
        for p in self.params:
            if p.kind == "cat":
                hps.append(CategoricalHyperparameter(p.name, list(p.choices)))
            elif p.kind == "int":
                hps.append(UniformIntegerHyperparameter(p.name, int(p.lower), int(p.upper)))
            else:
                hps.append(UniformFloatHyperparameter(p.name, p.lower, p.upper))
        cs.add(hps)
        return cs

    # -- mapping to cells -----------------------------------------------------------------------------
    def cell_index(self, vector: np.ndarray) -> int:
        """Cell index of one vector, -1 if the configuration is invalid."""
        return int(self.cell_indices(np.asarray(vector, dtype=float)[None, :])[0])

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`cell_index` over an (n, dim) array."""
        raise NotImplementedError

    def cell_ids(self) -> np.ndarray:
        """(n_cells,) keys of all cell indices, comparable with ``Table.cell_ids``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.benchmark}/{self.name}: {self.dim} hyperparameters>"


def _op_params() -> list[Param]:
    return [Param(f"op_node_{i}", "cat", OPS) for i in range(N_MIDDLE)]


class _NB101Encoding(Encoding):
    benchmark = "nb101"

    @cached_property
    def space(self):  # -> SearchSpace (imported lazily: building it is expensive)
        from nasbench_bench.space import get_space

        return get_space()

    def cell_ids(self) -> np.ndarray:
        return self.space.hashes

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency codes, valid mask) from vectors; ops are columns 0..4."""
        raise NotImplementedError

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
        codes, ok = self._codes(vectors)
        ops = vectors[:, :N_MIDDLE].astype(np.int8)
        out = np.full(len(vectors), -1, dtype=np.int64)
        if ok.any():
            out[ok] = self.space.index(codes[ok], ops[ok])
        return out

    def cell_index(self, vector: np.ndarray) -> int:
        codes, ok = self._codes(np.asarray(vector, dtype=float)[None, :])
        if not ok[0]:
            return -1
        v = vector
        return self.space.index_one(int(codes[0]), (int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4])))


_POW2 = (1 << np.arange(N_RAW_EDGES, dtype=np.int64)).astype(np.int64)
_POW2_LIST = [1 << k for k in range(N_RAW_EDGES)]


class EncodingA(_NB101Encoding):
    """Paper encoding A: 5 op categoricals + 21 binary edges; more than 9 raw edges is invalid."""

    name = "A"
    params = tuple(_op_params() + [Param(f"edge_{k}", "cat", (0, 1)) for k in range(N_RAW_EDGES)])

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits = vectors[:, N_MIDDLE:].astype(np.int64)
        return bits @ _POW2, bits.sum(axis=1) <= MAX_EDGES

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector.tolist() if isinstance(vector, np.ndarray) else vector
        code = sum(compress(_POW2_LIST, v[N_MIDDLE:]))
        if code.bit_count() > MAX_EDGES:
            return -1
        return self.space.index_one(code, (int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4])))


class EncodingB(_NB101Encoding):
    """Paper encoding B: 5 op categoricals + 9 categoricals choosing edge positions (0..20)."""

    name = "B"
    params = tuple(
        _op_params() + [Param(f"edge_{k}", "cat", tuple(range(N_RAW_EDGES))) for k in range(MAX_EDGES)]
    )

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = vectors[:, N_MIDDLE:].astype(np.int64)
        codes = np.bitwise_or.reduce(np.left_shift(np.int64(1), pos), axis=1)
        return codes, np.ones(len(vectors), dtype=bool)


class EncodingC(_NB101Encoding):
    """Paper encoding C: 5 op categoricals, ``num_edges`` 0..9 and 21 floats; the top ones become edges.

    Ties between equal floats are broken by position (lower position first).
    """

    name = "C"
    params = tuple(
        _op_params()
        + [Param("num_edges", "int", lower=0, upper=MAX_EDGES)]
        + [Param(f"edge_{k}", "float", lower=0.0, upper=1.0) for k in range(N_RAW_EDGES)]
    )

    def _codes(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = vectors[:, N_MIDDLE].astype(np.int64)
        vals = vectors[:, N_MIDDLE + 1 :]
        order = np.argsort(-vals, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(N_RAW_EDGES)[None, :].repeat(len(vals), 0), axis=1)
        chosen = ranks < k[:, None]
        return chosen.astype(np.int64) @ _POW2, np.ones(len(vectors), dtype=bool)


class EncodingNB201(Encoding):
    """NAS-Bench-201: one op categorical per edge of the 4-node cell (6 edges x 5 ops = 15,625 cells)."""

    name = "nb201"
    benchmark = "nb201"
    params = tuple(Param(f"Op{i}", "cat", NB201_OPS) for i in range(6))
    _weights = 5 ** np.arange(5, -1, -1, dtype=np.int64)

    def cell_indices(self, vectors: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(vectors)).astype(np.int64) @ self._weights

    def cell_index(self, vector: np.ndarray) -> int:
        v = vector
        return int(((((v[0] * 5 + v[1]) * 5 + v[2]) * 5 + v[3]) * 5 + v[4]) * 5 + v[5])

    def cell_ids(self) -> np.ndarray:
        idx = np.arange(5**6)
        digits = [(idx // 5**p) % 5 for p in range(5, -1, -1)]
        return np.array(["".join(str(d[i]) for d in digits) for i in idx], dtype="S6")


ENCODINGS: dict[str, type[Encoding]] = {
    "A": EncodingA,
    "B": EncodingB,
    "C": EncodingC,
    "nb201": EncodingNB201,
}
DEFAULT_ENCODING = {"nb101": "A", "nb201": "nb201"}


def get_encoding(name: str) -> Encoding:
    """An encoding by name ('A', 'B', 'C', 'nb201'); ``KeyError`` listing the valid names."""
    try:
        return ENCODINGS[name]()
    except KeyError:
        raise KeyError(f"unknown encoding {name!r}; valid: {sorted(ENCODINGS)}") from None
