"""Record the ``dehb`` package's own proposals as fixtures for ``tests/test_dehb_exact.py``.

The package (``dehb==0.1.2``) requires numpy < 2, so it cannot live in this suite's environment. The recordings are
made in a throwaway virtual environment outside the repository, in two steps::

    # 1. in the suite's environment: export the NAS-Bench-201 values the objective reads
    python tests/data/make_dehb_reference.py export
    # 2. in a throwaway environment with the package
    python3 -m venv /tmp/dehb-venv && /tmp/dehb-venv/bin/pip install dehb==0.1.2 'numpy<2'
    /tmp/dehb-venv/bin/python tests/data/make_dehb_reference.py record

``export`` writes ``dehb_nb201_values.npz``: the mean (over recorded trials) validation accuracy of every cell of
``nb201-cifar10-mf`` at its two budgets (12 and 200 epochs), indexed by the six op choices in the encoding's order.
``record`` runs the package for every case of :data:`CASES` and writes ``dehb_reference.npz``.

The objectives are deterministic functions of the configuration and the fidelity, returning
``fitness = 1 - accuracy`` (what the suite's optimizers minimise: ``Evaluation.loss``):

* ``nb201``: the exported NAS-Bench-201 accuracy of the cell at the job's budget (12 or 200 epochs);
* ``mixed``: a small space with two categoricals, an integer and a float, whose names sort differently from their
  order (ConfigSpace orders its dimensions by name), accuracy one of 97 levels from a hash of the configuration's
  values and the rung (many exact ties).

DEHB is driven through the package's ``ask``/``tell`` (``dehb.DEHB(..., n_workers=1)``), which is what its own
``run`` does with one worker (ask, evaluate, tell, ``_clean_inactive_brackets``; checked against ``run(fevals=...)``
for the one-worker cases). With ``workers`` > 1 the script plays the package's asynchronous loop on a simulated
clock: ``workers`` jobs asked at the start, each completing after ``budget * (1 + accuracy)`` time units, results told
in completion order (ties: asked first), and each freed worker asking again. ``ops`` records that interleaving
(-1 = ask, ``j`` >= 0 = tell the ``j``-th asked job). DE is the package's ``DE`` class run for whole generations
(``DE.run(generations=...)``) at the top budget.

The suite's budgets are the table's (NB201: 12/200): the package spaces its fidelities geometrically
(``max * eta^-k``), which on 12/200 gives 22.2/66.7/200, so for ``nb201`` the script sets the package's ladder to the
table's budgets (``fidelities``, ``max_SH_iter``) and calls ``reset()``, which rebuilds the subpopulations from the
seed exactly as the constructor does. On 4/12/36/108 with eta 3 the package's own spacing is the table's budgets and
nothing is changed (the script checks it).
"""

from __future__ import annotations

import hashlib
import heapq
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
VALUES = HERE / "dehb_nb201_values.npz"
REFERENCE = HERE / "dehb_reference.npz"
DEHB_VERSION = "0.1.2"

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: space name -> hyperparameters (name, kind, choices or (lower, upper)), in the encoding's order
SPACES: dict[str, list[tuple[str, str, tuple[Any, ...]]]] = {
    "nb201": [(f"Op{i}", "cat", NB201_OPS) for i in range(6)],
    "mixed": [("zeta", "cat", ("a", "b", "c")), ("alpha", "int", (1, 9)), ("mu", "float", (0.0, 1.0)),
              ("beta", "cat", (0, 1, 2, 3, 4))],
}
N_LEVELS = 97
#: case -> (algorithm, space, budgets, seed, workers, size, settings): size = jobs asked (dehb) or generations (de);
#: settings = non-default hyperparameters, by the suite's names (see SETTING_NAMES for the package's)
CASES: dict[str, tuple[str, str, tuple[int, ...], int, int, int, dict[str, Any]]] = {
    "dehb-nb201-seq": ("dehb", "nb201", (12, 200), 0, 1, 1000, {}),
    "dehb-nb201-k8": ("dehb", "nb201", (12, 200), 1, 8, 1000, {}),
    "dehb-mixed-seq": ("dehb", "mixed", (4, 12, 36, 108), 2, 1, 1500, {}),
    "dehb-mixed-k4": ("dehb", "mixed", (4, 12, 36, 108), 3, 4, 1500, {}),
    "dehb-mixed-eta2": ("dehb", "mixed", (2, 4, 8, 16, 32), 7, 3, 1500,
                        {"eta": 2, "mutation_factor": 0.8, "crossover_prob": 0.9, "boundary_fix": "clip"}),
    "de-nb201": ("de", "nb201", (200,), 4, 1, 50, {}),
    "de-mixed": ("de", "mixed", (108,), 5, 1, 50, {}),
    "de-mixed-settings": ("de", "mixed", (108,), 6, 1, 40,
                          {"population_size": 10, "mutation_factor": 0.7, "crossover_prob": 0.3,
                           "boundary_fix": "clip"}),
}
#: the suite's hyperparameter names -> the package's keyword arguments
SETTING_NAMES = {"eta": "eta", "mutation_factor": "mutation_factor", "crossover_prob": "crossover_prob",
                 "boundary_fix": "boundary_fix_type", "population_size": "pop_size"}


