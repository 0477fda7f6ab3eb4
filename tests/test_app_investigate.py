"""AppTest of issue 13's model-page parts: the "What to do" panel for new category values
(mapping downloads, upstream notice and retrain with real local receivers, audit entries)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest
from test_actions import Hooks, Mails

from lib.actions.roles import local_actor
from lib.judge.evaluate import evaluate
from lib.judge.remedy import mapping_document, render_mapping
from lib.store.actions import audit_log
from lib.store.connection import Store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("demo13") / "demo.duckdb"
    build_demo(path, models=16, days=10)
    return str(path)


@pytest.fixture(scope="module")
def receivers():
    h, m = Hooks(), Mails()
    yield h, m
    h.server.shutdown()
    m.controller.stop()


@pytest.fixture
def app(demo_db, receivers, monkeypatch, tmp_path):
    hooks, mails = receivers
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[actions]\n"
        f'retrain_url_override = "{hooks.url}/retrain"\nbackoff_s = 0.01\ntimeout_s = 5\n'
        f'[actions.smtp]\nhost = "127.0.0.1"\nport = {mails.port}\nmode = "insecure"\n'
    )
    monkeypatch.setenv("DRIFTLIGHT_SECRETS", str(secrets))
    monkeypatch.setenv("DRIFTLIGHT_DB", demo_db)
    st.cache_data.clear()

    def open_model(model_id: str, **params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params["model"] = model_id
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        at.switch_page("app_pages/model.py")
        at.run()
        assert not at.exception, at.exception
        return at

    return open_model


def test_remedy_panel_mapping_upstream_retrain(app, demo_db, receivers):
    hooks, mails = receivers
    m = evaluate(Store(demo_db), model_ids=["icecream-sales"])["models"][0]
    reason = next(r for r in m["reasons"] if r["check"] == "unseen_categories")
    at = app("icecream-sales", tab="Data quality")
    assert any("What to do about the new values" in x.value for x in at.markdown)
    pick = at.selectbox(key="rm_pick_icecream-sales_flavor")
    assert pick.value == reason["remedy"]["suggested"] == reason["remedy"]["choices"][0]["value"]
    # the YAML the button serves is the one lib builds (independently parsed here)
    doc = yaml.safe_load(
        render_mapping(
            mapping_document(
                "icecream-sales",
                None,
                {"flavor": (pick.value, reason["unseen_values"])},
            ),
            "yaml",
        )
    )
    assert doc["features"]["flavor"]["map"] == {u["value"]: pick.value for u in reason["unseen_values"]}
    assert len(at.get("download_button")) >= 2

    # upstream notice: a real e-mail to the spec's upstream contact through the local SMTP sink
    at.button(key="rm_up").click().run()
    assert not at.exception
    assert [s.value for s in at.success] and "delivered" in at.success[0].value
    (mail,) = [x for x in mails.messages if x["to"] == ["flavor-feed@example.com"]]
    text = mail["text"].replace("=\r\n", "")
    for u in reason["unseen_values"]:
        assert f"{u['count']:,} row(s) in the last 24 h, first seen {u['first_seen']}" in text

    # retrain: the spec's URL, overridden by the secrets to the local receiver
    at.button(key="rm_rt").click().run()
    assert not at.exception
    (req,) = [r for r in hooks.requests if r["path"] == "/retrain"]
    assert req["json"]["trigger"]["why"] == "learn new category values"
    assert {u["value"] for u in req["json"]["trigger"]["unseen_values"]["flavor"]} == {
        u["value"] for u in reason["unseen_values"]
    }
    with Store(demo_db).read() as con:
        log = audit_log(con, model_id="icecream-sales")
    queued = log[log["event"] == "queued"]
    # no [auth] configured: the app acts as the machine's user, as the Alerts page does (lib/ui/auth.py)
    assert set(queued["actor"]) == {local_actor().id}
    assert set(queued["detail"]) == {
        "by hand: upstream notice: 4 new value(s) in flavor",
        "by hand: retrain to learn 4 new value(s)",
    }


def test_remedy_panel_absent_without_unseen_values(app, demo_db):
    fleet = evaluate(Store(demo_db))
    calm = next(x for x in fleet["models"] if not any(r["check"] == "unseen_categories" for r in x["reasons"]))
    at = app(calm["model_id"], tab="Data quality")
    assert not any("What to do about the new values" in x.value for x in at.markdown)


# -- FDR on the grid and the model page; the seasonal volume baseline on the model page ----------
@pytest.fixture(scope="module")
def small_stores(tmp_path_factory):
    from test_fdr_volume import build_fdr_fleet, build_weekly_store

    d = tmp_path_factory.mktemp("i13small")
    build_fdr_fleet(d)
    (d / "policy.yaml").write_text("fdr: {enabled: true, alpha: 0.05}\n")
    build_weekly_store(d / "w.duckdb", d)
    return d


def _page(monkeypatch, db, page: str, policy=None, **params) -> AppTest:
    monkeypatch.setenv("DRIFTLIGHT_DB", str(db))
    monkeypatch.setenv("DRIFTLIGHT_POLICY", str(policy or ""))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page != "fleet":
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    assert not at.exception, at.exception
    return at


def test_fdr_note_on_grid_and_q_on_model_page(small_stores, monkeypatch):
    from lib.judge.policy import load_policy

    policy = small_stores / "policy.yaml"
    result = evaluate(Store(small_stores / "f.duckdb"), policy=load_policy(policy))
    f = result["fdr"]
    assert f["removed"] >= 1
    at = _page(monkeypatch, small_stores / "f.duckdb", "fleet", policy)
    note = [c.value for c in at.caption if "False discovery rate control" in c.value]
    assert note == [
        f"False discovery rate control (Benjamini–Hochberg, α = 0.05) over {f['family']:,} drift tests: "
        f"**{f['removed']} of {f['findings']}** feature-drift finding(s) removed as not significant across the fleet."
    ]
    at = _page(monkeypatch, small_stores / "f.duckdb", "model", policy, model="faint")
    table = at.dataframe(key="drift_table").value.set_index("feature")
    faint = next(m for m in result["models"] if m["model_id"] == "faint")
    for feat in faint["features"]:
        assert table.loc[feat["feature"], "FDR q"] == pytest.approx(feat["fdr"]["q"])
    assert any("Removed as not significant: **flavor" in c.value for c in at.caption)
    # without the setting: no note, no column
    at = _page(monkeypatch, small_stores / "f.duckdb", "fleet")
    assert not [c for c in at.caption if "False discovery rate control" in c.value]


def test_seasonal_volume_on_model_page(small_stores, monkeypatch):
    db = small_stores / "w.duckdb"
    result = {m["model_id"]: m for m in evaluate(Store(db))["models"]}
    at = _page(monkeypatch, db, "model", model="seasonal-drop")
    text = "\n".join(h.proto.body for h in at.html)
    reason = next(r for r in result["seasonal-drop"]["reasons"] if r["check"] == "volume")
    assert reason["message"] in text and "of the same 24 hours of the 2 previous weeks" in text
    assert result["quiet-saturdays"]["status"] == "green"  # same weekday: a quiet Saturday is a usual Saturday
    daily = next(r for r in result["quiet-saturdays-daily-mean"]["reasons"] if r["check"] == "volume")
    assert daily["status"] == "yellow" and "of the daily mean of the 7 days before" in daily["message"]
    at = _page(monkeypatch, db, "model", model="quiet-saturdays-daily-mean")
    assert daily["message"] in "\n".join(h.proto.body for h in at.html)
