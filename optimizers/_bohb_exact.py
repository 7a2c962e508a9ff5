"""An exact, fast re-implementation of hpbandster 0.7.4's BOHB config generator.

:class:`ExactBOHB` makes the proposals ``hpbandster.optimizers.config_generators.bohb.BOHB`` makes, for the
same ConfigurationSpace, settings, results and random states, and is a drop-in for it under hpbandster's
master (same ``get_config(budget) -> (config, info)`` and ``new_result(job)``). Written from the installed
sources of hpbandster 0.7.4 (``config_generators/bohb.py``), statsmodels 0.15.0 (``KDEMultivariate`` with
``bw='normal_reference'``, ``gpke``, the Aitchison-Aitken and Gaussian kernels), scipy 1.17.1
(``truncnorm.rvs``: one ``uniform`` draw and ``truncnorm._ppf``) and ConfigSpace 1.2.2 (vector <-> value
conversions); the names below point at the code each step reproduces.

What the library does, and what is kept:

* ``new_result``: per budget the results' vectors (``Configuration(cs, config).get_array()``) and losses
  (non-finite -> inf); nothing is stored for a budget below the largest one with a model. With more than
  ``min_points_in_model - 1`` results: ``np.argsort`` of the losses (numpy's default, unstable sort: the same
  call on the same array orders ties the same way), the best ``n_good = max(min_points, top_n% of N)`` rows
  and the next ``n_bad`` rows, a KDE of each (bandwidth ``1.06 * std * n^(-1/(4+d))`` clipped at
  ``min_bandwidth``, the same numpy calls on arrays of the same shape and layout), stored for that budget.
* ``get_config``: random (ConfigSpace's own ``sample_configuration``, called as the library calls it) while
  no model exists or when ``np.random.rand() < random_fraction``; otherwise ``num_samples`` candidates from
  the good KDE of the largest budget with a model: a datum ``np.random.randint(0, n)``, then per dimension
  in ConfigSpace order either a truncated normal around it (continuous: one uniform double, scipy's
  ``truncnorm._ppf``) or ``rand() < 1 - bw`` keeping the datum's category, else ``randint(levels)``;
  each candidate's ``max(1e-32, g(x)) / max(l(x), 1e-32)`` (good ``l``, bad ``g``) is minimised; a
  non-finite value with a finite ``l(x)`` is taken at once (the remaining candidates are never drawn).
  Everything drawn from numpy's global RandomState, in the library's order (``rand`` and ``uniform`` are
  the same double of its MT19937; ``randint`` is reproduced from its raw 32-bit draws, numpy's masked
  rejection).

What is replaced: statsmodels evaluates a KDE with a Python call per dimension and an ``np.unique`` per
categorical column on every call, and ConfigSpace builds several ``Configuration`` objects per proposal.
Here each KDE is fitted once per refit with its constants precomputed, and a candidate's densities come
from one of two evaluators:

* the exact one (:meth:`Kde.pdf`): the library's arithmetic on arrays of the same values in the same order
  (kernel values elementwise, the product over dimensions left to right as numpy's ``prod`` does it, the
  sum over rows as numpy's pairwise ``sum`` of a contiguous row), bit for bit; used for small KDEs and
  whenever the other cannot decide;
* the bounded one (:meth:`Kde.bounds`) for large KDEs: a row's log density from one matrix product,
  exponentiated and summed, with a proven bound on its distance from the library's value (both computations'
  rounding errors; see :meth:`Kde.bounds`). Only the *decision* has to agree with the library: which
  candidate is the minimum (first of equals) and which values are non-finite. Non-finite densities are
  decided exactly from the kernel structure (a categorical column with one level in the data gives an
  infinite kernel where the candidate differs; see :meth:`Kde.status`); finite ones are compared by their
  intervals, and if two intervals overlap (a near tie) the get_config is decided again with the exact
  evaluator. With ``verify=True`` every decision is also made exactly and compared (tests).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: The releases whose code this module reproduces (tests check the installed ones).
VERSIONS = {"hpbandster": "0.7.4", "statsmodels": "0.15.0", "scipy": "1.17.1", "ConfigSpace": "1.2.2"}
#: KDEs with fewer rows are always evaluated exactly (cheap there); tests lower it to exercise the bounds.
BOUNDED_MIN_ROWS = 128
_U = 2.0**-53  # unit roundoff of float64
_TINY = 1e-32  # hpbandster's floor in minimize_me
_LOG_SAFE = 600.0  # |log| of any partial kernel product stays below this in the bounded regime
_C0 = 1.0 / np.sqrt(2 * np.pi)  # statsmodels' gaussian kernel constant, computed as it computes it
# densities' exact status
FINITE, POS_INF, NEG_INF, NAN = 0, 1, 2, 3


_BLAS: Any = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the bounded evaluator's thin matrix products on one BLAS thread (threadpoolctl, if installed).

    OpenBLAS spreads an (n x w) @ (w x 4) product over every core and spins waiting for them; a run of the suite
    is one process among many, so that only burns CPU. The results do not depend on it (the bounds hold for any
    summation order).
    """
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _BLAS = False
    if _BLAS is False:
        yield
        return
    with _BLAS.limit(limits=1, user_api="blas"):
        yield


