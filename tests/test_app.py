"""Page tests with Streamlit's AppTest: every page through app.py (the frame), with seeded query
parameters, filters, a selected model, and the missing / empty / busy store notices.

The demo store is built once per test process (a small fleet: 24 models, 10 days).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.judge.evaluate import evaluate
from lib.store import lock
from lib.store.connection import Store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path, models=24, days=10)
    return str(path)


@pytest.fixture(scope="session")
def judged(demo_db) -> dict:
    return evaluate(Store(demo_db), timeline_days=30)


@pytest.fixture
def app(demo_db, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_DB", demo_db)
    monkeypatch.setenv("DRIFTLIGHT_LOCK_TIMEOUT", "20")
    st.cache_data.clear()

    def make(**params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
        return at

    return make


def html_text(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.html)


def tiles(at: AppTest) -> list[tuple[str, str]]:
    """(model_id, status) of every tile in the grid's HTML, in order."""
    return re.findall(r'data-testid="dl-tile" data-model="([^"]+)" data-status="([a-z]+)"', html_text(at))


def counts(at: AppTest) -> dict[str, int]:
    return {s: int(n) for s, n in re.findall(r'data-testid="dl-count-([a-z]+)">(\d+)<', html_text(at))}


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_model(app, model_id: str, **params) -> AppTest:
    at = app(model=model_id, **params)
    at.run()
    at.switch_page("app_pages/model.py")
    at.run()
    no_errors(at)
    return at


# -- fleet ---------------------------------------------------------------------------------------
def test_fleet_grid_matches_evaluate(app, judged):
    at = app()
    at.run()
    no_errors(at)
    shown = tiles(at)
    assert [m for m, _ in shown] == [m["model_id"] for m in judged["models"]]  # worst first, same order
    assert dict(shown) == {m["model_id"]: m["status"] for m in judged["models"]}
    expected = {s: sum(m["status"] == s for m in judged["models"]) for s in ("red", "yellow", "grey", "green")}
    got = counts(at)
    assert {s: got[s] for s in expected} == expected
    assert got["total"] == len(judged["models"])
    # every tile links to its model page, keeping the filters
    assert 'href="model?model=icecream-sales"' in html_text(at)


@pytest.mark.parametrize(
    "key,value,url", [("team", "retail", "retail"), ("status", "red", "Red"), ("task", "regression", "regression")]
)
def test_fleet_filters_from_query_params(app, judged, key, value, url):
    at = app(**{key: url})
    at.run()
    no_errors(at)
    expected = [m["model_id"] for m in judged["models"] if m[key] == value]
    assert expected, "the demo fleet should have such models"
    assert [m for m, _ in tiles(at)] == expected
    assert counts(at)["total"] == len(expected)
    # the filter shows in the sidebar widget, and tile links carry it
    assert url in at.multiselect(key=key).value
    assert f"{key}={url}&amp;model=" in html_text(at)


def test_fleet_search_and_tag(app, judged):
    at = app(q="icecream")
    at.run()
    no_errors(at)
    assert [m for m, _ in tiles(at)] == [
        m["model_id"] for m in judged["models"] if "icecream" in m["model_id"] or "icecream" in m["name"].lower()
    ]
    at = app(tag="pricing")
    at.run()
    assert {m for m, _ in tiles(at)} == {m["model_id"] for m in judged["models"] if "pricing" in m["tags"]}


def test_fleet_no_match(app):
    at = app(q="no-such-model-anywhere")
    at.run()
    no_errors(at)
    assert "No model matches the filters" in html_text(at)


def test_fleet_table_view(app, judged):
    at = app(view="Table")
    at.run()
    no_errors(at)
    frame = at.dataframe[0].value
    assert list(frame["model"]) == [m["model_id"] for m in judged["models"]]
    by_id = {m["model_id"]: m for m in judged["models"]}
    ice = frame[frame["model"] == "icecream-sales"].iloc[0]
    assert ice["status"].endswith("Red")
    assert ice["rows 24h"] == by_id["icecream-sales"]["rows_24h"]
    assert ice["worst PSI"] == pytest.approx(
        max(f["psi"] for f in by_id["icecream-sales"]["features"] if f["psi"] is not None)
    )
    assert "flavor" in ice["top reason"]


def test_as_of_in_url(app):
    at = app(as_of="2026-11-24T12:00")
    at.run()
    no_errors(at)
    judged = evaluate(Store(at_db()), as_of=__import__("pandas").Timestamp("2026-11-24 12:00"))
    assert dict(tiles(at)) == {m["model_id"]: m["status"] for m in judged["models"]}
    assert "2026-11-24 12:00 UTC" in " ".join(c.value for c in at.caption)


