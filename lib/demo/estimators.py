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
    # Columns by position in the input matrix (_frame): the domain's feature order.
    feats = list(enumerate(domain.features))
    nums = [i for i, f in feats if isinstance(f, Num) and not (linear and f.dist[0] == "lognormal")]
    logs = [i for i, f in feats if isinstance(f, Num) and linear and f.dist[0] == "lognormal"]
    cats = [i for i, f in feats if isinstance(f, Cat)]
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


def _frame(domain: Domain, X: dict[str, np.ndarray]) -> np.ndarray:
    """The model's input, one float64 column per feature in the domain's order: numeric values,
    and categorical codes as floats with NaN for NULL. A matrix, not a data frame: scikit-learn
    turns a frame into this very matrix on every call (the same numbers; a third of the
    generator's time went to that conversion and to pandas indexing)."""
    out = np.empty((len(X[domain.features[0].name]), len(domain.features)), dtype=np.float64)
    for j, f in enumerate(domain.features):
        x = X[f.name]
        out[:, j] = np.where(x < 0, np.nan, x) if isinstance(f, Cat) else x
    return out


def _predict(domain: Domain, pipe, frame) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, score): regression values, or class indices and the positive class score."""
    if domain.task == "regression":
        return np.round(pipe.predict(frame), 4), None
    if domain.task == "binary_classification":
        score = pipe.predict_proba(frame)[:, list(pipe.classes_).index(1)]
        return (score >= 0.5).astype(np.int64), np.round(score, 6)
    return np.asarray(pipe.predict(frame), dtype=np.int64), None


def own_importance(domain: Domain, pipe, frame, *, seed: tuple[int, ...], n_repeats: int = 3) -> dict[str, float]:
    """How much the fitted model relies on each feature, measured on the model itself: permutation
    importance on the hold-out rows `frame`, scored against the model's own predictions there
    (classes: the share of predictions that stay the same; regression: R² of the permuted
    predictions against the unpermuted ones), mean over `n_repeats` shuffles, negatives as 0,
    rounded to 4 decimals. It is what ingest's surrogate (lib.metrics.importance) estimates
    without the model; the demo has the model, so its specs declare the measured weights
    (`importance:`, docs/spec.md) as a team that knows its model would. Empty when no feature
    matters (then the reference ingest measures it). Every permuted copy is predicted in one call."""
    rng = np.random.default_rng((*seed, 7_919))  # its own stream: the fleet's data never changes with it
    n, names = len(frame), [f.name for f in domain.features]
    copies = 1 + len(names) * n_repeats
    X = np.tile(frame, (copies, 1))
    k = 1
    for j in range(len(names)):
        for _ in range(n_repeats):
            X[k * n : (k + 1) * n, j] = frame[rng.permutation(n), j]
            k += 1
    predicted = np.asarray(pipe.predict(X))
    ref, drops = predicted[:n], []
    if domain.task == "regression":
        total = float(np.sum((ref - ref.mean()) ** 2))
        scores = [1.0 - float(np.sum((predicted[i * n : (i + 1) * n] - ref) ** 2)) / total for i in range(1, copies)]
        drops = [1.0 - s for s in scores] if total > 0 else [0.0] * (copies - 1)
    else:
        drops = [1.0 - float(np.mean(predicted[i * n : (i + 1) * n] == ref)) for i in range(1, copies)]
    means = np.asarray(drops, dtype=float).reshape(len(names), n_repeats).mean(axis=1)
    weights = {c: round(max(0.0, float(m)), 4) for c, m in zip(names, means)}
    return weights if any(w > 0 for w in weights.values()) else {}