def encoding_vector(space: str, values: dict[str, Any]) -> np.ndarray:
    """A configuration's values -> the suite's encoding vector (choice index / integer / float)."""
    out = []
    for name, kind, spec in SPACES[space]:
        v = values[name]
        out.append(float(spec.index(v)) if kind == "cat" else float(v))
    return np.array(out)


def mixed_accuracy(vector: np.ndarray, rung: int) -> float:
    """The ``mixed`` objective's accuracy: one of 97 levels from a hash of the vector's bytes and the rung."""
    data = np.asarray(vector, dtype=np.float64).tobytes() + bytes([rung])
    h = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    return (h % N_LEVELS) / N_LEVELS


class Objective:
    """``accuracy(vector, rung)`` of a space (the ``nb201`` one reads :data:`VALUES`)."""

    def __init__(self, space: str, budgets: tuple[int, ...]) -> None:
        self.space, self.budgets = space, budgets
        if space == "nb201":
            with np.load(VALUES) as f:
                self.table = f["valid_acc"]  # (2, 5, 5, 5, 5, 5, 5): budgets 12, 200
                self.table_budgets = f["budgets"].tolist()

    def accuracy(self, vector: np.ndarray, rung: int) -> float:
        if self.space == "nb201":
            b = self.table_budgets.index(self.budgets[rung])
            return float(self.table[(b, *[int(x) for x in vector])])
        return mixed_accuracy(vector, rung)


# -- export (the suite's environment) ---------------------------------------------------------------------------
def export() -> None:
    from nasbench_bench.benchmarks import load_benchmark
    from nasbench_bench.nb201.encoding import EncodingNB201

    table = load_benchmark("nb201-cifar10-mf")
    enc = EncodingNB201()
    assert [p.name for p in enc.params] == [s[0] for s in SPACES["nb201"]]
    assert all(p.choices == NB201_OPS for p in enc.params)
    rows = table.rows(enc.cell_ids())
    assert (rows >= 0).all()
    acc = np.asarray(table.valid_acc, dtype=np.float64)[rows]  # (cells, budgets, trials)
    mean = np.nanmean(acc, axis=2).T  # (budgets, cells); cell index = the op choices as a base-5 number
    np.savez_compressed(VALUES, valid_acc=mean.reshape((len(table.budgets),) + (5,) * 6),
                        budgets=np.asarray(table.budgets, dtype=np.int64))
    print(f"wrote {VALUES} ({VALUES.stat().st_size:,} bytes)")


# -- record (the throwaway environment with the package) --------------------------------------------------------
def configspace(space: str) -> Any:
    """The ConfigurationSpace the suite's ``Encoding.configspace()`` builds for this space."""
    from ConfigSpace import (
        CategoricalHyperparameter,
        ConfigurationSpace,
        UniformFloatHyperparameter,
        UniformIntegerHyperparameter,
    )

    cs = ConfigurationSpace(name=space)
    hps = []
    for name, kind, spec in SPACES[space]:
        if kind == "cat":
            hps.append(CategoricalHyperparameter(name, list(spec)))
        elif kind == "int":
            hps.append(UniformIntegerHyperparameter(name, int(spec[0]), int(spec[1])))
        else:
            hps.append(UniformFloatHyperparameter(name, float(spec[0]), float(spec[1])))
    cs.add(hps)
    return cs


def _package_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {SETTING_NAMES[k]: v for k, v in settings.items()}


def _make_dehb(space: str, budgets: tuple[int, ...], seed: int, out: str, settings: dict[str, Any],
               f: Any = None) -> Any:
    from dehb import DEHB

    kwargs = {"eta": 3, **_package_settings(settings)}
    dehb = DEHB(cs=configspace(space), f=f, min_fidelity=budgets[0], max_fidelity=budgets[-1], seed=seed,
                n_workers=1, output_path=out, save_freq="end", log_level="ERROR", **kwargs)
    native = [int(round(b)) for b in dehb.fidelities]
    if native != list(budgets):
        dehb.fidelities = np.array(budgets, dtype=float)
        dehb.max_SH_iter = len(budgets)
        dehb.reset()  # rebuilds the subpopulations from the seed, as the constructor did
    assert dehb.max_SH_iter == len(budgets)
    return dehb


