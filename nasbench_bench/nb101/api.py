"""A drop-in, TensorFlow-free replacement for the official ``nasbench.api`` (NAS-Bench-101).

``from nasbench_bench.nb101 import api`` then ``api.NASBench(path)``, ``api.ModelSpec(matrix, ops)`` works
like ``from nasbench import api`` (or keep that line: :func:`nasbench_bench.nb101.install_alias`): same methods,
attributes (``config``, ``fixed_statistics``, ``computed_statistics``, ``history``, ``valid_epochs``, the budget
counters), dict keys, units and exceptions. Differences, on purpose: trials are drawn from the instance's own
``np.random.default_rng(seed)`` (never the global ``random``), nothing is printed, the statistics mappings are
read-only views built per access (so loading stays fast and a caller cannot corrupt the data), ``evaluate``
(training from scratch) is not provided, and queries return fresh small objects without deep-copying whole
records. The data can be a TFRecord file (converted once into the cache), a cache directory, or an
:class:`NB101Table`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, KeysView, Mapping
from typing import Any

import numpy as np

from nasbench_bench.nb101.cache import NB101Table, load_nb101
from nasbench_bench.nb101.spec import MAX_EDGES, MAX_VERTICES, OPS, ModelSpec, OutOfDomainError
from nasbench_bench.stream import UniformStream

__all__ = ["OFFICIAL_CONFIG", "NASBench", "ModelSpec", "OutOfDomainError", "build_config"]

log = logging.getLogger(__name__)

_MEMO_LIMIT = 1 << 21

#: The official ``nasbench.lib.config.build_config()`` (its flag defaults: the settings every cell was trained with).
OFFICIAL_CONFIG: dict[str, Any] = {
    "train_data_files": ["train_1.tfrecords", "train_2.tfrecords", "train_3.tfrecords", "train_4.tfrecords"],
    "valid_data_file": "validation.tfrecords",
    "test_data_file": "test.tfrecords",
    "sample_data_file": "sample.tfrecords",
    "data_format": "channels_last",
    "num_labels": 10,
    "module_vertices": MAX_VERTICES,
    "max_edges": MAX_EDGES,
    "available_ops": list(OPS),
    "stem_filter_size": 128,
    "num_stacks": 3,
    "num_modules_per_stack": 3,
    "batch_size": 256,
    "train_epochs": 108,
    "train_seconds": 4.0 * 60 * 60,
    "learning_rate": 0.1,
    "lr_decay_method": "COSINE_BY_STEP",
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "max_attempts": 5,
    "intermediate_evaluations": ["0.5"],
    "num_repeats": 3,
    "use_tpu": False,
    "tpu_iterations_per_loop": 100,
    "tpu_num_shards": 8,
}

_COMPUTED_KEYS = (
    "halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy", "halfway_test_accuracy",
    "final_training_time", "final_train_accuracy", "final_validation_accuracy", "final_test_accuracy",
)


def build_config() -> dict[str, Any]:
    """A fresh copy of :data:`OFFICIAL_CONFIG` (the official ``config.build_config()``)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in OFFICIAL_CONFIG.items()}


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


class _Statistics(Mapping):
    """A read-only mapping module hash -> statistics, in file order, each value built when it is read."""

    def __init__(self, nb: NASBench, build: Any, what: str) -> None:
        self._nb, self._build, self._what = nb, build, what

    def __getitem__(self, module_hash: str) -> Any:
        if not isinstance(module_hash, str):  # the official keys are str
            raise KeyError(module_hash)
        return self._build(self._nb.table.row(module_hash))

    def __contains__(self, module_hash: object) -> bool:
        if not isinstance(module_hash, str):
            return False
        try:
            self._nb.table.row(module_hash)
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        ids = self._nb.table.cell_ids
        order = self._nb._file_order()
        for lo in range(0, len(order), 65536):
            for h in ids[order[lo : lo + 65536]].tolist():
                yield h.decode("ascii")

    def __len__(self) -> int:
        return self._nb.table.n_cells

    def __repr__(self) -> str:
        return f"<NASBench.{self._what}: {len(self)} cells, read-only>"


