"""Actions against real local receivers (issue 5): an HTTP server on 127.0.0.1 that records
webhooks and fails on demand, and an aiosmtpd SMTP sink for Apprise's mailto."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import report_fixtures as rf
from aiosmtpd.controller import Controller

from lib.actions import run as actions
from lib.actions.config import ActionConfig, Smtp, apprise_url, load_config, redact
from lib.actions.roles import Actor
from lib.store.actions import audit_log

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Actor("test", admin=True)
DANA = Actor("dana@example.com", admin=True)


# -- receivers --------------------------------------------------------------------------------
class Hooks:
    """Records every POST; answers `fail_next` of them with 503 first (or `status` forever)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hooks.lock:
                    failing = hooks.fail_next > 0
                    hooks.fail_next -= failing
                    hooks.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(body),
                            "answered": 503 if failing else 202,
                        }
                    )
                self.send_response(503 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict]:
        return [r for r in self.requests if r["answered"] == 202]


class Mails:
    def __init__(self):
        self.messages: list[dict] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(
                    {
                        "from": envelope.mail_from,
                        "to": envelope.rcpt_tos,
                        "text": envelope.content.decode("utf-8", "replace"),
                    }
                )
                return "250 OK"

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.fixture()
def hooks():
    h = Hooks()
    yield h
    h.server.shutdown()


@pytest.fixture()
def mails():
    m = Mails()
    yield m
    m.controller.stop()


@pytest.fixture()
def fleet(tmp_path, hooks):
    return rf.build(tmp_path, actions={"hostile-red": {"retrain_url": hooks.url + "/retrain"}})


def config_for(mails: Mails, **kw) -> ActionConfig:
    base = dict(
        smtp=Smtp(host="127.0.0.1", port=mails.port, sender="driftlight@localhost", mode="insecure"),
        base_url="http://dash.example:8501",
        timeout_s=5,
        backoff_s=0.01,
        attempts_per_run=3,
    )
    base.update(kw)
    return ActionConfig(**base)


# -- the happy path ---------------------------------------------------------------------------
def test_alert_notifies_yellow_owner_triggers_red_and_never_twice(fleet, hooks, mails):
    cfg = config_for(mails)
    first = actions.run_alerts(fleet, config=cfg)
    assert first.exit_code == 0
    assert first.summary["notices_queued"] == 1 and first.summary["triggers_queued"] == 1
    assert first.summary["delivered"] == 2 and first.summary["findings_new"] == 3

    # one email, to the yellow model's owner, with the reasons and the deep link
    assert len(mails.messages) == 1
    mail = mails.messages[0]
    assert mail["to"] == ["quiet-yellow@example.com"]
    assert "Subject: [Driftlight] yellow: Quiet yellow (quiet-yellow)" in mail["text"]
    assert "unseen_categories" in mail["text"]
    assert "http://dash.example:8501/model?model=3Dquiet-yellow" in mail["text"].replace(
        "=\r\n", ""
    ) or "http://dash.example:8501/model?model=quiet-yellow" in mail["text"].replace("=\r\n", "")

    # one retrain trigger, with the idempotency key in header and payload
    assert len(hooks.requests) == 1
    req = hooks.requests[0]
    assert req["path"] == "/retrain"
    p = req["json"]
    assert req["headers"]["Idempotency-Key"] == p["idempotency_key"]
    assert p["model"]["model_id"] == "hostile-red" and p["model"]["name"] == rf.HOSTILE_NAME
    assert p["as_of"] == "2026-11-10T00:00:00+00:00"
    assert p["reference_snapshot"]["snapshot_id"] == 1 and p["reference_snapshot"]["rows"] == 2000
    assert [r["check"] for r in p["reasons"]] == ["unseen_categories", "feature_drift"]
    assert p["status"] == "red" and len(p["finding_ids"]) == 1

    # run twice: nothing is sent again
    second = actions.run_alerts(fleet, config=cfg)
    assert second.exit_code == 0 and second.actions == []
    assert second.summary["findings_new"] == 0 and second.summary["findings_open"] == 3
    assert len(mails.messages) == 1 and len(hooks.requests) == 1

    # the audit log holds every step
    with fleet.read() as con:
        log = audit_log(con)
    events = sorted(zip(log["kind"], log["event"]))
    assert events.count(("retrain_http", "delivered")) == 1 and events.count(("notify", "delivered")) == 1
    assert events.count(("retrain_http", "queued")) == 1 and events.count(("notify", "attempt")) == 1
    assert (log["target"] == "mailto:quiet-yellow@example.com").any()


