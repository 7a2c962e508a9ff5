"""Benchmark names -> tables, loaded once per process.

========================  ==========================================================================
name                      table
========================  ==========================================================================
``nb101``                 real NAS-Bench-101: a ``.tfrecord`` file or its converted cache directory,
                          from ``data=PATH`` (``--data``) or ``$NASBENCH_BENCH_NB101``
``nb101-synthetic``       SYNTHETIC NAS-Bench-101-shaped table (:func:`data.synth.synthetic_table`)
``nb201-cifar10``         NAS-Bench-201 on CIFAR-10 (likewise ``nb201-cifar100``,
                          ``nb201-imagenet16-120``)
``toy``                   SYNTHETIC small structured table over the NAS-Bench-201 cell ids (tests)
========================  ==========================================================================

:func:`load_benchmark` memoises per process, so a worker running many jobs loads each table once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from nasbench_bench.encodings import DEFAULT_ENCODING, EncodingNB201
from nasbench_bench.table import Table

__all__ = [
    "BENCHMARKS",
    "NB101_ENV",
    "BenchmarkDataError",
    "benchmark_family",
    "clear_cache",
    "default_encoding",
    "load_benchmark",
    "toy_table",
]

NB101_ENV = "NASBENCH_BENCH_NB101"
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16-120")

#: Benchmark name -> family (the ``benchmark`` attribute of its encodings).
BENCHMARKS: dict[str, str] = {
    "nb101": "nb101",
    "nb101-synthetic": "nb101",
    **{f"nb201-{d}": "nb201" for d in NB201_DATASETS},
    "toy": "nb201",
}
#: Benchmarks whose tables are synthetic whatever the data (``nb101`` may be too: see ``Table.synthetic``).
SYNTHETIC_BENCHMARKS = frozenset({"nb101-synthetic", "toy"})


class BenchmarkDataError(FileNotFoundError):
    """The data a benchmark needs is missing; the message says how to get it."""


def _check_name(name: str) -> str:
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}; valid: {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


def benchmark_family(name: str) -> str:
    """The table family of a benchmark: ``"nb101"`` or ``"nb201"``."""
    return _check_name(name)


def default_encoding(name: str) -> str:
    """The encoding used when none is given (A for NAS-Bench-101, ``nb201`` for NAS-Bench-201)."""
    return DEFAULT_ENCODING[_check_name(name)]


def nb101_data_path(data: str | os.PathLike[str] | None = None) -> Path:
    """Where the NAS-Bench-101 data is: ``data``, else ``$NASBENCH_BENCH_NB101``; clear error if missing."""
    src = data if data is not None else os.environ.get(NB101_ENV) or None
    how = (
        "Download nasbench_full.tfrecord (or nasbench_only108.tfrecord) from the NAS-Bench-101 release "
        "(google-research/nasbench), then pass it, or the cache directory converted from it, with "
        f"--data PATH or the environment variable {NB101_ENV}=PATH. The .tfrecord is converted into the "
        "cache on first use (no TensorFlow needed). For a quick try without the data use the benchmark "
        "'nb101-synthetic' (SYNTHETIC values, not real results)."
    )
    if src is None:
        raise BenchmarkDataError(f"benchmark 'nb101' needs the NAS-Bench-101 data and none was given. {how}")
    path = Path(src).expanduser()
    if not path.exists():
        raise BenchmarkDataError(f"NAS-Bench-101 data not found at {str(path)!r}. {how}")
    return path


_CACHE: dict[tuple[str, str], Table] = {}
_LOCK = threading.Lock()


def load_benchmark(name: str, data: str | os.PathLike[str] | None = None) -> Table:
    """The table of benchmark ``name`` (memoised per process). ``data`` is only used by ``nb101``."""
    _check_name(name)
    key = (name, str(nb101_data_path(data).resolve()) if name == "nb101" else "")
    with _LOCK:
        table = _CACHE.get(key)
        if table is None:
            table = _load(name, Path(key[1]) if key[1] else None)
            _CACHE[key] = table
    return table


def clear_cache() -> None:
    """Forget the memoised tables."""
    with _LOCK:
        _CACHE.clear()


def _load(name: str, path: Path | None) -> Table:
    if name == "nb101":
        from nasbench_bench.data.nb101 import load_nb101

        assert path is not None
        return load_nb101(path, mmap=True)
    if name == "nb101-synthetic":
        return _cached_synthetic_nb101()
    if name.startswith("nb201-"):
        from nasbench_bench.data.nb201 import load_nb201

        return load_nb201(name[len("nb201-"):])
    if name == "toy":
        return toy_table()
    raise AssertionError(name)  # pragma: no cover - _check_name guards


def toy_table(budgets: tuple[int, ...] = (4, 12, 36, 108), seed: int = 0, trials: int = 3) -> Table:
    """A SYNTHETIC table on the NB201 cell ids: accuracy rises with conv ops, noise shrinks with budget.

    Good cells are rare (so search beats random sampling), time grows with budget and convs. Use it with
    the ``nb201`` encoding.
    """
    rng = np.random.default_rng(seed)
    ids = EncodingNB201().cell_ids()
    ops = np.array([[int(c) for c in s.decode()] for s in ids])  # (N, 6) op indices 0..4
    conv3 = (ops == 3).sum(1)
    conv1 = (ops == 2).sum(1)
    none = (ops == 0).sum(1)
    quality = 0.05 * conv3 + 0.03 * conv1 - 0.04 * none + 0.01 * rng.standard_normal(len(ids))
    base = 0.6 + 0.3 * (quality - quality.min()) / (quality.max() - quality.min())
    b = np.asarray(budgets, dtype=float)
    frac = (np.log(b) - np.log(b[0]) + 1) / (np.log(b[-1]) - np.log(b[0]) + 1)  # (E,), 1 at the top budget
    n, e = len(ids), len(b)
    mean = base[:, None] * (0.7 + 0.3 * frac[None, :])
    noise = 0.01 / np.sqrt(frac)[None, :, None] * rng.standard_normal((n, e, trials))
    valid = np.clip(mean[:, :, None] + noise, 0, 1)
    test = np.clip(mean[:, :, None] + 0.004 * rng.standard_normal((n, e, trials)), 0, 1)
    train = np.clip(valid + 0.05, 0, 1)
    t108 = 600.0 + 250.0 * conv3 + 120.0 * conv1 + 50 * rng.random(n)
    time = (t108[:, None] * (b / b[-1])[None, :])[:, :, None] * (1 + 0.02 * rng.standard_normal((n, e, trials)))
    return Table(
        name="toy",
        budgets=np.asarray(budgets, dtype=np.int64),
        cell_ids=ids,
        n_trials=np.full((n, e), trials, dtype=np.int8),
        train_time=time,
        train_acc=train,
        valid_acc=valid,
        test_acc=test,
        score_metric="test",
        synthetic=True,
        meta={"notes": "toy synthetic table for tests"},
    )


def _cached_synthetic_nb101(seed: int = 0) -> Table:
    """The full-space synthetic NB101 table, generated once into the cache and memory-mapped afterwards.

    The cache key includes a hash of the generator's source, so a changed synthetic model is regenerated.
    """
    import hashlib

    from nasbench_bench.data import synth
    from nasbench_bench.data.nb101 import DataFormatError, load_nb101, save_nb101
    from nasbench_bench.paths import cache_dir

    model = hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest()[:12]
    path = cache_dir() / "nb101-synthetic" / f"full-seed{seed}-{model}"
    try:
        return load_nb101(path, mmap=True)
    except (FileNotFoundError, DataFormatError):
        pass
    table = synth.synthetic_table("all", variant="full", seed=seed)
    save_nb101(table, path, source={"name": "synthetic_table", "seed": seed, "model": model})
    return load_nb101(path, mmap=True)