def at_db() -> str:
    import os

    return os.environ["DRIFTLIGHT_DB"]


def test_new_ingest_shows_without_restart(app, demo_db):
    at = app()
    at.run()
    before = Store(demo_db).data_version()
    assert f"data version {before}" in " ".join(c.value for c in at.sidebar.caption)
    with Store(demo_db).write():  # any committed write bumps the data version
        pass
    at.run()
    no_errors(at)
    assert f"data version {before + 1}" in " ".join(c.value for c in at.sidebar.caption)


# -- model -------------------------------------------------------------------------------------------
def test_model_page_red_model(app, judged):
    at = open_model(app, "icecream-sales")
    m = next(x for x in judged["models"] if x["model_id"] == "icecream-sales")
    text = html_text(at)
    assert at.selectbox(key="model").value == "icecream-sales"
    assert "RED" in text and "dana@example.com" in text
    for reason in m["reasons"]:
        assert reason["message"].replace("'", "&#x27;") in text
        assert reason["onset"] in text
    # drift tab (default): features sorted by PSI, with KS for numeric features (raw rows)
    table = at.dataframe(key="drift_table").value
    assert table["feature"].iloc[0] == "flavor"
    psi = table.set_index("feature")["PSI"]
    assert psi["flavor"] == pytest.approx(next(f["psi"] for f in m["features"] if f["feature"] == "flavor"))
    assert table.set_index("feature")["KS"]["temperature"] > 0
    assert len(at.get("plotly_chart")) == 2


def test_model_page_data_quality_shows_unseen_flavors(app, judged):
    at = open_model(app, "icecream-sales", tab="Data quality")
    unseen = at.dataframe[0].value  # the first table of the tab
    m = next(x for x in judged["models"] if x["model_id"] == "icecream-sales")
    reason = next(r for r in m["reasons"] if r["check"] == "unseen_categories")
    expected = {u["value"]: u["count"] for u in reason["unseen_values"]}
    got = dict(zip(unseen["value"], unseen["rows_24h"]))
    assert {k: got[k] for k in expected} == expected
    assert set(unseen["feature"]) == {"flavor"}


@pytest.mark.parametrize(
    "model_id", ["icecream-sales", "lead-score-b2b-us", "delivery-delay-express-pl", "ltv-app-fr", "segment-luxury-ch"]
)
@pytest.mark.parametrize("tab", ["Drift", "Data quality", "Performance", "Timeline", "Rows"])
def test_model_tabs_render(app, model_id, tab):
    at = open_model(app, model_id, tab=tab)
    assert [t.label for t in at.tabs] == ["Drift", "Data quality", "Performance", "Timeline", "Rows"]
    if tab == "Rows":
        assert at.get("download_button")


def test_model_rows_are_the_offending_ones(app):
    at = open_model(app, "icecream-sales", tab="Rows")
    rows = at.dataframe[0].value
    assert len(rows) > 0
    assert set(rows["flavor"]) <= {"strawberry", "cookie dough", "rum raisin", "rocky road"}
    assert set(rows["problem"]) == {"unseen flavor"}


def test_model_timeline(app, judged):
    at = open_model(app, "icecream-sales", tab="Timeline")
    m = next(x for x in judged["models"] if x["model_id"] == "icecream-sales")
    text = html_text(at)
    assert text.count('title="20') == len(m["timeline"])


def test_model_picker_honours_filters(app, judged):
    at = open_model(app, "icecream-sales", team="risk")
    options = at.selectbox(key="model").options
    risk = [m["model_id"] for m in judged["models"] if m["team"] == "risk"]
    assert set(options) == set(risk) | {"icecream-sales"}  # the deep-linked model stays reachable


def test_model_unknown(app):
    at = app(model="no-such-model")
    at.run()
    at.switch_page("app_pages/model.py")
    at.run()
    no_errors(at)
    assert any("no-such-model" in e.value for e in at.error)