def test_receiver_down_retries_then_fails_then_succeeds_once(fleet, hooks, mails):
    cfg = config_for(mails, max_attempts=6)
    hooks.fail_next = 3
    r1 = actions.run_alerts(fleet, config=cfg)
    assert r1.exit_code == 0  # scheduled for a retry: not a failure yet
    trig = [a for a in r1.actions if a["kind"] == "retrain_http"][0]
    assert trig["outcome"] == "retry" and trig["attempts"] == 3 and "503" in trig["detail"]
    assert [r["answered"] for r in hooks.requests] == [503, 503, 503]
    keys = {r["headers"]["Idempotency-Key"] for r in hooks.requests}
    assert len(keys) == 1  # every retry carries the same key

    hooks.fail_next = 3  # still down: attempts 4-6, then failed for good
    r2 = actions.run_alerts(fleet, config=cfg)
    assert r2.exit_code == 1 and r2.summary["failed"] == 1
    with fleet.read() as con:
        log = audit_log(con)
    assert ((log["event"] == "failed") & (log["kind"] == "retrain_http")).sum() == 1
    assert ((log["event"] == "attempt") & (log["outcome"] == "error")).sum() == 6

    r3 = actions.run_alerts(fleet, config=cfg)  # failed for good stays failed (visible, not resent)...
    assert r3.actions == [] and len(hooks.requests) == 6
    action_id = trig["action_id"]
    assert actions.retry_failed(fleet, action_id, actor=ADMIN)  # ...until a person requeues it
    r4 = actions.run_alerts(fleet, config=cfg)  # the receiver is back
    assert r4.exit_code == 0 and [a["outcome"] for a in r4.actions] == ["delivered"]
    assert len(hooks.accepted()) == 1
    assert {r["headers"]["Idempotency-Key"] for r in hooks.requests} == {action_id}
    actions.run_alerts(fleet, config=cfg)
    assert len(hooks.accepted()) == 1 and len(mails.messages) == 1  # no duplicate, ever


def test_retry_at_next_run_succeeds_without_duplicate(fleet, hooks, mails):
    cfg = config_for(mails)
    hooks.fail_next = 2
    r1 = actions.run_alerts(fleet, config=cfg.with_(attempts_per_run=2))
    assert [a["outcome"] for a in r1.actions if a["kind"] == "retrain_http"] == ["retry"]
    r2 = actions.run_alerts(fleet, config=cfg)
    assert [a["outcome"] for a in r2.actions] == ["delivered"] and r2.summary["retries_claimed"] == 1
    assert [r["answered"] for r in hooks.requests] == [503, 503, 202]


def test_new_reference_snapshot_makes_a_new_finding(fleet, hooks, mails, tmp_path):
    cfg = config_for(mails)
    actions.run_alerts(fleet, config=cfg)
    assert len(hooks.accepted()) == 1
    from lib.ingest.pipeline import ingest_file

    # a "retrain": a new reference snapshot (same data: the model is still red against it)
    out = ingest_file(fleet, "reference", "hostile-red", tmp_path / "hostile-red-ref.csv")
    if out.status == "skipped":  # same content hash: write a copy with a changed row
        import pandas as pd

        df = pd.read_csv(tmp_path / "hostile-red-ref.csv")
        df.loc[0, "size"] = 11.5
        df.to_csv(tmp_path / "hostile-red-ref2.csv", index=False)
        out = ingest_file(fleet, "reference", "hostile-red", tmp_path / "hostile-red-ref2.csv")
    assert out.status == "ingested"
    r = actions.run_alerts(fleet, config=cfg)
    assert r.summary["findings_new"] >= 1
    assert len(hooks.accepted()) == 2
    assert hooks.accepted()[1]["json"]["reference_snapshot"]["snapshot_id"] == 2
    assert hooks.accepted()[0]["json"]["idempotency_key"] != hooks.accepted()[1]["json"]["idempotency_key"]


def test_mute_snooze_acknowledge_and_cooldown(fleet, hooks, mails):
    cfg = config_for(mails)
    actions.mute(fleet, "quiet-yellow", True, actor=DANA)
    actions.snooze(fleet, "hostile-red", actions.utcnow() + timedelta(hours=2), actor=DANA)
    r = actions.run_alerts(fleet, config=cfg)
    assert r.actions == [] and r.summary["suppressed_models"] == 2
    assert mails.messages == [] and hooks.requests == []

    # the snooze ends: the untold red finding triggers now
    r = actions.run_alerts(fleet, config=cfg, now=actions.utcnow() + timedelta(hours=3))
    assert [a["model_id"] for a in r.actions] == ["hostile-red"] and len(hooks.accepted()) == 1
    actions.mute(fleet, "quiet-yellow", False, actor=DANA)
    actions.run_alerts(fleet, config=cfg, now=actions.utcnow() + timedelta(hours=3))
    assert len(mails.messages) == 1

    # within the cool-down (24 h): nothing; after it: a reminder; acknowledged: no more reminders
    actions.run_alerts(fleet, config=cfg, now=actions.utcnow() + timedelta(hours=20))
    assert len(mails.messages) == 1
    actions.run_alerts(fleet, config=cfg, now=actions.utcnow() + timedelta(hours=28))
    assert len(mails.messages) == 2 and "REMINDER" in mails.messages[1]["text"]
    assert actions.acknowledge(fleet, "quiet-yellow", actor=DANA) == 1
    actions.run_alerts(fleet, config=cfg, now=actions.utcnow() + timedelta(hours=60))
    assert len(mails.messages) == 2
    assert len(hooks.accepted()) == 1  # the red finding triggered once, ever
    with fleet.read() as con:
        log = audit_log(con)
    assert {"muted", "unmuted", "snoozed", "acknowledged", "suppressed"} <= set(log["event"])


