"""Record hpbandster's own BOHB proposals as fixtures for ``tests/test_bohb_exact.py``.

Run from the repository root with the pinned ``hpbandster==0.7.4`` (statsmodels 0.15.0, scipy 1.17.1,
ConfigSpace 1.2.2; about 2 CPU minutes per platform)::

    python tests/data/make_bohb_reference.py                 # all cases, this platform
    python tests/data/make_bohb_reference.py A nb201-mf      # some cases
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" python tests/data/make_bohb_reference.py   # AVX2 kernels

Each case runs hpbandster's own BOHB config generator (``hpbandster.optimizers.config_generators.bohb.BOHB``
with the suite's BOHB settings) under the in-process master (:class:`optimizers._hpbandster.InProcessMaster`:
hpbandster's own ``SuccessiveHalving`` iterations, shown equal to its Pyro master in
``tests/test_library_optimizers.py``) for ``n`` jobs, numpy's global RandomState seeded with the case's seed,
the ConfigurationSpace with the same seed. Every job is evaluated by the suite's simulated oracle (the SYNTHETIC
``nb101-synthetic`` table for encodings A, B, C; the real ``nb201-cifar10-mf`` table, encoding nb201, for
``nb201-mf``), and stored in ``bohb_reference_<case>_<platform tag>.npz``: per job the proposal's digest
(blake2b of its ConfigSpace vector, ``Configuration(cs, config).get_array()``), its budget and its loss. A replay
feeds the recorded losses back in the same order, so it does not depend on the oracle, and must reproduce every
digest and budget.

hpbandster's trajectory depends on the platform as hyperopt's does (numpy's argsort order of tied losses, its
SIMD exp kernels): the platform tag is that of ``make_tpe_reference.py``, and tests compare against the fixture
recorded on a platform like theirs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
#: case -> (benchmark, encoding, eta, seed, number of jobs)
CASES: dict[str, tuple[str, str, float, int, int]] = {
    "A": ("nb101-synthetic", "A", 3.0, 21, 2000),
    "B": ("nb101-synthetic", "B", 3.0, 22, 2000),
    "C": ("nb101-synthetic", "C", 3.0, 23, 2000),
    "nb201-mf": ("nb201-cifar10-mf", "nb201", 16.0, 24, 2000),
}

_spec = importlib.util.spec_from_file_location("make_tpe_reference", HERE / "make_tpe_reference.py")
assert _spec is not None and _spec.loader is not None
_tpe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tpe)
platform_tag: Callable[[], str] = _tpe.platform_tag
canaries: Callable[[], dict[str, str]] = _tpe.canaries


def digest(vector: np.ndarray) -> int:
    """64-bit digest of a ConfigSpace vector (float64 bytes)."""
    data = np.ascontiguousarray(vector, dtype=np.float64).tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def fixture_paths(case: str) -> list[Path]:
    return sorted(HERE.glob(f"bohb_reference_{case}_*.npz"))


def fixture_path(case: str, tag: str | None = None) -> Path:
    return HERE / f"bohb_reference_{case}_{tag or platform_tag()}.npz"


def settings() -> dict[str, Any]:
    """The suite's BOHB generator settings (the optimizer's defaults without eta)."""
    from nasbench_bench.optimizer import get_optimizer

    d = dict(get_optimizer("bohb").defaults)
    d.pop("eta")
    return d


class _Stop(Exception):
    pass


def drive(generator: Any, budgets: list[float], eta: float, n: int,
          loss_of: Callable[[int, dict[str, Any], float], float]) -> list[tuple[dict[str, Any], float]]:
    """Run ``generator`` under the in-process master for ``n`` jobs; ``loss_of(i, config, budget)`` gives job i's
    loss. Returns the jobs' (config, budget)."""
    from optimizers._hpbandster import InProcessMaster, library_warnings_silenced, quiet_library_loggers

    quiet_library_loggers()
    jobs: list[tuple[dict[str, Any], float]] = []

    def compute(config: dict[str, Any], budget: float) -> float:
        if len(jobs) == n:
            raise _Stop
        jobs.append((config, budget))
        return loss_of(len(jobs) - 1, config, budget)

    with library_warnings_silenced():
        try:
            InProcessMaster(generator, budgets, eta).run(compute)
        except _Stop:
            pass
    return jobs


def record(case: str) -> Path:
    from importlib.metadata import version

    from ConfigSpace import Configuration
    from hpbandster.optimizers.config_generators.bohb import BOHB

    from nasbench_bench.benchmarks import get_encoding, load_benchmark
    from nasbench_bench.oracle import Oracle
    from optimizers._hpbandster import seeded_global_numpy

    bench, enc_name, eta, seed, n = CASES[case]
    table, enc = load_benchmark(bench), get_encoding(enc_name)
    budgets = sorted(float(b) for b in table.budgets)
    oracle = Oracle(table, enc, 1e15, seed=seed)

    losses: list[float] = []

    def loss_of(i: int, config: dict[str, Any], budget: float) -> float:
        losses.append(float(oracle.evaluate(config, int(budget)).loss))
        return losses[-1]

    with seeded_global_numpy(seed):
        cs = enc.configspace(seed=seed)
        jobs = drive(BOHB(configspace=cs, **settings()), budgets, eta, n, loss_of)
    path = fixture_path(case)
    np.savez_compressed(
        path,
        digests=np.array([digest(Configuration(cs, c).get_array()) for c, _ in jobs], dtype=np.uint64),
        budgets=np.array([b for _, b in jobs], dtype=np.float64),
        losses=np.array(losses, dtype=np.float64),
        case=case, benchmark=bench, encoding=enc_name, eta=eta, seed=seed,
        **{f"{name}_version": version(name) for name in ("hpbandster", "statsmodels", "scipy", "ConfigSpace")},
        numpy_version=np.__version__, python_version=platform.python_version(), machine=platform.machine(),
        npy_disable_cpu_features=os.environ.get("NPY_DISABLE_CPU_FEATURES", ""), platform_tag=platform_tag(),
        **canaries(),
    )
    return path


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for case in argv or list(CASES):
        path = record(case)
        logging.info("wrote %s (%d bytes)", path, path.stat().st_size)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    main(sys.argv[1:])
