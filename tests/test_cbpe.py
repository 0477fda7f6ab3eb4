"""The performance estimate (CBPE, issue 13): calibration, estimated ROC AUC and F1 against
scikit-learn and hand cases, the store's score profile and calibration, the policy switch and
the `performance_estimate` check and JSON block."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lib import metrics
from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, register_spec
from lib.judge.evaluate import evaluate
from lib.judge.policy import default_policy, load_policy
from lib.store import schema
from lib.store.connection import Store
from tests.fixtures import T0, inference_frame, reference_frame, spec_dict, write_csv


def nannyml_auc(scores, p) -> float:
    """NannyML's estimate written out: thresholds at each distinct score, highest first; expected
    TP / FP as cumulative sums of p and 1 - p; TPR / FPR normalised; trapezoid area from (0, 0)."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    s, p = np.asarray(scores)[order], np.asarray(p)[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # the last row of each distinct score
    tp, fp = np.cumsum(p)[last], np.cumsum(1 - p)[last]
    tpr, fpr = np.r_[0, tp / tp[-1]], np.r_[0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def test_calibration_equals_sklearn_isotonic():
    rng = np.random.default_rng(3)
    s = rng.uniform(0, 1, 500)
    y = (rng.uniform(0, 1, 500) < s**2).astype(int)
    x_knots, y_knots = metrics.fit_calibration(s, y)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
    probe = np.r_[-1.0, rng.uniform(-0.2, 1.2, 300), 2.0]
    assert metrics.calibrate(x_knots, y_knots, probe) == pytest.approx(iso.predict(probe), abs=1e-12)


def test_estimated_auc_hand_case_and_nannyml_curve():
    # pos weights .25 .5 .75, neg .75 .5 .25 at scores .2 .4 .8:
    # (0.5*0.75 + 0.75*1.25 + 0.5*(0.1875 + 0.25 + 0.1875)) / (1.5 * 1.5) = 1.625 / 2.25
    assert metrics.estimated_roc_auc([0.2, 0.4, 0.8], [0.25, 0.5, 0.75]) == pytest.approx(1.625 / 2.25, abs=1e-12)
    rng = np.random.default_rng(4)
    s = np.round(rng.uniform(0, 1, 400), 2)  # many ties
    p = rng.uniform(0, 1, 400)
    assert metrics.estimated_roc_auc(s, p) == pytest.approx(nannyml_auc(s, p), abs=1e-12)
    # counts = repeated rows
    n = rng.integers(1, 4, 400)
    assert metrics.estimated_roc_auc(s, p, n) == pytest.approx(
        metrics.estimated_roc_auc(np.repeat(s, n), np.repeat(p, n)), abs=1e-12
    )


def test_certain_probabilities_give_the_realised_metrics():
    rng = np.random.default_rng(5)
    s = np.round(rng.uniform(0, 1, 300), 2)
    y = (rng.uniform(0, 1, 300) < s).astype(int)
    pred = s >= 0.5
    assert metrics.estimated_roc_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert metrics.estimated_f1(y, pred) == pytest.approx(f1_score(y, pred), abs=1e-12)
    # hand case: E[TP] = 1.5, E[FP] = 0.5, E[FN] = 0.2 -> 3 / 3.7
    assert metrics.estimated_f1([0.9, 0.6, 0.2], [True, True, False]) == pytest.approx(3 / 3.7, abs=1e-12)


def test_well_calibrated_synthetic_data_estimates_the_realised_metrics():
    rng = np.random.default_rng(6)
    ref_s = rng.beta(2, 3, 20000)
    ref_y = (rng.uniform(0, 1, 20000) < ref_s).astype(int)
    cur_s = rng.beta(3, 2, 20000)  # covariate shift: scores move, P(y | score) does not
    cur_y = (rng.uniform(0, 1, 20000) < cur_s).astype(int)
    p = metrics.calibrate(*metrics.fit_calibration(ref_s, ref_y), cur_s)
    assert metrics.estimated_roc_auc(cur_s, p) == pytest.approx(roc_auc_score(cur_y, cur_s), abs=0.01)
    assert metrics.estimated_f1(p, cur_s >= 0.5) == pytest.approx(f1_score(cur_y, cur_s >= 0.5), abs=0.01)


def test_real_data_breast_cancer_logistic_model():
    """Real data: the estimate's error on scikit-learn's breast-cancer set (numbers in the issue note)."""
    X, y = load_breast_cancer(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(X, y, test_size=0.6, random_state=0, stratify=y)
    x_ref, x_cur, y_ref, y_cur = train_test_split(x_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    ref_s, cur_s = model.predict_proba(x_ref)[:, 1], model.predict_proba(x_cur)[:, 1]
    p = metrics.calibrate(*metrics.fit_calibration(ref_s, y_ref), cur_s)
    est_auc, real_auc = metrics.estimated_roc_auc(cur_s, p), roc_auc_score(y_cur, cur_s)
    est_f1, real_f1 = metrics.estimated_f1(p, cur_s >= 0.5), f1_score(y_cur, cur_s >= 0.5)
    print(f"breast cancer: AUC est {est_auc:.4f} real {real_auc:.4f}; F1 est {est_f1:.4f} real {real_f1:.4f}")
    assert abs(est_auc - real_auc) < 0.03
    assert abs(est_f1 - real_f1) < 0.03


# -- the store, the check and the JSON ------------------------------------------------------------
def _store(tmp_path, policy: dict | None = None, shift: bool = False):
    db = tmp_path / "s.duckdb"
    store = Store(db)
    spec = spec_dict("est", **({"policy": policy} if policy else {}))
    register_spec(store, spec)
    ref = reference_frame(2000, seed=1)
    assert ingest_file(store, "reference", "est", write_csv(tmp_path / "ref.csv", ref)).status == "ingested"
    inf = inference_frame(1500, start=T0, seed=2, hours=72, with_label=False)
    if shift:  # scores pile up near 0.5: the model is less sure, the estimate drops
        inf["score"] = np.round(0.5 + (inf["score"] - 0.5) * 0.2, 3)
        inf["prediction"] = np.where(inf["score"] >= 0.5, "1", "0")
    assert ingest_file(store, "inference", "est", write_csv(tmp_path / "inf.csv", inf)).status == "ingested"
    return store, ref, inf


def _expected(ref: pd.DataFrame, inf: pd.DataFrame) -> tuple[float, float]:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(ref["score"], ref["label"] == "1")
    p = iso.predict(inf["score"].to_numpy())
    return nannyml_auc(inf["score"].to_numpy(), p), metrics.estimated_f1(p, inf["prediction"] == "1")


def test_evaluate_detail_reports_the_estimate_from_profiles(tmp_path):
    store, ref, inf = _store(tmp_path)
    out = evaluate(store, model_ids=["est"], policy=default_policy())
    block = out["models"][0]["performance_estimate"]
    auc, f1 = _expected(ref, inf)
    assert block["estimated"] == pytest.approx(auc, abs=1e-9)
    assert block["estimated_f1"] == pytest.approx(f1, abs=1e-9)
    assert block["reference"] == pytest.approx(roc_auc_score(ref["label"] == "1", ref["score"]), abs=1e-12)
    assert block["n_scored"] == 1500
    assert block["realised"] is None and block["error"] is None  # no labels yet
    # off by default: no check, no reason
    assert all(c["check"] != "performance_estimate" for c in out["models"][0]["checks"])
    json.dumps(out, allow_nan=False)


def test_check_on_per_model_flags_shifted_scores(tmp_path):
    store, ref, inf = _store(tmp_path, policy={"estimate_performance": True}, shift=True)
    out = evaluate(store, policy=default_policy())  # fleet-wide: the check is on for this model
    model = out["models"][0]
    check = next(c for c in model["checks"] if c["check"] == "performance_estimate")
    auc, _ = _expected(ref, inf)
    ref_auc = roc_auc_score(ref["label"] == "1", ref["score"])
    assert check["value"] == pytest.approx((ref_auc - auc) / ref_auc, abs=1e-9)
    assert check["status"] == "red"
    reason = next(r for r in model["reasons"] if r["check"] == "performance_estimate")
    assert "estimated roc_auc" in reason["message"]


def test_policy_switch_is_validated(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("teams: {retail: {estimate_performance: true}}\n", encoding="utf-8")
    assert load_policy(path).teams["retail"]["estimate_performance"] is True
    path.write_text("estimate_performance: 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="estimate_performance: must be true or false"):
        load_policy(path)


def test_version_3_store_migrates(tmp_path):
    db = tmp_path / "v3.duckdb"
    con = duckdb.connect(str(db))
    for step in range(3):
        con.execute(schema.MIGRATIONS[step])
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '3')")
    schema.migrate(con)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"ref_calibration", "prof_score_h", "ref_importance"} <= tables
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        schema.SCHEMA_VERSION
    )
    con.close()


def test_realised_f1_and_its_error_once_labels_come(tmp_path):
    db = tmp_path / "s.duckdb"
    store = Store(db)
    register_spec(store, spec_dict("est"))
    ref = reference_frame(2000, seed=1)
    assert ingest_file(store, "reference", "est", write_csv(tmp_path / "ref.csv", ref)).status == "ingested"
    inf = inference_frame(1500, start=T0, seed=2, hours=72, with_label=True)
    # label about a third of the rows: the estimate covers every scored row, F1 the labelled ones
    inf.loc[inf.index % 3 != 0, "label"] = None
    assert ingest_file(store, "inference", "est", write_csv(tmp_path / "inf.csv", inf)).status == "ingested"
    block = evaluate(store, model_ids=["est"], policy=default_policy())["models"][0]["performance_estimate"]
    lab = inf[inf["label"].notna()]
    f1 = f1_score(lab["label"] == "1", lab["prediction"] == "1")
    auc = roc_auc_score(lab["label"] == "1", lab["score"])
    _, est_f1 = _expected(ref, inf)
    assert block["realised_f1"] == pytest.approx(f1, abs=1e-12)
    assert block["estimated_f1"] == pytest.approx(est_f1, abs=1e-9)
    assert block["error_f1"] == pytest.approx(est_f1 - f1, abs=1e-9)
    assert block["realised"] == pytest.approx(auc, abs=1e-12)
    assert block["error"] == pytest.approx(block["estimated"] - auc, abs=1e-12)
    assert block["n_scored"] == 1500
    # the model report says the same (issue 13: "in the model page, the reports and the JSON")
    from lib.reports.build import render_report

    text = render_report(store, "html", model_id="est").decode()
    assert f"F1: estimated at the model's threshold (realised {f1:.4g}, error {est_f1 - f1:+.3f})" in text
    assert json.loads(render_report(store, "json", model_id="est"))["models"][0]["performance_estimate"] == block
