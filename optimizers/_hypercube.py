"""The unit hypercube DE and DEHB search in, and the DE operators, as the ``dehb`` package (0.1.2) defines them.

The ``dehb`` package (Awad et al., IJCAI 2021; ``dehb/optimizers/de.py``) represents a configuration of a
ConfigSpace space as a vector in [0, 1]^d, one coordinate per hyperparameter *in the ConfigurationSpace's order*
(which may differ from the encoding's), and maps it back for evaluation. This module re-implements those maps and
the DE/rand/1/bin operators with the same random draws, in the same order, from the same generators (numpy's
``Generator`` for DE's own draws, ConfigSpace's seeded ``sample_configuration`` for random individuals), so a seed
gives the package's proposals exactly (checked against recordings in ``tests/test_dehb_exact.py``). The package
itself is not a dependency: it requires numpy < 2.

Maps (``DEBase.configspace_to_vector`` / ``vector_to_configspace``):

* categorical with ``n`` choices: choice ``j`` -> ``j / n``; back: the last ``j`` with ``arange(0, 1, 1/n)[j] <= x``;
* integer ``lower..upper``: ``(v - lower) / (upper - lower)``; back: ``int(round(lower + (upper - lower) x))``;
* float: the same affine map, the value rounded to 13 decimal places as ConfigSpace's ``Configuration`` stores it
  (the encodings here have no log-scaled hyperparameters).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.optimizer import OptimizerError, check_number

__all__ = ["Hypercube", "check_de_hyperparameters", "crossover_bin", "fix_boundary", "mutation_rand1"]


class Hypercube:
    """The [0, 1]^d coordinates of an encoding's configurations (ConfigSpace order), and its seeded sampler.

    ``cs`` is the encoding's ConfigurationSpace; :meth:`seed` reseeds its sampler (the package calls
    ``cs.seed(seed)`` in ``DEBase.__init__`` and ``reset``); :meth:`sample` draws ``n`` configurations from it
    (``cs.sample_configuration(size=n)``, one draw stream per ConfigurationSpace, shared by whoever samples).
    """

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        self.cs = encoding.configspace()
        self.hps = list(self.cs.values())
        self.dim = len(self.hps)
        position = {p.name: i for i, p in enumerate(encoding.params)}
        self.order = np.array([position[h.name] for h in self.hps], dtype=np.int64)  # cs dim -> encoding index
        self._index = {h.name: i for i, h in enumerate(self.hps)}
        self._kinds: list[tuple[str, Any, Any]] = []
        for h, i in zip(self.hps, self.order.tolist()):
            p = encoding.params[i]
            if p.kind == "cat":
                n = len(h.choices)
                self._kinds.append(("cat", np.arange(start=0, stop=1, step=1 / n).tolist(), list(h.choices)))
            else:
                self._kinds.append((p.kind, h.lower, h.upper))

    def seed(self, seed: int) -> None:
        self.cs.seed(int(seed))

    def sample(self, n: int) -> np.ndarray:
        """``n`` random individuals: ``cs.sample_configuration(size=n)`` mapped into the cube, shape (n, dim)."""
        configs = self.cs.sample_configuration(size=None if n == 1 else n)  # None: the same draws, no warning
        if not isinstance(configs, list):
            configs = [configs]
        return np.array([self.from_values(dict(c)) for c in configs])

    def from_values(self, values: dict[str, Any]) -> np.ndarray:
        """A configuration's hyperparameter values (by name) -> its point in the cube."""
        out = np.full(self.dim, np.nan)
        for name, value in values.items():
            i = self._index[name]
            kind, a, b = self._kinds[i]
            if kind == "cat":
                out[i] = b.index(value) / len(b)
            else:
                out[i] = (value - a) / (b - a)
        return out

    def to_encoding(self, x: np.ndarray) -> np.ndarray:
        """A point of the cube -> the encoding's vector (choice index / integer / float per hyperparameter)."""
        out = np.empty(self.dim)
        for i, (kind, a, b) in enumerate(self._kinds):
            xi = x[i]
            if kind == "cat":
                value: float = float(bisect_right(a, float(xi)) - 1)  # the last choice j with start_j <= x
            else:
                scaled = a + (b - a) * xi
                # ConfigSpace's Configuration keeps floats rounded to 13 decimal places (ROUND_PLACES)
                value = float(int(np.round(scaled))) if kind == "int" else float(np.round(float(scaled), 13))
            out[self.order[i]] = value
        return out


def mutation_rand1(r1: np.ndarray, r2: np.ndarray, r3: np.ndarray, factor: float) -> np.ndarray:
    """DE/rand/1: ``r1 + F (r2 - r3)`` (``DE.mutation_rand1``)."""
    return r1 + factor * (r2 - r3)


def crossover_bin(rng: np.random.Generator, target: np.ndarray, mutant: np.ndarray, prob: float) -> np.ndarray:
    """Binomial crossover (``DE.crossover_bin``): each coordinate from the mutant with probability ``prob``
    (``rng.random(d) < prob``); if none is, one uniformly drawn coordinate (``rng.integers(0, d)``) is."""
    d = len(target)
    cross = rng.random(d) < prob
    if not np.any(cross):
        cross[rng.integers(0, d)] = True
    return np.where(cross, mutant, target)


def fix_boundary(rng: np.random.Generator, x: np.ndarray, kind: str) -> np.ndarray:
    """``DEBase.boundary_check``: coordinates outside [0, 1] are redrawn uniformly (``"random"``, one
    ``rng.uniform`` call for all of them) or clipped (``"clip"``); ``x`` is changed in place and returned."""
    bad = np.where((x > 1) | (x < 0))[0]
    if len(bad) == 0:
        return x
    if kind == "random":
        x[bad] = rng.uniform(low=0.0, high=1.0, size=len(bad))
    else:
        x[bad] = np.clip(x[bad], a_min=0, a_max=1)
    return x


def check_de_hyperparameters(cls: Any, hp: Any) -> None:
    """The DE operator settings ``de`` and ``dehb`` share: ``mutation_factor`` > 0, ``crossover_prob`` in [0, 1],
    ``boundary_fix`` 'random' or 'clip'."""
    check_number(cls, hp, "mutation_factor", minimum=0, exclusive_minimum=True)
    check_number(cls, hp, "crossover_prob", minimum=0, maximum=1)
    if hp["boundary_fix"] not in ("random", "clip"):
        raise OptimizerError(f"optimizer {cls.name!r}: hyperparameter boundary_fix={hp['boundary_fix']!r} must be "
                             "'random' or 'clip'")
