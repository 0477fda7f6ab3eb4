"""Multivariate drift: a domain classifier that tries to tell the reference's rows from the
window's. Cross-validated ROC AUC 0.5 means the two samples look alike jointly; near 1 means
they are separable — a joint shift that per-feature PSI can miss (a correlation that flipped
while every marginal stayed put). The features that separate them most come from permutation
importance on held-out rows.

Pure: data frames in, a dict out; scikit-learn is imported lazily. No store, no Streamlit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MAX_CATEGORIES = 254  # HistGradientBoosting's native categories must be < max_bins (255)


def _encode(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str]) -> tuple[np.ndarray, list[bool]]:
    """Both samples as one float matrix: numeric as is (NaN kept, ±inf as NaN), categorical as
    codes of the reference's most frequent values (the rest share one code, NULL is NaN)."""
    cols, mask = [], []
    for name, kind in kinds.items():
        both = pd.concat([reference[name], current[name]], ignore_index=True)
        if kind == "numeric":
            x = pd.to_numeric(both, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            cols.append(np.where(np.isfinite(x), x, np.nan))
            mask.append(False)
            continue
        text = both.astype("string")
        top = reference[name].dropna().astype(str).value_counts().index[: MAX_CATEGORIES - 1]
        codes = pd.Series(pd.Categorical(text, categories=list(top)).codes, dtype="float64")
        codes[(codes < 0) & text.notna().to_numpy()] = MAX_CATEGORIES - 1  # other values
        codes[text.isna().to_numpy()] = np.nan
        cols.append(codes.to_numpy())
        mask.append(True)
    return np.column_stack(cols) if cols else np.zeros((len(reference) + len(current), 0)), mask


def domain_classifier(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, str],
    *,
    folds: int = 5,
    seed: int = 0,
    top: int = 5,
) -> dict[str, Any]:
    """Cross-validated ROC AUC of a HistGradientBoostingClassifier separating current from reference.

    Range [0, 1]; 0.5 is no multivariate drift (an AUC below 0.5 is noise, read it as 0.5).
    Returns ``{"auc", "fold_aucs", "n_reference", "n_current", "features": [{"feature",
    "importance", "std"}]}``; importance is the mean drop in held-out ROC AUC when the feature
    is permuted (``sklearn.inspection.permutation_importance``), largest first, the top `top`.
    ``auc`` is None when either side has fewer than 2 * folds rows.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    n_ref, n_cur = len(reference), len(current)
    out: dict[str, Any] = {"auc": None, "fold_aucs": [], "n_reference": n_ref, "n_current": n_cur, "features": []}
    if min(n_ref, n_cur) < 2 * folds or not kinds:
        return out
    X, categorical = _encode(reference, current, kinds)
    y = np.r_[np.zeros(n_ref, dtype=int), np.ones(n_cur, dtype=int)]

    def model():
        return HistGradientBoostingClassifier(
            max_iter=60, categorical_features=np.asarray(categorical, dtype=bool), random_state=seed
        )

    # One thread: OpenMP spinning on a shared, busy machine costs minutes instead of seconds.
    with threadpool_limits(1):
        return _fit(X, y, categorical, list(kinds), out, model, folds, seed, top)


def _fit(X, y, categorical, names, out, model, folds, seed, top) -> dict[str, Any]:
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    fold_aucs = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        clf = model().fit(X[train], y[train])
        fold_aucs.append(float(roc_auc_score(y[test], clf.predict_proba(X[test])[:, 1])))
    out["fold_aucs"] = fold_aucs
    out["auc"] = float(np.mean(fold_aucs))
    x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    clf = model().fit(x_tr, y_tr)
    imp = permutation_importance(clf, x_te, y_te, scoring="roc_auc", n_repeats=5, random_state=seed)
    order = np.argsort(-imp.importances_mean, kind="stable")[:top]
    out["features"] = [
        {"feature": names[i], "importance": float(imp.importances_mean[i]), "std": float(imp.importances_std[i])}
        for i in order
    ]
    return out
