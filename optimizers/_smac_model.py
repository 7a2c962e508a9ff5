"""SMAC 2.4.1's random forest with two costs removed and identical trees and predictions.

- Training with ``log_y`` (the HPO facade's setting): ``EPMRandomForest.fit`` recomputes every leaf value
  as ``log(mean(exp(y of the leaf's bootstrap samples)))``, selecting each leaf's samples with
  ``curY[preds == k]``: O(leaves x samples) per tree, the forest fit's largest cost on long runs. Here the
  samples are grouped once by a stable sort of their leaf ids, which gives every leaf the same values in the
  same order, and the same ``np.log(np.exp(values).mean())`` is taken of each group (groups of equal size
  as the rows of one block, see :func:`set_log_mean_leaf_values`).
- Prediction: ``_impute_inactive`` has nothing to impute without conditions (but walks all
  hyperparameters each call); ``all_trees_pred`` runs one joblib ``Parallel`` per call (sequential with
  ``n_jobs=1``) and validates the input with scikit-learn's ``validate_data``. Here a finite 2-D float64
  array of the right width is cast to float32 (what ``validate_data`` does) and each tree's
  ``tree_.predict`` fills the same ``(n, n_trees)`` float64 array. Anything else goes through the
  library's code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from smac.model.random_forest.random_forest import EPMRandomForest, RandomForest


class FastEPMRandomForest(EPMRandomForest):
    """:class:`EPMRandomForest` with grouped ``log_y`` leaf values and a direct prediction path."""

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> None:  # type: ignore[override]
        """As ``EPMRandomForest.fit`` (smac 2.4.1)."""
        assert sample_weight is None, "Sample weights are not supported"
        super(EPMRandomForest, self).fit(X=X, y=y, sample_weight=sample_weight)
        self.trainX = X
        self.trainY = y
        if self.log_y:
            for tree, samples_idx in zip(self.estimators_, self.estimators_samples_):
                set_log_mean_leaf_values(tree, X[samples_idx], y[samples_idx])

    def all_trees_pred(self, X: np.ndarray) -> np.ndarray:
        """As ``EPMRandomForest.all_trees_pred`` (smac 2.4.1) for single-output forests."""
        if (
            not isinstance(X, np.ndarray) or X.dtype != np.float64 or X.ndim != 2 or self.n_outputs_ != 1
            or X.shape[1] != self.n_features_in_ or not np.isfinite(X).all()
        ):
            return super().all_trees_pred(X)
        X32 = np.asarray(X, dtype=np.float32)
        preds = np.zeros((X32.shape[0], self.n_estimators), dtype=np.float64)
        for i, tree in enumerate(self.estimators_):
            preds[:, i] = tree.tree_.predict(X32)[:, 0]
        return preds


def set_log_mean_leaf_values(tree: Any, X: np.ndarray, y: np.ndarray) -> None:
    """``tree.tree_.value[k, 0, 0] = np.log(np.exp(y[leaf == k]).mean())`` for every leaf ``k`` reached by ``X``.

    Leaves with the same number of samples are done together: their samples, in their original order, form
    the rows of one C-contiguous block and ``np.exp(block).mean(axis=1)`` gives each row's mean. That a
    row-wise mean equals the mean of the row alone (numpy's pairwise summation per row) is checked bitwise
    against ``EPMRandomForest.fit`` in ``tests/test_smac_fast.py``.
    """
    leaves = tree.apply(X)
    order = np.argsort(leaves, kind="stable")  # stable: each leaf's samples keep their order
    leaves, y = leaves[order], y[order]
    starts = np.flatnonzero(np.concatenate(([True], leaves[1:] != leaves[:-1])))
    sizes = np.diff(np.append(starts, len(leaves)))
    values = tree.tree_.value
    for m in np.unique(sizes).tolist():
        first = starts[sizes == m]
        block = y[first[:, None] + np.arange(m)]
        values[leaves[first], 0, 0] = np.log(np.exp(block).mean(axis=1))


class FastRandomForest(RandomForest):
    """SMAC's ``RandomForest`` training a :class:`FastEPMRandomForest` (same trees, same predictions).

    ``_impute_inactive`` (called on every training and prediction) walks all hyperparameters to impute the
    conditional ones; once it has classified them and found none conditional, it returns a copy at once.
    """

    def predict_marginalized(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As ``RandomForest.predict_marginalized`` (smac 2.4.1) without instance features: the forest's mean and
        variance over trees, variances floored at ``VERY_SMALL_NUMBER`` (NaN too). The shape checks and the
        warnings filter of ``AbstractModel.predict`` are skipped for a plain 2-D array of the right width."""
        if (
            self._n_features != 0 or self._apply_pca or not isinstance(X, np.ndarray) or X.ndim != 2
            or X.shape[1] != self._n_hps or X.shape[1] != len(self._types) or self._rf is None
            or len(self._conditional) != self._n_hps or any(self._conditional.values())
        ):
            return super().predict_marginalized(X)
        means, vars_ = self._rf.predict(X)  # _impute_inactive would return an unchanged copy
        mean, var = means.reshape((-1, 1)), vars_.reshape((-1, 1))
        var[var < self._var_threshold] = self._var_threshold
        var[np.isnan(var)] = self._var_threshold
        return mean, var

    def _impute_inactive(self, X: np.ndarray) -> np.ndarray:
        if len(self._conditional) == self._n_hps and not any(self._conditional.values()):
            return X.copy()
        return super()._impute_inactive(X)

    def _train(self, X: np.ndarray, y: np.ndarray) -> FastRandomForest:
        X = self._impute_inactive(X)
        y = y.flatten()
        self._rf = FastEPMRandomForest(**self._rf_opts)
        self._rf.fit(X, y)
        return self
