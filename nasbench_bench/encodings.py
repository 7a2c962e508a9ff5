"""Search encodings: a configuration space and its exact configuration -> cell mapping.

Every encoding exposes its hyperparameters as :class:`Param` rows and a configuration in two forms:
a ``dict`` (what ConfigSpace-based libraries use) and a float64 *vector* (categorical = choice index,
integer = value, float = value) that the built-in optimizers manipulate cheaply. ``cell_index`` maps a
vector to the encoding's cell index (``-1`` = invalid); ``cell_ids()`` gives the key of every cell index so
the oracle can line cells up with any table's rows.

Each benchmark family defines its encodings in its own subpackage (``nb101/encodings.py``: the paper's A, B,
C; ``nb201/encoding.py``) and lists them in its ``FAMILY``; the registry
(:func:`nasbench_bench.benchmarks.get_encoding`) finds them by name, so this module imports nothing of the
registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ConfigSpace import ConfigurationSpace

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
    benchmark: str = ""  # the benchmark family whose cells this encoding indexes, e.g. "nb101"
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

    def problem(self, vector: Any) -> str | None:
        """What is wrong with ``vector`` as a configuration vector of this encoding, or None."""
        try:
            v = np.asarray(vector, dtype=float)
        except (TypeError, ValueError):
            return f"{type(vector).__name__} {vector!r:.80} is not a vector of numbers"
        if v.ndim != 1 or len(v) != self.dim:
            return f"has shape {v.shape}; encoding {self.name!r} takes vectors of length {self.dim}"
        lower, upper, integral = self._bounds
        bad = ~np.isfinite(v)
        if bad.any():
            return f"{self.params[int(np.argmax(bad))].name} is {v[bad][0]} (not a finite number)"
        bad = (v < lower) | (v > upper) | (integral & (v != np.floor(v)))
        if bad.any():
            i = int(np.argmax(bad))
            p = self.params[i]
            valid = (f"a choice index 0..{len(p.choices) - 1}" if p.kind == "cat" else
                     f"an integer {p.lower:g}..{p.upper:g}" if p.kind == "int" else f"in [{p.lower:g}, {p.upper:g}]")
            return f"{p.name} = {v[i]!r} is not {valid}"
        return None

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lower = np.array([0.0 if p.kind == "cat" else p.lower for p in self.params], float)
        upper = np.array([len(p.choices) - 1 if p.kind == "cat" else p.upper for p in self.params], float)
        return lower, upper, np.array([p.kind != "float" for p in self.params])

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

    # -- neighbourhood --------------------------------------------------------------------------------
    def neighbours(self, vector: np.ndarray) -> np.ndarray:
        """Every configuration one step from ``vector``, shape (m, dim), in a fixed order.

        One step changes one hyperparameter: a categorical to each of its other choices, an integer by +-1
        (within its bounds). Float hyperparameters have no discrete step: an encoding with floats overrides
        this (encoding C does). Neighbours may be invalid or map to the same cell; callers decide.
        """
        v = np.asarray(vector, dtype=float)
        cols, vals, int_cols, lo, hi = self._moves
        keep = vals != v[cols]
        c, x = cols[keep], vals[keep]
        if len(int_cols):
            cur = v[int_cols]
            step_c = np.concatenate([int_cols, int_cols])
            step_x = np.concatenate([cur - 1, cur + 1])
            ok = (step_x >= np.concatenate([lo, lo])) & (step_x <= np.concatenate([hi, hi]))
            c, x = np.concatenate([c, step_c[ok]]), np.concatenate([x, step_x[ok]])
        out = np.repeat(v[None, :], len(c), axis=0)
        out[np.arange(len(c)), c] = x
        return out

    @cached_property
    def _moves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(param, value) of every categorical move, and the integer params with their bounds."""
        floats = [p.name for p in self.params if p.kind == "float"]
        if floats:
            raise NotImplementedError(
                f"encoding {self.name!r} has float hyperparameters {floats} and defines no neighbourhood for them"
            )
        cols = [i for i, p in enumerate(self.params) if p.kind == "cat" for _ in p.choices]
        vals = [j for p in self.params if p.kind == "cat" for j in range(len(p.choices))]
        ints = [i for i, p in enumerate(self.params) if p.kind == "int"]
        lower = np.array([self.params[i].lower for i in ints], dtype=float)
        upper = np.array([self.params[i].upper for i in ints], dtype=float)
        return np.array(cols, dtype=np.int64), np.array(vals, dtype=float), np.array(ints, dtype=np.int64), lower, upper

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