# -- ConfigSpace <-> vectors, as hpbandster's generator converts them ---------------------------------------
class Space:
    """The ConfigurationSpace as hpbandster's BOHB sees it: hyperparameters in ConfigSpace's order, KDE var types
    (``u`` for categoricals, ``c`` for the rest) and the vector <-> value conversions of ConfigSpace 1.2.2.

    Supported: categorical, uniform integer and uniform float hyperparameters (no log scale), no conditions, no
    forbidden clauses (what the suite's encodings produce); anything else raises ``ValueError``.
    """

    def __init__(self, configspace: Any) -> None:
        from ConfigSpace import CategoricalHyperparameter, UniformFloatHyperparameter, UniformIntegerHyperparameter

        self.configspace = configspace
        if configspace.conditions or configspace.forbidden_clauses:
            raise ValueError("ExactBOHB supports spaces without conditions or forbidden clauses")
        hps = list(configspace.values())
        self.names = [h.name for h in hps]
        self.kinds: list[str] = []
        self.choices: list[tuple[Any, ...]] = []
        self.lower = np.zeros(len(hps))
        self.upper = np.ones(len(hps))
        vartypes = []
        for i, h in enumerate(hps):
            if hasattr(h, "sequence"):
                raise ValueError(f"{h.name}: hpbandster's BOHB does not support ordinal hyperparameters")
            if isinstance(h, CategoricalHyperparameter):
                self.kinds.append("cat")
                self.choices.append(tuple(h.choices))
                vartypes.append(len(h.choices))
            elif type(h) in (UniformIntegerHyperparameter, UniformFloatHyperparameter) and not h.log:
                self.kinds.append("int" if isinstance(h, UniformIntegerHyperparameter) else "float")
                self.choices.append(())
                self.lower[i], self.upper[i] = np.float64(h.lower), np.float64(h.upper)
                vartypes.append(0)
            else:
                raise ValueError(f"{h.name}: unsupported hyperparameter {type(h).__name__}"
                                 + (" on a log scale" if getattr(h, "log", False) else ""))
        self.dim = len(hps)
        self.vartypes = np.array(vartypes, dtype=int)  # hpbandster's self.vartypes
        self.kde_vartypes = "".join("u" if t else "c" for t in vartypes)
        self.cat = np.flatnonzero(self.vartypes > 0)
        self.cont = np.flatnonzero(self.vartypes == 0)
        self.is_cont = np.array([c == "c" for c in self.kde_vartypes])  # statsmodels' iscontinuous
        self.floats = np.array([k == "float" for k in self.kinds])
        self.ints = np.array([k == "int" for k in self.kinds])
        self.size = self.upper - self.lower  # UnitScaler._size
        self.unit = [bool(self.lower[i] == 0 and self.upper[i] == 1) for i in range(self.dim)]  # normalize's shortcut
        self.offsets = np.concatenate([[0], np.cumsum(self.vartypes[self.cat])])[:-1].astype(np.int64)
        self.n_onehot = int(self.vartypes[self.cat].sum())

    def model_pick(self, vector: Sequence[Any]) -> tuple[dict[str, Any], np.ndarray]:
        """hpbandster's conversion of a chosen candidate: ``Configuration(cs, vector=v).get_dictionary()``, twice
        ``deactivate_inactive_hyperparameters`` and ``get_dictionary``, and the vector ``new_result`` will store
        (``Configuration(cs, config).get_array()``): (the config dict, that vector)."""
        v = np.asarray(vector, dtype=np.float64)
        values: dict[str, Any] = {}
        out = np.empty(self.dim)
        # UnitScaler.to_value: unit * (upper - lower) + lower; integers .round().astype(int64), floats clipped
        scaled = v * self.size + self.lower
        ints = scaled.round()
        # float(np.round(value, 13)) in get_dictionary, in deactivate_inactive_hyperparameters (twice: the dict
        # returned is the third) and in new_result's Configuration (the vector stored is of the fourth)
        floats = np.clip(scaled, self.lower, self.upper)
        for _ in range(3):
            floats = np.round(floats, 13)
        stored = np.round(floats, 13)
        for i, name in enumerate(self.names):
            kind = self.kinds[i]
            if kind == "cat":
                idx = int(np.rint(v[i]))
                values[name] = self.choices[i][idx]
                out[i] = idx
            elif kind == "int":
                k = int(np.int64(ints[i]))
                values[name] = k
                out[i] = float(k) if self.unit[i] else (k - self.lower[i]) / (self.upper[i] - self.lower[i])
            else:
                values[name] = float(floats[i])
                x = stored[i]
                out[i] = x if self.unit[i] else (x - self.lower[i]) / (self.upper[i] - self.lower[i])
        return values, out

    def array_of(self, config: Any) -> np.ndarray:
        """``ConfigSpace.Configuration(cs, config).get_array()`` (a proposal's vector if it carries one)."""
        arr = getattr(config, "array", None)
        if arr is not None:
            return arr
        from ConfigSpace import Configuration

        return np.array(Configuration(self.configspace, config).get_array(), dtype=np.float64)

    def random_config(self) -> dict[str, Any]:
        """The library's random pick: ``cs.sample_configuration()``, then ``deactivate_inactive_hyperparameters``
        on its dictionary and ``get_dictionary`` (ConfigSpace's own code and random state)."""
        from ConfigSpace.util import deactivate_inactive_hyperparameters

        sample = self.configspace.sample_configuration()
        return dict(deactivate_inactive_hyperparameters(configuration_space=self.configspace,
                                                        configuration=dict(sample)))


