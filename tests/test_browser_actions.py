"""Real-browser tests of the Alerts and Reports pages (Python Playwright driving Debian's
Chromium against `streamlit run app.py`), on the small hostile fleet of tests/report_fixtures.py.

- Alerts: a real `alert` run delivers to local receivers on 127.0.0.1 (a JSON notice that
  arrives, a retrain hook that answers 503 until the action fails for good); the page lists the
  run's findings and actions with their outcomes, and acknowledging, snoozing, muting and
  requeuing through the page's widgets change what the store says, and survive a reload.
- Reports: the files downloaded through the page's buttons equal what `python -m lib report`
  writes for the same store and as-of (CSV byte for byte, JSON but for `generated_at`); the CSV is
  formula-safe; the HTML shows the hostile names as text.
Each test starts its own server, so its first request is a deep link on a cold server.
Marked xdist_group("browser"): `pytest -n 2 --dist loadgroup` keeps them on one worker.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# No skip: a missing browser must fail the suite, not hide the browser tests.
if not Path("/usr/bin/chromium").exists():  # pragma: no cover
    pytest.fail("Debian's chromium is not installed: run `make system-deps`", pytrace=False)

import report_fixtures as rf  # noqa: E402

from lib.actions import run as actions
from lib.actions.config import ActionConfig  # noqa: E402
from lib.store import actions as sa  # noqa: E402
from tests.browser_support import (  # noqa: E402,F401
    ARTIFACTS,
    ROOT,
    browser,
    error_dialogs,
    grid,
    shot,
    streamlit_server,
    wait_for_app_run,
)

pytestmark = pytest.mark.xdist_group("browser")
SHOTS = ARTIFACTS / "browser"
TIMEOUT = 180_000


# -- a local receiver: JSON notices arrive (200), retrain hooks are down (503) -------------------
class Receiver:
    def __init__(self):
        self.requests: list[tuple[str, int]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = 503 if self.path.startswith("/retrain") else 200
                outer.requests.append((self.path, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 2400, "height": 1200}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def no_secrets(tmp_path) -> dict[str, str]:
    """The server and the command line read no secrets file (nothing may reach the network)."""
    return {"DRIFTLIGHT_SECRETS": str(tmp_path / "no-secrets.toml")}


def goto(page, url: str) -> None:
    page.goto(url)
    wait_for_app_run(page, timeout=TIMEOUT)
    assert not error_dialogs(page), error_dialogs(page)


def click(page, button) -> None:
    """Click a widget and wait for the rerun it starts (and any st.rerun after it) to finish."""
    button.click()
    page.wait_for_timeout(300)
    wait_for_app_run(page, timeout=TIMEOUT)
    assert not error_dialogs(page), error_dialogs(page)


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lib", *args],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "DRIFTLIGHT_POLICY": "", **env},
    )


# -- Alerts -------------------------------------------------------------------------------------------
@pytest.fixture
def alerted(tmp_path):
    """The hostile fleet after one real `alert` run against the local receiver."""
    rx = Receiver()
    store = rf.build(
        tmp_path,
        actions={
            "hostile-red": {"retrain_url": f"http://127.0.0.1:{rx.port}/retrain"},
            "quiet-yellow": {"notify": [f"json://127.0.0.1:{rx.port}/notify"]},
        },
    )
    cfg = ActionConfig(
        base_url="http://dash.example:8501", timeout_s=5, backoff_s=0.01, attempts_per_run=2, max_attempts=2
    )
    report = actions.run_alerts(store, config=cfg)
    assert sorted((a["model_id"], a["kind"], a["outcome"]) for a in report.actions) == [
        ("hostile-red", "retrain_http", "failed"),
        ("quiet-yellow", "notify", "delivered"),
    ]
    assert rx.requests == [("/retrain", 503), ("/retrain", 503), ("/notify", 200)] or sorted(rx.requests) == sorted(
        [("/retrain", 503), ("/retrain", 503), ("/notify", 200)]
    )
    yield store
    rx.server.shutdown()


def store_state(store, model_id: str) -> dict:
    with store.read() as con:
        f = sa.findings(con, model_id=model_id)
        ctl = sa.controls(con)
        acts = sa.actions(con)
        log = sa.audit_log(con, model_id=model_id)
    ctl = ctl[ctl["model_id"] == model_id]
    return {
        "findings": f,
        "acked": int(f["acknowledged_at"].notna().sum()),
        "muted": bool(ctl["muted"].iloc[0]) if len(ctl) else False,
        "snooze_until": ctl["snooze_until"].iloc[0] if len(ctl) else None,
        "actions": acts,
        "events": list(log["event"]),
    }


def test_alerts_page_lists_the_run_and_its_controls_write_the_store(page, alerted, no_secrets):
    store = alerted
    with streamlit_server(store.path, env=no_secrets) as base:
        # a cold server's first request: the deep link a notice's reader follows
        goto(page, base + "/alerts?model=quiet-yellow")
        assert page.get_by_text("As of (UTC)").count() >= 1  # app.py's frame ran
        assert "model=quiet-yellow" in page.url
        text = main_text(page)
        assert "quiet-yellow · 1 open finding(s), 0 acknowledged · notices and retrain triggers are on" in text
        for label, n in (("Alert runs", 1), ("Delivered", 1), ("Waiting for retry", 0), ("Failed for good", 1)):
            assert page.locator("[data-testid='stMetric']").filter(has_text=label).locator(
                "[data-testid='stMetricValue']"
            ).inner_text() == str(n), label

        # the model's open finding, as the store has it
        before = store_state(store, "quiet-yellow")
        (finding,) = before["findings"].to_dict("records")
        (row,) = grid(page, "what is wrong")
        assert row["status"] == "▲ yellow" and row["check"] == "unseen_categories" == finding["check"]
        assert row["feature"] == "colour" and row["what is wrong"] == finding["message"]
        assert row["owner told (UTC)"].startswith(f"{finding['notified_at']:%Y-%m-%d %H:%M}")

        # the run's actions with their outcomes (the retrain hook failed for good after 2 tries)
        rows = {(r["model"], r["kind"]): r for r in grid(page, "queued (UTC)")}
        assert set(rows) == {("hostile-red", "retrain_http"), ("quiet-yellow", "notify")}
        assert rows[("hostile-red", "retrain_http")]["outcome"] == "✖ failed for good"
        assert rows[("hostile-red", "retrain_http")]["attempts"] == "2"
        assert "HTTP 503" in rows[("hostile-red", "retrain_http")]["last error"]
        assert rows[("quiet-yellow", "notify")]["outcome"] == "✔ delivered"
        assert rows[("quiet-yellow", "notify")]["to"].startswith("json://127.0.0.1")
        shot(page, SHOTS / "alerts-after-run.png")

        # a dry-run preview on the page says what the command line's dry run says
        click(page, page.get_by_role("button", name="Preview the next run (dry run)"))
        dry = cli("alert", "--db", store.path, "--dry-run", "--format", "json", env=no_secrets)
        assert dry.returncode == 0, dry.stderr
        s = json.loads(dry.stdout)["summary"]
        assert (
            f"a run now would queue {s['notices_queued']} notice(s) and {s['triggers_queued']} retrain "
            f"trigger(s), and retry {s['retries_due']} action(s)"
        ) in main_text(page)

        # acknowledge
        version = store.data_version()
        click(page, page.get_by_role("button", name="Acknowledge 1 finding(s)"))
        after = store_state(store, "quiet-yellow")
        assert after["acked"] == 1 and after["events"][0] == "acknowledged"
        assert store.data_version() > version
        # mute
        click(page, page.get_by_role("button", name="Mute", exact=True))
        assert store_state(store, "quiet-yellow")["muted"] is True
        # snooze until a date typed into the date picker, 09:00 UTC
        # (the 1.67 date input is a segmented field: year, month, day spin buttons)
        page.locator(".st-key-al_snooze_day [role='spinbutton']").first.click()
        page.keyboard.type("20310304")
        page.keyboard.press("Tab")
        page.wait_for_timeout(300)
        wait_for_app_run(page, timeout=TIMEOUT)
        assert page.locator(".st-key-al_snooze_day input").evaluate("e => e.value") == "2031-03-04"
        click(page, page.get_by_role("button", name="Snooze", exact=True))
        state = store_state(store, "quiet-yellow")
        assert state["snooze_until"] is not None and datetime.fromisoformat(str(state["snooze_until"])) == datetime(
            2031, 3, 4, 9, 0
        )
        assert state["events"][:3] == ["snoozed", "muted", "acknowledged"]

        # all of it survives a reload (the store, not the session, says so)
        page.reload()
        wait_for_app_run(page, timeout=TIMEOUT)
        assert not error_dialogs(page)
        text = main_text(page)
        assert (
            "quiet-yellow · 1 open finding(s), 1 acknowledged · muted — nothing is sent until it is unmuted · "
            "snoozed until 2031-03-04 09:00 UTC"
        ) in text
        assert page.get_by_role("button", name="Unmute").count() == 1
        assert page.get_by_role("button", name="All open findings acknowledged").is_disabled()
        assert page.get_by_role("button", name="End snooze").count() == 1
        (row,) = grid(page, "what is wrong")
        acked_at = store_state(store, "quiet-yellow")["findings"]["acknowledged_at"][0]
        assert row["acknowledged (UTC)"].startswith(f"{acked_at:%Y-%m-%d %H:%M}")
        log = grid(page, "when (UTC)")
        assert [r["event"] for r in log[:3]] == ["snoozed", "muted", "acknowledged"]
        shot(page, SHOTS / "alerts-controls.png")

        # the next run (3 days on, past the cool-down) sends nothing for quiet-yellow
        r = actions.run_alerts(store, config=ActionConfig(backoff_s=0.01), now=actions.utcnow() + timedelta(days=3))
        assert not [a for a in r.actions if a["model_id"] == "quiet-yellow"]

        # requeue the failed retrain trigger through the page: the store has it waiting for a retry
        goto(page, base + "/alerts")
        failed_id = next(
            a for a in store_state(store, "hostile-red")["actions"].to_dict("records") if a["kind"] == "retrain_http"
        )["action_id"]
        assert store_state(store, "hostile-red")["actions"].set_index("action_id").loc[failed_id, "status"] == "failed"
        click(page, page.get_by_role("button", name="Requeue"))
        assert store_state(store, "hostile-red")["actions"].set_index("action_id").loc[failed_id, "status"] == "retry"
        page.reload()
        wait_for_app_run(page, timeout=TIMEOUT)
        rows = {(r["model"], r["kind"]): r for r in grid(page, "queued (UTC)")}
        assert rows[("hostile-red", "retrain_http")]["outcome"] == "↻ retry at next run"
        assert rows[("hostile-red", "retrain_http")]["idempotency key"] == failed_id


def test_alerts_page_before_any_run_explains_itself(page, tmp_path, no_secrets):
    store = rf.build(tmp_path)
    with streamlit_server(store.path, env=no_secrets) as base:
        goto(page, base + "/alerts")
        text = main_text(page)
        assert "Nothing sent or triggered yet" in text and "No open findings" in text
        click(page, page.get_by_role("button", name="Preview the next run (dry run)"))
        dry = cli("alert", "--db", store.path, "--dry-run", "--format", "json", env=no_secrets)
        out = json.loads(dry.stdout)
        assert out["summary"]["notices_queued"] == 2 and out["summary"]["triggers_queued"] == 0
        assert "a run now would queue 2 notice(s) and 0 retrain trigger(s)" in main_text(page)
        rows = grid(page, "in a run now")
        assert sorted((r["model"], r["to"], r["in a run now"]) for r in rows) == sorted(
            (a["model_id"], a["target"], a["outcome"]) for a in out["actions"]
        )
        with store.read() as con:  # a dry run stores nothing
            assert sa.runs(con).empty and sa.actions(con).empty
        shot(page, SHOTS / "alerts-empty-preview.png")


# -- Reports -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_store(tmp_path_factory):
    return rf.build(tmp_path_factory.mktemp("browser-reports"))


def download(page, fmt: str, tmp_path: Path) -> bytes:
    """Build a format through the page, then download it; the file's bytes."""
    click(page, page.get_by_role("button", name=f"Build {fmt.upper()}"))
    button = page.get_by_role("button", name=f"Download {fmt.upper()}")
    button.wait_for(timeout=TIMEOUT)
    with page.expect_download(timeout=TIMEOUT) as info:
        button.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path.read_bytes()


