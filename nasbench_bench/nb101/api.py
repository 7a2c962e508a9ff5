"""A drop-in, TensorFlow-free replacement for the official ``nasbench.api`` (NAS-Bench-101).

``from nasbench_bench.nb101 import api`` then ``api.NASBench(path)``, ``api.ModelSpec(matrix, ops)`` works
like ``from nasbench import api``: same methods, dict keys, units and budget counters. Differences, on purpose:
trials are drawn from the instance's own ``np.random.default_rng(seed)`` (never the global ``random``),
nothing is printed, and queries return fresh small objects without deep-copying whole records. The data
can be a TFRecord file (converted once into the cache), a cache directory, or an :class:`NB101Table`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from nasbench_bench.nb101.cache import NB101Table, load_nb101
from nasbench_bench.nb101.spec import MAX_EDGES, MAX_VERTICES, OPS, ModelSpec, OutOfDomainError
from nasbench_bench.stream import UniformStream

__all__ = ["NASBench", "ModelSpec", "OutOfDomainError"]

log = logging.getLogger(__name__)

_MEMO_LIMIT = 1 << 21


def _built_space() -> Any:
    """The search space if its cache is already on disk (never builds it), else ``None``."""
    try:
        from nasbench_bench import store
        from nasbench_bench.nb101 import space as sp
        from nasbench_bench.paths import cache_dir

        if store.existing_cache(cache_dir() / sp.CACHE_SUBDIR) is not None:
            return sp.get_space()
    except Exception as exc:  # the space is an optional accelerator: fall back to hashing
        log.debug("search space unavailable (%s); queries will hash specs", exc)
    return None


class NASBench:
    """The NAS-Bench-101 API over an :class:`NB101Table` (see the module docstring)."""

    def __init__(
        self,
        dataset_file: str | os.PathLike[str] | NB101Table,
        seed: int | None = None,
        *,
        space: Any = None,
    ) -> None:
        """Load the data. ``space`` makes the first query of each spec a table lookup instead of computing
        its module hash: a ``SearchSpace``, ``True`` (``get_space()``, building it if needed), ``False``
        (always hash), or ``None`` (default: use the space if its cache is already built and the table
        has over 100,000 cells)."""
        self.table: NB101Table = (
            dataset_file if isinstance(dataset_file, NB101Table) else load_nb101(dataset_file)
        )
        if self.table.synthetic:
            log.warning("NASBench is serving SYNTHETIC data, not real NAS-Bench-101 results: %s",
                        self.table.describe())
        t = self.table
        self.config: dict[str, Any] = {
            "module_vertices": MAX_VERTICES,
            "max_edges": MAX_EDGES,
            "available_ops": list(OPS),
            "num_repeats": int(t.max_trials),
        }
        self.valid_epochs: set[int] = {int(b) for b in t.budgets}
        self._budget_index = {int(b): i for i, b in enumerate(t.budgets)}
        self._draw = UniformStream(np.random.default_rng(seed)).next
        self._memo: dict[tuple[bytes, tuple[str, ...]], int] = {}
        self._fixed: dict[int, tuple[np.ndarray, list[str], int]] = {}
        if space is True:
            from nasbench_bench.nb101.space import get_space

            space = get_space()
        elif space is None:
            space = _built_space() if t.n_cells > 100_000 else None
        self._space = space or None
        self._space_rows: np.ndarray | None = None
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    # -- spec -> row ---------------------------------------------------------------------------------
    def _check_spec(self, model_spec: ModelSpec) -> None:
        """Raise :class:`OutOfDomainError` if the spec is outside the space (official semantics)."""
        model_spec.check()

    def _hash_spec(self, model_spec: ModelSpec) -> str:
        return model_spec.hash_spec(OPS)

    def row(self, model_spec: ModelSpec) -> int:
        """Table row of a spec (memoised per distinct input matrix/ops). ``OutOfDomainError`` for an
        invalid spec, ``KeyError`` for a valid spec the data does not hold."""
        m = model_spec.original_matrix
        key = (m.tobytes(), tuple(model_spec.original_ops))
        r = self._memo.get(key)
        if r is not None:
            return r
        model_spec.check()
        if self._space is not None:
            if self._space_rows is None:
                self._space_rows = self.table.rows(self._space.hashes)
            r = int(self._space_rows[self._space.index_of_spec(model_spec)])
            if r < 0:
                raise KeyError(f"cell {model_spec.hash_spec()!r} is not in table {self.table.name!r}")
        else:
            r = self.table.row(model_spec.hash_spec())
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = r
        return r

    def _fixed_stat(self, r: int) -> tuple[np.ndarray, list[str], int]:
        f = self._fixed.get(r)
        if f is None:
            t = self.table
            f = (t.adjacency(r), t.op_names(r), int(t.trainable_parameters[r]))
            self._fixed[r] = f
        return f

    # -- official API --------------------------------------------------------------------------------
    def query(self, model_spec: ModelSpec, epochs: int = 108, stop_halfway: bool = False) -> dict[str, Any]:
        """Metrics of one randomly drawn trial of the spec at ``epochs``; charges the budget counters.

        Keys: module_adjacency, module_operations, trainable_parameters, training_time (s),
        train_accuracy, validation_accuracy, test_accuracy (fractions). Halfway values with
        ``stop_halfway`` (then ``epochs // 2`` epochs are charged).
        """
        b = self._budget_index.get(epochs)
        if b is None:
            raise OutOfDomainError(f"invalid number of epochs, must be one of {sorted(self.valid_epochs)}")
        r = self.row(model_spec)
        t = self.table
        n = int(t.n_trials[r, b])
        k = int(self._draw() * n)
        adj, ops, params = self._fixed_stat(r)
        if stop_halfway:
            arrays = (t.halfway_train_time, t.halfway_train_acc, t.halfway_valid_acc, t.halfway_test_acc)
            self.total_epochs_spent += epochs // 2
        else:
            arrays = (t.train_time, t.train_acc, t.valid_acc, t.test_acc)
            self.total_epochs_spent += epochs
        time, train, valid, test = (float(a[r, b, k]) for a in arrays)  # type: ignore[index]
        data = {
            "module_adjacency": adj.copy(),
            "module_operations": list(ops),
            "trainable_parameters": params,
            "training_time": time,
            "train_accuracy": train,
            "validation_accuracy": valid,
            "test_accuracy": test,
        }
        self.training_time_spent += time
        return data

    def is_valid(self, model_spec: ModelSpec) -> bool:
        """True if the spec is inside the search space (it may still be absent from a partial table)."""
        return model_spec.is_valid()

    def get_budget_counters(self) -> tuple[float, int]:
        """``(training_time_spent, total_epochs_spent)`` charged by :meth:`query` so far."""
        return self.training_time_spent, self.total_epochs_spent

    def reset_budget_counters(self) -> None:
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def hash_iterator(self) -> Iterator[str]:
        """Iterate over the module hashes in the data (ascending)."""
        return (h.decode("ascii") for h in self.table.cell_ids)

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        """``(fixed_stats, computed_stats)`` of a cell, fresh objects shaped like the official ones.

        Charges nothing. ``KeyError`` if the hash is not in the data.
        """
        return self._metrics(self.table.row(module_hash))

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        """As :meth:`get_metrics_from_hash` for a spec; ``OutOfDomainError`` if it is invalid."""
        return self._metrics(self.row(model_spec))

    def _metrics(self, r: int) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        t = self.table
        adj, ops, params = self._fixed_stat(r)
        fixed = {"module_adjacency": adj.copy(), "module_operations": list(ops), "trainable_parameters": params}
        cols = (
            ("halfway_training_time", t.halfway_train_time), ("halfway_train_accuracy", t.halfway_train_acc),
            ("halfway_validation_accuracy", t.halfway_valid_acc), ("halfway_test_accuracy", t.halfway_test_acc),
            ("final_training_time", t.train_time), ("final_train_accuracy", t.train_acc),
            ("final_validation_accuracy", t.valid_acc), ("final_test_accuracy", t.test_acc),
        )
        rows = [(name, arr[r].tolist()) for name, arr in cols]  # type: ignore[index]
        computed: dict[int, list[dict[str, float]]] = {}
        for b, epochs in enumerate(t.budgets.tolist()):
            computed[int(epochs)] = [
                {name: vals[b][k] for name, vals in rows} for k in range(int(t.n_trials[r, b]))
            ]
        return fixed, computed

    def __repr__(self) -> str:
        return f"NASBench({self.table.describe()})"