class Proposal(dict):
    """A proposed configuration (a plain dict to hpbandster) carrying the vector ``new_result`` stores for it."""

    array: np.ndarray


# -- numpy's global RandomState, draw for draw -----------------------------------------------------------------
def _mask(rng: int) -> int:
    """numpy's ``gen_mask``: the smallest 2**k - 1 >= rng."""
    mask = rng
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> shift
    return mask


class GlobalDraws:
    """``np.random.rand()`` and ``np.random.randint(0, high)`` of numpy's global RandomState.

    ``randint`` is reproduced from the bit generator's raw 32-bit outputs as the legacy RandomState draws it
    (``random_bounded_uint64_fill`` with masked rejection; a range of one value draws nothing), so both advance
    the one MT19937 stream exactly as the library's calls do.
    """

    def __init__(self) -> None:
        self.rand = np.random.rand
        self.raw = np.random.get_bit_generator().random_raw
        self._masks: dict[int, int] = {}

    def randint(self, high: int) -> int:
        rng = high - 1
        if rng <= 0:
            if rng < 0:
                raise ValueError("high <= 0")
            return 0
        mask = self._masks.get(rng)
        if mask is None:
            if rng > 0xFFFFFFFE:
                raise ValueError("range too large")
            mask = self._masks[rng] = _mask(rng)
        raw = self.raw
        while True:
            v = raw() & mask
            if v <= rng:
                return v


