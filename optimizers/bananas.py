"""BANANAS (White, Neiswanger, Savani, AAAI 2021): Bayesian optimisation with an ensemble of neural predictors.

Written after the reference code (naszilla/naszilla: ``nas_algorithms.bananas``, ``meta_neural_net.py``,
``acquisition_functions.py``, ``nas_benchmarks.get_candidates``, ``nas_bench_101/cell_101.py``,
``nas_bench_101/mutations.py``, ``nas_bench_201/cell_201.py``, ``params.meta_neuralnet_params('standard')``), in
numpy only. Every default and its source is listed in ``docs/baselines.md``; in short:

* 10 distinct random initial evaluations; then per iteration: fit 5 feed-forward nets on all evaluations so far,
  build ~100 candidates by mutating the best evaluated architecture, score them by independent Thompson sampling
  and evaluate the 10 best (``k``);
* the predictor: 10 hidden ReLU layers of width 20 and a linear output, mean absolute error, Adam (lr 0.01,
  beta1 0.9, beta2 0.99, epsilon 1e-7), 150 epochs of shuffled mini-batches of 32, Glorot-uniform weights and
  zero biases (Keras ``Dense`` defaults), trained on the validation error in percent;
* features: the path encoding on NAS-Bench-101 and NAS-Bench-201 cells, the one-hot encoding of the search
  encoding's values on every other family (see :class:`Features`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nasbench_bench.encodings import Encoding
from nasbench_bench.optimizer import Optimizer, OptimizerError, check_number
from nasbench_bench.oracle import Evaluation, Oracle

__all__ = ["Bananas", "Features", "MLPEnsemble", "nb101_paths", "nb201_paths"]

#: NAS-Bench-201: the four input->output routes of the 4-node cell as edge indices (edges 0->1, 0->2, 1->2, 0->3,
#: 1->3, 2->3), as in naszilla's ``Cell201.get_paths``: 0->3, 0->1->3, 0->2->3, 0->1->2->3.
NB201_ROUTES: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))
_NB201_OPS = 5
_NB101_OPS = 3
_NB101_VERTICES = 7
#: (source, destination) of bit k of a NAS-Bench-101 adjacency code (upper triangle, row-major).
_NB101_POSITIONS = [(i, j) for i in range(_NB101_VERTICES) for j in range(i + 1, _NB101_VERTICES)]


def nb201_paths(ops: Sequence[int]) -> list[tuple[int, ...]]:
    """The op sequence of each of the four input->output routes of a NAS-Bench-201 cell (``ops``: the op index of
    edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3). As in the reference code, a route is a path whatever its ops
    ('none' included)."""
    return [tuple(int(ops[e]) for e in route) for route in NB201_ROUTES]


def nb201_path_index(path: Sequence[int]) -> int:
    """Feature index of a route's op sequence: routes of length 1 take 0..4, of length 2 5..29, of length 3
    30..154, the ops read as base-5 digits, first op least significant (naszilla's ``get_path_indices``)."""
    offset = sum(_NB201_OPS**i for i in range(1, len(path)))
    return offset + sum(op * _NB201_OPS**j for j, op in enumerate(path))


def nb101_paths(ops: Sequence[int], code: int) -> list[tuple[int, ...]]:
    """Every path from the input to the output vertex of a NAS-Bench-101 cell, as the ops of the interior
    vertices it passes (``ops``: op index of vertices 1..5; ``code``: raw 21-bit adjacency, bit k = upper-triangle
    position k). Pruning never changes this set: a vertex on an input->output path is never pruned."""
    into: list[list[tuple[int, ...]]] = [[] for _ in range(_NB101_VERTICES)]
    into[0] = [()]
    for k, (i, j) in enumerate(_NB101_POSITIONS):  # row-major: every edge out of i after all edges into i
        if (code >> k) & 1 and into[i]:
            step = () if i == 0 else (int(ops[i - 1]),)
            into[j].extend(p + step for p in into[i])
    return sorted(into[-1])


def nb101_path_index(path: Sequence[int]) -> int:
    """Feature index of a NAS-Bench-101 path: the bijective base-3 numeral ``sum_i 3**i * (op_i + 1)`` (the
    empty path 0, length 1 -> 1..3, length 2 -> 4..12, ... 364 in all), as naszilla's ``Cell101.get_path_indices``."""
    return sum(_NB101_OPS**i * (op + 1) for i, op in enumerate(path))


class Features:
    """The predictor's input vector of a configuration vector of ``encoding``.

    * NAS-Bench-101 (encodings A, B, C): the path encoding, 364 binary features (one per possible op sequence of
      an input->output path, lengths 0..5);
    * NAS-Bench-201: the path encoding, 155 binary features (routes of lengths 1..3 over 5 ops);
    * every other family: the one-hot encoding of the search encoding's values (one column per value of each
      categorical or integer hyperparameter; a float hyperparameter is one column scaled to [0, 1]).

    ``cutoff`` > 0 keeps only the first ``cutoff`` path features (the reference's truncated path encoding:
    naszilla defaults to 40 on NAS-Bench-101, 30 on NAS-Bench-201); 0 keeps all.
    """

    def __init__(self, encoding: Encoding, cutoff: int = 0) -> None:
        self.encoding = encoding
        self.kind = ("nb101" if encoding.benchmark == "nb101" else "nb201" if encoding.benchmark == "nb201"
                     else "onehot")
        if self.kind == "nb101":
            self.width = sum(_NB101_OPS**i for i in range(_NB101_VERTICES - 1))
        elif self.kind == "nb201":
            self.width = sum(_NB201_OPS**i for i in range(1, 4))
        else:
            self.width = sum(p.n_values or 1 for p in encoding.params)
        if self.kind != "onehot" and cutoff:
            self.width = min(self.width, int(cutoff))
        self._cache: dict[int, np.ndarray] = {}

    def __call__(self, vectors: np.ndarray, cells: Sequence[int]) -> np.ndarray:
        """(n, width) features of (n, dim) ``vectors`` whose cell indices are ``cells`` (memoised per cell)."""
        out = np.empty((len(cells), self.width))
        for r, (vec, cell) in enumerate(zip(vectors, cells)):
            row = self._cache.get(cell)
            if row is None:
                row = self._cache[cell] = self._one(np.asarray(vec, dtype=float))
            out[r] = row
        return out

    def _one(self, v: np.ndarray) -> np.ndarray:
        row = np.zeros(self.width)
        if self.kind == "nb201":
            idx = [nb201_path_index(p) for p in nb201_paths(v.astype(int).tolist())]
        elif self.kind == "nb101":
            codes, ops = self.encoding.edge_codes(v[None, :])  # type: ignore[attr-defined]
            idx = [nb101_path_index(p) for p in nb101_paths(ops[0].tolist(), int(codes[0]))]
        else:
            col = 0
            for p, x in zip(self.encoding.params, v.tolist()):
                if p.n_values is None:
                    row[col] = (x - p.lower) / (p.upper - p.lower) if p.upper > p.lower else 0.0
                    col += 1
                else:
                    row[col + int(x - (0 if p.kind == "cat" else p.lower))] = 1.0
                    col += p.n_values
            return row
        for i in idx:
            if i < self.width:
                row[i] = 1.0
        return row


class MLPEnsemble:
    """``members`` independent feed-forward regressors trained at once (stacked weight arrays).

    Each member: ``layers`` hidden Dense layers of ``width`` ReLU units and a linear output unit; Glorot-uniform
    kernels and zero biases; mean absolute error; Adam (``lr``, beta1 0.9, beta2 0.99, epsilon 1e-7, Keras's
    bias-corrected step); ``epochs`` passes over the data in mini-batches of ``batch_size``, each member shuffling
    the data by its own permutation every epoch (Keras ``fit(shuffle=True)``); the last batch of an epoch may be
    smaller. All randomness comes from ``rng``.
    """

    def __init__(self, members: int, layers: int, width: int, epochs: int, batch_size: int, lr: float) -> None:
        self.members, self.layers, self.width = members, layers, width
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        e, (n, d) = self.members, x.shape
        dims = [d] + [self.width] * self.layers + [1]
        self.w = [rng.uniform(-1, 1, (e, a, b)) * math.sqrt(6.0 / (a + b)) for a, b in zip(dims[:-1], dims[1:])]
        self.b = [np.zeros((e, 1, b)) for b in dims[1:]]
        params = self.w + self.b
        m1 = [np.zeros_like(p) for p in params]
        m2 = [np.zeros_like(p) for p in params]
        b1, b2, eps = 0.9, 0.99, 1e-7
        t = 0
        base = np.tile(np.arange(n), (e, 1))
        for _ in range(self.epochs):
            perm = rng.permuted(base, axis=1)
            for s in range(0, n, self.batch_size):
                idx = perm[:, s: s + self.batch_size]
                grads = self._gradients(x[idx], y[idx])
                t += 1
                step = self.lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                for p, g, a, v in zip(params, grads, m1, m2):
                    a *= b1
                    a += (1 - b1) * g
                    v *= b2
                    v += (1 - b2) * g * g
                    p -= step * a / (np.sqrt(v) + eps)

    def _gradients(self, xb: np.ndarray, yb: np.ndarray) -> list[np.ndarray]:
        hs = [xb]
        h = xb
        last = len(self.w) - 1
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            z = h @ w + b
            h = z if i == last else np.maximum(z, 0.0)
            hs.append(h)
        # d/d out of mean |out - y| over the batch (sign(0) = 0, as TensorFlow's)
        g = np.sign(hs[-1][..., 0] - yb)[..., None] / yb.shape[1]
        gw: list[np.ndarray] = [np.empty(0)] * len(self.w)
        gb: list[np.ndarray] = [np.empty(0)] * len(self.w)
        for i in range(last, -1, -1):
            gw[i] = np.swapaxes(hs[i], 1, 2) @ g
            gb[i] = g.sum(axis=1, keepdims=True)
            if i:
                g = (g @ np.swapaxes(self.w[i], 1, 2)) * (hs[i] > 0)
        return gw + gb

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(members, n) predictions."""
        h = np.broadcast_to(x, (self.members, *x.shape))
        last = len(self.w) - 1
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            z = h @ w + b
            h = z if i == last else np.maximum(z, 0.0)
        return h[..., 0]


class Bananas(Optimizer):
    """BANANAS: path-encoded neural-ensemble Bayesian optimisation with independent Thompson sampling.

    Loop: ``num_init`` distinct random valid configurations; then every iteration trains the ensemble
    (:class:`MLPEnsemble`, ``num_ensemble`` members) on every evaluation so far (features: :class:`Features`;
    target: the loss, see below), builds the candidates (``get_candidates`` of the reference: the
    ``num_arches_to_mutate * patience_factor`` best evaluated configurations in order, each mutated
    ``num_candidates / num_arches_to_mutate / max_mutation_rate`` times at each rate 1..``max_mutation_rate``,
    until at least ``num_candidates`` distinct unevaluated cells are collected), draws one sample per candidate from
    the normal of the ensemble's mean and standard deviation (independent Thompson sampling) and evaluates the
    ``k`` candidates with the lowest samples, in that order.

    Loss: the validation error in percent, ``100 * (1 - value)``, on tables whose search metric is a fraction in
    [0, 1] (the reference's ``val_loss``); on other metrics (negative MSE or L2 loss) the values seen so far are
    mapped affinely onto [0, 100], best = 0.

    Mutation (the reference's ``mutate_encoding='adj'``): NAS-Bench-101: each of the 21 edges flips with
    probability ``rate / 21`` and each of the 5 interior ops changes (to one of the two others) with probability
    ``rate / 5``, retried until the cell is valid (5,000 tries, then ``rate + 1``); NAS-Bench-201: each of the 6 ops
    changes with probability ``rate / 4`` (the reference's ``rate / (OP_SPOTS - 2)``); other families: each
    hyperparameter changes to another value with probability ``rate / dim``, retried until valid like NB101. A
    mutation may leave the cell unchanged; such and duplicate candidates are dropped, as in the reference.
    Distinctness is by cell index (the reference: path indices on NB101, the cell string on NB201). If no new
    candidate is found, random unevaluated configurations are used (the reference would stall).

    Parallel form (``pending_asks``): a free worker takes the next proposal of the current batch; the initial
    design is handed out first; the first model is fitted when every initial evaluation has completed (until then
    a free worker waits); afterwards, when the batch is used up, a new batch of ``k`` is built from the
    evaluations completed so far, excluding cells still running. With one worker this is exactly :meth:`run`.
    """

    name = "bananas"
    defaults: ClassVar[dict[str, Any]] = {
        "num_init": 10, "k": 10, "num_ensemble": 5, "num_candidates": 100, "num_arches_to_mutate": 1,
        "max_mutation_rate": 1, "patience_factor": 5, "num_layers": 10, "layer_width": 20, "epochs": 150,
        "batch_size": 32, "lr": 0.01, "path_cutoff": 0,
    }
    pending_asks = True

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        for key in ("num_init", "k", "num_ensemble", "num_candidates", "num_arches_to_mutate",
                    "max_mutation_rate", "patience_factor", "num_layers", "layer_width", "epochs", "batch_size"):
            check_number(cls, hp, key, integer=True, minimum=1)
        check_number(cls, hp, "lr", minimum=0, exclusive_minimum=True)
        check_number(cls, hp, "path_cutoff", integer=True, minimum=0)

    def setup(self) -> None:
        self._initial: list[np.ndarray] = []

    def set_initial(self, vectors: Sequence[np.ndarray]) -> None:
        """Start from these configurations: they are the first initial evaluations (before random ones; all of
        them if more than ``num_init``). Used by ``zc:bananas``."""
        self._initial = [np.asarray(v, dtype=float) for v in vectors]

    # -- state ------------------------------------------------------------------------------------------------
    def begin(self, oracle: Oracle, workers: int) -> None:
        table = oracle.table
        values = np.asarray(table.valid_acc)
        self._percent = bool(table.maximize and table.floor >= 0 and np.nanmax(values) <= 1.0)
        self._features = Features(self.encoding, int(self.hp["path_cutoff"]))
        self._ensemble = MLPEnsemble(int(self.hp["num_ensemble"]), int(self.hp["num_layers"]),
                                     int(self.hp["layer_width"]), int(self.hp["epochs"]),
                                     int(self.hp["batch_size"]), float(self.hp["lr"]))
        self._data: list[tuple[np.ndarray, int, float]] = []  # (vector, cell, value) in completion order
        self._seen: set[int] = set()  # cells evaluated or running
        self._running: dict[int, int] = {}  # id(vector) -> cell
        self._queue: list[np.ndarray] = []
        self._n_init = max(int(self.hp["num_init"]), len(self._initial))
        self._init_left = self._n_init
        self._init_tries = self._n_init * int(self.hp["patience_factor"])
        self._seeds = list(self._initial)
        self._mutation_geometry()
        self.iterations = 0

    def run(self, oracle: Oracle) -> None:
        self.begin(oracle, 1)
        while True:
            config = self.ask()
            self.tell(config, oracle.evaluate(config))

    def ask(self) -> np.ndarray | None:  # type: ignore[override]
        if self._init_left > 0:
            self._init_left -= 1
            vec = self._seeds.pop(0) if self._seeds else self._random_new()
            return self._hand_out(vec)
        if not self._queue:
            if len(self._data) < self._n_init:
                return None  # the initial design is still running
            self._queue = self._next_batch()
        return self._hand_out(self._queue.pop(0))

    def tell(self, config: np.ndarray, evaluation: Evaluation) -> None:  # type: ignore[override]
        cell = self._running.pop(id(config))
        self._data.append((config, cell, evaluation.value))

    def _hand_out(self, vec: np.ndarray) -> np.ndarray:
        cell = self.encoding.cell_index(vec)
        self._seen.add(cell)
        self._running[id(vec)] = cell
        return vec

    # -- random and mutated configurations ---------------------------------------------------------------------
    def _random_valid(self) -> np.ndarray:
        enc = self.encoding
        for _ in range(100_000):
            vec = enc.sample(self.rng)
            if enc.cell_index(vec) >= 0:
                return vec
        raise OptimizerError(f"{self.name}: no valid configuration in 100,000 random draws of {enc.name!r}")

    def _random_new(self) -> np.ndarray:
        """A random valid configuration, distinct from those seen while the reference's patience lasts
        (``num_init * patience_factor`` draws in all, as ``generate_random_dataset``)."""
        while True:
            vec = self._random_valid()
            self._init_tries -= 1
            if self.encoding.cell_index(vec) not in self._seen or self._init_tries <= 0:
                return vec

    def _mutation_geometry(self) -> None:
        enc = self.encoding
        self._kind = "nb101" if enc.benchmark == "nb101" else "nb201" if enc.benchmark == "nb201" else "other"
        self._sizes = [p.n_values for p in enc.params]
        self._lowers = [0.0 if p.kind == "cat" else float(p.lower) for p in enc.params]
        self._spans = [float(p.upper - p.lower) for p in enc.params]

    def _mutate(self, vec: np.ndarray, rate: int) -> np.ndarray:
        rng, enc = self.rng, self.encoding
        if self._kind == "nb201":
            return self._change(vec, rate / 4.0)
        for _ in range(5000):
            if self._kind == "nb101":
                codes, ops = enc.edge_codes(vec[None, :])  # type: ignore[attr-defined]
                code, new_ops = int(codes[0]), ops[0].tolist()
                flips = rng.random(21) < rate / 21.0
                for k in np.flatnonzero(flips).tolist():
                    code ^= 1 << k
                u = rng.random(10)
                for i in range(5):
                    if u[i] < rate / 5.0:
                        new_ops[i] = (new_ops[i] + 1 + int(u[5 + i] * 2)) % 3
                cand = enc.from_parts(new_ops, code)  # type: ignore[attr-defined]
            else:
                cand = self._change(vec, rate / enc.dim)
            if cand is not None and enc.cell_index(cand) >= 0:
                return cand
        return self._mutate(vec, rate + 1)

    def _change(self, vec: np.ndarray, prob: float) -> np.ndarray:
        """Each hyperparameter changes with probability ``prob``: a categorical or integer to a uniformly chosen
        other value, a float to a fresh uniform value."""
        u = self.rng.random((2, len(vec)))
        out = np.array(vec, dtype=float)
        for i in np.flatnonzero(u[0] < prob).tolist():
            n = self._sizes[i]
            if n is None:
                out[i] = self._lowers[i] + u[1, i] * self._spans[i]
            else:
                cur = int(out[i] - self._lowers[i])
                new = int(u[1, i] * (n - 1))
                out[i] = self._lowers[i] + (new + 1 if new >= cur else new)
        return out

    def _candidates(self) -> list[np.ndarray]:
        hp = self.hp
        num, per, rates = int(hp["num_candidates"]), int(hp["num_arches_to_mutate"]), int(hp["max_mutation_rate"])
        order = sorted(range(len(self._data)), key=lambda i: -self._data[i][2])  # best first, stable
        best = [self._data[i][0] for i in order[: per * int(hp["patience_factor"])]]
        seen = set(self._seen)
        out: list[np.ndarray] = []
        for arch in best:
            if len(out) >= num:
                break
            for _ in range(int(num / per / rates)):
                for rate in range(1, rates + 1):
                    cand = self._mutate(np.asarray(arch, dtype=float), rate)
                    cell = self.encoding.cell_index(cand)
                    if cell not in seen:
                        seen.add(cell)
                        out.append(cand)
        for _ in range(num * int(hp["patience_factor"])):  # fallback: nothing new near the best
            if out:
                break
            cand = self._random_valid()
            if self.encoding.cell_index(cand) not in seen:
                out.append(cand)
        return out

    # -- one iteration -----------------------------------------------------------------------------------------
    def _losses(self) -> np.ndarray:
        values = np.array([d[2] for d in self._data])
        if self._percent:
            return 100.0 * (1.0 - values)
        lo, hi = float(values.min()), float(values.max())
        return 100.0 * (hi - values) / (hi - lo) if hi > lo else np.zeros_like(values)

    def _next_batch(self) -> list[np.ndarray]:
        self.iterations += 1
        cands = self._candidates()
        if not cands:
            return [self._random_valid()]
        enc = self.encoding
        xs = self._features(np.array([d[0] for d in self._data]), [d[1] for d in self._data])
        xc = self._features(np.array(cands), [enc.cell_index(c) for c in cands])
        self._ensemble.fit(xs, self._losses(), self.rng)
        pred = self._ensemble.predict(xc)
        samples = self.rng.normal(pred.mean(axis=0), pred.std(axis=0))
        chosen = np.argsort(samples, kind="stable")[: int(self.hp["k"])]
        return [cands[i] for i in chosen.tolist()]
