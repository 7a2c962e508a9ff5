"""An exact, fast re-implementation of hyperopt 0.3.0's ``tpe.suggest`` for flat spaces.

It makes the suggestions ``fmin(fn, space, algo=tpe.suggest, rstate=np.random.default_rng(seed))`` makes, bit
for bit, for spaces that are a flat dict of ``hp.choice`` over ``range(n)`` (hyperopt's ``randint``),
``hp.uniformint`` / ``hp.quniform`` (``quniform``) and ``hp.uniform`` (``uniform``), with ``tpe.suggest``'s
arguments (``prior_weight``, ``n_startup_jobs``, ``n_EI_candidates``, ``gamma``) and hyperopt's fixed linear
forgetting ``DEFAULT_LF = 25``. Written from the installed hyperopt 0.3.0 sources (``hyperopt/tpe.py``,
``rand.py``, ``pyll/stochastic.py``, ``pyll/base.py``, ``base.py``, ``fmin.py``); the function names below
point at the function each step reproduces.

What hyperopt does per suggestion, and what is kept here:

* ``fmin`` draws one seed per trial, ``rstate.integers(2**31 - 1)``; ``tpe.suggest`` (or ``rand.suggest`` for
  the first ``n_startup_jobs`` trials) draws everything from a fresh ``np.random.default_rng(seed)``.
* Draw order: ``pyll.rec_eval`` evaluates the posterior (a dict node whose keys are sorted) with a LIFO stack,
  so hyperparameters are sampled one after the other in *descending* label order, each completely (all
  candidates, rejections included) before the next. Both the random startup and TPE follow that order.
* ``ap_split_trials``: ``n_below = min(ceil(gamma * sqrt(N)), 25)`` trials with the smallest losses by
  ``np.argsort(losses)`` (numpy's default, unstable sort: the same call on the same array decides ties the
  same way), each group kept in trial order.
* Per hyperparameter, independently: posterior of the "below" group (``ap_randint_sampler`` or
  ``adaptive_parzen_normal`` + ``GMM1``), ``n_EI_candidates`` draws from it, log-likelihood under the below
  and the above posterior (``randint_via_categorical_lpdf`` / ``GMM1_lpdf``) and the first argmax of their
  difference (``broadcast_best``).

Everything hyperopt keeps per trial (documents, ``Trials.refresh``, ``miscs_to_idxs_vals``, the pyll graph)
is replaced by per-hyperparameter history columns, so a suggestion is a few vectorised numpy passes over the
history. The arithmetic is the same operations in the same order on arrays of the same shapes, since
rounding (and numpy's SIMD paths, chosen by shape and layout) could otherwise change a decision; sums hyperopt
accumulates in a Python loop are accumulated sequentially here too (``np.cumsum``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import erf

#: The hyperopt release whose ``tpe.suggest`` this module reproduces.
HYPEROPT_VERSION = "0.3.0"
#: ``hyperopt.tpe.EPS``.
EPS = 1e-12
#: ``hyperopt.tpe.DEFAULT_LF``: linear forgetting (and the cap on the "below" group), fixed in hyperopt.
DEFAULT_LF = 25
#: ``tpe.suggest``'s defaults.
DEFAULTS: dict[str, Any] = {"prior_weight": 1.0, "n_startup_jobs": 20, "n_EI_candidates": 24, "gamma": 0.25}

DISTS = ("randint", "uniform", "quniform")


@dataclass(frozen=True)
class HyperoptParam:
    """One hyperparameter as hyperopt's graph sees it.

    ``dist`` is ``'randint'`` (``hp.choice(label, range(high))``: values 0..high-1), ``'uniform'``
    (``hp.uniform(label, low, high)``) or ``'quniform'`` (``hp.quniform(label, low, high, q)``;
    ``hp.uniformint(label, low, high)`` is ``q = 1.0``). ``low``/``high`` keep the Python type given to ``hp``.
    """

    label: str
    dist: str
    low: float = 0
    high: float = 1
    q: float | None = None

    def __post_init__(self) -> None:
        if self.dist not in DISTS:
            raise ValueError(f"{self.label}: unsupported distribution {self.dist!r}; supported: {DISTS}")
        if self.dist == "randint" and (int(self.high) != self.high or self.high < 1):
            raise ValueError(f"{self.label}: randint needs a positive integer number of choices")
        if self.dist == "quniform" and not self.q:
            raise ValueError(f"{self.label}: quniform needs q")
        if self.dist != "randint" and not self.low < self.high:
            raise ValueError(f"{self.label}: low must be < high")


# -- hyperopt's arithmetic, one function per hyperopt function ------------------------------------------
def linear_forgetting_weights(n: int, lf: int = DEFAULT_LF) -> np.ndarray:
    """``tpe.linear_forgetting_weights``."""
    if n == 0:
        return np.asarray([])
    if n < lf:
        return np.ones(n)
    ramp = np.linspace(1 / n, 1.0, num=n - lf)
    flat = np.ones(lf)
    return np.concatenate([ramp, flat], axis=0)


def adaptive_parzen_normal(
    mus: np.ndarray, prior_weight: float, prior_mu: float, prior_sigma: float, lf: int = DEFAULT_LF
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``tpe.adaptive_parzen_normal``: (weights, sorted mus with the prior inserted, sigmas)."""
    mus = np.array(mus)
    order = None
    if len(mus) == 0:
        srtd_mus = np.asarray([prior_mu])
        sigma = np.asarray([prior_sigma])
        prior_pos = 0
    elif len(mus) == 1:
        if prior_mu < mus[0]:
            prior_pos = 0
            srtd_mus = np.asarray([prior_mu, mus[0]])
            sigma = np.asarray([prior_sigma, prior_sigma * 0.5])
        else:
            prior_pos = 1
            srtd_mus = np.asarray([mus[0], prior_mu])
            sigma = np.asarray([prior_sigma * 0.5, prior_sigma])
    else:
        order = np.argsort(mus)
        prior_pos = np.searchsorted(mus[order], prior_mu)
        srtd_mus = np.zeros(len(mus) + 1)
        srtd_mus[:prior_pos] = mus[order[:prior_pos]]
        srtd_mus[prior_pos] = prior_mu
        srtd_mus[prior_pos + 1 :] = mus[order[prior_pos:]]
        sigma = np.zeros_like(srtd_mus)
        sigma[1:-1] = np.maximum(srtd_mus[1:-1] - srtd_mus[0:-2], srtd_mus[2:] - srtd_mus[1:-1])
        sigma[0] = srtd_mus[1] - srtd_mus[0]
        sigma[-1] = srtd_mus[-1] - srtd_mus[-2]

    if lf and lf < len(mus):
        assert order is not None
        unsrtd_weights = linear_forgetting_weights(len(mus), lf)
        srtd_weights = np.zeros_like(srtd_mus)
        srtd_weights[:prior_pos] = unsrtd_weights[order[:prior_pos]]
        srtd_weights[prior_pos] = prior_weight
        srtd_weights[prior_pos + 1 :] = unsrtd_weights[order[prior_pos:]]
    else:
        srtd_weights = np.ones(len(srtd_mus))
        srtd_weights[prior_pos] = prior_weight

    maxsigma = prior_sigma
    minsigma = prior_sigma / min(100.0, (1.0 + len(srtd_mus)))
    sigma = np.clip(sigma, minsigma, maxsigma)
    sigma[prior_pos] = prior_sigma
    srtd_weights /= srtd_weights.sum()
    return srtd_weights, srtd_mus, sigma