# -- store states ----------------------------------------------------------------------------------
def test_missing_store(app, tmp_path, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_DB", str(tmp_path / "nothing.duckdb"))
    at = app()
    at.run()
    no_errors(at)
    assert any("No Driftlight store yet" in i.value for i in at.info)
    assert any("python -m lib demo" in c.value for c in at.code)


def test_empty_store(app, tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    with Store(path).write():
        pass
    monkeypatch.setenv("DRIFTLIGHT_DB", str(path))
    at = app()
    at.run()
    no_errors(at)
    assert any("no inference data yet" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["app_pages/fleet.py", "app_pages/model.py"])
def test_busy_store(app, demo_db, monkeypatch, page):
    monkeypatch.setenv("DRIFTLIGHT_LOCK_TIMEOUT", "0.3")
    st.cache_data.clear()
    held, release = threading.Event(), threading.Event()

    def writer():
        with lock.exclusive(demo_db, 60):
            held.set()
            release.wait(60)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    assert held.wait(10)
    try:
        at = app(model="icecream-sales")
        at.run()
        if page != "app_pages/fleet.py":
            at.switch_page(page)
            at.run()
        no_errors(at)
        assert any("store is busy" in w.value for w in at.warning)
    finally:
        release.set()
        t.join(10)
    at.run()  # the lock is free again: the page renders
    no_errors(at)
    assert not any("store is busy" in w.value for w in at.warning)


# -- lib/store_detail: the drill-down numbers agree with evaluate and with the raw rows -----------------
def test_distribution_psi_equals_evaluate(demo_db, judged):
    import pandas as pd

    from lib import metrics
    from lib.store import detail as store_detail

    as_of = pd.Timestamp(judged["as_of"]).tz_localize(None)
    for model_id in ("icecream-sales", "churn-mobile-eu"):
        m = next(x for x in judged["models"] if x["model_id"] == model_id)
        for f in m["features"]:
            dist = store_detail.distribution(Store(demo_db), model_id, f["feature"], as_of)
            psi = metrics.population_stability_index(dist["reference"], dist["current"])
            assert psi == pytest.approx(f["psi"], abs=1e-12), (model_id, f["feature"])


def test_unseen_values_and_daily_rows_against_raw_rows(demo_db, judged):
    import duckdb
    import pandas as pd

    from lib.store import detail as store_detail

    as_of = pd.Timestamp(judged["as_of"]).tz_localize(None)
    m = next(x for x in judged["models"] if x["model_id"] == "icecream-sales")
    reason = next(r for r in m["reasons"] if r["check"] == "unseen_categories")
    unseen = store_detail.unseen_values(Store(demo_db), "icecream-sales", as_of)
    assert dict(zip(unseen["value"], unseen["rows_24h"])) == {u["value"]: u["count"] for u in reason["unseen_values"]}
    daily = store_detail.daily_series(Store(demo_db), "icecream-sales", as_of)
    con = duckdb.connect(demo_db, read_only=True)
    try:
        raw = dict(
            con.execute(
                "SELECT CAST(date_trunc('day', hour - INTERVAL 1 HOUR) AS DATE) AS d, count(*) FROM \"inf__icecream-sales\" "
                "WHERE hour <= ? GROUP BY ALL",
                [as_of.to_pydatetime()],
            ).fetchall()
        )
    finally:
        con.close()
    got = {r.date.date(): r.rows for r in daily["rows"].itertuples() if r.rows}
    assert got == raw
    # the unseen share per day of the last day equals the share of unseen flavors among that day's rows
    last = daily["quality"][(daily["quality"]["feature"] == "flavor")].sort_values("date").iloc[-1]
    assert 0 < last["unseen_share"] <= 1


def test_daily_performance_against_raw_rows(demo_db, judged):
    import duckdb
    import numpy as np
    import pandas as pd

    from lib.store import detail as store_detail

    as_of = pd.Timestamp(judged["as_of"]).tz_localize(None)
    perf = store_detail.daily_series(Store(demo_db), "icecream-sales", as_of)["performance"]
    assert len(perf) and set(perf["metric"]) == {"rmse"}
    con = duckdb.connect(demo_db, read_only=True)
    try:
        raw = con.execute(
            "SELECT CAST(date_trunc('day', i.hour - INTERVAL 1 HOUR) AS DATE) AS d, i.pred_num, "
            'CAST(coalesce(l.label, i.label) AS DOUBLE) AS y FROM "inf__icecream-sales" i '
            "LEFT JOIN labels l ON l.model_id = 'icecream-sales' AND l.rid = i.rid "
            "WHERE coalesce(l.label, i.label) IS NOT NULL AND i.hour <= ?",
            [as_of.to_pydatetime()],
        ).df()
    finally:
        con.close()
    raw["d"] = pd.to_datetime(raw["d"])
    for row in perf.itertuples():
        part = raw[raw["d"] == row.date]
        assert row.n_labeled == len(part)
        assert row.current == pytest.approx(float(np.sqrt(np.mean((part["pred_num"] - part["y"]) ** 2))), rel=1e-9)