def without_generated_at(data: bytes) -> dict:
    out = json.loads(data)
    out["report"].pop("generated_at")
    return out


def assert_formula_safe(text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(text)))
    for r in rows:
        for cell in r.values():
            if cell and cell[0] in "=+-@\t\r":
                float(cell)  # only numbers may start with a sign
    return rows


def test_reports_page_model_downloads_match_the_command_line(page, report_store, tmp_path, no_secrets):
    store = report_store
    with streamlit_server(store.path, env=no_secrets) as base:
        goto(page, base + "/reports?model=hostile-red")  # a cold server's first request
        assert page.get_by_text("As of (UTC)").count() >= 1
        text = main_text(page)
        assert "hostile-red · ✖ Red (broken) ·" in text and "As of 2026-11-10 00:00 UTC" in text

        got_json = download(page, "json", tmp_path)
        got_csv = download(page, "csv", tmp_path)
        got_html = download(page, "html", tmp_path)
        shot(page, SHOTS / "reports-model.png")
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".json", ".csv", ".html")) == [
            "driftlight-hostile-red-2026-11-10T00.csv",
            "driftlight-hostile-red-2026-11-10T00.html",
            "driftlight-hostile-red-2026-11-10T00.json",
        ]

    want = {
        fmt: cli("report", "--db", store.path, "--model", "hostile-red", "--format", fmt, "--out", "-", env=no_secrets)
        for fmt in ("json", "csv")
    }
    assert all(p.returncode == 0 for p in want.values()), [p.stderr for p in want.values()]
    assert without_generated_at(got_json) == without_generated_at(want["json"].stdout)
    out = json.loads(got_json)
    (m,) = out["models"]
    assert out["as_of"] == "2026-11-10T00:00:00+00:00"
    assert (m["model_id"], m["status"], m["name"]) == ("hostile-red", "red", rf.HOSTILE_NAME)
    assert (m["reasons"][0]["check"], m["reasons"][0]["feature"]) == ("unseen_categories", rf.HOSTILE_FEATURE)

    assert got_csv == want["csv"].stdout  # byte for byte
    rows = assert_formula_safe(got_csv.decode())
    reason = next(r for r in rows if r["section"] == "reason")
    assert (reason["model_id"], reason["model_status"], reason["check"]) == ("hostile-red", "red", "unseen_categories")
    assert reason["message"] == m["reasons"][0]["message"]
    unseen = {r["message"] for r in rows if r["section"] == "unseen_value"}
    assert {'\'=HYPERLINK("http://evil.example/")', "'+cmd|calc", "'@SUM(1)"} <= unseen

    # the HTML: hostile names shown as text, nothing injected, the first reason there
    html_path = tmp_path / "driftlight-hostile-red-2026-11-10T00.html"
    view = page.context.new_page()
    view.goto(html_path.as_uri())
    body = view.inner_text("body")
    injected = view.evaluate("() => document.querySelectorAll('img[src=x]').length")
    view.close()
    assert injected == 0 and "<img src=x" not in got_html.decode()
    assert rf.HOSTILE_NAME in body and "hostile-red" in body and m["reasons"][0]["message"] in body


