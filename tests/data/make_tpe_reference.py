"""Record hyperopt's own TPE trajectories as fixtures for ``tests/test_tpe_exact.py``.

Run from the repository root with the pinned ``hyperopt==0.3.0`` (~7 CPU minutes per platform)::

    python tests/data/make_tpe_reference.py                  # all encodings, this platform
    python tests/data/make_tpe_reference.py A C              # some encodings
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" python tests/data/make_tpe_reference.py   # AVX2 kernels

For each case it runs ``hyperopt.fmin(objective, hyperopt_space(encoding), algo=tpe.suggest,
rstate=np.random.default_rng(seed), max_evals=n)`` and stores every trial's ``misc['vals']`` as a vector in
the encoding's parameter order, with the losses, in ``tpe_reference_<encoding>_<platform tag>.npz``. The
objective (:func:`reference_loss`) is a cheap deterministic function of the vector with many exact ties: 97
loss levels from a hash of the vector's bytes, and 1.0 for encoding-A configurations with more than 9 edges
(invalid in NAS-Bench-101).

hyperopt's trajectory is not the same on every machine: ``np.argsort``'s order of tied values (which decides
the split into good and bad trials and the Parzen weights) and the last bits of ``exp``/``log`` differ
between numpy's SIMD kernels, which numpy picks by CPU (AVX-512 and AVX2 machines give different trajectories
after a few hundred trials). The platform tag is a digest of canaries of these (plus a few ``Generator``
draws); tests compare against the fixture whose tag is the running platform's. The fixtures in the
repository were recorded with hyperopt 0.3.0, numpy 2.4.6, scipy 1.17.1, Python 3.11 on x86-64: once with
numpy's native AVX-512 kernels and once with ``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL"`` (the kernels
an AVX2 machine uses).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: encoding -> (seed, number of suggestions)
CASES: dict[str, tuple[int, int]] = {"A": (11, 2000), "B": (12, 2000), "C": (13, 2000), "nb201": (14, 2000)}
N_LEVELS = 97


def reference_loss(encoding_name: str, vector: np.ndarray) -> float:
    """The fixtures' objective: 1.0 for A-invalid vectors, else one of 97 levels from a hash of the vector."""
    v = np.asarray(vector, dtype=np.float64)
    if encoding_name == "A" and v[5:].sum() > 9:
        return 1.0
    h = int.from_bytes(hashlib.blake2b(v.tobytes(), digest_size=8).digest(), "little")
    return (h % N_LEVELS) / N_LEVELS


# -- platform canaries ----------------------------------------------------------------------------------------
def argsort_canary_inputs() -> list[np.ndarray]:
    """Tie-heavy arrays like the losses and ``uniformint`` values hyperopt sorts."""
    rng = np.random.default_rng(2024)
    out = []
    for n in (17, 40, 130, 700, 2000, 5000):
        levels = rng.integers(0, 10, n) / 10.0
        out.append(np.where(rng.random(n) < 0.6, 1.0, levels))
    return out


def rng_canary() -> np.ndarray:
    """A few draws of the ``Generator`` methods hyperopt's TPE uses."""
    rng = np.random.default_rng(7)
    p = np.array([0.1, 0.25, 0.05, 0.6])
    parts = [
        rng.integers(5, None, 3).astype(float),
        rng.uniform(0.0, 1.0, size=3),
        np.dot(rng.multinomial(n=1, pvals=p, size=5), np.arange(4)).astype(float),
        np.array([rng.normal(loc=0.3, scale=0.2) for _ in range(3)]),
    ]
    return np.concatenate(parts)


def math_canary() -> np.ndarray:
    """``exp``, ``log``, ``erf`` and row sums on arrays like those of hyperopt's ``GMM1_lpdf``."""
    from scipy.special import erf

    rng = np.random.default_rng(11)
    x = -np.abs(rng.normal(0.0, 30.0, (24, 501)))
    return np.concatenate([np.exp(x).ravel(), np.log(np.exp(x).sum(axis=1)), np.log(rng.uniform(1e-9, 3.0, 999)),
                           erf(rng.normal(0.0, 2.0, 999))])


def canaries() -> dict[str, str]:
    """SHA-256 digests of the canaries' results on this platform."""
    argsorts = np.concatenate([np.argsort(a).astype(np.int64) for a in argsort_canary_inputs()])
    return {
        f"{name}_canary": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        for name, value in (("argsort", argsorts), ("rng", rng_canary()), ("math", math_canary()))
    }


def platform_tag() -> str:
    """Short digest of :func:`canaries`: equal tags = hyperopt makes the same trajectories."""
    joined = "".join(v for _, v in sorted(canaries().items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:10]


def fixture_paths(encoding: str) -> list[Path]:
    """All recorded fixtures of ``encoding`` (one per platform tag)."""
    return sorted(HERE.glob(f"tpe_reference_{encoding}_*.npz"))


def fixture_path(encoding: str, tag: str | None = None) -> Path:
    return HERE / f"tpe_reference_{encoding}_{tag or platform_tag()}.npz"


# -- recording -------------------------------------------------------------------------------------------------
def record(encoding_name: str) -> Path:
    import hyperopt
    import scipy
    from hyperopt import Trials, fmin, tpe

    from nasbench_bench.benchmarks import get_encoding
    from optimizers.tpe import hyperopt_space

    enc = get_encoding(encoding_name)
    seed, n = CASES[encoding_name]
    labels = [p.name for p in enc.params]
    trials = Trials()
    fmin(
        lambda config: reference_loss(encoding_name, np.array([config[k] for k in labels], dtype=float)),
        hyperopt_space(enc),
        algo=tpe.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    vectors = np.array([[t["misc"]["vals"][k][0] for k in labels] for t in trials.trials], dtype=np.float64)
    losses = np.array([t["result"]["loss"] for t in trials.trials], dtype=np.float64)
    path = fixture_path(encoding_name)
    np.savez_compressed(
        path,
        vectors=vectors,
        losses=losses,
        labels=np.array(labels),
        seed=seed,
        hyperopt_version=hyperopt.__version__,
        numpy_version=np.__version__,
        scipy_version=scipy.__version__,
        python_version=platform.python_version(),
        machine=platform.machine(),
        npy_disable_cpu_features=os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
        platform_tag=platform_tag(),
        **canaries(),
    )
    return path


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    for name in argv or list(CASES):
        path = record(name)
        logging.info("wrote %s (%d bytes)", path, path.stat().st_size)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    main(sys.argv[1:])
