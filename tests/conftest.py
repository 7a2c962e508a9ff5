"""Shared, generic fixtures: small hand-built NB101 cells, a synthetic official-format file and its cache.

Nothing here needs the full search space: cells are a few hundred random valid specs, built once per
session. ``nb101_full_file``/``nb101_only108_file`` are TFRecord files written by the synthetic writer;
``nb101_full_cache``/``nb101_only108_cache`` are their converted cache directories.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench_bench.nb101.spec import OPS, ModelSpec


def random_valid_specs(n: int, seed: int = 0) -> list[ModelSpec]:
    """``n`` valid specs with distinct pruned graphs (not necessarily distinct cells), seeded."""
    rng = np.random.default_rng(seed)
    out: list[ModelSpec] = []
    seen: set[tuple[bytes, tuple[str, ...]]] = set()
    while len(out) < n:
        m = np.triu(rng.integers(0, 2, (7, 7)), 1)
        if m.sum() > 9 + int(rng.integers(0, 6)):
            continue
        ops = ["input"] + [OPS[i] for i in rng.integers(0, 3, 5)] + ["output"]
        spec = ModelSpec(m, ops)
        if not spec.is_valid():
            continue
        assert spec.matrix is not None and spec.ops is not None
        key = (spec.matrix.tobytes(), tuple(spec.ops))
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out


@pytest.fixture(scope="session")
def small_cells():
    """~300 distinct cells (a ``synth.Cells``), sorted by hash."""
    from nasbench_bench.nb101.synth import cells_from_specs

    return cells_from_specs(random_valid_specs(300, seed=1))


@pytest.fixture(scope="session")
def nb101_cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache root (never the user's cache)."""
    return tmp_path_factory.mktemp("nb101_cache_root")


def _write(tmp_path_factory: pytest.TempPathFactory, cells, variant: str) -> Path:
    from nasbench_bench.nb101.synth import write_synthetic_tfrecord

    path = tmp_path_factory.mktemp(f"nb101_{variant}") / f"synthetic_{variant}.tfrecord"
    write_synthetic_tfrecord(path, cells, variant=variant, seed=7)
    return path


@pytest.fixture(scope="session")
def nb101_full_file(tmp_path_factory: pytest.TempPathFactory, small_cells) -> Path:
    """A SYNTHETIC official-format full-variant (4/12/36/108 epochs) TFRecord of ``small_cells``, seed 7."""
    return _write(tmp_path_factory, small_cells, "full")


@pytest.fixture(scope="session")
def nb101_only108_file(tmp_path_factory: pytest.TempPathFactory, small_cells) -> Path:
    """As ``nb101_full_file`` for the only108 variant."""
    return _write(tmp_path_factory, small_cells, "only108")


@pytest.fixture(scope="session")
def nb101_full_cache(nb101_full_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted cache directory of ``nb101_full_file``."""
    from nasbench_bench.nb101.cache import convert

    return convert(nb101_full_file, tmp_path_factory.mktemp("conv") / "full")


@pytest.fixture(scope="session")
def nb101_only108_cache(nb101_only108_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nasbench_bench.nb101.cache import convert

    return convert(nb101_only108_file, tmp_path_factory.mktemp("conv") / "only108")


@pytest.fixture(scope="session")
def nb101_full_table(nb101_full_cache: Path):
    """The loaded ``NB101Table`` of ``nb101_full_cache`` (read-only: do not mutate)."""
    from nasbench_bench.nb101.cache import load_nb101

    return load_nb101(nb101_full_cache)