def test_reports_page_fleet_follows_the_sidebar_filters(page, report_store, tmp_path, no_secrets):
    store = report_store
    with streamlit_server(store.path, env=no_secrets) as base:
        goto(page, base + "/reports?status=Red&status=Yellow")  # a cold deep link with filters
        text = main_text(page)
        assert (
            "2 of 3 models pass the sidebar filters (statuses: red, yellow): 1 red, 1 yellow, 0 grey, 0 green." in text
        )
        got_csv = download(page, "csv", tmp_path)
        got_json = download(page, "json", tmp_path)
        got_html = download(page, "html", tmp_path)
        shot(page, SHOTS / "reports-fleet-filtered.png")

        # choosing "One model" and a model in the page (not the URL) keeps them in the URL
        click(page, page.locator(".st-key-scope").get_by_text("One model", exact=True))
        assert "Choose the model to export above." in main_text(page)
        page.locator("[data-testid='stSelectbox']").filter(has_text="Model").click()
        click(page, page.get_by_role("option", name="calm-green"))
        assert "scope=One+model" in page.url and "model=calm-green" in page.url
        assert "calm-green · ✔ Green (healthy) · All checks pass" in main_text(page)
        page.reload()
        wait_for_app_run(page, timeout=TIMEOUT)
        assert "calm-green · ✔ Green (healthy)" in main_text(page)

    args = ("report", "--db", store.path, "--fleet", "--status", "red", "--status", "yellow", "--out", "-")
    want_csv = cli(*args, "--format", "csv", env=no_secrets)
    want_json = cli(*args, "--format", "json", env=no_secrets)
    assert want_csv.returncode == 0 and want_json.returncode == 0, want_csv.stderr + want_json.stderr
    assert got_csv == want_csv.stdout
    rows = assert_formula_safe(got_csv.decode())
    assert [r["model_id"] for r in rows if r["section"] == "model"] == ["hostile-red", "quiet-yellow"]
    assert without_generated_at(got_json) == without_generated_at(want_json.stdout)
    out = json.loads(got_json)
    assert [(m["model_id"], m["status"]) for m in out["models"]] == [("hostile-red", "red"), ("quiet-yellow", "yellow")]
    assert out["report"]["filters"]["statuses"] == ["red", "yellow"]
    assert "scope: statuses: red, yellow" in got_html.decode()