# -- statsmodels' KDEMultivariate(bw='normal_reference') with hpbandster's bandwidth clip -------------------------
class Kde:
    """One KDE of the generator: data, clipped bandwidths, and two evaluators of its density (module docstring).

    ``features``/``squares``/``rows`` give the bounded evaluator the one-hot rows of the budget's results (built
    once per result), gathered only if it is used.
    """

    def __init__(self, data: np.ndarray, space: Space, min_bandwidth: float, features: np.ndarray | None = None,
                 rows: np.ndarray | None = None) -> None:
        n, d = data.shape
        self.data = data  # (n, d), C-contiguous, in hpbandster's row order
        self.n = n
        self.space = space
        # KDEMultivariate._normal_reference, then hpbandster's np.clip
        bw = 1.06 * np.std(data, axis=0) * n ** (-1.0 / (4 + d))
        self.bw = np.clip(bw, min_bandwidth, None)
        cat, cont = space.cat, space.cont
        # aitchison_aitken: num_levels = np.unique(column).size; match 1 - h, else h / (num_levels - 1)
        self.levels = np.zeros(d, dtype=np.int64)
        if len(cat):
            codes = data[:, cat].astype(np.int64) + space.offsets
            present = (np.bincount(codes.ravel(), minlength=space.n_onehot) > 0).astype(np.int64)
            self.levels[cat] = np.add.reduceat(present, space.offsets)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.a = 1 - self.bw
            self.b = self.bw / (self.levels - 1)
        # gaussian: (1/sqrt(2 pi)) * exp(-((Xi - x) ** 2) / (h**2 * 2.0)); the scalar h**2 as statsmodels does it
        self.D = np.array([self.bw[j] ** 2 * 2.0 for j in cont])
        self.C = np.prod(self.bw[space.is_cont])  # gpke's np.prod(bw[iscontinuous])
        # sampling (hpbandster's get_config): bw = max(bw, min_bandwidth); continuous: bw_factor * bw
        self.plan: list[tuple[int, float, int]] | None = None  # ExactBOHB._plan, on first use
        self._features = features
        self._rows = rows
        self._bounded: tuple[Any, ...] | None = None
        # single-level categorical columns: the kernel is infinite wherever a candidate differs from their value
        single = cat[self.levels[cat] == 1] if len(cat) else cat
        self.single = single
        self.single_values = data[0, single] if len(single) else np.empty(0)
        self.negative = cat[self.a[cat] < 0] if len(cat) else cat  # columns with h > 1: a match is a negative factor
        self.safe = self._is_safe()

    def _is_safe(self) -> bool:
        """The regime the bounded evaluator and the structural status need: no zero, subnormal or overflowing
        kernel value or partial product (every one is between exp(-600) and exp(600) in magnitude)."""
        cat, cont = self.space.cat, self.space.cont
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = np.abs(self.a[cat]), self.b[cat]
            if not (np.all(np.isfinite(a)) and np.all(a > 0)):
                return False
            multi = self.levels[cat] > 1
            if not (np.all(np.isfinite(b[multi])) and np.all(b[multi] > 0)):
                return False
            total = float(np.sum(np.maximum(np.abs(np.log(a)), np.where(multi, np.abs(np.log(b)), 0.0))))
        if len(cont):
            if not (np.all(np.isfinite(self.D)) and np.all(self.D > 0)) or not (0 < self.C < np.inf):
                return False
            total += float(len(cont) * abs(math.log(_C0)) + np.sum(1.5**2 / self.D)) + abs(math.log(self.C))
            cd = self.data[:, cont]
            if not (np.all(cd >= 0) and np.all(cd <= 1)):
                return False
        return total + math.log(self.n) < _LOG_SAFE

    # -- exact evaluator ---------------------------------------------------------------------------------------
    def pdf(self, X: np.ndarray) -> np.ndarray:
        """``KDEMultivariate.pdf`` at each row of ``X`` (k, d), bit for bit: (k,) float64."""
        space = self.space
        k = len(X)
        n, d = self.data.shape
        K = np.empty((k, n, d))
        cat, cont = space.cat, space.cont
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            if len(cat):
                match = self.data[None, :, cat] == X[:, None, cat]
                K[:, :, cat] = np.where(match, self.a[cat], self.b[cat])
            if len(cont):
                z = self.data[None, :, cont] - X[:, None, cont]
                K[:, :, cont] = _C0 * np.exp(-(z**2) / self.D)
            dens = K.prod(axis=2) / self.C
            return dens.sum(axis=1) / n

    # -- exact status of the density ----------------------------------------------------------------------------
    def status(self, x: np.ndarray) -> int:
        """FINITE, POS_INF, NEG_INF or NAN: what :meth:`pdf` gives at ``x`` (safe regime only).

        A single-level column the candidate differs from gives every row an infinite kernel (h / 0), so each row's
        product is +-inf with the sign of its finite factors (negative exactly where the row matches a column
        with h > 1); a sum of infinities of one sign is that infinity, of both signs nan. Otherwise every kernel
        and product is finite and nonzero (safe regime).
        """
        if not len(self.single) or np.all(x[self.single] == self.single_values):
            return FINITE
        if not len(self.negative):
            return POS_INF
        flips = np.count_nonzero(self.data[:, self.negative] == x[self.negative], axis=1) % 2
        if np.all(flips == 0):
            return POS_INF
        if np.all(flips == 1):
            return NEG_INF
        return NAN

    # -- bounded evaluator --------------------------------------------------------------------------------------
    def _prepare(self) -> tuple[Any, ...]:
        if self._bounded is None:
            space = self.space
            cat, cont = space.cat, space.cont
            if self._features is None:
                feats = features_of(self.data, space)
            else:
                feats = self._features[self._rows]
            oh = feats[:, : space.n_onehot]
            xc = feats[:, space.n_onehot: space.n_onehot + len(cont)]
            sq = feats[:, space.n_onehot + len(cont):]
            F = np.ascontiguousarray(np.concatenate([oh, xc], axis=1))
            inv_d = 1.0 / self.D
            Q = sq @ inv_d if len(cont) else np.zeros(self.n)
            with np.errstate(divide="ignore"):
                multi = self.levels[cat] > 1
                base_j = np.where(multi, np.log(np.where(multi, self.b[cat], 1.0)), 0.0)
                delta_j = np.log(np.abs(self.a[cat])) - base_j
            const = float(np.sum(base_j) + len(cont) * math.log(_C0) - math.log(self.C))
            mag = float(np.sum(np.abs(base_j) + np.abs(delta_j)) + len(cont) * abs(math.log(_C0))
                        + abs(math.log(self.C)))
            width = F.shape[1]
            rho_lib = _U * (4.1 * float(np.sum(inv_d)) + 12 * space.dim + 8)
            self._bounded = (F, Q, inv_d, delta_j, const, mag, width, rho_lib)
        return self._bounded

    def bounds(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(estimate, radius): the library's :meth:`pdf` at each row of ``X`` lies within ``radius`` of ``estimate``
        (rows with FINITE status, safe regime, continuous values in [0, 1]).

        Row i's log density is ``const + F_i . w(x) - Q_i`` (one-hot categorical columns weighted by
        ``log|1-h| - log(h/(L-1))``, continuous columns by ``2 x / D`` with ``Q_i = sum X^2 / D``), its sign the
        parity of its matches on columns with h > 1. Both this and the library's computation are within a small
        relative distance of the same real value per row: the library's product of d kernel values (each exact
        for categoricals; a Gaussian's exponent has relative error <= 4u, exp and the constant add <= 10u) has
        relative error <= u (12 d + 4.1 sum 1/D); ours has absolute error <= (width + 16) u M in the log, M
        bounding the magnitudes added (``mag`` plus the continuous terms), plus 8u for exp. Summing n terms in
        any order adds <= n u times the sum of their magnitudes, which we also compute. The radius is twice the
        sum of these bounds (times the magnitude sum), plus 4u of the estimate, times 8 for margin.
        """
        F, Q, inv_d, delta_j, const, mag, width, rho_lib = self._prepare()
        space = self.space
        cat, cont = space.cat, space.cont
        k = len(X)
        W = np.zeros((F.shape[1], k))
        cols = np.arange(k)
        if len(cat):
            idx = space.offsets[None, :] + X[:, cat].astype(np.int64)  # (k, dcat)
            W[idx, cols[:, None]] = delta_j[None, :]
        base = np.full(k, const)
        cont_mag = np.zeros(k)
        if len(cont):
            xc = X[:, cont]
            W[space.n_onehot:, :] = (2.0 * xc * inv_d).T
            base -= (xc**2) @ inv_d
            cont_mag = (2.0 + 2.0 * np.abs(xc) + xc**2) @ inv_d
        logs = F @ W + (base[None, :] - Q[:, None])  # (n, k)
        terms = np.exp(logs)
        if len(self.negative):
            Ws = np.zeros((F.shape[1], k))
            neg_pos = np.searchsorted(cat, self.negative)
            nidx = space.offsets[neg_pos][None, :] + X[:, self.negative].astype(np.int64)
            Ws[nidx, cols[:, None]] = 1.0
            parity = np.rint(F @ Ws).astype(np.int64) % 2
            signed = np.where(parity == 1, -terms, terms)
        else:
            signed = terms
        n = self.n
        est = signed.sum(axis=0) / n
        absum = terms.sum(axis=0) / n
        rho_ours = 2 * (width + 16) * _U * (mag + cont_mag) + 16 * _U
        radius = 8 * (2 * (rho_lib + rho_ours + 2 * (n + 2) * _U) * absum * (1 + 1e-3) + 4 * _U * np.abs(est))
        return est, radius


def features_of(vectors: np.ndarray, space: Space) -> np.ndarray:
    """Per row: one-hot of the categorical columns, the continuous values, their squares (the bounded evaluator's
    inputs; built once per result)."""
    vectors = np.atleast_2d(vectors)
    n = len(vectors)
    oh = np.zeros((n, space.n_onehot))
    if len(space.cat):
        codes = vectors[:, space.cat].astype(np.int64) + space.offsets
        oh[np.arange(n)[:, None], codes] = 1.0
    xc = vectors[:, space.cont]
    return np.concatenate([oh, xc, xc**2], axis=1)


# -- the config generator ------------------------------------------------------------------------------------
class _Budget:
    """The results of one budget: vectors and losses in arrival order (hpbandster's configs/losses lists)."""

    def __init__(self, dim: int, width: int) -> None:
        self.vectors = np.empty((64, dim))
        self.features = np.empty((64, width))
        self.losses = np.empty(64)
        self.n = 0

    def append(self, vector: np.ndarray, features: np.ndarray, loss: float) -> None:
        if self.n == len(self.losses):
            cap = 2 * self.n
            self.vectors = np.concatenate([self.vectors, np.empty_like(self.vectors)])[:cap]
            self.features = np.concatenate([self.features, np.empty_like(self.features)])[:cap]
            self.losses = np.concatenate([self.losses, np.empty_like(self.losses)])[:cap]
        self.vectors[self.n] = vector
        self.features[self.n] = features
        self.losses[self.n] = loss
        self.n += 1


class ExactBOHB:
    """hpbandster 0.7.4's BOHB config generator, exactly (same arguments; see the module docstring).

    ``verify=True`` decides every model-based proposal a second time with the exact evaluator only and raises
    ``AssertionError`` if the two differ (for tests).
    """

    def __init__(self, configspace: Any, min_points_in_model: int | None = None, top_n_percent: int = 15,
                 num_samples: int = 64, random_fraction: float = 1 / 3, bandwidth_factor: float = 3,
                 min_bandwidth: float = 1e-3, verify: bool = False, **kwargs: Any) -> None:
        self.space = Space(configspace)
        self.configspace = configspace
        self.top_n_percent = top_n_percent
        self.bw_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        d = self.space.dim
        if min_points_in_model is None:
            min_points_in_model = d + 1
        if min_points_in_model < d + 1:
            log.warning("Invalid min_points_in_model value. Setting it to %i", d + 1)
            min_points_in_model = d + 1
        self.min_points_in_model = min_points_in_model
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.verify = verify
        self.budgets: dict[float, _Budget] = {}
        #: budget -> the number of its first results its current model is fitted on (hpbandster refits on every
        #: result; the fit has no random draws, so it is done here when get_config first needs it)
        self.model_sizes: dict[float, int] = {}
        self._fitted: dict[float, tuple[int, Kde, Kde]] = {}
        #: how proposals were decided: random; model-based: exact (small KDEs), bounded, fallback (a near tie decided
        #: exactly), sequential (outside the bounded regime: the library's loop, exactly, candidate by candidate)
        self.stats = {"random": 0, "model": 0, "exact": 0, "bounded": 0, "fallback": 0, "sequential": 0}
        self._width = self.space.n_onehot + 2 * len(self.space.cont)

    def largest_budget_with_model(self) -> float:
        return max(self.model_sizes) if self.model_sizes else -float("inf")

    def model(self, budget: float) -> tuple[Kde, Kde]:
        """(good, bad): the KDEs hpbandster holds for ``budget`` (fitted on its first ``model_sizes[budget]``
        results)."""
        N = self.model_sizes[budget]
        cached = self._fitted.get(budget)
        if cached is not None and cached[0] == N:
            return cached[1], cached[2]
        store = self.budgets[budget]
        n_good = max(self.min_points_in_model, (self.top_n_percent * N) // 100)
        n_bad = max(self.min_points_in_model, ((100 - self.top_n_percent) * N) // 100)
        idx = np.argsort(store.losses[:N])
        rows_good, rows_bad = idx[:n_good], idx[n_good: n_good + n_bad]
        good = Kde(store.vectors[rows_good], self.space, self.min_bandwidth, store.features, rows_good)
        bad = Kde(store.vectors[rows_bad], self.space, self.min_bandwidth, store.features, rows_bad)
        self._fitted[budget] = (N, good, bad)
        return good, bad

    # -- get_config ---------------------------------------------------------------------------------------------
    def get_config(self, budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        """The next configuration, as ``BOHB.get_config(budget)``: (config dict, info dict)."""
        draws = GlobalDraws()
        if len(self.model_sizes) == 0 or draws.rand() < self.random_fraction:
            self.stats["random"] += 1
            return self.space.random_config(), {"model_based_pick": False}
        good, bad = self.model(max(self.model_sizes))
        vectors = self._candidates(good, bad, draws)
        if vectors is None:  # every candidate non-finite with an infinite l(x): two random samples (see below)
            self.stats["random"] += 1
            # the library's sample is then a dict, whose .get_dictionary() fails in get_config's last try block,
            # which samples again
            self.space.configspace.sample_configuration()
            return dict(self.space.configspace.sample_configuration()), {"model_based_pick": False}
        self.stats["model"] += 1
        config, array = self.space.model_pick(vectors)
        proposal = Proposal(config)
        proposal.array = array
        return proposal, {"model_based_pick": True}

    def _draw(self, good: Kde, draws: GlobalDraws) -> tuple[list[Any], list[tuple[int, float, float, float]]]:
        """One candidate from ``good`` as hpbandster draws it; continuous entries come back as (position, uniform,
        datum value, bandwidth) for one batched ``truncnorm._ppf`` later."""
        rand, raw = draws.rand, draws.raw
        datum = good.data[draws.randint(good.n)].tolist()
        vector: list[Any] = []
        pending: list[tuple[int, float, float, float]] = []
        if good.plan is None:
            good.plan = self._plan(good)
        for j, (m, (t, keep, mask)) in enumerate(zip(datum, good.plan)):
            if t == 0:  # keep is bw_factor * max(bw, min_bandwidth) here
                pending.append((j, rand(), m, keep))
                vector.append(None)
            elif rand() < keep:
                vector.append(int(m))
            elif t == 1:  # np.random.randint(1) draws nothing
                vector.append(0)
            else:  # np.random.randint(t), inlined (GlobalDraws.randint)
                while True:
                    v = raw() & mask
                    if v < t:
                        break
                vector.append(v)
        return vector, pending

    def _plan(self, good: Kde) -> list[tuple[int, float, int]]:
        """Per dimension (levels, threshold or continuous scale, randint mask) for :meth:`_draw`."""
        plan = []
        for j, t in enumerate(self.space.vartypes.tolist()):
            h = max(good.bw[j], self.min_bandwidth)  # hpbandster: bw = max(bw, self.min_bandwidth)
            if t == 0:
                plan.append((0, self.bw_factor * h, 0))
            else:
                if t - 1 > 0xFFFFFFFE:
                    raise ValueError("too many categories")
                plan.append((t, float(1 - h), _mask(t - 1)))
        return plan

    def _candidates(self, good: Kde, bad: Kde, draws: GlobalDraws) -> list[Any] | None:
        """The chosen candidate's vector (hpbandster's ``best_vector``), or None if there is none."""
        safe = good.safe and bad.safe
        drawn: list[list[Any]] = []
        pendings: list[tuple[int, int, float, float, float]] = []
        statuses: list[tuple[int, int]] = []
        best, best_i = np.inf, None
        for i in range(self.num_samples):
            vector, pending = self._draw(good, draws)
            drawn.append(vector)
            pendings.extend((i, *p) for p in pending)
            if safe:
                x = np.array([0.0 if v is None else v for v in vector])
                st = (bad.status(x), good.status(x))
                statuses.append(st)
                kind = _kind(*st)
                if kind == "pick":
                    break
            else:  # the library's loop, exactly, candidate by candidate
                self._resolve(drawn, pendings)
                pendings = []
                x = np.asarray(drawn[i], dtype=np.float64)[None, :]
                g, l = bad.pdf(x)[0], good.pdf(x)[0]
                val = _minimize_me(g, l)
                if not np.isfinite(val) and np.isfinite(l):
                    self.stats["sequential"] += 1
                    return drawn[i]
                if val < best:
                    best, best_i = val, i
        if not safe:
            self.stats["sequential"] += 1
            return None if best_i is None else drawn[best_i]
        self._resolve(drawn, pendings)
        X = np.array(drawn, dtype=np.float64)
        choice = self._decide(good, bad, X, statuses)
        if self.verify:
            exact = _library_choice(bad.pdf(X), good.pdf(X))
            assert exact == choice, f"bounded decision {choice} != exact decision {exact}"
        return None if choice is None else drawn[choice]

    def _resolve(self, drawn: list[list[Any]], pendings: list[tuple[int, int, float, float, float]]) -> None:
        """Fill in the continuous entries: ``truncnorm.rvs(-m/bw, (1-m)/bw, loc=m, scale=bw)`` is
        ``truncnorm._ppf(U, a, b) * bw + m`` for its uniform draw U (one batched call)."""
        if not pendings:
            return
        from scipy.stats import truncnorm

        arr = np.array([p[2:] for p in pendings], dtype=np.float64)
        u, m, bw = arr[:, 0], arr[:, 1], arr[:, 2]
        with np.errstate(all="ignore"):
            values = truncnorm._ppf(u, -m / bw, (1 - m) / bw) * bw + m
        for (i, j, *_), value in zip(pendings, values):
            drawn[i][j] = value

    def _decide(self, good: Kde, bad: Kde, X: np.ndarray, statuses: list[tuple[int, int]]) -> int | None:
        """hpbandster's choice among the candidates ``X``: the first with a non-finite value and a finite l(x), else
        the first minimum of the finite values, else None. Exact for small KDEs; bounded otherwise, falling back
        to exact when two values' intervals overlap."""
        use_bounds = (min(good.n, bad.n) >= BOUNDED_MIN_ROWS
                      and all(0 <= v <= 1 for v in X[:, self.space.cont].ravel()))
        if not use_bounds:
            self.stats["exact"] += 1
            return _library_choice(bad.pdf(X), good.pdf(X))
        finite_rows = [i for i, st in enumerate(statuses) if st[0] == FINITE or st[1] == FINITE]
        g_est = np.zeros(len(X))
        g_rad = np.zeros(len(X))
        l_est = np.zeros(len(X))
        l_rad = np.zeros(len(X))
        rows_g = [i for i in finite_rows if statuses[i][0] == FINITE]
        rows_l = [i for i in finite_rows if statuses[i][1] == FINITE]
        if rows_g:
            g_est[rows_g], g_rad[rows_g] = bad.bounds(X[rows_g])
        if rows_l:
            l_est[rows_l], l_rad[rows_l] = good.bounds(X[rows_l])
        best: tuple[float, float] | None = None
        best_i = None
        for i, (sg, sl) in enumerate(statuses):
            kind = _kind(sg, sl)
            if kind == "pick":
                self.stats["bounded"] += 1
                return i
            if kind == "skip":
                continue
            val = _val_interval(sg, g_est[i], g_rad[i], sl, l_est[i], l_rad[i])
            if val is None:
                return self._fallback(good, bad, X)
            if best is None:
                best, best_i = val, i
                continue
            assert best_i is not None
            if np.array_equal(X[i], X[best_i]):
                continue  # the same vector: the same value, not smaller
            if val[1] < best[0]:
                best, best_i = val, i
            elif val[0] < best[1]:  # overlapping intervals: a near tie
                return self._fallback(good, bad, X)
        self.stats["bounded"] += 1
        return best_i

    def _fallback(self, good: Kde, bad: Kde, X: np.ndarray) -> int | None:
        self.stats["fallback"] += 1
        return _library_choice(bad.pdf(X), good.pdf(X))

    # -- new_result -----------------------------------------------------------------------------------------------
    def new_result(self, job: Any, update_model: bool = True) -> None:
        """Register a finished job, as ``BOHB.new_result``: store it and refit its budget's KDEs."""
        if job.exception is not None:
            log.warning("job %s failed with exception\n%s", job.id, job.exception)
        if job.result is None:
            loss = np.inf
        else:
            loss = job.result["loss"] if np.isfinite(job.result["loss"]) else np.inf
        budget = job.kwargs["budget"]
        if budget not in self.budgets:
            self.budgets[budget] = _Budget(self.space.dim, self._width)
        if max([*self.model_sizes.keys(), -np.inf]) > budget:
            return
        vector = self.space.array_of(job.kwargs["config"])
        store = self.budgets[budget]
        store.append(vector, features_of(vector, self.space)[0], loss)
        N = store.n
        if N <= self.min_points_in_model - 1:
            return
        if not update_model:
            return
        n_good = max(self.min_points_in_model, (self.top_n_percent * N) // 100)
        n_bad = max(self.min_points_in_model, ((100 - self.top_n_percent) * N) // 100)
        if not isinstance(n_good, (int, np.integer)) or not isinstance(n_bad, (int, np.integer)):
            raise TypeError("slice indices must be integers")  # the library slices with them here
        d = self.space.dim
        # the shapes of train_data_good / train_data_bad (the rows argsort puts in each)
        if n_good <= d or min(n_bad, N - n_good) <= d:
            return
        self.model_sizes[budget] = N


def _minimize_me(g: Any, l: Any) -> Any:
    """hpbandster's ``max(1e-32, g(x)) / max(l(x), 1e-32)``, with Python's max on numpy scalars."""
    with np.errstate(all="ignore"):
        return np.float64(max(_TINY, g)) / np.float64(max(l, _TINY))


def _library_choice(G: np.ndarray, L: np.ndarray) -> int | None:
    """hpbandster's loop over the candidates' exact densities (bad ``G``, good ``L``)."""
    best, best_i = np.inf, None
    for i in range(len(G)):
        val = _minimize_me(G[i], L[i])
        if not np.isfinite(val):
            if np.isfinite(L[i]):
                return i
        if val < best:
            best, best_i = val, i
    return best_i


def _kind(sg: int, sl: int) -> str:
    """From the exact statuses of g(x) and l(x): 'pick' (value non-finite, l finite: taken at once), 'skip'
    (value non-finite, l non-finite) or 'finite'."""
    g_inf = sg == POS_INF  # max(1e-32, g) is inf; for -inf and nan it is 1e-32
    if sl == NAN or g_inf:  # max(nan, 1e-32) is nan
        return "pick" if sl == FINITE else "skip"
    return "finite"


def _val_interval(sg: int, g: float, gr: float, sl: int, l: float, lr: float) -> tuple[float, float] | None:
    """An interval holding hpbandster's finite value, or None if the floor at 1e-32 makes it uncertain."""
    if sl == POS_INF:
        return (0.0, 0.0)  # finite / inf
    gc = _floored(g, gr, first=True) if sg == FINITE else (_TINY, _TINY)
    lc = _floored(l, lr, first=False) if sl == FINITE else (_TINY, _TINY)  # sl == NEG_INF: the floor
    if gc is None or lc is None:
        return None
    if gc[0] == gc[1] and lc[0] == lc[1]:
        v = float(np.float64(gc[0]) / np.float64(lc[0]))
        return (v, v)
    return (gc[0] / lc[1] * (1 - 4 * _U), gc[1] / lc[0] * (1 + 4 * _U))


def _floored(est: float, radius: float, first: bool) -> tuple[float, float] | None:
    """``max(1e-32, x)`` (``first``) or ``max(x, 1e-32)`` for x within ``radius`` of ``est``."""
    lo, hi = est - radius, est + radius
    if first:  # max(1e-32, x) is x only if x > 1e-32
        if lo > _TINY:
            return (lo, hi)
        if hi <= _TINY:
            return (_TINY, _TINY)
    else:  # max(x, 1e-32) is 1e-32 only if 1e-32 > x
        if lo >= _TINY:
            return (lo, hi)
        if hi < _TINY:
            return (_TINY, _TINY)
    return None
