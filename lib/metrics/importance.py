"""Feature importance of a model, measured on its reference: permutation importance of a surrogate
(scikit-learn HistGradientBoosting) fitted to the reference's own predictions — what the model
relies on, without access to the model itself. Used to rank "drifted AND important" first.

Pure: a data frame in, a dict out; scikit-learn is imported lazily.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.metrics.multivariate import _encode


def surrogate_importance(
    frame: pd.DataFrame, kinds: dict[str, str], target, *, task: str, seed: int = 0, max_rows: int = 1000
) -> dict[str, float]:
    """Permutation importance (mean score drop, 3 repeats, on held-out rows) of each feature for
    a surrogate of the model: a HistGradientBoosting classifier (accuracy) or regressor (R²)
    fitted to `target`, the model's own predictions on the reference. Empty when it cannot fit
    (fewer than 50 rows, or one predicted class only)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    y = pd.Series(target).reset_index(drop=True)
    keep = y.notna().to_numpy()
    frame = frame.reset_index(drop=True)[keep]
    y = y[keep]
    if len(frame) > max_rows:
        pick = np.random.default_rng(seed).choice(len(frame), max_rows, replace=False)
        frame, y = frame.iloc[np.sort(pick)], y.iloc[np.sort(pick)]
    classify = task != "regression"
    if len(frame) < 50 or not kinds or (classify and y.nunique() < 2):
        return {}
    X, categorical = _encode(frame, frame.iloc[:0], kinds)
    y = y.astype(str).to_numpy() if classify else y.astype("float64").to_numpy()
    est = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
        max_iter=30, categorical_features=np.asarray(categorical, dtype=bool), random_state=seed
    )
    strat = y if classify and pd.Series(y).value_counts().min() >= 2 else None
    with threadpool_limits(1):
        x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=strat)
        est.fit(x_tr, y_tr)
        imp = permutation_importance(est, x_te, y_te, n_repeats=3, random_state=seed)
    return {f: float(v) for f, v in zip(kinds, imp.importances_mean)}


def normalized_importance(weights: dict[str, float]) -> dict[str, float]:
    """Weights as shares summing to 1 (negatives count as 0); equal shares when all are 0.

    >>> normalized_importance({"a": 3.0, "b": 1.0, "c": -0.2})
    {'a': 0.75, 'b': 0.25, 'c': 0.0}
    """
    clipped = {f: max(0.0, float(w)) for f, w in weights.items()}
    total = sum(clipped.values())
    if total <= 0:
        return {f: 1.0 / len(clipped) for f in clipped} if clipped else {}
    return {f: w / total for f, w in clipped.items()}