def normal_cdf(x: Any, mu: Any, sigma: Any) -> Any:
    """``tpe.normal_cdf``."""
    top = x - mu
    bottom = np.maximum(np.sqrt(2) * sigma, EPS)
    z = top / bottom
    return 0.5 * (1 + erf(z))


def gmm1_sample(
    weights: np.ndarray, mus: np.ndarray, sigmas: np.ndarray, low: float, high: float, q: float | None,
    rng: np.random.Generator, n: int,
) -> np.ndarray:
    """``tpe.GMM1`` with bounds: one component draw and one normal draw per try, rejections outside [low, high)."""
    low = float(low)
    high = float(high)
    samples: list[float] = []
    multinomial, normal = rng.multinomial, rng.normal
    while len(samples) < n:
        active = multinomial(1, weights).argmax()
        draw = normal(loc=mus[active], scale=sigmas[active])
        if low <= draw < high:
            samples.append(draw)
    out = np.reshape(np.asarray(samples), (n,))
    if q is None:
        return out
    return np.round(out / q) * q


def gmm1_lpdf(
    samples: np.ndarray, weights: np.ndarray, mus: np.ndarray, sigmas: np.ndarray, low: float, high: float,
    q: float | None,
) -> np.ndarray:
    """``tpe.GMM1_lpdf`` with bounds; the per-component loop of the quantised case is vectorised with the
    same elementwise operations and a sequential (``cumsum``) accumulation over components."""
    p_accept = np.sum(weights * (normal_cdf(high, mus, sigmas) - normal_cdf(low, mus, sigmas)))
    if q is None:
        # hyperopt: mahal = ((samples[:, None] - mus) / max(sigmas, EPS)) ** 2;
        #           logsum_rows(-0.5 * mahal + log(coef)) (tpe.logsum_rows: max, exp, row sums, log).
        #           The exactly rounded IEEE operations are done in place here;
        #           exp, log and the row sums see arrays of hyperopt's shapes and layout.
        z = np.sqrt(2 * np.pi * sigmas**2)
        coef = weights / z / p_accept
        x = samples[:, None] - mus
        np.divide(x, np.maximum(sigmas, EPS), out=x)
        np.square(x, out=x)
        np.multiply(x, -0.5, out=x)
        np.add(x, np.log(coef), out=x)
        m = x.max(axis=1)
        np.subtract(x, m[:, None], out=x)
        return np.log(np.exp(x).sum(axis=1)) + m
    ubound = np.minimum(samples + q / 2, high)
    lbound = np.maximum(samples - q / 2, low)
    w = weights[:, None]
    mu = mus[:, None]
    bottom = np.maximum(np.sqrt(2) * sigmas, EPS)[:, None]
    inc_amt = w * (0.5 * (1 + erf((ubound[None, :] - mu) / bottom)))
    inc_amt -= w * (0.5 * (1 + erf((lbound[None, :] - mu) / bottom)))
    prob = np.cumsum(inc_amt, axis=0)[-1]
    return np.log(prob) - np.log(p_accept)