def record_dehb(space: str, budgets: tuple[int, ...], seed: int, workers: int, n: int,
                settings: dict[str, Any]) -> dict[str, np.ndarray]:
    objective = Objective(space, budgets)
    with tempfile.TemporaryDirectory() as out:
        dehb = _make_dehb(space, budgets, seed, out, settings)
        rung_of = {float(f): k for k, f in enumerate(dehb.fidelities)}
        asked: list[dict[str, Any]] = []
        ops: list[int] = []
        running: list[tuple[float, int]] = []  # (end, ask index)

        def ask(now: float) -> None:
            job = dehb.ask()
            rung = rung_of[float(job["fidelity"])]
            vector = encoding_vector(space, dict(job["config"]))
            acc = objective.accuracy(vector, rung)
            asked.append({"job": job, "point": dehb.config_repository.get(job["config_id"]).copy(), "enc": vector,
                          "rung": rung, "acc": acc})
            ops.append(-1)
            heapq.heappush(running, (now + budgets[rung] * (1.0 + acc), len(asked) - 1))

        for _ in range(workers):
            ask(0.0)
        while len(asked) < n:
            now, j = heapq.heappop(running)
            a = asked[j]
            dehb.tell(a["job"], {"fitness": 1.0 - a["acc"], "cost": float(budgets[a["rung"]])})
            dehb._clean_inactive_brackets()
            ops.append(j)
            ask(now)
    if workers == 1:  # the package's own run loop makes the same proposals
        with tempfile.TemporaryDirectory() as out:
            def f(config: Any, fidelity: float, **kwargs: Any) -> dict[str, float]:
                rung = int(np.argmin(np.abs(np.asarray(budgets, dtype=float) - fidelity)))
                acc = objective.accuracy(encoding_vector(space, dict(config)), rung)
                return {"fitness": 1.0 - acc, "cost": float(budgets[rung])}

            dehb = _make_dehb(space, budgets, seed, out, settings, f)
            dehb.run(fevals=n)
            history = np.array([h[1] for h in dehb.history])
            assert np.array_equal(history, np.array([a["point"] for a in asked])), "ask/tell loop != run()"
    return {
        "points": np.array([a["point"] for a in asked]),
        "enc": np.array([a["enc"] for a in asked]),
        "rung": np.array([a["rung"] for a in asked], dtype=np.int64),
        "config_id": np.array([a["job"]["config_id"] for a in asked], dtype=np.int64),
        "parent": np.array([a["job"]["parent_id"] for a in asked], dtype=np.int64),
        "bracket": np.array([a["job"]["bracket_id"] for a in asked], dtype=np.int64),
        "acc": np.array([a["acc"] for a in asked]),
        "ops": np.array(ops, dtype=np.int64),
    }


def record_de(space: str, budgets: tuple[int, ...], seed: int, generations: int,
              settings: dict[str, Any]) -> dict[str, np.ndarray]:
    from dehb import DE

    objective = Objective(space, budgets)
    cs = configspace(space)
    seen: list[tuple[np.ndarray, float]] = []

    def f(config: Any, **kwargs: Any) -> dict[str, float]:
        vector = encoding_vector(space, dict(config))
        acc = objective.accuracy(vector, len(budgets) - 1)
        seen.append((vector, acc))
        return {"fitness": 1.0 - acc, "cost": 1.0}

    with tempfile.TemporaryDirectory() as out:
        kwargs = {"pop_size": 20, "mutation_factor": 0.5, "crossover_prob": 0.5, **_package_settings(settings)}
        de = DE(cs=cs, dimensions=len(SPACES[space]), f=f, strategy="rand1_bin", seed=seed, output_path=out, **kwargs)
        _, _, history = de.run(generations=generations)
    return {"points": np.array([h[0] for h in history]), "enc": np.array([s[0] for s in seen]),
            "acc": np.array([s[1] for s in seen])}


def record() -> None:
    from importlib.metadata import version

    assert version("dehb") == DEHB_VERSION, version("dehb")
    out: dict[str, Any] = {"dehb_version": DEHB_VERSION, "numpy_version": np.__version__,
                           "configspace_version": version("ConfigSpace")}
    for case, (algo, space, budgets, seed, workers, size, settings) in CASES.items():
        rec = record_dehb(space, budgets, seed, workers, size, settings) if algo == "dehb" else \
            record_de(space, budgets, seed, size, settings)
        for key, value in rec.items():
            out[f"{case}.{key}"] = value
        print(f"{case}: {len(rec['points'])} proposals")
    np.savez_compressed(REFERENCE, **out)
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size:,} bytes)")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "export":
        export()
    elif mode == "record":
        record()
    else:
        sys.exit("usage: make_dehb_reference.py export|record")
