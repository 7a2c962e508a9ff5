"""Draw-for-draw replica of ConfigSpace 1.2.2's ``ConfigurationSpace.sample_configuration`` as vectors.

On a space without conditions and forbidden clauses, ``sample_configuration(size)`` loops in batches of 5
(``MULT`` is 0, so ``max(int(MULT**2 * n), 5)`` is always 5): per batch, for every hyperparameter in space
order, it draws 5 values from the space's ``RandomState`` (``sample_vector`` of the hyperparameter's vector
distribution) and turns the batch's 5 columns into ``Configuration`` objects. 10,000 samples cost 2,000 x
dim small ``RandomState`` calls plus 10,000 objects; SMAC keeps 10 of them.

:class:`VectorSampler` produces the same vectors from one block of raw MT19937 outputs and leaves the
``RandomState`` in the same state, by modelling the draws of the three vector distributions used by
uniform hyperparameters (read from numpy's legacy ``RandomState`` and ConfigSpace's ``distributions.py``):

- ``UniformIntegerDistribution`` / ``UniformIntegerNormalizedDistribution`` (categorical / uniform integer):
  ``randint(0, k, size=5, dtype=int64)``, i.e. per value 32-bit outputs ``u & mask`` rejected while
  ``> k - 1`` (``mask`` = smallest ``2**m - 1 >= k - 1``; no draw at all when ``k == 1``); the vector is the
  integer (``astype(float64)``) or ``true_divide(int, k - 1)``;
- ``UnitUniformContinuousDistribution`` (uniform float): ``uniform(0.0, 1.0, size=5)``, i.e. per value two
  32-bit outputs ``a, b`` and ``((a >> 5) * 67108864.0 + (b >> 6)) / 9007199254740992.0``.

Any other space (conditions, forbiddens, other distributions) is reported unsupported and the caller uses
the library. The RNG is read and advanced through ``RandomState``'s public API: ``randint(0, 2**32,
dtype=uint32)`` returns exactly one raw 32-bit output per value.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_BATCH = 5  # ConfigSpace's batch size when MULT == 0
_U32 = 2**32


def _kinds(space: Any) -> list[tuple[str, int]] | None:
    """Per hyperparameter (space order): ('int', k) / ('norm', k) / ('float', 0); None if unsupported."""
    from ConfigSpace.hyperparameters.distributions import (
        UniformIntegerDistribution,
        UniformIntegerNormalizedDistribution,
        UnitUniformContinuousDistribution,
    )

    if len(space) == 0 or space.forbidden_clauses or space.conditional_hyperparameters:
        return None
    dag = space._dag
    if dag.unconditional_forbiddens or dag.conditional_forbiddens or dag.minimum_conditions:
        return None
    out: list[tuple[str, int]] = []
    for hp in space.values():
        dist = hp._vector_dist
        if type(dist) is UniformIntegerDistribution and 1 <= dist.size < _U32:
            out.append(("int", int(dist.size)))
        elif type(dist) is UniformIntegerNormalizedDistribution and 1 <= dist.size < _U32:
            out.append(("norm", int(dist.size)))
        elif type(dist) is UnitUniformContinuousDistribution and dist.lower_vectorized == 0.0 \
                and dist.upper_vectorized == 1.0:
            out.append(("float", 0))
        else:
            return None
    return out


class VectorSampler:
    """Vectors of ``space.sample_configuration(size)``, drawn from and advancing ``space.random`` identically.

    Use :meth:`supports` first; :meth:`sample` returns an ``(n, dim)`` float64 array whose rows equal
    ``[c.get_array() for c in space.sample_configuration(size)]`` (``n = 1`` for ``size=None``).
    """

    def __init__(self, space: Any) -> None:
        self.space = space
        kinds = _kinds(space)
        self._kinds = kinds
        if kinds is None:
            return
        # Per hyperparameter: (mask, rng) of a 32-bit masked-rejection draw; rng == -1 for floats.
        self._mask = np.zeros(len(kinds), np.uint64)
        self._rng = np.zeros(len(kinds), np.int64)
        for i, (kind, k) in enumerate(kinds):
            if kind == "float":
                self._rng[i] = -1
            else:
                r = k - 1
                self._rng[i] = r
                self._mask[i] = (1 << r.bit_length()) - 1 if r > 0 else 0
        # A batch is a fixed program of steps: ("fixed", n_draws, hps) for runs of hyperparameters that never
        # reject (each hp's draws at a fixed offset in the run), ("reject", rule hp, hps) for runs of consecutive
        # hyperparameters with the same rejection rule (each takes the next 5 accepted draws).
        steps: list[tuple[str, int, tuple[int, ...]]] = []
        self._offset = np.zeros(len(kinds), np.int64)  # offset of a non-rejecting hp's draws in its fixed run
        for i, (kind, _) in enumerate(kinds):
            r, m = int(self._rng[i]), int(self._mask[i])
            if kind == "float" or r == m:
                n = 2 * _BATCH if kind == "float" else (_BATCH if r > 0 else 0)
                if not (steps and steps[-1][0] == "fixed"):
                    steps.append(("fixed", 0, ()))
                _, done, hps = steps[-1]
                self._offset[i] = done
                steps[-1] = ("fixed", done + n, (*hps, i))
            elif steps and steps[-1][0] == "reject" and self._same_rule(steps[-1][1], i):
                steps[-1] = ("reject", steps[-1][1], (*steps[-1][2], i))
            else:
                steps.append(("reject", i, (i,)))
        self._steps = steps
        expected = 0.0
        for i, (kind, _) in enumerate(kinds):
            r, m = int(self._rng[i]), int(self._mask[i])
            expected += 2 * _BATCH if kind == "float" else (_BATCH * (m + 1) / (r + 1) if r > 0 else 0)
        self._expected_per_batch = expected

    def _same_rule(self, i: int, j: int) -> bool:
        return bool(self._rng[i] == self._rng[j] and self._mask[i] == self._mask[j])

    @classmethod
    def supports(cls, space: Any) -> bool:
        """Whether the space's sampling can be replicated (no conditions/forbiddens, uniform hps only)."""
        return _kinds(space) is not None

    def sample(self, size: int | None = None) -> np.ndarray:
        """The vectors ``space.sample_configuration(size)`` would make; advances ``space.random`` alike."""
        if self._kinds is None:
            raise ValueError("this configuration space is not supported; use sample_configuration")
        n = 1 if size is None else int(size)
        dim = len(self._kinds)
        if n < 1:
            return np.empty((0, dim))
        n_batches = -(-n // _BATCH)
        rs: np.random.RandomState = self.space.random
        state = rs.get_state()
        n_raw = int(n_batches * self._expected_per_batch * 1.05) + 256
        while True:
            raw = rs.randint(0, _U32, size=n_raw, dtype=np.uint32).astype(np.uint64)
            plan = self._plan(raw, n_batches)
            if plan is not None:
                break
            n_raw *= 2
            rs.set_state(state)
        used, where = plan
        rs.set_state(state)
        if used:
            rs.randint(0, _U32, size=used, dtype=np.uint32)  # advance by exactly the draws consumed
        return self._values(raw, n_batches, where)[:n]

    # -- internals --------------------------------------------------------------------------------------
    def _plan(self, raw: np.ndarray, n_batches: int) -> tuple[int, dict[int, np.ndarray]] | None:
        """Walk the draw program over ``raw``: (draws used, per hyperparameter the (n_batches, 5) raw
        positions of its values (first of two for floats)), or None if ``raw`` is too short."""
        total = len(raw)
        rules: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # rule hp -> (accepted positions, prefix counts)
        for kind, i, _ in self._steps:
            if kind == "reject" and i not in rules:
                ok = (raw & self._mask[i]) <= np.uint64(self._rng[i])
                rules[i] = np.flatnonzero(ok), np.concatenate(([0], np.cumsum(ok)))

        # Chase the batch starts: scalar steps through the program (fixed runs, runs of 5 * n accepted draws).
        program = [(kind == "fixed", i, *(rules[i] if kind == "reject" else ((), ())), _BATCH * len(hps) - 1)
                   for kind, i, hps in self._steps]
        starts = [0] * n_batches
        p = 0
        for b in range(n_batches):
            starts[b] = p
            for fixed, n, acc, cnt, last in program:
                if fixed:
                    p += n
                else:
                    if p > total:
                        return None
                    k = int(cnt[p]) + last
                    if k >= len(acc):
                        return None
                    p = int(acc[k]) + 1
        if p > total:
            return None
        starts = np.asarray(starts, np.int64)
        # Per step, vectorised over batches: where every hyperparameter's draws are.
        where: dict[int, np.ndarray] = {}
        lane = np.arange(_BATCH)
        pos = starts
        for kind, i, hps in self._steps:
            if kind == "fixed":
                for h in hps:
                    width = 2 if self._kinds[h][0] == "float" else 1
                    where[h] = (pos + self._offset[h])[:, None] + width * lane
                pos = pos + i
            else:
                acc, cnt = rules[i]
                k0 = cnt[pos]
                for t, h in enumerate(hps):
                    where[h] = acc[k0[:, None] + _BATCH * t + lane]
                pos = acc[k0 + _BATCH * len(hps) - 1] + 1
        return p, where

    def _values(self, raw: np.ndarray, n_batches: int, where: dict[int, np.ndarray]) -> np.ndarray:
        dim = len(self._kinds)
        out = np.empty((n_batches, _BATCH, dim))
        for i, (kind, k) in enumerate(self._kinds):
            if kind == "float":
                idx = where[i]
                a = (raw[idx] >> np.uint64(5)).astype(np.float64)
                b = (raw[idx + 1] >> np.uint64(6)).astype(np.float64)
                out[:, :, i] = (a * 67108864.0 + b) / 9007199254740992.0
                continue
            if self._rng[i] == 0:
                ints = np.zeros((n_batches, _BATCH), np.int64)
            else:
                ints = (raw[where[i]] & self._mask[i]).astype(np.int64)
            if kind == "int":
                out[:, :, i] = ints.astype(np.float64)
            else:
                out[:, :, i] = np.true_divide(ints, (k - 1), dtype=np.float64)
        return out.reshape(n_batches * _BATCH, dim)