def categorical_sample(p: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``pyll.stochastic.categorical`` for a 1-D ``p`` (what ``randint_via_categorical`` evaluates to)."""
    sample = rng.multinomial(n=1, pvals=p, size=int(n))
    return np.dot(sample, np.arange(len(p)))


def randint_posterior(
    obs: np.ndarray, n_choices: int, prior_weight: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """``tpe.ap_randint_sampler``'s probabilities (``hp.choice``: no offset).

    ``weights`` (default ``linear_forgetting_weights(len(obs))``) can be passed to reuse them across labels.
    """
    if weights is None:
        weights = linear_forgetting_weights(len(obs))
    counts = np.bincount(np.asarray(obs, dtype="int") - 0, weights, n_choices)
    pseudocounts = counts + prior_weight
    return pseudocounts / np.sum(pseudocounts)


# -- the optimizer -----------------------------------------------------------------------------------------
class ExactTPE:
    """hyperopt 0.3.0 TPE (``tpe.suggest`` in ``fmin``'s serial loop) with incremental history arrays.

    ``suggest(seed)`` proposes the next vector (values in ``params`` order, as hyperopt stores them in
    ``misc['vals']``) from the seed ``fmin`` passes the algorithm; ``observe(vector, loss)`` records its
    result. ``ask()`` draws that seed from the run's ``rstate`` as ``fmin`` does.
    """

    def __init__(
        self,
        params: Sequence[HyperoptParam],
        seed: int | None = None,
        *,
        prior_weight: float = DEFAULTS["prior_weight"],
        n_startup_jobs: int = DEFAULTS["n_startup_jobs"],
        n_EI_candidates: int = DEFAULTS["n_EI_candidates"],  # hyperopt's name
        gamma: float = DEFAULTS["gamma"],
    ) -> None:
        labels = [p.label for p in params]
        if len(set(labels)) != len(labels):
            raise ValueError(f"duplicate labels in {labels}")
        if n_EI_candidates < 1:
            raise ValueError("n_EI_candidates must be >= 1")
        self.params = tuple(params)
        self.prior_weight = float(prior_weight)
        self.n_startup_jobs = int(n_startup_jobs)
        self.n_EI_candidates = int(n_EI_candidates)
        self.gamma = gamma
        self.rstate = np.random.default_rng(seed)
        # -- hyperopt samples the labels in descending order (see module docstring)
        self._draw_order = sorted(range(len(labels)), key=lambda i: labels[i], reverse=True)
        self._n = 0
        self._cols = np.empty((len(self.params), 1024))
        self._losses = np.empty(1024)

    @property
    def n_observed(self) -> int:
        """Number of observed trials (the history length)."""
        return self._n

    @property
    def history(self) -> tuple[np.ndarray, np.ndarray]:
        """(vectors ``(N, dim)``, losses ``(N,)``) observed so far (copies)."""
        return self._cols[:, : self._n].T.copy(), self._losses[: self._n].copy()

    def ask(self) -> np.ndarray:
        """The next vector, with the seed drawn from ``rstate`` as ``fmin`` does per trial."""
        return self.suggest(int(self.rstate.integers(2**31 - 1)))

    def observe(self, vector: Sequence[float] | np.ndarray, loss: float | None) -> None:
        """Record the result of the last suggestion (``None`` = no loss, which hyperopt treats as +inf)."""
        n = self._n
        if n == self._losses.shape[0]:
            self._cols = np.concatenate([self._cols, np.empty_like(self._cols)], axis=1)
            self._losses = np.concatenate([self._losses, np.empty_like(self._losses)])
        self._cols[:, n] = vector
        self._losses[n] = math.inf if loss is None else float(loss)
        self._n = n + 1

    def set_loss(self, index: int, loss: float | None) -> None:
        """Replace the loss of observation ``index`` (a pending trial, observed with ``None``, gets its result:
        hyperopt updates a trial's result in place, at its tid)."""
        if not 0 <= index < self._n:
            raise IndexError(f"no observation {index} (have {self._n})")
        self._losses[index] = math.inf if loss is None else float(loss)

    def suggest(self, seed: int) -> np.ndarray:
        """The vector hyperopt's ``tpe.suggest`` returns for this history and ``seed``."""
        if self._n < self.n_startup_jobs:
            return self._random(seed)
        return self._tpe(seed)

    # -- rand.suggest ------------------------------------------------------------------------------------
    def _random(self, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty(len(self.params))
        for i in self._draw_order:
            p = self.params[i]
            if p.dist == "randint":  # pyll.stochastic.randint(n, size=1)
                out[i] = rng.integers(int(p.high), None, 1)[0]
            elif p.dist == "uniform":
                out[i] = rng.uniform(p.low, p.high, size=1)[0]
            else:  # quniform
                out[i] = (np.round(rng.uniform(p.low, p.high, size=1) / p.q) * p.q)[0]
        return out

    # -- tpe.suggest -------------------------------------------------------------------------------------
    def _tpe(self, seed: int) -> np.ndarray:
        n = self._n
        losses = self._losses[:n].copy()
        # ap_split_trials (tids are 0..n-1, every label present in every trial)
        n_below = min(int(np.ceil(self.gamma * np.sqrt(n))), DEFAULT_LF)
        l_order = np.argsort(losses)
        below_mask = np.zeros(n, dtype=bool)
        below_mask[l_order[:n_below]] = True
        below_idx = np.flatnonzero(below_mask)
        above_idx = np.flatnonzero(~below_mask)

        rng = np.random.default_rng(seed)
        size = self.n_EI_candidates
        pw = self.prior_weight
        out = np.empty(len(self.params))
        cols = self._cols
        w_below = linear_forgetting_weights(len(below_idx))
        w_above = linear_forgetting_weights(len(above_idx))
        for i in self._draw_order:
            p = self.params[i]
            col = cols[i, :n]
            below = col[below_idx]
            above = col[above_idx]
            if p.dist == "randint":
                k = int(p.high)
                p_below = randint_posterior(below, k, pw, w_below)
                p_above = randint_posterior(above, k, pw, w_above)
                samples = categorical_sample(p_below, rng, size)
                score = np.log(p_below[samples]) - np.log(p_above[samples])
            else:
                low, high, q = p.low, p.high, p.q
                prior_mu = 0.5 * (high + low)
                prior_sigma = 1.0 * (high - low)
                bw, bm, bs = adaptive_parzen_normal(below, pw, prior_mu, prior_sigma)
                aw, am, as_ = adaptive_parzen_normal(above, pw, prior_mu, prior_sigma)
                samples = gmm1_sample(bw, bm, bs, low, high, q, rng, size)
                score = gmm1_lpdf(samples, bw, bm, bs, low, high, q) - gmm1_lpdf(samples, aw, am, as_, low, high, q)
            out[i] = samples[np.argmax(score)]
        return out


def run_fmin_loop(
    tpe: ExactTPE, objective: Callable[[np.ndarray], float], max_evals: int
) -> tuple[np.ndarray, np.ndarray]:
    """``fmin``'s serial loop for ``max_evals`` trials: ask, evaluate, observe; returns ``tpe.history``."""
    for _ in range(max_evals):
        vector = tpe.ask()
        tpe.observe(vector, objective(vector))
    return tpe.history


def params_from_encoding(encoding: Any) -> tuple[HyperoptParam, ...]:
    """The hyperopt parameters of ``optimizers.tpe.hyperopt_space(encoding)`` (choice / uniformint / uniform)."""
    out = []
    for p in encoding.params:
        if p.kind == "cat":
            out.append(HyperoptParam(p.name, "randint", 0, len(p.choices)))
        elif p.kind == "int":
            out.append(HyperoptParam(p.name, "quniform", int(p.lower), int(p.upper), 1.0))
        else:
            out.append(HyperoptParam(p.name, "uniform", p.lower, p.upper))
    return tuple(out)
