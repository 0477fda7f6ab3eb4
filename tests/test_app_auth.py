"""The login gate and the roles in the app, with AppTest and `at.user` set per role (issue 10):
logged out, refused, viewer, owner, admin; and without [auth] (unauthenticated, localhost) or
with a broken [auth] (the app refuses to start). On the small fleet of tests/report_fixtures.py
(quiet-yellow is owned by quiet-yellow@example.com and has an open finding)."""

from __future__ import annotations

from pathlib import Path

import pytest
import report_fixtures as rf
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.actions import run as actions
from lib.actions.config import ActionConfig
from lib.actions.send import Attempt
from lib.judge.evaluate import evaluate
from lib.store import actions as sa

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "driftlight",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = {"admins": ["admin@example.com"], "allowed_domains": ["example.com"]}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    store = rf.build(tmp_path_factory.mktemp("app-auth"))
    actions.run_alerts(store, config=ActionConfig(), sender=lambda a, c: Attempt(True, False, "ok"))
    return store


@pytest.fixture
def app(fleet, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_DB", str(fleet.path))
    st.cache_data.clear()

    def make(email: str | None, *, secrets: dict | None = None, **params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.secrets = {"auth": AUTH, "driftlight": ACCESS} if secrets is None else secrets
        at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email, "name": "N"}
        for k, v in params.items():
            at.query_params[k] = v
        return at

    return make


def everything(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += [e.value for e in at.warning] + [e.value for e in at.error] + [e.value for e in at.info]
    parts += [e.value for e in at.success]
    parts += [h.proto.body for h in at.html] + [b.label for b in at.button]
    return "\n".join(str(p) for p in parts)


def open_page(at: AppTest, page: str) -> AppTest:
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_logged_out_sees_only_the_login_screen(app):
    at = app(None, model="quiet-yellow")
    at.run()
    assert not at.exception
    text = everything(at)
    assert "Log in to continue" in text and [b.label for b in at.button] == ["Log in"]
    for secret in ("quiet-yellow", "hostile", "calm-green", "fleet.duckdb", "Fleet health"):
        assert secret not in text
    assert not at.dataframe and not at.sidebar.markdown  # no page, no sidebar, no data


def test_outside_the_allowed_domains_is_refused(app):
    at = app("stranger@elsewhere.org", model="quiet-yellow")
    at.run()
    text = everything(at)
    assert "Sorry — stranger@elsewhere.org has no access to this Driftlight." in text
    assert "quiet-yellow" not in text and [b.label for b in at.button] == ["Log out"]
    at = app("viewer@example.com")
    at.user["email_verified"] = False  # an allowed domain, but the provider did not verify it
    at.run()
    assert "Sorry — viewer@example.com has no access to this Driftlight." in everything(at)


def test_viewer_reads_but_may_not_act(app):
    at = app("viewer@example.com")
    at.run()
    assert not at.exception
    assert "Signed in as **N** · viewer@example.com · viewer" in [c.value for c in at.sidebar.caption]
    at = open_page(app("viewer@example.com", model="quiet-yellow"), "app_pages/alerts.py")
    assert at.button(key="al_ack").disabled and at.button(key="al_mute").disabled
    assert "up to its owner or an admin" in everything(at)
    at = open_page(app("viewer@example.com"), "app_pages/policy.py")
    assert "Read-only." in everything(at)
    assert not [b for b in at.button if b.key in ("po_save", "po_preview")]
    at = open_page(app("viewer@example.com"), "app_pages/upload.py")
    assert "uploads are for admins and model owners" in everything(at)
    assert not at.get("file_uploader")


def test_owner_acts_on_own_model_only(app, fleet):
    at = open_page(app("quiet-yellow@example.com", model="hostile-red"), "app_pages/alerts.py")
    assert at.button(key="al_mute").disabled
    at = open_page(app("quiet-yellow@example.com", model="quiet-yellow"), "app_pages/alerts.py")
    assert not at.button(key="al_ack").disabled
    at.button(key="al_ack").click().run()
    assert not at.exception
    with fleet.read() as con:
        log = sa.audit_log(con, model_id="quiet-yellow", limit=1)
    assert (log["event"].iloc[0], log["actor"].iloc[0]) == ("acknowledged", "quiet-yellow@example.com")
    at = open_page(app("quiet-yellow@example.com"), "app_pages/upload.py")
    assert len(at.get("file_uploader")) == 2
    assert at.selectbox(key="up_model").options == ["quiet-yellow"]


def test_admin_changes_a_threshold_and_uploads(app, fleet):
    at = open_page(app("admin@example.com", model="quiet-yellow"), "app_pages/policy.py")
    assert "You are an **admin**" in everything(at)
    assert at.button(key="po_save").disabled  # no comment yet
    at.selectbox(key="po_setting").select("unseen_categories").run()
    slot = "model|quiet-yellow||unseen_categories"
    assert (at.number_input(key=f"po_y|{slot}").value, at.number_input(key=f"po_r|{slot}").value) == (0.001, 0.05)
    at.number_input(key=f"po_y|{slot}").set_value(0.01)
    at.number_input(key=f"po_r|{slot}").set_value(0.06)
    at.text_input(key="po_comment").input("delta is expected").run()
    assert not at.button(key="po_save").disabled
    at.button(key="po_save").click().run()
    assert not at.exception and not at.error
    judged = evaluate(fleet, model_ids=["quiet-yellow"])["models"][0]
    assert judged["status"] == "green"
    with fleet.read() as con:
        log = sa.audit_log(con, limit=1)
    assert (log["kind"].iloc[0], log["actor"].iloc[0]) == ("policy", "admin@example.com")
    # and removed again through the page: yellow as before
    at.text_input(key="po_clear_why").input("undo").run()
    at.button(key="po_clear").click().run()
    assert not at.exception
    assert evaluate(fleet, model_ids=["quiet-yellow"])["models"][0]["status"] == "yellow"
    at = open_page(app("admin@example.com"), "app_pages/upload.py")
    assert set(at.selectbox(key="up_model").options) == {"hostile-red", "quiet-yellow", "calm-green"}


def test_without_auth_the_app_says_unauthenticated(app):
    at = app(None, secrets={})
    at.run()
    assert not at.exception
    caption = "\n".join(c.value for c in at.sidebar.caption)
    assert "**unauthenticated** — no login configured; serve on localhost only" in caption


def test_auth_without_cookie_secret_refuses_to_start(app):
    at = app("admin@example.com", secrets={"auth": {k: v for k, v in AUTH.items() if k != "cookie_secret"}})
    at.run()
    assert "Driftlight will not start with this configuration." in at.error[0].value
    assert "[auth] has no cookie_secret" in at.error[0].value
    assert "Fleet health" not in everything(at)
