"""REINFORCE over independent categorical distributions, with the NAS-Bench-101 paper's settings."""

from __future__ import annotations

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Oracle


class Reinforce(Optimizer):
    """Softmax policy per hyperparameter, updated by REINFORCE with an exponential-moving-average baseline.

    Reward = observed validation accuracy (0 for invalid configurations). Integer hyperparameters are
    categorical over their range; floats over ``float_bins`` equal-width bins (the bin centre is used).
    All policies live in one flat logits vector (one segment per hyperparameter) to keep each step to a
    handful of array operations.
    """

    name = "reinforce"
    defaults = {"learning_rate": 0.5, "baseline_momentum": 0.9, "float_bins": 10}

    @classmethod
    def check_hyperparameters(cls, hp: dict) -> None:
        check_number(cls, hp, "learning_rate", minimum=0, exclusive_minimum=True)
        check_number(cls, hp, "baseline_momentum", minimum=0, maximum=1, exclusive_maximum=True)
        check_number(cls, hp, "float_bins", integer=True, minimum=1)

    def setup(self) -> None:
        bins = int(self.hp["float_bins"])
        values = []
        for p in self.encoding.params:
            if p.kind == "cat":
                values.append(np.arange(len(p.choices), dtype=float))
            elif p.kind == "int":
                values.append(np.arange(int(p.lower), int(p.upper) + 1, dtype=float))
            else:
                edges = np.linspace(p.lower, p.upper, bins + 1)
                values.append((edges[:-1] + edges[1:]) / 2)
        sizes = np.array([len(v) for v in values])
        self._values = np.concatenate(values)
        self._starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        self._last = self._starts + sizes - 1
        self.logits = np.zeros(len(self._values))

    def policy(self) -> list[np.ndarray]:
        """Current probabilities, one array per hyperparameter."""
        e = np.exp(self.logits)
        return [seg / seg.sum() for seg in np.split(e, self._starts[1:])]

    def run(self, oracle: Oracle) -> None:
        lr, mom = float(self.hp["learning_rate"]), float(self.hp["baseline_momentum"])
        starts, last, values = self._starts, self._last, self._values
        seg_of = np.repeat(np.arange(len(starts)), last - starts + 1)
        offsets = np.arange(len(starts), dtype=float)  # each normalised segment adds 1 to the running cdf
        logits = self.logits
        cell_index = self.encoding.cell_index
        baseline: float | None = None
        step_no = 0
        while True:
            for u in self.rng.random((1024, len(starts))):
                e = np.exp(logits)
                probs = e / np.add.reduceat(e, starts)[seg_of]
                # inverse-cdf draw per segment on the global cdf; clip guards rounding at segment edges
                choice = probs.cumsum().searchsorted(offsets + u, side="right")
                np.maximum(choice, starts, out=choice)
                np.minimum(choice, last, out=choice)
                ev = oracle.evaluate_cell(cell_index(values[choice].tolist()))
                reward = ev.valid_acc if ev.valid else 0.0
                if baseline is None:
                    baseline = reward
                advantage = reward - baseline
                baseline = mom * baseline + (1.0 - mom) * reward
                if advantage != 0.0:
                    step = lr * advantage
                    logits -= step * probs
                    logits[choice] += step
                step_no += 1
                if step_no % 64 == 0 and logits.max() > 50.0:  # softmax is shift-invariant: keep exp() finite
                    logits -= np.maximum.reduceat(logits, starts)[seg_of]