def test_retrain_command_and_red_without_endpoint_notifies(tmp_path, mails):
    out = tmp_path / "payload.json"
    cmd = [
        sys.executable,
        "-c",
        f"import sys, os; open({str(out)!r}, 'w').write(sys.stdin.read() + os.environ['DRIFTLIGHT_IDEMPOTENCY_KEY'])",
    ]
    store = rf.build(tmp_path, actions={"hostile-red": {"retrain_command": cmd}})
    r = actions.run_alerts(store, config=config_for(mails))
    assert sorted((a["model_id"], a["kind"], a["outcome"]) for a in r.actions) == [
        ("hostile-red", "retrain_command", "delivered"),
        ("quiet-yellow", "notify", "delivered"),
    ]
    text = out.read_text()
    payload = json.loads(text[: text.rindex("}") + 1])
    assert text.endswith(payload["idempotency_key"]) and payload["model"]["model_id"] == "hostile-red"

    # a red model with no retrain endpoint: its owner is told instead
    (tmp_path / "b").mkdir()
    store2 = rf.build(tmp_path / "b")
    n_before = len(mails.messages)
    r = actions.run_alerts(store2, config=config_for(mails))
    assert sorted(a["model_id"] for a in r.actions) == ["hostile-red", "quiet-yellow"]
    red_mail = [m for m in mails.messages[n_before:] if m["to"] == ["hostile-red@example.com"]][0]
    assert "no retrain action" in red_mail["text"]


def test_dry_run_cli_sends_and_stores_nothing(fleet, hooks, tmp_path):
    version = fleet.data_version()
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "alert", "--db", fleet.path, "--dry-run", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DRIFTLIGHT_SECRETS": str(tmp_path / "none.toml")},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["dry_run"] and out["summary"]["notices_queued"] == 1 and out["summary"]["triggers_queued"] == 1
    assert {a["outcome"] for a in out["actions"]} == {"would send"}
    assert hooks.requests == [] and fleet.data_version() == version


def test_cli_alert_exit_codes_and_secrets_file(fleet, hooks, mails, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f"""
[actions]
base_url = "http://dash.example:8501/"
backoff_s = 0.01
max_attempts = 2
attempts_per_run = 2
[actions.smtp]
host = "127.0.0.1"
port = {mails.port}
from = "driftlight@localhost"
mode = "insecure"
""")
    env = {"PATH": "/usr/bin:/bin", "DRIFTLIGHT_SECRETS": str(secrets)}
    hooks.fail_next = 5

    def run():
        return subprocess.run(
            [sys.executable, "-m", "lib", "alert", "--db", fleet.path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    p1 = run()
    assert p1.returncode == 1, p1.stdout + p1.stderr  # the trigger failed for good
    assert "failed" in p1.stdout and len(mails.messages) == 1
    p2 = run()
    assert p2.returncode == 0 and "notices_queued 0" in p2.stdout


def test_config_helpers(tmp_path):
    assert load_config(tmp_path / "missing.toml") == ActionConfig()
    cfg = ActionConfig(smtp=Smtp(host="smtp.example.com", port=587, user="bot", password="p@ss w"))
    url = apprise_url("mailto://dana@example.com", cfg)
    assert url.startswith("mailto://bot:p%40ss%20w@smtp.example.com:587?") and "to=dana%40example.com" in url
    assert apprise_url("slack://T/B/C", cfg) == "slack://T/B/C"
    assert redact("mailto://dana@example.com") == "mailto:dana@example.com"
    assert redact("https://user:secret@ci.example.com/hooks/x?token=abc") == "https://ci.example.com/hooks/x"
    assert "secret" not in redact("slack://secret-token@T/B/C")


def test_alerts_page_shows_actions_and_mutes(fleet, hooks, mails, monkeypatch):
    from streamlit.testing.v1 import AppTest

    actions.run_alerts(fleet, config=config_for(mails))
    monkeypatch.setenv("DRIFTLIGHT_DB", fleet.path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/alerts.py").run()
    assert not at.exception
    table = at.dataframe[1].value  # [0] open findings, [1] actions, [2] log
    assert set(table["model_id"]) == {"hostile-red", "quiet-yellow"} and set(table["status"]) == {"✔ delivered"}
    assert "mailto:quiet-yellow@example.com" in set(table["target"])
    open_all = at.dataframe[0].value  # no model chosen: the fleet's open findings
    assert sorted(open_all["model_id"]) == ["hostile-red", "hostile-red", "quiet-yellow"]
    at.selectbox(key="model").select("quiet-yellow").run()
    at.button(key="al_mute").click().run()
    assert not at.exception
    r = actions.run_alerts(fleet, config=config_for(mails), now=actions.utcnow() + timedelta(days=3))
    assert r.summary["suppressed_models"] == 1 and len(mails.messages) == 1
