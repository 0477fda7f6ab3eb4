"""Real-browser tests of the model page's investigation panels (issue 13), each value as the
person sees it against the command line's JSON for the same store and as-of time:

- Performance tab: estimated vs realised ROC AUC and F1 and the estimate's error (CBPE) of a
  labelled binary model = `evaluate --model ID --format json`'s `performance_estimate` block;
- Drift tab: the importance column, PSI × importance and the "explained mostly by" line = the
  JSON's features and prediction-drift reason;
- Drift tab: the domain-classifier button trains it; the AUC, fold spread and separating
  features shown = `python -m lib multivariate`'s JSON (which then reports it cached);
- Data quality tab: the remedy panel of the unseen-values model offers the suggested default,
  and its YAML download is byte for byte `python -m lib remedy --map-unseen-to VALUE`.

One small demo store and one server for the module. Screenshots go to test-artifacts/browser/
(or $DRIFTLIGHT_SHOTS). Marked xdist_group("browser").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# No skip: a missing browser must fail the suite, not hide the browser tests.
if not Path("/usr/bin/chromium").exists():  # pragma: no cover
    pytest.fail("Debian's chromium is not installed: run `make system-deps`", pytrace=False)

from tests.browser_support import (  # noqa: E402,F401
    ARTIFACTS,
    browser,
    error_dialogs,
    grid,
    shot,
    streamlit_server,
    wait_for_app_run,
)
from tests.fixtures import run_cli  # noqa: E402

pytestmark = pytest.mark.xdist_group("browser")
SHOTS = Path(os.environ.get("DRIFTLIGHT_SHOTS") or ARTIFACTS / "browser")
TIMEOUT = 180_000
LABELLED = "churn-broadband-it"  # binary, scores, labels in the last 7 days
EXPLAINED = "churn-mobile-eu"  # prediction drift explained by a drifted, important feature
UNSEEN = "icecream-sales"  # new flavor values overnight


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("browser-investigate") / "demo.duckdb"
    build_demo(path, models=16, days=10)
    return str(path)


@pytest.fixture(scope="module")
def server(demo_db):
    with streamlit_server(demo_db) as base:
        yield base


@pytest.fixture(scope="module")
def judged(demo_db) -> dict[str, dict]:
    """`evaluate --model ID --format json` of each model the tests open (a fresh process each)."""
    out = {}
    for model_id in (LABELLED, EXPLAINED, UNSEEN):
        done = run_cli("evaluate", "--model", model_id, "--format", "json", db=demo_db)
        assert done.returncode == 0, done.stderr
        (out[model_id],) = json.loads(done.stdout)["models"]
    return out


@pytest.fixture
def page(browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1800, "height": 1100}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


def open_tab(page, server: str, model_id: str, tab: str) -> None:
    page.goto(f"{server}/model?model={model_id}&tab={tab.replace(' ', '+')}")
    wait_for_app_run(page, timeout=TIMEOUT)
    assert not error_dialogs(page), error_dialogs(page)


def test_performance_tab_estimate_vs_realised(page, server, judged):
    est = judged[LABELLED]["performance_estimate"]
    assert est["realised"] is not None and est["realised_f1"] is not None  # labels came: both sides shown
    open_tab(page, server, LABELLED, "Performance")
    table = page.get_by_test_id("dl-estimate")
    table.wait_for(timeout=TIMEOUT)

    def cell(metric: str, col: str) -> str:
        return page.get_by_test_id(f"dl-est-{metric}-{col}").inner_text().strip()

    for metric, e, r, ref, err in (
        ("roc_auc", "estimated", "realised", "reference", "error"),
        ("f1", "estimated_f1", "realised_f1", "reference_f1", "error_f1"),
    ):
        assert cell(metric, "estimated") == f"{est[e]:.3f}"
        assert cell(metric, "realised") == f"{est[r]:.3f}"
        assert cell(metric, "reference") == f"{est[ref]:.3f}"
        assert cell(metric, "error") == f"{est[err]:+.3f}"
        assert cell(metric, "vs-reference") == f"{est[e] - est[ref]:+.3f}"
    head = table.inner_text()
    assert f"{est['n_scored']:,} scored rows" in head
    assert f"{judged[LABELLED]['performance']['n_labeled']:,} labelled rows" in head
    table.scroll_into_view_if_needed()
    shot(page, SHOTS / "investigate-performance-estimate.png")


def test_drift_tab_importance_and_explanation(page, server, judged):
    m = judged[EXPLAINED]
    reason = next(r for r in m["reasons"] if r["check"] == "prediction_drift")
    assert reason["explained_by"]  # the demo's churn-mobile-eu: monthly_charges drifted and matters
    open_tab(page, server, EXPLAINED, "Drift")
    line = page.get_by_test_id("dl-explained").inner_text().strip()
    suffix = reason["message"].split("; ", 1)[1]
    assert line == suffix[0].upper() + suffix[1:]
    feat = next(f for f in m["features"] if f["feature"] == reason["explained_by"])
    assert f"mostly by {reason['explained_by']} (PSI {feat['psi']:.2f} × importance {feat['importance']:.0%})" in line

    # The grid is a canvas; its accessible twin holds each cell's value (the canvas draws it with
    # the column's format: 26%, 0.2106), so the numbers compare exactly, unrounded.
    rows = {r["feature"]: r for r in grid(page, "importance")}

    def value(text: str) -> float | None:
        return None if text in ("", "–") else float(text)

    for f in m["features"]:
        shown = rows[f["feature"]]
        assert value(shown["importance"]) == f["importance"], f
        assert value(shown["PSI × importance"]) == f["drift_importance"], f
        assert value(shown["PSI"]) == f["psi"], f
    assert value(rows[reason["explained_by"]]["importance"]) == feat["importance"] > 0
    # drifted AND important first: the explaining feature heads the table
    assert grid(page, "importance")[0]["feature"] == reason["explained_by"]
    shot(page, SHOTS / "investigate-drift-importance.png")


def test_drift_tab_multivariate_button(page, server, demo_db):
    open_tab(page, server, EXPLAINED, "Drift")
    page.get_by_role("button", name="Run the domain classifier").click()
    page.wait_for_timeout(300)
    wait_for_app_run(page, timeout=TIMEOUT)
    assert not error_dialogs(page), error_dialogs(page)
    metric = page.get_by_test_id("stMetric").filter(has_text="Domain classifier ROC AUC")
    metric.wait_for(timeout=TIMEOUT)
    shown_auc = metric.get_by_test_id("stMetricValue").inner_text().strip()

    done = run_cli("multivariate", "--model", EXPLAINED, db=demo_db)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["cached"] is True  # the page's click trained it and cached it; the command read it back
    assert shown_auc == f"{out['auc']:.3f}"
    main = page.get_by_test_id("stMain").inner_text()
    folds = out["fold_aucs"]
    assert f"Folds: {min(folds):.3f} – {max(folds):.3f} (5-fold cross-validation)" in main
    assert f"{out['n_reference']:,} reference rows vs {out['n_current']:,} rows of the last 7 days" in main
    feats = grid(page, "AUC drop when permuted")
    assert [(r["feature"], float(r["AUC drop when permuted"]), float(r["± std (5 repeats)"])) for r in feats] == [
        (f["feature"], f["importance"], f["std"]) for f in out["features"]
    ]
    page.get_by_text("Multivariate drift", exact=True).scroll_into_view_if_needed()
    shot(page, SHOTS / "investigate-drift-multivariate.png")

    # the model's report, built on the page after the click, carries the same result
    page.get_by_text("Export a report of this model").click()
    page.get_by_role("button", name="Build JSON").click()
    page.wait_for_timeout(300)
    wait_for_app_run(page, timeout=TIMEOUT)
    with page.expect_download(timeout=TIMEOUT) as info:
        page.get_by_role("button", name="Download JSON").click()
    report = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))["report"]
    assert report["multivariate"]["computed"] is True
    assert report["multivariate"]["result"] == out


def test_remedy_panel_suggests_the_default_and_serves_the_cli_mapping(page, server, judged, demo_db):
    reason = next(r for r in judged[UNSEEN]["reasons"] if r["check"] == "unseen_categories")
    suggested = reason["remedy"]["suggested"]
    open_tab(page, server, UNSEEN, "Data quality")
    assert "What to do about the new values" in page.get_by_test_id("stMain").inner_text()
    picker = page.get_by_test_id("stSelectbox").filter(has_text=f"Map {reason['feature']}'s")
    shown = picker.get_by_role("combobox").input_value()  # the picked option, as the box shows it
    choice = next(c for c in reason["remedy"]["choices"] if c["value"] == suggested)
    assert shown == f"{suggested} ({choice['reference_share']:.0%} of the reference)"
    with page.expect_download(timeout=TIMEOUT) as info:
        page.get_by_role("button", name="Mapping YAML").click()
    body = Path(info.value.path()).read_text(encoding="utf-8")
    wait_for_app_run(page, timeout=TIMEOUT)
    done = run_cli("remedy", "--model", UNSEEN, "--map-unseen-to", suggested, db=demo_db)
    assert done.returncode == 0, done.stderr
    assert body == done.stdout
    page.get_by_text("What to do about the new values").scroll_into_view_if_needed()
    shot(page, SHOTS / "investigate-remedy.png")
