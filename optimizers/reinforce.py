"""REINFORCE over independent categorical distributions, with the NAS-Bench-101 paper's settings."""

from __future__ import annotations

import numpy as np

from nasbench_bench.optimizer import Optimizer
from nasbench_bench.oracle import Oracle


class Reinforce(Optimizer):
    """Softmax policy per hyperparameter, updated by REINFORCE with an exponential-moving-average baseline.

    Reward = observed validation accuracy (0 for invalid configurations). Integer hyperparameters are
    categorical over their range; floats over ``float_bins`` equal-width bins (the bin centre is used).
    """

    name = "reinforce"
    defaults = {"learning_rate": 0.5, "baseline_momentum": 0.9, "float_bins": 10}

    def setup(self) -> None:
        params = self.encoding.params
        bins = int(self.hp["float_bins"])
        self._values: list[np.ndarray] = []
        for p in params:
            if p.kind == "cat":
                self._values.append(np.arange(len(p.choices), dtype=float))
            elif p.kind == "int":
                self._values.append(np.arange(int(p.lower), int(p.upper) + 1, dtype=float))
            else:
                edges = np.linspace(p.lower, p.upper, bins + 1)
                self._values.append((edges[:-1] + edges[1:]) / 2)
        kmax = max(len(v) for v in self._values)
        self._sizes = np.array([len(v) for v in self._values])
        # Padded logits: impossible entries at -inf so they get probability 0.
        self.logits = np.where(np.arange(kmax)[None, :] < self._sizes[:, None], 0.0, -np.inf)
        self._table = np.zeros((len(params), kmax))
        for i, v in enumerate(self._values):
            self._table[i, : len(v)] = v

    def run(self, oracle: Oracle) -> None:
        lr, mom = float(self.hp["learning_rate"]), float(self.hp["baseline_momentum"])
        dim = len(self._sizes)
        rows = np.arange(dim)
        baseline: float | None = None
        block, used = np.empty((0, dim)), 0
        while True:
            if used >= len(block):
                block, used = self.rng.random((1024, dim)), 0
            z = self.logits - self.logits.max(axis=1, keepdims=True)
            probs = np.exp(z)
            probs /= probs.sum(axis=1, keepdims=True)
            cdf = np.cumsum(probs, axis=1)
            choice = (cdf < block[used][:, None]).sum(axis=1)
            choice = np.minimum(choice, self._sizes - 1)  # guards against cdf rounding below 1
            used += 1
            vector = self._table[rows, choice]
            ev = oracle.evaluate_cell(self.encoding.cell_index(vector))
            reward = ev.valid_acc if ev.valid else 0.0
            if baseline is None:
                baseline = reward
            advantage = reward - baseline
            baseline = mom * baseline + (1.0 - mom) * reward
            if advantage != 0.0:
                grad = -probs
                grad[rows, choice] += 1.0
                self.logits += lr * advantage * grad
