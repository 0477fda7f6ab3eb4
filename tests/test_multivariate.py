"""Multivariate drift (issue 13): the domain classifier against scikit-learn's own cross-validation,
and the joint shift that no single feature shows — a correlation flip that keeps every marginal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

from lib import metrics
from lib.ingest.pipeline import ingest_file, register_spec
from lib.judge.evaluate import evaluate
from lib.judge.multivariate import multivariate_drift
from lib.judge.policy import default_policy
from lib.store.connection import Store
from tests.fixtures import T0, run_cli, spec_dict, write_csv

KINDS = {"x1": "numeric", "x2": "numeric", "c": "categorical"}


def _frames(n: int, seed: int, flip: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": -x1 if flip else x1, "c": rng.choice(["a", "b", "c"], n)})


def test_fold_aucs_equal_sklearn_cross_val_score():
    ref, cur = _frames(600, 1, False), _frames(600, 2, True)
    out = metrics.domain_classifier(ref, cur, KINDS)
    both = pd.concat([ref, cur], ignore_index=True)
    # the reference's categories by frequency give the codes; rebuild them independently
    order = ref["c"].value_counts().index.tolist()
    codes = {v: float(i) for i, v in enumerate(order)}
    X = np.column_stack([both["x1"], both["x2"], both["c"].map(codes)])
    y = np.r_[np.zeros(600), np.ones(600)]
    clf = HistGradientBoostingClassifier(max_iter=60, categorical_features=[False, False, True], random_state=0)
    # one OpenMP thread, as lib does: spinning threads on a shared machine cost minutes, not seconds
    with threadpool_limits(1):
        expected = cross_val_score(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="roc_auc")
    assert out["fold_aucs"] == pytest.approx(expected.tolist(), abs=1e-12)
    assert out["auc"] == pytest.approx(expected.mean(), abs=1e-12)


def test_same_distribution_is_near_chance():
    out = metrics.domain_classifier(_frames(1500, 3, False), _frames(1500, 4, False), KINDS)
    assert 0.4 < out["auc"] < 0.6


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    d = tmp_path_factory.mktemp("flip")
    store = Store(d / "s.duckdb")
    register_spec(store, spec_dict("flip", features=KINDS))
    ref = _frames(3000, 5, False)
    score = np.round(1 / (1 + np.exp(-ref["x1"])), 4)
    ref = ref.assign(label=np.where(score > 0.5, "1", "0"), prediction=np.where(score > 0.5, "1", "0"), score=score)
    assert ingest_file(store, "reference", "flip", write_csv(d / "ref.csv", ref)).status == "ingested"
    cur = _frames(2000, 6, True)
    score = np.round(1 / (1 + np.exp(-cur["x1"])), 4)
    cur = cur.assign(
        ts=(T0 + pd.to_timedelta(np.arange(2000) * 150, unit="s")).strftime("%Y-%m-%dT%H:%M:%S"),
        request_id=[f"r{i}" for i in range(2000)],
        prediction=np.where(score > 0.5, "1", "0"),
        score=score,
    )
    assert ingest_file(store, "inference", "flip", write_csv(d / "inf.csv", cur)).status == "ingested"
    return store


def test_correlation_flip_passes_every_feature_check_but_not_the_domain_classifier(flipped):
    model = evaluate(flipped, model_ids=["flip"], policy=default_policy())["models"][0]
    for f in model["features"]:
        assert f["psi"] < 0.02, f  # every marginal is unchanged
    assert not [r for r in model["reasons"] if r["check"] == "feature_drift"]
    out = multivariate_drift(flipped, "flip")
    assert out["auc"] > 0.95 and out["status"] == "red"
    assert {f["feature"] for f in out["features"][:2]} == {"x1", "x2"}
    assert out["n_reference"] == 3000 and out["n_current"] == 2000 and out["cached"] is False
    again = multivariate_drift(flipped, "flip")
    assert again["cached"] is True and again["auc"] == out["auc"]


def test_cli_prints_json_and_rejects_an_unknown_model(flipped):
    done = run_cli("multivariate", "--model", "flip", db=flipped.path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["auc"] > 0.95
    bad = run_cli("multivariate", "--model", "nope", db=flipped.path)
    assert bad.returncode == 2 and "unknown model 'nope'" in bad.stderr
