"""SMAC 2.4.1's run history and run-history encoder without their per-trial O(history) Python work.

- ``RunHistory._add`` recomputes the objective bounds (min and max of every successful trial's cost) from
  the whole history on every ``add``: twice per trial (``ask`` registers the running trial, ``tell`` its
  result), O(history) Python each. :class:`FastRunHistory` updates them with the one entry ``_add`` stores
  (``np.minimum``/``np.maximum`` with the previous bounds; the same values as ``np.min``/``np.max`` over all
  costs, NaN included) and recomputes in full whenever that would not be exact: a successful entry is
  overwritten, a cost is a signed zero, or the bounds are asked for outside ``_add``.
- ``RunHistoryEncoder`` selects the trials for the model into new dictionaries through ``RunHistory``'s
  ``Mapping`` views (every key hashed twice; ``TrialKey.__hash__`` is Python) and converts their
  configurations one by one, twice per retrain (``transform`` and ``get_configurations``). A
  :class:`FastRunHistory` also keeps the trials' config ids, statuses and costs as columns in ``_data``
  order and every configuration's vector by config id (while there are no budgets and no instances), and
  :class:`FastLogScaledEncoder` selects from those with masks (the same trials, in the same order, the same
  set of config ids) and stacks rows by indexing; otherwise it walks the run history's own dictionary into
  lists. Same X and y.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from smac.runhistory.dataclasses import TrialKey, TrialValue
from smac.runhistory.encoder import RunHistoryLogScaledEncoder
from smac.runhistory.enumerations import StatusType
from smac.runhistory.runhistory import RunHistory


class FastRunHistory(RunHistory):
    """SMAC's ``RunHistory`` with incrementally updated objective bounds (same values) and columns of its trials
    for :class:`FastLogScaledEncoder`. The vectors are copied when a configuration is first added: like SMAC,
    it assumes configurations are not changed afterwards."""

    _hint: TrialValue | None = None
    _bounds_arrays: tuple[np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        super().reset()
        self._hint = None
        self._bounds_arrays = None
        # Columns of the trials in ``_data`` order, for :class:`FastLogScaledEncoder`: config id, status, cost;
        # and the configurations' vectors by config id. Kept while every trial has a float cost and neither
        # instance nor budget (otherwise the encoder uses its general path).
        self._position: dict[TrialKey, int] = {}
        self._col_id: list[int] = []
        self._col_status: list[int] = []
        self._col_cost: list[float] = []
        self._buffer = np.empty((0, 0))
        self._n_vectors = 0
        self._columns_ok = True
        self._col_config: list[Any] = []  # each trial's configuration, in ``_data`` order
        self._budgets_seen = False  # any trial key with a budget

    def _add(self, k: TrialKey, v: TrialValue, status: StatusType) -> None:
        previous = self._data.get(k)
        exact = previous is None or previous.status != StatusType.SUCCESS
        self._hint = v if exact else None
        self._record(k, v)  # super()._add stores v first of all
        try:
            super()._add(k, v, status)
        finally:
            self._hint = None

    def _record(self, k: TrialKey, v: TrialValue) -> None:
        if k.budget is not None:
            self._budgets_seen = True
        if not self._columns_ok:
            return
        if k.instance is not None or k.budget is not None or type(v.cost) is not float:
            self._columns_ok = False
            return
        pos = self._position.get(k)
        if pos is None:
            self._position[k] = len(self._col_id)
            self._col_id.append(k.config_id)
            self._col_status.append(int(v.status))
            self._col_cost.append(v.cost)
            self._col_config.append(self._ids_config[k.config_id])
        else:
            self._col_status[pos], self._col_cost[pos] = int(v.status), v.cost
        n = self._n_vectors
        if k.config_id == n + 1:  # config ids are given out as 1, 2, 3, ...
            vector = self._ids_config[k.config_id].get_array()
            if n == len(self._buffer):
                grown = np.empty((max(64, 2 * n), len(vector)))
                if n:
                    grown[:n] = self._buffer[:n]
                self._buffer = grown
            self._buffer[n] = vector
            self._n_vectors = n + 1
        elif k.config_id > n + 1:
            self._columns_ok = False

    @property
    def _vectors(self) -> np.ndarray:
        """The configurations' vectors as added, by config id - 1."""
        return self._buffer[: self._n_vectors]

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(config ids, statuses, costs) of the trials in ``_data`` order and the vectors by config id - 1;
        None when they are not kept (see ``reset``)."""
        if not self._columns_ok or len(self._col_id) != len(self._data):
            return None
        return (np.array(self._col_id, dtype=np.int64), np.array(self._col_status, dtype=np.int64),
                np.array(self._col_cost, dtype=np.float64), self._vectors)

    def without_budgets(self) -> bool:
        """True while no trial key has a budget."""
        return not self._budgets_seen

    def get_configs_per_budget(self, budget_subset: list | None = None) -> list[Any]:
        """As ``RunHistory.get_configs_per_budget`` (smac 2.4.1): for ``[None]`` without budgets, every trial's
        configuration in ``_data`` order, from the kept column instead of a walk over the trial keys."""
        if budget_subset is not None and list(budget_subset) == [None] and not self._budgets_seen \
                and self._columns_ok and len(self._col_config) == len(self._data):
            return list(self._col_config)
        return super().get_configs_per_budget(budget_subset)

    def _update_objective_bounds(self) -> None:
        v, self._hint = self._hint, None
        if v is None or (v.status == StatusType.SUCCESS and not self._incremental(v)):
            super()._update_objective_bounds()
            if any(run.status == StatusType.SUCCESS for run in self._data.values()):
                self._bounds_arrays = (np.array([b[0] for b in self._objective_bounds]),
                                       np.array([b[1] for b in self._objective_bounds]))
            else:
                self._bounds_arrays = None
        elif self._bounds_arrays is None:  # no successful trial yet: as the full recomputation
            self._objective_bounds = [(np.inf, -np.inf)] * self._n_objectives

    def _incremental(self, v: TrialValue) -> bool:
        """Fold the successful trial ``v`` into the bounds; False if only a full recomputation is exact."""
        costs = v.cost if isinstance(v.cost, list) else [v.cost]
        assert len(costs) == self._n_objectives
        new = np.array(costs, dtype=float)
        if np.any(new == 0.0):  # np.min/np.max and np.minimum/np.maximum may keep different signed zeros
            return False
        if self._bounds_arrays is None:
            lo, hi = new, new
        else:
            lo, hi = self._bounds_arrays
            lo, hi = np.minimum(lo, new), np.maximum(hi, new)
        self._bounds_arrays = (lo, hi)
        self._objective_bounds = [(a, b) for a, b in zip(lo, hi)]
        return True


class FastLogScaledEncoder(RunHistoryLogScaledEncoder):
    """SMAC's ``RunHistoryLogScaledEncoder`` (the HPO facade's) without rebuilding dictionaries of trials.

    The library selects trials into new dictionaries through ``RunHistory``'s ``Mapping`` views (every key
    hashed twice; ``TrialKey.__hash__`` is Python) and converts configurations one by one. Here the same
    trials are selected, in the same order, into lists from the run history's own dictionary, and the
    vectors are stacked at once.
    """

    def _selected(self, budget_subset: list | None) -> tuple[list[tuple[TrialKey, TrialValue]], list[TrialKey]]:
        """(``_get_considered_trials(budget_subset).items()``, ``_get_timeout_trials(budget_subset)`` keys)."""
        if budget_subset is not None and len(budget_subset) != 1:
            raise ValueError("Can not yet handle getting runs from multiple budgets.")
        considered, lower, timeout = self._considered_states, self._lower_budget_states, StatusType.TIMEOUT
        chosen: list[tuple[TrialKey, TrialValue]] = []
        timeouts: list[TrialKey] = []
        for key, value in self.runhistory._data.items():
            if budget_subset is not None:
                add = key.budget in budget_subset and value.status in considered
                if key.budget is not None and budget_subset[0] is not None and key.budget < budget_subset[0] \
                        and value.status in lower:
                    add = True
                if value.status == timeout and key.budget in budget_subset:
                    timeouts.append(key)
            else:
                add = value.status in considered
                if value.status == timeout:
                    timeouts.append(key)
            if add:
                chosen.append((key, value))
        return chosen, timeouts

    def _columns(self, budget_subset: list | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """For a :class:`FastRunHistory` without budgets: (selected mask, timeout mask, config ids, costs)."""
        rh = self.runhistory
        if not isinstance(rh, FastRunHistory) or budget_subset not in (None, [None]):
            return None
        columns = rh.columns()
        if columns is None:
            return None
        ids, status, costs, _ = columns
        chosen = np.isin(status, [int(s) for s in self._considered_states])
        # without budgets no trial is on a lower budget, and every trial's budget (None) is in [None]
        return chosen, status == int(StatusType.TIMEOUT), ids, costs

    def transform(self, budget_subset: list | None = None) -> tuple[np.ndarray, np.ndarray]:
        """As ``AbstractRunHistoryEncoder.transform`` (smac 2.4.1)."""
        if self._n_objectives > 1 or self._n_features > 0:
            return super().transform(budget_subset)
        columns = self._columns(budget_subset)
        if columns is not None:
            chosen_mask, timeout_mask, ids, costs = columns
            vectors = self.runhistory._vectors
            X, Y = self._rows(vectors[ids[chosen_mask] - 1], costs[chosen_mask], store_statistics=True)
            store_statistics = True if np.any(np.isnan(self._min_y)) else False
            tX, tY = self._rows(vectors[ids[timeout_mask] - 1], costs[timeout_mask], store_statistics)
            if not chosen_mask.any():
                return tX, tY
            return np.vstack((X, tX)), np.concatenate((Y, tY))
        chosen, timeouts = self._selected(budget_subset)
        X, Y = self._matrix(chosen, store_statistics=True)
        store_statistics = True if np.any(np.isnan(self._min_y)) else False
        data = self.runhistory._data
        tX, tY = self._matrix([(k, data[k]) for k in timeouts], store_statistics=store_statistics)
        if not chosen:
            return tX, tY
        return np.vstack((X, tX)), np.concatenate((Y, tY))

    def get_configurations(self, budget_subset: list | None = None) -> np.ndarray:
        """As ``AbstractRunHistoryEncoder.get_configurations`` (smac 2.4.1)."""
        columns = self._columns(budget_subset)
        if columns is not None:
            chosen_mask, timeout_mask, ids, _ = columns
            config_ids = set(ids[chosen_mask].tolist()) | set(ids[timeout_mask].tolist())  # the library's order
            if not config_ids:
                return np.array([], dtype=np.float64)
            return self.runhistory._vectors[np.fromiter(config_ids, dtype=np.int64, count=len(config_ids)) - 1]
        chosen, timeouts = self._selected(budget_subset)
        config_ids = set(key.config_id for key, _ in chosen) | set(key.config_id for key in timeouts)
        ids_config = self.runhistory._ids_config
        return np.array([ids_config[config_id].get_array() for config_id in config_ids], dtype=np.float64)

    def _build_matrix(
        self, trials: Mapping[TrialKey, TrialValue], store_statistics: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        if self._n_objectives > 1 or self._n_features > 0:
            return super()._build_matrix(trials, store_statistics)
        return self._matrix(list(trials.items()), store_statistics)

    def _matrix(
        self, trials: list[tuple[TrialKey, TrialValue]], store_statistics: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        ids_config = self.runhistory._ids_config
        vectors = np.array([ids_config[key.config_id].get_array() for key, _ in trials], dtype=np.float64)
        return self._rows(vectors, [run.cost for _, run in trials], store_statistics)

    def _rows(self, vectors: np.ndarray, costs: Any, store_statistics: bool) -> tuple[np.ndarray, np.ndarray]:
        """smac 2.4.1 ``RunHistoryEncoder._build_matrix`` for one objective and no instance features, given
        the trials' configuration vectors and costs."""
        n_rows = len(costs)
        X = np.ones([n_rows, self._n_params]) * np.nan
        y = np.ones([n_rows, 1])
        if n_rows:
            X[:, :] = vectors
            y[:, 0] = costs
        if y.size > 0 and store_statistics:
            self._percentile = np.percentile(y, self._scale_percentage, axis=0)
            self._min_y = np.min(y, axis=0)
            self._max_y = np.max(y, axis=0)
        y = self.transform_response_values(values=y)
        return X, y