class NASBench:
    """The NAS-Bench-101 API over an :class:`NB101Table` (see the module docstring).

    ``fixed_statistics[h]`` is ``{module_adjacency, module_operations, trainable_parameters}`` and
    ``computed_statistics[h]`` is ``{epochs: [one dict per trial with the halfway_*/final_* keys]}``, as the
    official dicts, iterated in the order the cells first appear in the source file.
    """

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
        self.config: dict[str, Any] = build_config()
        self.history: dict[str, Any] = {}
        self.fixed_statistics: Mapping[str, dict[str, Any]] = _Statistics(self, self._fixed_dict, "fixed_statistics")
        self.computed_statistics: Mapping[str, dict[int, list[dict[str, float]]]] = _Statistics(
            self, self._computed_dict, "computed_statistics")
        self._order: np.ndarray | None = None
        self.valid_epochs: set[int] = {int(b) for b in t.budgets}
        self._budget_index = {int(b): i for i, b in enumerate(t.budgets)}
        self._draw = UniformStream(np.random.default_rng(seed)).next
        self._memo: dict[tuple[Any, ...], int] = {}  # (dtype, shape, matrix bytes, ops) -> row
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
        return model_spec.hash_spec(self.config["available_ops"])

    def row(self, model_spec: ModelSpec) -> int:
        """Table row of a spec (memoised per distinct input matrix/ops). ``OutOfDomainError`` for an
        invalid spec, ``KeyError`` for a valid spec the data does not hold."""
        m = model_spec.original_matrix
        key = (m.dtype.str, m.shape, m.tobytes(), tuple(model_spec.original_ops))
        r = self._memo.get(key)
        if r is not None:
            return r
        model_spec.check()
        if self._space is not None:
            if self._space_rows is None:
                self._space_rows = self.table.rows(self._space.hashes)
            r = int(self._space_rows[self._space.index_of_spec(model_spec)])
            if r < 0:
                raise KeyError(f"cell {model_spec.lookup_hash()!r} is not in table {self.table.name!r}")
        else:
            r = self.table.row(model_spec.lookup_hash())
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

    def hash_iterator(self) -> KeysView[str]:
        """The module hashes in the data: a sized, re-iterable view in file order (the official ``dict_keys``;
        hash order for a table that was not converted from a file)."""
        return self.fixed_statistics.keys()

    def _file_order(self) -> np.ndarray:
        if self._order is None:
            fo = self.table.file_order
            n = self.table.n_cells
            if fo is None:
                log.info("%s records no file order (not converted from a file, or an older cache): hashes are "
                         "listed in ascending order", self.table.name)
                self._order = np.arange(n)
            else:
                fo = np.asarray(fo)
                if fo.shape != (n,) or (n and (fo.min() < 0 or fo.max() >= n
                                               or np.bincount(fo, minlength=n).max() != 1)):
                    raise ValueError(f"{self.table.name}: file_order is not a permutation of the rows")
                self._order = fo
        return self._order

    def evaluate(self, model_spec: ModelSpec, model_dir: str) -> Any:
        """Not provided: the official ``evaluate`` trains the network from scratch with TensorFlow."""
        raise NotImplementedError(
            "NASBench.evaluate trains a network from scratch with TensorFlow; training is not part of this suite, "
            "which serves the recorded NAS-Bench-101 results (query, get_metrics_from_spec). To train, use the "
            "official nasbench package (github.com/google-research/nasbench).")

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        """``(fixed_stats, computed_stats)`` of a cell, fresh objects shaped like the official ones.

        Charges nothing. ``KeyError`` if the hash is not in the data.
        """
        return self._metrics(self.table.row(module_hash))

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        """As :meth:`get_metrics_from_hash` for a spec; ``OutOfDomainError`` if it is invalid."""
        return self._metrics(self.row(model_spec))

    def _metrics(self, r: int) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        return self._fixed_dict(r), self._computed_dict(r)

    def _fixed_dict(self, r: int) -> dict[str, Any]:
        adj, ops, params = self._fixed_stat(r)
        return {"module_adjacency": adj.copy(), "module_operations": list(ops), "trainable_parameters": params}

    def _computed_dict(self, r: int) -> dict[int, list[dict[str, float]]]:
        t = self.table
        arrays = (t.halfway_train_time, t.halfway_train_acc, t.halfway_valid_acc, t.halfway_test_acc,
                  t.train_time, t.train_acc, t.valid_acc, t.test_acc)
        rows = [a[r].tolist() for a in arrays]  # type: ignore[index]
        n_trials = t.n_trials[r].tolist()
        return {
            epochs: [dict(zip(_COMPUTED_KEYS, [v[b][k] for v in rows])) for k in range(n_trials[b])]
            for b, epochs in enumerate(t.budgets.tolist())
        }

    def __repr__(self) -> str:
        return f"NASBench({self.table.describe()})"
