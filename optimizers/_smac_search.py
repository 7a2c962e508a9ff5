"""SMAC 2.4.1's acquisition maximiser (``LocalAndSortedRandomSearch``) on vectors, with identical output.

SMAC's default maximiser samples ``challengers`` (10,000) random configurations, sorts them by acquisition
value, starts local searches from the 10 best and from the 10 evaluated configurations with the lowest
predicted cost, and returns only the local searches' end points. The library builds a ``Configuration``
object for every sample and every neighbour and converts them back to arrays for each acquisition call.

Here the same algorithm runs on float64 vectors:

- random search: :class:`~optimizers._smac_sampling.VectorSampler` (same draws as
  ``sample_configuration``), the acquisition function on the same array, the same ``RandomState`` tie-break
  and ``lexsort``; ``Configuration`` objects only for the configurations kept;
- local search: a line-by-line transcription of ``LocalSearch._search`` (smac 2.4.1) on vectors, with
  :func:`one_exchange_neighbours`, a transcription of ConfigSpace 1.2.2's
  ``get_one_exchange_neighbourhood`` that yields ``(index, value)`` instead of ``Configuration`` objects
  and makes the same ``RandomState`` calls (the hyperparameters' own ``_neighborhood`` and ``shuffle``);
  every acquisition call gets the same rows in the same order as the library's;
- on all-categorical spaces (encodings A and B, NAS-Bench-201) the local search runs on arrays instead:
  whole neighbourhoods from the seeded RNG's raw draws (:class:`CategoricalNeighbourhoods`) and all local
  searches stepped at once (:meth:`FastLocalSearch._search_categorical`);
- log-EI with ``scipy.special.ndtr`` for ``norm.cdf`` (:func:`_log_ei`);
- the evaluated configurations' array is cached between calls (rows are appended, never changed).

Unsupported spaces (conditions, forbiddens, non-uniform or ordinal hyperparameters), prior sampling and
acquisition functions that override ``__call__`` fall back to the library's code.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Iterator
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.exceptions import ForbiddenValueError
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)
from ConfigSpace.hyperparameters.distributions import UnitUniformContinuousDistribution
from ConfigSpace.util import check_configuration
from scipy.special import ndtr
from smac.acquisition.function import EI
from smac.acquisition.function.abstract_acquisition_function import AbstractAcquisitionFunction
from smac.acquisition.maximizer.local_and_random_search import LocalAndSortedRandomSearch
from smac.acquisition.maximizer.local_search import LocalSearch
from smac.acquisition.maximizer.random_search import RandomSearch

from optimizers._smac_sampling import VectorSampler

log = logging.getLogger(__name__)

_RANDOM_SORTED = "Acquisition Function Maximizer: Random Search (sorted)"
_RANDOM = "Acquisition Function Maximizer: Random Search"
_LOCAL = "Acquisition Function Maximizer: Local Search"
_VECTOR = operator.attrgetter("_vector")  # what ``Configuration.get_array()`` returns (ConfigSpace 1.2.2)
#: SMAC's ``smac.utils.configspace.get_one_exchange_neighbourhood`` partial fixes these
_NUM_NEIGHBORS = 8


def supported_space(space: ConfigurationSpace) -> bool:
    """Spaces the vector paths replicate exactly: no conditions or forbiddens, uniform categorical, integer
    and float hyperparameters only (those are also the ones :class:`VectorSampler` supports)."""
    if not VectorSampler.supports(space):
        return False
    return all(type(hp) in (CategoricalHyperparameter, UniformIntegerHyperparameter, UniformFloatHyperparameter)
               for hp in space.values())


def acquisition_values(function: AbstractAcquisitionFunction, X: np.ndarray) -> np.ndarray:
    """``function(configs)`` for the configurations whose vectors are the rows of ``X`` (float64, C order).

    ``AbstractAcquisitionFunction.__call__`` only stacks ``config.get_array()`` rows before this.
    """
    if len(X.shape) == 1:
        X = X[np.newaxis, :]
    acq = _log_ei(function, X) if type(function) is EI and function._log else function._compute(X)
    if np.any(np.isnan(acq)):
        idx = np.where(np.isnan(acq))[0]
        acq[idx, :] = -np.finfo(float).max
    return acq


def _log_ei(function: EI, X: np.ndarray) -> np.ndarray:
    """``EI._compute(X)`` with ``log=True`` (smac 2.4.1), with ``scipy.special.ndtr`` for ``norm.cdf``.

    ``norm.cdf(x)`` is ``ndtr((x - 0) / 1)`` for finite ``x`` (exact), 1 at ``inf``, 0 at ``-inf``, NaN at NaN,
    as ``ndtr`` gives them; the distribution machinery around it costs more than the rest of the call. Zero
    predicted standard deviations (the library warns and patches them) go to the library's code.
    """
    assert function._model is not None and function._xi is not None
    if function._eta is None:
        return function._compute(X)
    m, var_ = function._model.predict_marginalized(X)
    std = np.sqrt(var_)
    if np.any(std == 0.0):
        return function._compute(X)
    f_min = function._eta - function._xi
    v = (f_min - m) / std
    log_ei = (np.exp(f_min) * ndtr(v)) - (np.exp(0.5 * var_ + m) * ndtr(v - std))
    if (log_ei < 0).any():
        raise ValueError("Expected Improvement is smaller than 0 for at least one " "sample.")
    return log_ei.reshape((-1, 1))


def _plain_call(function: AbstractAcquisitionFunction | None) -> bool:
    return function is not None and type(function).__call__ is AbstractAcquisitionFunction.__call__


def one_exchange_neighbours(
    space: ConfigurationSpace,
    vector: np.ndarray,
    seed: int,
    num_neighbors: int = 4,
    stdev: float = 0.2,
    pool: list[np.random.RandomState] | None = None,
) -> Iterator[tuple[int, float]]:
    """The neighbours ``get_one_exchange_neighbourhood(config, seed, num_neighbors, stdev)`` yields, as
    ``(hyperparameter index, new vector value)`` in the same order, with the same ``RandomState`` calls.

    Only for :func:`supported_space` spaces: without forbiddens every neighbour is accepted on its first try
    and ``change_hp_value`` only sets the one value. A two-valued categorical's neighbourhood is the other
    value and its two shuffles of one element draw nothing, so no calls are made for it; a uniform float's
    neighbourhood is :func:`_continuous_neighbourhood`. Like the library
    it is lazy and raises ``ValueError`` from a hyperparameter's neighbourhood when that raises one.

    ``RandomState(seed)`` costs ~100 us (the bit generator gathers entropy before the legacy seeding);
    with a ``pool``, a ``RandomState`` is taken from it and re-seeded with ``seed(seed)`` instead (the same
    legacy seeding, the same state) and given back when the generator ends or is discarded.
    """
    arr = vector
    nan_hps = np.isnan(arr)
    # per hyperparameter: [hp, idx, n_left, neighbours, sample_size, max_iter, std, shuffle, generated, regen,
    # binary (a two-valued categorical), continuous (a uniform float's neighbourhood)]
    to_generate: list[list[Any]] = []
    n_randints_to_gen = 0
    for node in space._dag.nodes.values():
        hp, hp_idx = node.hp, node.idx
        if hp.size == 1 or nan_hps[hp_idx]:
            continue
        if isinstance(hp, CategoricalHyperparameter):
            sample_size = hp.size - 1
            n_to_gen, max_iter, std, shuffle, regen = sample_size, sample_size, None, True, False
        elif np.isinf(hp.size):
            sample_size = num_neighbors * 5
            n_to_gen, max_iter = num_neighbors, max(sample_size, 100)
            std = stdev if isinstance(hp, UniformFloatHyperparameter) else None
            shuffle, regen = False, True
        else:
            possible = int(hp.size - 1)
            sample_size = int(min(num_neighbors, possible))
            n_to_gen, max_iter = num_neighbors, sample_size
            std = stdev if isinstance(hp, UniformIntegerHyperparameter) else None
            shuffle, regen = True, possible >= num_neighbors
        n_randints_to_gen += int(n_to_gen * 1.0)  # 1 + sqrt(number of forbiddens on the hp), here 1
        binary = isinstance(hp, CategoricalHyperparameter) and hp.size == 2
        continuous = type(hp._vector_dist) is UnitUniformContinuousDistribution \
            and hp._neighborhood == hp._vector_dist.neighborhood
        to_generate.append(
            [hp, hp_idx, n_to_gen, [], sample_size, max_iter, std, shuffle, False, regen, binary, continuous]
        )
    if pool is None:
        random = np.random.RandomState(seed)
    else:
        random = pool.pop() if pool else np.random.RandomState()
        random.seed(seed)
    try:
        n_hps = len(to_generate)
        integers = random.randint(n_hps, size=n_randints_to_gen).tolist()
        randint_idx = 0
        n_left_to_exhaust = n_hps
        while n_left_to_exhaust > 0:
            if randint_idx >= n_randints_to_gen:
                n_randints_to_gen = len(to_generate) * n_hps * 2
                integers = random.randint(n_hps, size=n_randints_to_gen).tolist()
                randint_idx = 0
            entry = to_generate[integers[randint_idx]]
            randint_idx += 1
            hp, hp_idx, n_left, neighbours, sample_size, max_iter, std, shuffle, generated, regen, binary, \
                continuous = entry
            if n_left == 0:
                continue
            for _ in range(max_iter):
                if len(neighbours) == 0:
                    if generated and not regen:
                        n_left_to_exhaust -= 1
                        entry[2] = 0
                        break
                    if binary:
                        neighbours = [1.0 if int(arr[hp_idx]) == 0 else 0.0]
                    else:
                        if continuous:
                            values = _continuous_neighbourhood(hp._vector_dist, arr[hp_idx], sample_size, std, random)
                        else:
                            values = hp._neighborhood(arr[hp_idx], n=sample_size, seed=random, std=std)
                        if shuffle:
                            random.shuffle(values)
                        neighbours = values.tolist()
                    entry[3] = neighbours
                    entry[8] = generated = True
                value = neighbours.pop()
                entry[2] = n_left - 1
                if n_left == 1:
                    n_left_to_exhaust -= 1
                yield hp_idx, value
                break
            else:
                n_left_to_exhaust -= 1
                entry[2] = 0
    finally:
        if pool is not None:
            pool.append(random)


def _continuous_neighbourhood(
    dist: Any, vector: float, n: int, std: float | None, seed: np.random.RandomState
) -> np.ndarray:
    """``dist.neighborhood(vector, n, std=std, seed=seed)`` of a ``UnitUniformContinuousDistribution``, i.e.
    ConfigSpace 1.2.2's ``continuous_neighborhood`` with its default retries and sample multiplier.

    The same draws in the same order; the schedule of growing standard deviations (``np.linspace``, whose
    first value is ``std`` itself) is only computed when the first draw leaves too few values in bounds.
    """
    from ConfigSpace.hyperparameters import distributions as d

    if std is None:
        std = d.DEFAULT_VECTORIZED_NUMERIC_STD
    lower, upper = dist.lower_vectorized, dist.upper_vectorized
    sample_size = n * d.NEIGHBOR_GENERATOR_SAMPLE_MULTIPLIER
    neighbors = np.empty(n + sample_size, dtype=np.float64)
    offset = 0
    range_size = upper - lower
    stds: Any = (std,)
    attempt = 0
    while attempt < d.NEIGHBOR_GENERATOR_N_RETRIES + 1:
        if attempt == 1:  # the library's full schedule; its first value (already used) is std
            if std == d.DEFAULT_VECTORIZED_NUMERIC_STD:
                stds = d._CACHED_LINSPACE
            else:
                stds = np.linspace(std, 1.0, d.NEIGHBOR_GENERATOR_N_RETRIES + 1, endpoint=True)
        candidates = seed.normal(vector, stds[attempt] * range_size, size=(sample_size,))
        valid = candidates[np.logical_and(candidates >= lower, candidates <= upper)]
        neighbors[offset:offset + len(valid)] = valid
        offset += len(valid)
        if offset >= n:
            return neighbors[:n]
        attempt += 1
    raise ValueError(f"Failed to find enough neighbors with {d.NEIGHBOR_GENERATOR_N_RETRIES} retries "
                     f"around {vector} (std {std}): found {offset} of {n}.")


class _Short(Exception):
    """The block of raw draws ran out (draw a longer one)."""


def _mask(top: int) -> int:
    """The smallest ``2**b - 1 >= top`` (numpy's ``gen_mask``)."""
    return (1 << int(top).bit_length()) - 1 if top > 0 else 0


class CategoricalNeighbourhoods:
    """Whole one-exchange neighbourhoods of an all-categorical space as arrays, in the order
    :func:`one_exchange_neighbours` yields them, from the same draws of the neighbourhood's seeded RNG.

    On such a space every hyperparameter of ``k > 1`` choices yields exactly its ``k - 1`` other values, so a
    neighbourhood is ``sum(k - 1)`` neighbours (31 on encoding A) and each is taken at a pick of its
    hyperparameter whose rank among that hyperparameter's picks is below ``k - 1``. The generator draws, in
    this order: ``randint(m, size=sum(k - 1))``, the first block of picks (``m`` hyperparameters, in the space's
    DAG order); then, for each hyperparameter first picked in that block (in order of first pick), the two
    shuffles of its other values (``NeighborhoodCat``'s and the exchange loop's; none for two choices); while
    some hyperparameter is short of picks, another block of ``2 m**2`` picks and the shuffles of the
    hyperparameters first picked in it. All of these are 32-bit MT19937 outputs used as numpy's legacy
    ``RandomState`` uses them: ``randint(m)`` takes ``u & mask`` and rejects values above ``m - 1``
    (``mask`` the smallest ``2**b - 1 >= m - 1``); ``shuffle`` is Fisher-Yates from the last element down,
    swapping ``x[i]`` with ``x[random_interval(i)]``, the same masked rejection with ``i``. Here one block of
    raw outputs is drawn after ``RandomState.seed(seed)`` and the walk over it is array arithmetic (the
    shuffles, a few draws each, in Python); the neighbours' order is a rank computation over the picks. The
    ``RandomState`` is re-seeded for every neighbourhood, so where its stream is left changes nothing.
    """

    def __init__(self, space: ConfigurationSpace) -> None:
        self.dim = len(space)
        entries = [(node.idx, int(node.hp.size)) for node in space._dag.nodes.values() if node.hp.size > 1]
        self.m = m = len(entries)
        self.hp_idx = np.array([i for i, _ in entries], dtype=np.int64)
        sizes = np.array([k for _, k in entries], dtype=np.int64)
        self.n_first = int((sizes - 1).sum())  # also the neighbourhood's size
        self.size = self.n_first
        self.n_next = 2 * m * m
        self.needed = sizes - 1
        self.pick_top, self.pick_mask = np.uint64(m - 1), np.uint64(_mask(m - 1))
        self.entry = np.repeat(np.arange(m), sizes - 1)  # the yields: entry and rank among its picks
        self.rank = np.concatenate([np.arange(k - 1) for k in sizes.tolist()])
        self.binary = np.flatnonzero(sizes == 2)
        self.shuffled = bool((sizes > 2).any())
        self.others = [[[float(v) for v in range(k) if v != p] for p in range(k)] for k in sizes.tolist()]
        self.interval_mask = [_mask(i) for i in range(int(sizes.max()))]
        # raw outputs per neighbourhood: the first two blocks and the shuffles, at their mean rejection rates
        accept = (m) / (_mask(m - 1) + 1)
        shuffle = sum(2 * sum((_mask(i) + 1) / (i + 1) for i in range(1, k - 1)) for k in sizes.tolist())
        self.n_raw = int(1.1 * ((self.n_first + self.n_next) / accept + shuffle)) + 64
        # visited-value codes: one per (hyperparameter, distinct value as Configuration.__getitem__ returns it)
        hps = list(space.values())
        self.code = np.zeros((m, int(sizes.max())), dtype=np.int64)
        offset = 0
        for e, (i, k) in enumerate(entries):
            canon: dict[Any, int] = {}
            for v in range(k):
                self.code[e, v] = offset + canon.setdefault(hps[i].to_value(np.float64(v)), v)
            offset += k
        self.n_codes = offset

    @staticmethod
    def supports(space: ConfigurationSpace) -> bool:
        """All-categorical :func:`supported_space` spaces with at least two hyperparameters of two or more
        choices (with one, ``randint(1)`` draws nothing)."""
        return supported_space(space) and all(isinstance(hp, CategoricalHyperparameter) for hp in space.values()) \
            and sum(hp.size > 1 for hp in space.values()) >= 2

    def __call__(self, vector: np.ndarray, seed: int, random: np.random.RandomState
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hyperparameter indices, new vector values, visited-value codes) of the neighbourhood of ``vector``
        that ``one_exchange_neighbours(space, vector, seed, ...)`` yields; ``random`` is re-seeded with ``seed``."""
        n_raw = self.n_raw
        while True:
            random.seed(seed)
            try:
                return self._walk(vector, random._bit_generator.random_raw(n_raw))
            except _Short:
                n_raw *= 2

    def _walk(self, vector: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = self.m
        pivots = vector[self.hp_idx].astype(np.int64)
        pop = np.empty(self.code.shape, dtype=np.float64)  # per entry, its values in the order popped
        pop[self.binary, 0] = 1.0 - pivots[self.binary]  # the other of two choices (vectors 0 and 1)
        masked = raw & self.pick_mask
        accepted = np.flatnonzero(masked <= self.pick_top)  # positions of the draws randint(m) keeps
        if len(accepted) < self.n_first:
            raise _Short
        where = accepted[:self.n_first]
        picks = masked[where].astype(np.int64)
        p = int(where[-1]) + 1
        if self.shuffled:  # shuffles in order of first pick (dict keys keep insertion order)
            p = self._shuffle(dict.fromkeys(picks.tolist()), pivots, pop, raw, p)
        counts = np.bincount(picks, minlength=m)
        order = None
        while not (counts >= self.needed).all():
            k = int(np.searchsorted(accepted, p))
            if k + self.n_next > len(accepted):
                raise _Short
            where = accepted[k:k + self.n_next]
            n_before = len(picks)
            picks = np.concatenate((picks, masked[where].astype(np.int64)))
            p = int(where[-1]) + 1
            counts = np.bincount(picks, minlength=m)
            order = np.argsort(picks.astype(np.uint8) if m <= 256 else picks, kind="stable")
            if self.shuffled:
                starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
                new = np.flatnonzero(counts > 0)
                first = order[starts[new]]
                new, first = new[first >= n_before], first[first >= n_before]  # first picked in this block
                p = self._shuffle(new[np.argsort(first)].tolist(), pivots, pop, raw, p)
        if order is None:
            order = np.argsort(picks.astype(np.uint8) if m <= 256 else picks, kind="stable")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        position = order[starts[self.entry] + self.rank]  # where each (entry, rank) is picked
        o = np.argsort(position)
        entry, rank = self.entry[o], self.rank[o]
        values = pop[entry, rank]
        return self.hp_idx[entry], values, self.code[entry, values.astype(np.int64)]

    def _shuffle(self, entries: Any, pivots: np.ndarray, pop: np.ndarray, raw: np.ndarray, p: int) -> int:
        """The two shuffles of each entry's other values (entries of more than two choices), in the given
        order, from the raw outputs at ``p`` on; returns the position after the last one used."""
        n_raw = len(raw)
        masks = self.interval_mask
        for e in entries:
            x = self.others[e][pivots[e]]
            n = len(x)
            if n < 2:
                continue
            x = list(x)
            for _ in range(2):  # NeighborhoodCat's shuffle, then the exchange loop's
                for i in range(n - 1, 0, -1):
                    mask = masks[i]
                    while True:
                        if p >= n_raw:
                            raise _Short
                        j = int(raw[p]) & mask
                        p += 1
                        if j <= i:
                            break
                    x[i], x[j] = x[j], x[i]
            pop[e, :n] = x[::-1]
        return p


class HashedConfiguration(Configuration):
    """A ``Configuration`` that keeps its hash and its string: ConfigSpace hashes ``repr(config)``, rebuilt on every
    call, SMAC's run history hashes each configuration many times per trial, and its intensifier and run history
    take ``get_config_hash`` (a digest of ``str(config)``) of it several times per trial. Same hash value,
    equality, repr and str."""

    _hash: int | None = None
    _str: str | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = super().__hash__()  # hash(self.__repr__()), which is self.__str__()
        return self._hash

    def __str__(self) -> str:
        if self._str is None:
            lines = _categorical_lines(self.config_space) if self._values is None else None
            if lines is None:
                self._str = super().__str__()
            else:  # Configuration.__str__ of the values the vector's choice indices give
                self._str = "\n".join(["Configuration(values={",
                                       *map(list.__getitem__, lines, self._vector.astype(np.int64).tolist()), "})"])
        return self._str

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._hash = None
        self._str = None


_LINES: dict[int, tuple[ConfigurationSpace, list[list[str]] | None]] = {}


def _categorical_lines(space: ConfigurationSpace) -> list[list[str]] | None:
    """Per hyperparameter (index order), the line ``Configuration.__str__`` writes for each choice index:
    ``"  'name': repr(value),"`` with the value ``Configuration.__getitem__`` returns; None unless every
    hyperparameter is categorical and none is conditional (then no vector value is NaN)."""
    cached = _LINES.get(id(space))
    if cached is None or cached[0] is not space:
        lines: list[list[str]] | None = None
        if not space.conditions and all(isinstance(hp, CategoricalHyperparameter) for hp in space.values()):
            lines = [[f"  '{name}': {hp.to_value(np.float64(k))!r}," for k in range(hp.size)]
                     for name, hp in space.items()]
            if list(space.keys()) != sorted(space.keys(), key=space.index_of.get):
                lines = None
        cached = _LINES[id(space)] = (space, lines)
    return cached[1]


class FastRandomSearch(RandomSearch):
    """SMAC's ``RandomSearch`` sampling vectors with :class:`VectorSampler` (same output)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = supported_space(self._configspace)
        self._sampler = VectorSampler(self._configspace) if self._fast else None

    def _maximize(
        self, previous_configs: list[Configuration], n_points: int, _sorted: bool = False
    ) -> list[tuple[float, Configuration]]:
        if not (self._fast and (not _sorted or _plain_call(self._acquisition_function))):
            return super()._maximize(previous_configs, n_points, _sorted)
        if not _sorted:
            X = self._sample(n_points)
            return [(0, HashedConfiguration(self._configspace, vector=x, origin=_RANDOM)) for x in X]
        return self.best(n_points, n_points)

    def _sample(self, n_points: int) -> np.ndarray:
        assert self._sampler is not None
        return self._sampler.sample(n_points if n_points > 1 else None)

    def best(self, n_points: int, k: int) -> list[tuple[float, Configuration]]:
        """The first ``k`` entries of ``_maximize(..., n_points, _sorted=True)``, without building the rest."""
        assert self._acquisition_function is not None
        X = self._sample(n_points)
        acq_values = acquisition_values(self._acquisition_function, X)
        random = self._rng.rand(len(acq_values))
        indices = np.lexsort((random.flatten(), acq_values.flatten()))[::-1][:k]
        return [(acq_values[i][0], HashedConfiguration(self._configspace, vector=X[i], origin=_RANDOM_SORTED))
                for i in indices]


class FastLocalSearch(LocalSearch):
    """SMAC's ``LocalSearch`` on vectors (same output); the library's code for unsupported cases."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = supported_space(self._configspace) and self.n_jobs == 1
        self._rng_pool: list[np.random.RandomState] = []
        self._categorical = CategoricalNeighbourhoods(self._configspace) \
            if self._fast and CategoricalNeighbourhoods.supports(self._configspace) else None
        self._array_cache: tuple[list[np.ndarray], np.ndarray] = ([], np.empty((0, len(self._configspace))))
        space = self._configspace
        # visited-value tracking of SMAC's local search: categorical and small integer hyperparameters,
        # keyed by index; values as ``Configuration.__getitem__`` returns them
        self._tracked: dict[int, Any] = {}
        for i, hp in enumerate(space.values()):
            if isinstance(hp, CategoricalHyperparameter):
                self._tracked[i] = [hp.to_value(np.float64(k)) for k in range(hp.size)]
            elif isinstance(hp, UniformIntegerHyperparameter) and hp.size <= 100:
                self._tracked[i] = hp

    # -- the evaluated configurations as one array -----------------------------------------------------
    def _previous_array(self, previous_configs: list[Configuration]) -> np.ndarray:
        """``convert_configurations_to_array(previous_configs)``; rows are appended to a cached array while
        the list extends the cached one (the same vector objects in the same places)."""
        cached, arr = self._array_cache
        n = len(cached)
        vectors = list(map(_VECTOR, previous_configs))  # c.get_array() is c._vector
        if len(vectors) >= n and all(map(operator.is_, vectors[:n], cached)):
            if len(vectors) > n:
                arr = np.concatenate([arr, np.array(vectors[n:], dtype=np.float64)])
        else:
            arr = np.array(vectors, dtype=np.float64)
        self._array_cache = (vectors, arr)
        return arr

    def _get_init_points_from_previous_configs(
        self,
        previous_configs: list[Configuration],
        n_points: int,
        additional_start_points: list[tuple[float, Configuration]] | None,
    ) -> list[Configuration]:
        # smac 2.4.1 LocalSearch._get_init_points_from_previous_configs with the cached array
        assert self._acquisition_function is not None
        model = self._acquisition_function.model
        if model is not None:
            conf_array = self._previous_array(previous_configs)
            costs = model.predict_marginalized(conf_array)[0]
            assert len(conf_array) == len(costs), (conf_array.shape, costs.shape)
            if len(costs.shape) == 2 and costs.shape[1] > 1:
                weights = np.array([self._rng.rand() for _ in range(costs.shape[1])])
                weights = weights / np.sum(weights)
                costs = costs @ weights
            random = self._rng.rand(len(costs))
            indices = np.lexsort((random.flatten(), costs.flatten()))
            by_cost = [previous_configs[ind] for ind in indices][:n_points]
        else:
            by_cost = []
        extra = [asp[1] for asp in additional_start_points] if additional_start_points is not None else []
        return list(set(itertools.chain(by_cost, extra)))

    # -- the search ------------------------------------------------------------------------------------
    def _search(self, start_points: list[Configuration]) -> list[tuple[float, Configuration]]:
        if not (self._fast and _plain_call(self._acquisition_function)):
            return super()._search(start_points)
        if self._categorical is not None:
            return self._search_categorical(start_points)
        return self._search_vectors(start_points)

    def _value(self, idx: int, vector_value: float) -> Any:
        tracked = self._tracked[idx]
        if isinstance(tracked, list):
            return tracked[int(vector_value)]
        return tracked.to_value(np.float64(vector_value))

    def _search_vectors(self, start_points: list[Configuration]) -> list[tuple[float, Configuration]]:
        """smac 2.4.1 ``LocalSearch._search`` on vectors (statistics kept only for logging are dropped)."""
        acq_function = self._acquisition_function
        assert acq_function is not None
        space = self._configspace
        if isinstance(start_points, Configuration):
            start_points = [start_points]
        if self._stdev_max is None:
            stdev_max = self._stdev_init * np.power(2, self._downscale_interval)
        else:
            stdev_max = self._stdev_max

        n = len(start_points)
        vectors = [c.get_array() for c in start_points]
        objects: list[Configuration | None] = list(start_points)  # None once a candidate moved
        acq_start = acquisition_values(acq_function, np.array(vectors, dtype=np.float64))
        acq_val_candidates = [float(acq_start[0][0])] if n == 1 else [float(a[0]) for a in acq_start]

        active = [True] * n
        n_no_plateau_walk = [0] * n
        obtain_n = [self._vectorization_min_obtain] * n
        improvement_count = [0] * n
        stdev = [self._stdev_init] * n

        def neighbourhood(i: int) -> Iterator[tuple[int, float]]:
            seed = self._rng.randint(low=0, high=100000)
            return one_exchange_neighbours(space, vectors[i], seed, _NUM_NEIGHBORS, stdev[i], self._rng_pool)

        iterators = [neighbourhood(i) for i in range(n)]
        equal_acq: list[list[np.ndarray]] = [[] for _ in range(n)]
        visited: list[dict[int, set[Any]]] = [{idx: set() for idx in self._tracked} for _ in range(n)]

        num_iters = 0
        while any(active):
            if num_iters == self._max_steps:
                break
            num_iters += 1
            improved = [False] * n
            new_neighborhood = [False] * n
            actually_obtained = list(obtain_n)
            blocks: list[np.ndarray] = []
            for i, iterator in enumerate(iterators):
                if not active[i]:
                    continue
                idxs: list[int] = []
                values: list[float] = []
                base = vectors[i]
                seen = visited[i]
                for _ in range(obtain_n[i]):
                    try:
                        idx, value = next(iterator)
                    except ValueError as e:
                        log.debug(e)
                        new_neighborhood[i] = True
                        continue
                    except StopIteration:
                        new_neighborhood[i] = True
                        obtain_n[i] = len(idxs)
                        break
                    if not value != base[idx]:  # the neighbour differs in no hyperparameter
                        continue
                    if idx in seen:
                        v = self._value(idx, value)
                        if v in seen[idx]:
                            continue
                        seen[idx].add(v)
                    idxs.append(idx)
                    values.append(value)
                actually_obtained[i] = len(idxs)
                if idxs:
                    block = np.repeat(base[np.newaxis, :], len(idxs), axis=0)
                    block[np.arange(len(idxs)), idxs] = values
                    blocks.append(block)
            neighbors = np.concatenate(blocks) if blocks else np.empty((0, len(space)))

            if len(neighbors) != 0:
                acq_val = acquisition_values(acq_function, neighbors)[:, 0]
                acq_index = 0
                for i in range(n):
                    if not active[i]:
                        continue
                    for _ in range(actually_obtained[i]):
                        if improved[i]:
                            acq_index += 1
                            continue
                        a = acq_val[acq_index]
                        if a > acq_val_candidates[i]:
                            try:
                                check_configuration(space, neighbors[acq_index], allow_inactive_with_values=False)
                                is_valid = True
                            except (ValueError, ForbiddenValueError) as e:
                                log.debug("Local search %d: %s", i, e)
                                is_valid = False
                            if is_valid:
                                vectors[i], objects[i] = neighbors[acq_index], None
                                acq_val_candidates[i] = float(a)
                                new_neighborhood[i] = True
                                improved[i] = True
                                equal_acq[i] = []
                                obtain_n[i] = 1
                                for s in visited[i].values():
                                    s.clear()
                        elif a == acq_val_candidates[i]:
                            equal_acq[i].append(neighbors[acq_index])
                        acq_index += 1

            for i in range(n):
                if not active[i]:
                    continue
                if obtain_n[i] == 0 or improved[i]:
                    obtain_n[i] = 2
                else:
                    obtain_n[i] = min(obtain_n[i] * 2, self._vectorization_max_obtain)
                if not new_neighborhood[i]:
                    continue
                improvement_count[i] = improvement_count[i] + 1 if improved[i] else 0
                if improvement_count[i] >= self._upscale_thresh and n_no_plateau_walk[i] == 0:
                    stdev[i] = min(stdev[i] * 2, stdev_max)
                    improvement_count[i] = 0
                if not improved[i] and n_no_plateau_walk[i] < self._n_steps_plateau_walk:
                    if len(equal_acq[i]) != 0:
                        vectors[i], objects[i] = equal_acq[i][0], None
                        equal_acq[i] = []
                        for s in visited[i].values():
                            s.clear()
                    n_no_plateau_walk[i] += 1
                    if n_no_plateau_walk[i] % self._downscale_interval == 0:
                        stdev[i] = max(stdev[i] * 0.5, self._stdev_min)
                if n_no_plateau_walk[i] >= self._n_steps_plateau_walk:
                    active[i] = False
                    continue
                iterators[i] = neighbourhood(i)

        out: list[tuple[float, Configuration]] = []
        for a, vec, obj in zip(acq_val_candidates, vectors, objects):
            out.append((a, obj if obj is not None else HashedConfiguration(space, vector=vec.copy())))
        return out


    def _search_categorical(self, start_points: list[Configuration]) -> list[tuple[float, Configuration]]:
        """smac 2.4.1 ``LocalSearch._search`` on an all-categorical space, all local searches at once as arrays.

        Each neighbourhood is generated whole (:class:`CategoricalNeighbourhoods`, seeded from ``self._rng`` at
        the same points, in the same order) and read through a pointer: per step a local search takes the next
        ``obtain_n`` neighbours (fewer, and ``StopIteration``'s bookkeeping, at the neighbourhood's end), drops
        those whose changed value it visited since its last move, and the acquisition function gets the kept
        neighbours of all active searches in one call, in the library's order. A search moves to its first
        neighbour of higher value (``check_configuration`` cannot fail here: legal choice indices, no conditions,
        no forbiddens); otherwise the first neighbour of equal value since its last move is its plateau step. A
        categorical neighbourhood never repeats a value or keeps the current one, and does not depend on the
        neighbourhood radius (``stdev``), which is therefore not tracked.
        """
        acq_function = self._acquisition_function
        assert acq_function is not None and self._categorical is not None
        gen = self._categorical
        space = self._configspace
        if isinstance(start_points, Configuration):
            start_points = [start_points]
        n = len(start_points)
        V = np.array([c.get_array() for c in start_points], dtype=np.float64)
        acq_start = acquisition_values(acq_function, V.copy())
        cur = np.array([float(acq_start[0][0])] if n == 1 else [float(a[0]) for a in acq_start])
        moved = np.zeros(n, dtype=bool)

        size = gen.size
        nb_idx = np.empty((n, size), dtype=np.int64)
        nb_val = np.empty((n, size), dtype=np.float64)
        nb_code = np.empty((n, size), dtype=np.int64)
        ptr = np.zeros(n, dtype=np.int64)
        if not self._rng_pool:
            self._rng_pool.append(np.random.RandomState())
        random = self._rng_pool[0]
        rng = self._rng

        def renew(i: int) -> None:
            seed = rng.randint(low=0, high=100000)
            nb_idx[i], nb_val[i], nb_code[i] = gen(V[i], seed, random)
            ptr[i] = 0

        visited = np.zeros((n, gen.n_codes), dtype=bool)
        for i in range(n):
            renew(i)
        active = np.ones(n, dtype=bool)
        n_no_plateau_walk = np.zeros(n, dtype=np.int64)
        obtain_n = np.full(n, self._vectorization_min_obtain, dtype=np.int64)
        max_obtain = self._vectorization_max_obtain
        plateau_steps = self._n_steps_plateau_walk
        has_equal = np.zeros(n, dtype=bool)
        equal = np.empty_like(V)  # the first neighbour of equal value since the last move

        num_iters = 0
        while active.any():
            if num_iters == self._max_steps:
                break
            num_iters += 1
            act = np.flatnonzero(active)
            rem = size - ptr[act]
            take = obtain_n[act]
            stop = take > rem  # StopIteration before obtain_n neighbours
            count = np.minimum(take, rem)
            cand = np.repeat(act, count)
            slot = ptr[cand] + (np.arange(len(cand)) - np.repeat(np.cumsum(count) - count, count))
            ptr[act] += count
            codes = nb_code[cand, slot]
            keep = ~visited[cand, codes]
            cand, slot, codes = cand[keep], slot[keep], codes[keep]
            visited[cand, codes] = True
            new_neighborhood = np.zeros(n, dtype=bool)
            stopped = act[stop]
            new_neighborhood[stopped] = True
            obtain_n[stopped] = np.bincount(cand, minlength=n)[stopped]
            improved = np.zeros(n, dtype=bool)
            if len(cand):
                X = V[cand]
                X[np.arange(len(cand)), nb_idx[cand, slot]] = nb_val[cand, slot]
                a = acquisition_values(acq_function, X)[:, 0]
                c = cur[cand]
                up = np.flatnonzero(a > c)
                if len(up):
                    who, first = np.unique(cand[up], return_index=True)
                    rows = up[first]
                    V[who], cur[who] = X[rows], a[rows]
                    moved[who] = improved[who] = new_neighborhood[who] = True
                    has_equal[who] = False
                    visited[who] = False
                    obtain_n[who] = 1
                same = np.flatnonzero((a == c) & ~improved[cand] & ~has_equal[cand])
                if len(same):
                    who, first = np.unique(cand[same], return_index=True)
                    equal[who] = X[same[first]]
                    has_equal[who] = True

            o = obtain_n[act]
            obtain_n[act] = np.where((o == 0) | improved[act], 2, np.minimum(o * 2, max_obtain))
            for i in np.flatnonzero(new_neighborhood).tolist():
                if not improved[i] and n_no_plateau_walk[i] < plateau_steps:
                    if has_equal[i]:
                        V[i] = equal[i]
                        moved[i] = True
                        has_equal[i] = False
                        visited[i] = False
                    n_no_plateau_walk[i] += 1
                if n_no_plateau_walk[i] >= plateau_steps:
                    active[i] = False
                    continue
                renew(i)

        return [(float(cur[i]), HashedConfiguration(space, vector=V[i].copy()) if moved[i] else start_points[i])
                for i in range(n)]


class FastLocalAndSortedRandomSearch(LocalAndSortedRandomSearch):
    """SMAC's default acquisition maximiser with :class:`FastRandomSearch` and :class:`FastLocalSearch`;
    the random search builds ``Configuration`` objects only for the local searches' start points."""

    def __init__(
        self,
        configspace: ConfigurationSpace,
        acquisition_function: AbstractAcquisitionFunction | None = None,
        challengers: int = 5000,
        max_steps: int | None = None,
        n_steps_plateau_walk: int = 10,
        local_search_iterations: int = 10,
        seed: int = 0,
        uniform_configspace: ConfigurationSpace | None = None,
        prior_sampling_fraction: float | None = None,
        n_jobs_ls: int = 1,
    ) -> None:
        super().__init__(configspace, acquisition_function, challengers, max_steps, n_steps_plateau_walk,
                         local_search_iterations, seed, uniform_configspace, prior_sampling_fraction, n_jobs_ls)
        if self._uniform_configspace is None:  # fresh components, same arguments: same initial RNG states
            self._random_search = FastRandomSearch(
                configspace=configspace, acquisition_function=acquisition_function, seed=seed
            )
        self._local_search = FastLocalSearch(
            configspace=configspace, acquisition_function=acquisition_function, max_steps=max_steps,
            n_steps_plateau_walk=n_steps_plateau_walk, seed=seed, n_jobs=n_jobs_ls,
        )

    def _maximize(self, previous_configs: list[Configuration], n_points: int) -> list[tuple[float, Configuration]]:
        search = getattr(self, "_random_search", None)
        if not (isinstance(search, FastRandomSearch) and search._fast
                and _plain_call(search._acquisition_function)):
            return super()._maximize(previous_configs, n_points)
        # smac 2.4.1 LocalAndSortedRandomSearch._maximize, keeping only the random configurations it uses
        starts = search.best(n_points, self._local_search_iterations)
        found = self._local_search._maximize(
            previous_configs=previous_configs,
            n_points=self._local_search_iterations,
            additional_start_points=starts,
        )
        found.sort(reverse=True, key=lambda x: x[0])
        return found
