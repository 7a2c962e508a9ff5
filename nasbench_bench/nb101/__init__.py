"""The NAS-Bench-101 family (Ying et al., ICML 2019): 423,624 CIFAR-10 cells, 4/12/36/108 epochs, 3 trials.

Data flow inside the family: the official ``.tfrecord`` (:mod:`.tfrecord` framing, :mod:`.records` codec,
:mod:`.download`) -> one-pass conversion into the table store (:mod:`.cache`, an :class:`~.cache.NB101Table`)
-> the search space and the cell hash (:mod:`.spec`, :mod:`.space`) -> the paper's encodings A, B, C
(:mod:`.encodings`). :mod:`.api` is a TensorFlow-free drop-in for the official ``nasbench.api`` (with
:mod:`.graph_util`, and :func:`install_alias` for code that keeps ``from nasbench import api``); :mod:`.synth`
writes SYNTHETIC official-format data for tests and benchmarks.

Benchmarks: ``nb101`` (the official data, from ``--data PATH`` or ``$NASBENCH_BENCH_NB101``) and
``nb101-synthetic`` (a SYNTHETIC full-space table, generated once into the cache).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nasbench_bench.benchmarks import Benchmark, BenchmarkDataError, BenchmarkFamily
from nasbench_bench.nb101.encodings import EncodingA, EncodingB, EncodingC
from nasbench_bench.table import Table

__all__ = ["FAMILY", "NB101_ENV", "install_alias", "nb101_data_path"]

NB101_ENV = "NASBENCH_BENCH_NB101"


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


def install_alias(force: bool = False) -> Any:
    """Let unmodified code keep ``from nasbench import api`` (and ``nasbench.lib.graph_util``/``model_spec``):
    registers the TensorFlow-free drop-in under those names in this process; refuses to shadow a real
    ``nasbench`` unless ``force`` (see :mod:`nasbench_bench.nb101.alias`). Returns the api module."""
    from nasbench_bench.nb101.alias import install_alias as _install

    return _install(force=force)


def _load_official(path: Path | None) -> Table:
    from nasbench_bench.nb101.cache import load_nb101

    assert path is not None  # resolved by nb101_data_path
    return load_nb101(path, mmap=True)


def _load_synthetic(path: Path | None, seed: int = 0) -> Table:
    from nasbench_bench.nb101.synth import cached_synthetic_table

    return cached_synthetic_table(seed)


FAMILY = BenchmarkFamily(
    name="nb101",
    benchmarks=(
        Benchmark("nb101", _load_official, "real NAS-Bench-101 (--data PATH or $NASBENCH_BENCH_NB101)",
                  data_path=nb101_data_path),
        Benchmark("nb101-synthetic", _load_synthetic, "SYNTHETIC NAS-Bench-101-shaped table (all cells)",
                  synthetic=True),
    ),
    encodings={"A": EncodingA, "B": EncodingB, "C": EncodingC},
    default_encoding="A",
)
