"""Login, roles and the Policy page in a real browser (issue 10): Streamlit's built-in OIDC
against a real OpenID provider on 127.0.0.1 (oidc-provider-mock, pre-authorized users), Debian's
Chromium driven by Playwright, the small hostile fleet of tests/report_fixtures.py (three models
of team qa, each owned by `<model_id>@example.com`; quiet-yellow is yellow on unseen categories).

- a cold deep link to /model?model=quiet-yellow shows the login screen and no model id; after the
  login it lands on that model;
- a viewer sees the grid; the Policy page is read-only and the Upload page refused;
- the owner of quiet-yellow acknowledges its findings; hostile-red's controls are refused to them
  (also through lib: PermissionDenied, nothing written);
- an admin raises quiet-yellow's unseen-categories thresholds on the Policy page: the grid shows
  it green, `python -m lib evaluate` says green, and the audit log names the admin;
- a user outside allowed_domains gets the polite refusal.
Screenshots of the flow go to test-artifacts/browser/auth-*.png (and $I10A_SHOTS if set).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():  # pragma: no cover
    pytest.fail("Debian's chromium is not installed: run `make system-deps`", pytrace=False)

import report_fixtures as rf  # noqa: E402
from oidc_provider_mock import User, run_server_in_thread  # noqa: E402

from lib.actions import run as actions  # noqa: E402
from lib.actions.config import ActionConfig  # noqa: E402
from lib.actions.roles import Actor, PermissionDenied  # noqa: E402
from lib.actions.send import Attempt  # noqa: E402
from lib.store import actions as sa  # noqa: E402
from tests.browser_support import (  # noqa: E402,F401
    ARTIFACTS,
    ROOT,
    browser,
    error_dialogs,
    free_port,
    shot,
    streamlit_server,
    wait_for_app_run,
)

pytestmark = pytest.mark.xdist_group("browser")
TIMEOUT = 120_000
ADMIN, OWNER, VIEWER, STRANGER = (
    "admin@example.com",
    "quiet-yellow@example.com",
    "viewer@example.com",
    "stranger@elsewhere.org",
)


def _shot(page, name: str) -> None:
    (ARTIFACTS / "browser").mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "browser" / f"auth-{name}.png"
    shot(page, path)
    extra = os.environ.get("I10A_SHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-auth")
    store = rf.build(tmp)
    # One alert run, so quiet-yellow and hostile-red have open findings to acknowledge.
    actions.run_alerts(store, config=ActionConfig(), sender=lambda a, c: Attempt(True, False, "ok"))
    users = [
        User(sub=e, claims={"email": e, "name": e.split("@")[0].title()}) for e in (ADMIN, OWNER, VIEWER, STRANGER)
    ]
    with run_server_in_thread(port=0, user_claims=users) as oidc:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        secrets_file = tmp / "secrets.toml"
        secrets_file.write_text(
            f"""
[auth]
redirect_uri = "{base}/oauth2callback"
cookie_secret = "{secrets.token_hex(16)}"
client_id = "driftlight-test"
client_secret = "not-a-secret"
server_metadata_url = "http://127.0.0.1:{oidc.server_port}/.well-known/openid-configuration"

