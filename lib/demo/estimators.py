"""The real scikit-learn model behind each demo model: its pipeline, its input frame and its
predictions (and scores)."""

from __future__ import annotations

import numpy as np

from lib.demo.domains import Cat, Domain, Num


def _pipeline(domain: Domain, estimator: str, random_state: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    linear = estimator in ("logistic", "ridge")
    nums = [f.name for f in domain.features if isinstance(f, Num) and not (linear and f.dist[0] == "lognormal")]
    logs = [f.name for f in domain.features if isinstance(f, Num) and linear and f.dist[0] == "lognormal"]
    cats = [f.name for f in domain.features if isinstance(f, Cat)]
    parts = []
    if nums:
        steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if linear else [])
        parts.append(("num", make_pipeline(*steps), nums))
    if logs:
        parts.append(
            (
                "log",
                make_pipeline(
                    SimpleImputer(strategy="median"),
                    FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
                    StandardScaler(),
                ),
                logs,
            )
        )
    if cats:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats))
    regression = domain.task == "regression"
    if estimator == "logistic":
        model = LogisticRegression(C=1.0, max_iter=500)
    elif estimator == "ridge":
        model = Ridge(alpha=1.0)
    elif estimator == "hgb":
        cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        model = cls(max_iter=30, max_leaf_nodes=15, learning_rate=0.2, early_stopping=False, random_state=random_state)
    else:
        cls = DecisionTreeRegressor if regression else DecisionTreeClassifier
        model = cls(max_depth=6, min_samples_leaf=30, random_state=random_state)
    return make_pipeline(ColumnTransformer(parts), model)


def _frame(domain: Domain, X: dict[str, np.ndarray]):
    """The model's input: numeric values, and categorical codes as floats with NaN for NULL."""
    import pandas as pd

    cols = {}
    for f in domain.features:
        x = X[f.name]
        if isinstance(f, Cat):
            x = np.where(x < 0, np.nan, x.astype(float))
        cols[f.name] = x
    return pd.DataFrame(cols)


def _predict(domain: Domain, pipe, frame) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, score): regression values, or class indices and the positive class score."""
    if domain.task == "regression":
        return np.round(pipe.predict(frame), 4), None
    if domain.task == "binary_classification":
        score = pipe.predict_proba(frame)[:, list(pipe.classes_).index(1)]
        return (score >= 0.5).astype(np.int64), np.round(score, 6)
    return np.asarray(pipe.predict(frame), dtype=np.int64), None
