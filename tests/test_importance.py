"""Drift weighted by importance (issue 13): surrogate permutation importance against scikit-learn,
the spec's `importance:` block, and "prediction drift explained mostly by X"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from lib import metrics
from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, register_spec
from lib.judge.evaluate import evaluate
from lib.judge.policy import default_policy
from lib.spec import parse_spec
from lib.store.connection import Store
from tests.fixtures import T0, query, spec_dict, write_csv

KINDS = {"x1": "numeric", "x2": "numeric"}


def test_surrogate_importance_equals_sklearn_and_finds_the_driver():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=800), "x2": rng.normal(size=800)})
    pred = np.where(frame["x1"] > 0, "1", "0")  # the model looks at x1 only
    got = metrics.surrogate_importance(frame, KINDS, pd.Series(pred), task="binary_classification")
    X = frame.to_numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(X, pred, test_size=0.3, random_state=0, stratify=pred)
    est = HistGradientBoostingClassifier(max_iter=30, categorical_features=[False, False], random_state=0)
    imp = permutation_importance(est.fit(x_tr, y_tr), x_te, y_te, n_repeats=3, random_state=0)
    assert [got["x1"], got["x2"]] == pytest.approx(imp.importances_mean.tolist(), abs=1e-12)
    assert got["x1"] > 0.3 and abs(got["x2"]) < 0.02


def test_normalized_importance_hand_case():
    assert metrics.normalized_importance({"a": 3.0, "b": 1.0, "c": -1.0}) == {"a": 0.75, "b": 0.25, "c": 0.0}
    assert metrics.normalized_importance({"a": 0.0, "b": 0.0}) == {"a": 0.5, "b": 0.5}


@pytest.mark.parametrize(
    "block, needle",
    [
        ({"nope": 1}, "importance.nope: not a feature"),
        ({"x1": -1}, "importance.x1: must be a non-negative number"),
        ({"x1": 0, "x2": 0}, "at least one weight"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_spec_importance_is_validated(block, needle):
    with pytest.raises(InputError, match=needle):
        parse_spec(spec_dict("m", features=KINDS, importance=block), source="spec.yaml")


def _build(tmp_path, importance):
    store = Store(tmp_path / "s.duckdb")
    register_spec(store, spec_dict("imp", features=KINDS, **({"importance": importance} if importance else {})))
    rng = np.random.default_rng(1)

    def frame(n, shift1, shift2):
        f = pd.DataFrame({"x1": rng.normal(shift1, 1, n), "x2": rng.normal(shift2, 1, n)})
        score = np.round(1 / (1 + np.exp(-2 * f["x1"])), 4)
        return f.assign(prediction=np.where(score >= 0.5, "1", "0"), score=score)

    ref = frame(2000, 0, 0)
    ref["label"] = ref["prediction"]
    assert ingest_file(store, "reference", "imp", write_csv(tmp_path / "r.csv", ref)).status == "ingested"
    cur = frame(1500, 0.6, 1.5)  # x2 drifts more, but the model only uses x1
    cur["ts"] = (T0 + pd.to_timedelta(np.arange(1500) * 200, unit="s")).strftime("%Y-%m-%dT%H:%M:%S")
    cur["request_id"] = [f"r{i}" for i in range(1500)]
    assert ingest_file(store, "inference", "imp", write_csv(tmp_path / "i.csv", cur)).status == "ingested"
    return store


@pytest.mark.parametrize("importance", [None, {"x1": 19, "x2": 1}])
def test_prediction_drift_is_explained_by_the_drifted_and_important_feature(tmp_path, importance):
    store = _build(tmp_path, importance)
    source = "spec" if importance else "permutation"
    stored = dict(query(store.path, "SELECT feature, importance FROM ref_importance WHERE source = ?", [source]))
    model = evaluate(store, model_ids=["imp"], policy=default_policy())["models"][0]
    feats = {f["feature"]: f for f in model["features"]}
    assert feats["x2"]["psi"] > feats["x1"]["psi"]  # x2 drifted more …
    shares = metrics.normalized_importance(stored)
    for name, f in feats.items():
        assert f["importance"] == pytest.approx(shares[name], abs=1e-12)
        assert f["drift_importance"] == pytest.approx(f["psi"] * shares[name], abs=1e-12)
    if importance:
        assert shares == pytest.approx({"x1": 0.95, "x2": 0.05})
    reason = next(r for r in model["reasons"] if r["check"] == "prediction_drift")
    assert reason["explained_by"] == "x1"  # … but the model's output moved with x1
    assert "prediction drift explained mostly by x1" in reason["message"]
