"""AppTest of the model page's investigation parts (issue 13): the performance estimate beside the
realised metric, the multivariate-drift button, and the drift table ranked by PSI × importance."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.judge.evaluate import evaluate
from lib.judge.multivariate import multivariate_drift
from lib.store.connection import Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("demo13") / "demo.duckdb"
    build_demo(path, models=24, days=10)
    return str(path)


def _open(demo_db, monkeypatch, model_id: str, tab: str) -> AppTest:
    monkeypatch.setenv("DRIFTLIGHT_DB", demo_db)
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["model"] = model_id
    at.query_params["tab"] = tab
    at.run()
    at.switch_page("app_pages/model.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _cells(at: AppTest) -> dict[str, str]:
    """The estimate table's cells (lib/ui/tab_performance.estimate_table_html) by test id."""
    body = "\n".join(h.proto.body for h in at.html)
    return dict(re.findall(r'data-testid="dl-est-([a-z0-9_-]+)">([^<]*)</td>', body))


def test_estimate_beside_the_realised_metric(demo_db, monkeypatch):
    model = evaluate(Store(demo_db), model_ids=["lead-score-b2b-us"])["models"][0]
    est = model["performance_estimate"]
    assert est["realised"] == pytest.approx(model["performance"]["current"])
    cells = _cells(_open(demo_db, monkeypatch, "lead-score-b2b-us", "Performance"))
    assert cells["roc_auc-estimated"] == f"{est['estimated']:.3f}"
    assert cells["roc_auc-realised"] == f"{est['realised']:.3f}"
    assert cells["roc_auc-error"] == f"{est['error']:+.3f}"
    assert cells["f1-estimated"] == f"{est['estimated_f1']:.3f}"
    assert cells["f1-realised"] == f"{est['realised_f1']:.3f}"
    assert cells["f1-error"] == f"{est['error_f1']:+.3f}"
    assert cells["roc_auc-reference"] == f"{est['reference']:.3f}"


def test_multivariate_button_and_importance_ranking(demo_db, monkeypatch):
    at = _open(demo_db, monkeypatch, "churn-mobile-eu", "Drift")
    table = at.dataframe(key="drift_table").value
    ranked = table["PSI × importance"].dropna().tolist()
    assert ranked == sorted(ranked, reverse=True) and "importance" in table.columns
    model = evaluate(Store(demo_db), model_ids=["churn-mobile-eu"])["models"][0]
    top = max(model["features"], key=lambda f: f["drift_importance"] or 0)
    assert table["feature"].iloc[0] == top["feature"]
    at.button(key="mv_button_churn-mobile-eu").click().run()
    assert not at.exception
    expected = multivariate_drift(Store(demo_db), "churn-mobile-eu")
    assert expected["cached"] is True  # the page's click computed and cached it
    assert _metrics(at)["Domain classifier ROC AUC"] == f"{expected['auc']:.3f}"
