"""The surrogate's permutation importance, computed with one batched prediction
(lib.metrics.importance.permutation_importance_exact), equals scikit-learn's
permutation_importance number for number (issue 14: the demo build's cost)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.inspection import permutation_importance

from lib.metrics import importance


def data(task: str, seed: int = 1, n: int = 400):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=n), rng.integers(0, 4, n).astype(float), rng.random(n)])
    x[rng.random(n) < 0.1, 1] = np.nan
    signal = 2 * x[:, 0] - np.nan_to_num(x[:, 1]) + (x[:, 2] == 2) + 0.3 * rng.normal(size=n)
    if task == "regression":
        return x, signal
    if task == "binary":
        return x, np.where(signal > 0, "yes", "no")
    return x, np.digitize(signal, [-1.0, 1.0]).astype(str)


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("seed", [0, 7])
def test_equals_sklearn_permutation_importance(task, seed):
    x, y = data(task, seed=seed + 1)
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    est = cls(max_iter=30, categorical_features=[False, False, True, False], random_state=seed).fit(x[:280], y[:280])
    ours = importance.permutation_importance_exact(est, x[280:], y[280:], n_repeats=3, random_state=seed)
    theirs = permutation_importance(est, x[280:], y[280:], n_repeats=3, random_state=seed).importances_mean
    assert ours.tolist() == theirs.tolist()  # bit for bit
    assert ours[0] > 0.05 and abs(ours[3]) < ours[0]  # the signal feature matters, the noise far less


def test_surrogate_importance_ranks_the_signal_first():
    x, y = data("binary", seed=3, n=900)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2].astype(int).astype(str), "d": x[:, 3]})
    weights = importance.surrogate_importance(
        frame, {"a": "numeric", "b": "numeric", "c": "categorical", "d": "numeric"}, pd.Series(y), task="binary"
    )
    assert list(weights) == ["a", "b", "c", "d"]
    assert max(weights, key=weights.get) == "a"
