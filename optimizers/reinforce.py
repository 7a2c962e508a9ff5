"""REINFORCE over independent categorical distributions, with the NAS-Bench-101 paper's settings."""

from __future__ import annotations

import numpy as np

from nasbench_bench.optimizer import Optimizer, check_number
from nasbench_bench.oracle import Evaluation, Oracle


class Reinforce(Optimizer):
    """Softmax policy per hyperparameter, updated by REINFORCE with an exponential-moving-average baseline.

    Reward = observed validation accuracy (0 for invalid configurations). Integer hyperparameters are
    categorical over their range; floats over ``float_bins`` equal-width bins (the bin centre is used).
    All policies live in one flat logits vector (one segment per hyperparameter) to keep each step to a
    handful of array operations.
    """

    name = "reinforce"
    defaults = {"learning_rate": 0.5, "baseline_momentum": 0.9, "float_bins": 10}
    #: Parallel form: synchronous batches of one configuration per worker, all drawn from the same policy; when the
    #: whole batch is told, the REINFORCE steps of its members are applied in the order they were asked (the
    #: baseline moves per reward, as in :meth:`run`), then the next batch starts. Workers that finish early wait
    #: (``ask`` returns None). With one worker this is exactly :meth:`run`.
    pending_asks = True

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

    def begin(self, oracle: Oracle, workers: int) -> None:
        self._batch_size = workers
        self._batch: list[list] = []  # [vector, choice, probs, reward or None] in ask order
        self._slot: dict[int, int] = {}  # id(vector) -> index in the batch
        self._u: list[np.ndarray] = []  # the same blocks of uniforms as run()
        self._next = 0
        self._baseline: float | None = None
        self._step_no = 0
        starts = self._starts
        self._seg_of = np.repeat(np.arange(len(starts)), self._last - starts + 1)

    def ask(self) -> np.ndarray | None:
        if len(self._batch) >= self._batch_size:
            return None  # the batch is out: wait for all of it
        starts, last = self._starts, self._last
        if self._next >= len(self._u):
            self._u, self._next = list(self.rng.random((1024, len(starts)))), 0
        u = self._u[self._next]
        self._next += 1
        e = np.exp(self.logits)
        probs = e / np.add.reduceat(e, starts)[self._seg_of]
        choice = probs.cumsum().searchsorted(np.arange(len(starts), dtype=float) + u, side="right")
        np.maximum(choice, starts, out=choice)
        np.minimum(choice, last, out=choice)
        vector = np.asarray(self._values[choice].tolist(), dtype=float)
        self._slot[id(vector)] = len(self._batch)
        self._batch.append([vector, choice, probs, None])
        return vector

    def tell(self, config: np.ndarray, evaluation: Evaluation) -> None:  # type: ignore[override]
        self._batch[self._slot.pop(id(config))][3] = evaluation.value
        if len(self._batch) < self._batch_size or any(item[3] is None for item in self._batch):
            return
        lr, mom = float(self.hp["learning_rate"]), float(self.hp["baseline_momentum"])
        logits, starts = self.logits, self._starts
        for _, choice, probs, reward in self._batch:
            if self._baseline is None:
                self._baseline = reward
            advantage = reward - self._baseline
            self._baseline = mom * self._baseline + (1.0 - mom) * reward
            if advantage != 0.0:
                step = lr * advantage
                logits -= step * probs
                logits[choice] += step
            self._step_no += 1
            if self._step_no % 64 == 0 and logits.max() > 50.0:
                logits -= np.maximum.reduceat(logits, starts)[self._seg_of]
        self._batch = []

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
                reward = ev.value
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
