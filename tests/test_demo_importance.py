"""The demo's declared importance (issue 14): every demo model but the showcases declares in its
spec the permutation importance measured on its own fitted model (lib.demo.estimators.
own_importance), so its reference ingest skips the surrogate fit; the showcases leave it out and
their reference ingest measures it, as for a user's model."""

from __future__ import annotations

import json
from types import SimpleNamespace

import duckdb
import numpy as np
import pytest

from lib.demo import build, estimators, generate
from lib.spec import parse_spec


class Linear:
    """A 'model' whose prediction is 3·x0 + x1: it ignores x2."""

    def predict(self, X):
        return 3.0 * X[:, 0] + X[:, 1]


class Classes:
    def predict(self, X):
        return (X[:, 0] > 0).astype(np.int64)


def domain(task: str):
    return SimpleNamespace(task=task, features=[SimpleNamespace(name=n) for n in ("x0", "x1", "x2")])


def one_by_one(model, X, seed, task, n_repeats=3):
    """The same measure with one prediction per permuted copy, the permutations drawn alike."""
    rng = np.random.default_rng((*seed, 7_919))
    ref = model.predict(X)
    out = []
    for j in range(X.shape[1]):
        drops = []
        for _ in range(n_repeats):
            P = X.copy()
            P[:, j] = X[rng.permutation(len(X)), j]
            p = model.predict(P)
            if task == "regression":
                drops.append(np.sum((p - ref) ** 2) / np.sum((ref - ref.mean()) ** 2))
            else:
                drops.append(1.0 - np.mean(p == ref))
        out.append(round(max(0.0, float(np.mean(drops))), 4))
    return out


@pytest.mark.parametrize("task,model", [("regression", Linear()), ("binary_classification", Classes())])
def test_batched_equals_one_prediction_per_copy_and_an_unused_feature_weighs_0(task, model):
    X = np.random.default_rng(1).normal(size=(500, 3))
    got = estimators.own_importance(domain(task), model, X, seed=(0, 4))
    assert list(got.values()) == one_by_one(model, X, (0, 4), task)
    assert got["x2"] == 0.0 and got["x0"] > 0
    if task == "regression":
        # permuting x0 of independent standard normals: E[drop] = 2·9 / (9 + 1) = 1.8
        assert got["x0"] == pytest.approx(1.8, abs=0.15) and got["x1"] == pytest.approx(0.2, abs=0.05)
    else:
        assert got["x1"] == 0.0 and got["x0"] == pytest.approx(0.5, abs=0.05)  # a coin flip per row


def test_a_model_that_relies_on_nothing_declares_nothing():
    constant = SimpleNamespace(predict=lambda X: np.zeros(len(X)))
    X = np.random.default_rng(2).normal(size=(100, 3))
    assert estimators.own_importance(domain("binary_classification"), constant, X, seed=(0, 0)) == {}


def test_showcases_are_measured_at_ingest_the_others_declare(tmp_path):
    """12 models: the 11 showcases and one healthy model (plan index 11)."""
    db = tmp_path / "demo.duckdb"
    build.build_demo(db, models=12, days=4, workers=1)
    con = duckdb.connect(str(db), read_only=True)
    try:
        sources = dict(con.execute("SELECT DISTINCT model_id, source FROM ref_importance").fetchall())
        spec_text = dict(con.execute("SELECT model_id, spec_json FROM models").fetchall())
        stored = dict(
            con.execute(
                "SELECT feature, importance FROM ref_importance WHERE model_id = 'credit-risk-sme-de'"
            ).fetchall()
        )
    finally:
        con.close()
    healthy = [m for m in sources if m not in generate.MEASURED_AT_INGEST]
    assert len(healthy) == 1 and sources.pop(healthy[0]) == "spec"
    assert set(sources) == generate.MEASURED_AT_INGEST and set(sources.values()) == {"permutation"}
    declared = parse_spec(json.loads(spec_text[healthy[0]]), source="store").importance
    assert declared and all(w >= 0 for w in declared.values()) and max(declared.values()) > 0
    assert "importance" not in json.loads(spec_text["credit-risk-sme-de"]) and len(stored) > 1