[driftlight]
admins = ["{ADMIN}"]
allowed_domains = ["example.com"]
""",
            encoding="utf-8",
        )
        env = {"DRIFTLIGHT_SECRETS": str(secrets_file)}
        with streamlit_server(store.path, env=env, port=port, args=(f"--secrets.files={secrets_file}",)) as url:
            assert url == base
            yield {"store": store, "base": base, "env": env}


def login(browser, base: str, email: str, path: str = "/"):
    """A fresh browser context: open `path` cold, log in as `email` at the provider."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.goto(base + path)
    wait_for_app_run(page, TIMEOUT)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector(f"button[name='sub'][value='{email}']", timeout=TIMEOUT)
    page.click(f"button[name='sub'][value='{email}']")
    page.wait_for_url(lambda u: u.startswith(base) and "oauth2callback" not in u, timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    return ctx, page


def main_text(page) -> str:
    return page.inner_text("[data-testid='stMain']")


def test_cold_deep_link_shows_login_then_lands_on_the_model(browser, setup):
    base = setup["base"]
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/model?model=quiet-yellow")
    wait_for_app_run(page, TIMEOUT)
    text = page.inner_text("body")
    assert "Log in to continue" in text
    assert "quiet-yellow" not in page.content() and "Quiet yellow" not in text and "hostile" not in text
    _shot(page, "1-login-screen")
    ctx.close()
    ctx, page = login(browser, base, VIEWER, "/model?model=quiet-yellow")
    page.wait_for_url(lambda u: "model=quiet-yellow" in u, timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    assert "/model" in page.url
    assert "Quiet yellow" in main_text(page)
    assert not error_dialogs(page)
    _shot(page, "2-after-login-deep-link")
    ctx.close()


def test_viewer_reads_the_grid_but_not_policy_edits_or_uploads(browser, setup):
    base = setup["base"]
    ctx, page = login(browser, base, VIEWER)
    text = main_text(page)
    assert "Fleet health" in text and "quiet-yellow" in text and "3 of 3 models" in text
    assert "viewer@example.com · viewer" in page.inner_text("[data-testid='stSidebar']")
    page.goto(f"{base}/policy")
    wait_for_app_run(page, TIMEOUT)
    text = main_text(page)
    assert "Read-only. Only an admin may change the policy" in text
    assert "Change a threshold" not in text
    page.goto(f"{base}/upload")
    wait_for_app_run(page, TIMEOUT)
    assert "uploads are for admins and model owners" in main_text(page)
    _shot(page, "3-viewer-upload-refused")
    ctx.close()


def test_owner_acknowledges_own_model_only(browser, setup):
    base, store = setup["base"], setup["store"]
    ctx, page = login(browser, base, OWNER, "/alerts?model=hostile-red")
    page.wait_for_url(lambda u: "model=hostile-red" in u, timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    assert "acknowledging, snoozing and muting it is up to its owner" in main_text(page)
    assert page.get_by_role("button", name="Mute").is_disabled()
    page.goto(f"{base}/alerts?model=quiet-yellow")
    wait_for_app_run(page, TIMEOUT)
    button = page.get_by_role("button", name="Acknowledge 1 finding(s)")
    assert button.is_enabled()
    button.click()
    wait_for_app_run(page, TIMEOUT)
    with store.read() as con:
        log = sa.audit_log(con, model_id="quiet-yellow", limit=10)
    assert log.iloc[0]["event"] == "acknowledged" and log.iloc[0]["actor"] == OWNER
    ctx.close()
    # and through lib: the owner's actor on another model is refused, nothing written
    owner = Actor(OWNER)
    with pytest.raises(PermissionDenied, match="may not mute hostile-red"):
        actions.mute(store, "hostile-red", True, actor=owner)
    with store.read() as con:
        assert sa.controls(con).query("model_id == 'hostile-red'").empty


def test_admin_threshold_change_shows_in_grid_evaluate_and_audit(browser, setup):
    base, store, env = setup["base"], setup["store"], setup["env"]
    ctx, page = login(browser, base, ADMIN, "/policy?model=quiet-yellow")
    page.wait_for_url(lambda u: "model=quiet-yellow" in u, timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    assert "You are an admin" in main_text(page)
    box = page.get_by_role("combobox", name="Check or setting")
    box.click()
    box.fill("unseen_categories")
    page.keyboard.press("Enter")
    wait_for_app_run(page, TIMEOUT)
    page.get_by_label("yellow at (share)").fill("0.01")
    page.get_by_label("red at (share)").fill("0.06")
    page.get_by_label("Why (required: goes to the audit log)").fill("delta is a known new category")
    page.keyboard.press("Enter")
    wait_for_app_run(page, TIMEOUT)
    page.get_by_role("button", name="Preview").click()
    wait_for_app_run(page, TIMEOUT)
    assert "1 model(s) would change status" in main_text(page)
    _shot(page, "4-policy-preview")
    page.get_by_role("button", name="Save").click()
    wait_for_app_run(page, TIMEOUT)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"]').innerText.includes('In force now: yellow at 0.01, red at 0.06')",
        timeout=TIMEOUT,
    )
    wait_for_app_run(page, TIMEOUT)
    assert "No policy change recorded yet" not in main_text(page)
    _shot(page, "5-policy-saved")
    page.goto(f"{base}/?q=quiet")
    wait_for_app_run(page, TIMEOUT)
    tiles = page.inner_text("[data-testid='stMain']")
    assert "1 of 3 models" in tiles and "quiet-yellow" in tiles
    assert "Healthy · 1" in tiles and "Yellow" in tiles and "needs a look" in tiles  # quiet-yellow is now green
    assert 'data-model="quiet-yellow" data-status="green"' in page.content()
    _shot(page, "6-grid-after-change")
    out = subprocess.run(
        [sys.executable, "-m", "lib", "evaluate", "--db", str(store.path), "--format", "json"],
        cwd=ROOT,
        env={**os.environ, **env, "DRIFTLIGHT_POLICY": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    statuses = {m["model_id"]: m["status"] for m in json.loads(out.stdout)["models"]}
    assert statuses["quiet-yellow"] == "green"
    with store.read() as con:
        log = sa.audit_log(con, limit=20)
    row = log[log["kind"] == "policy"].iloc[0]
    assert row["actor"] == ADMIN and row["event"] == "threshold changed"
    assert "unseen_categories yellow 0.001, red 0.05 → unseen_categories yellow 0.01, red 0.06" in row["detail"]
    ctx.close()


def test_user_outside_allowed_domains_is_refused(browser, setup):
    ctx, page = login(browser, setup["base"], STRANGER, "/model?model=quiet-yellow")
    text = page.inner_text("body")
    assert "has no access to this Driftlight" in text and "Quiet yellow" not in text
    _shot(page, "7-refused")
    ctx.close()
