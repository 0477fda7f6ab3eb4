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
        imp = permutation_importance_exact(est, x_te, y_te, n_repeats=3, random_state=seed)
    return {f: float(v) for f, v in zip(kinds, imp)}


def permutation_importance_exact(est, X: np.ndarray, y: np.ndarray, *, n_repeats: int, random_state: int) -> np.ndarray:
    """`sklearn.inspection.permutation_importance(est, X, y, n_repeats=..., random_state=...)
    .importances_mean` with the estimator's own score (accuracy or R²), the very same numbers
    (tests/test_importance_exact.py pins them), but every permuted copy of X predicted in one
    call instead of one call per feature and repeat: a tree ensemble's prediction of a row
    depends on that row only, and each call's fixed overhead was most of the surrogate's cost.
    The permutations are sklearn's: one seed drawn from random_state, then per column a fresh
    RandomState(seed) shuffling an index n_repeats times, each shuffle applied to the column as
    the previous one left it."""
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.utils import check_random_state

    X = np.asarray(X)
    n, width = X.shape
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    copies = [X]
    for col in range(width):
        rng = check_random_state(seed)
        permuted = X.copy()
        order = np.arange(n)
        for _ in range(n_repeats):
            rng.shuffle(order)
            permuted[:, col] = permuted[order, col]
            copies.append(permuted.copy())
    predicted = est.predict(np.concatenate(copies))
    if is_regressor(est):
        parts = [r2_score(y, predicted[i * n : (i + 1) * n]) for i in range(len(copies))]  # RegressorMixin.score
    else:
        # ClassifierMixin.score is accuracy_score: the share of equal labels, a count over n (the
        # same float however it is summed); its input checks cost more than the count itself.
        accuracy_score(y, predicted[:n])  # the checks, once
        hits = (predicted == np.tile(np.asarray(y, dtype=object), len(copies))).reshape(len(copies), n)
        parts = [float(np.mean(row)) for row in hits]
    baseline = parts[0]
    permuted_scores = np.array(parts[1:], dtype="float64").reshape(width, n_repeats)
    return np.mean(baseline - permuted_scores, axis=1)


def is_regressor(est) -> bool:
    from sklearn.base import is_regressor as _is_regressor

    return _is_regressor(est)


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
