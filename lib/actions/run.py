"""Actions: yellow models notify their owner, red models trigger a retrain (DESIGN.md, Actions).

One `alert` run:
1. evaluates the fleet (lib/evaluate.py) under a read lock;
2. in one write transaction, reconciles *findings* — a (model, check, feature) at yellow or red;
   new when the previous run did not flag it or the model has a new reference snapshot since —
   and queues the due actions with a deterministic id, the idempotency key. Planning happens on
   the state read inside that transaction, so two overlapping runs cannot queue the same action;
3. delivers each queued (or due-for-retry) action with no lock held: up to `attempts_per_run`
   tries with exponential back-off, then 'retry' at the next run, then 'failed' for good after
   `max_attempts`; every attempt and outcome goes to the audit log. An action is marked
   'sending' before its first try and its outcome is stored right after, so a crash leaves it
   to be retried with the same key (the receiver deduplicates) and a 2xx is never sent again.

Which action for what:
- model **yellow**: one notice per notify target (spec `actions.notify`, default
  `mailto://OWNER`) when one of its yellow findings has not been told yet, or was told more
  than `cooldown_hours` ago and nobody acknowledged it (a reminder). Yellow findings of a red
  model wait: the retrain covers them, and they notify if the model drops back to yellow.
- model **red**: one retrain trigger per configured endpoint (`actions.retrain_url`: HTTP POST
  JSON; `actions.retrain_command`: a command with the JSON on stdin) when one of its red
  findings has never triggered; a red finding triggers once, ever. With no endpoint configured
  the owner gets a notice instead (under the same cool-down).
- a **muted** model, or one **snoozed** until a later time, gets nothing; its untold findings
  are told when the mute or snooze ends (if still flagged).
This module decides; lib/store_actions.py stores; lib/actions_send.py delivers.
"""
from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pandas as pd

from lib.store import actions as sa
from lib.actions.config import ActionConfig, email_address, load_config, redact
from lib.actions.send import Attempt, post_json, run_command, send_notice
from lib.judge.policy import Policy, effective_setting, load_policy
from lib.judge.status import RED, YELLOW
from lib.store.connection import Store

KIND_NOTIFY, KIND_HTTP, KIND_COMMAND = "notify", "retrain_http", "retrain_command"


def utcnow() -> datetime:
    """Naive UTC (the store's TIMESTAMP columns are UTC without an offset)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _naive(ts) -> datetime | None:
    if ts is None or ts is pd.NaT or (not isinstance(ts, (list, tuple)) and pd.isna(ts)):
        return None
    ts = pd.Timestamp(ts)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _digest(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:20]


def finding_id(model_id: str, check: str, feature: str, snapshot_id, opened_run: int) -> str:
    return "f-" + _digest(model_id, check, feature, snapshot_id, opened_run)


def _same_snapshot(a, b) -> bool:
    a = None if a is None or pd.isna(a) else int(a)
    b = None if b is None or pd.isna(b) else int(b)
    return a == b


def model_link(config: ActionConfig, model_id: str) -> str:
    return f"{config.base_url}/model?model={model_id}"


# -- planning (pure) --------------------------------------------------------------------------
@dataclass
class Plan:
    run_id: int
    now: datetime
    as_of: str | None
    opened: list[dict] = field(default_factory=list)      # new findings
    updated: list[dict] = field(default_factory=list)     # still flagged: finding_id + new values
    closed: list[str] = field(default_factory=list)       # no longer flagged (or superseded by a retrain)
    actions: list[dict] = field(default_factory=list)     # to queue
    suppressed: list[dict] = field(default_factory=list)  # muted / snoozed models with something due
    marks: dict[str, list[str]] = field(default_factory=lambda: {"notified_at": [], "triggered_at": []})

    def summary(self) -> dict[str, int]:
        kinds = [a["kind"] for a in self.actions]
        return {"findings_new": len(self.opened), "findings_open": len(self.opened) + len(self.updated),
                "findings_closed": len(self.closed), "notices_queued": kinds.count(KIND_NOTIFY),
                "triggers_queued": kinds.count(KIND_HTTP) + kinds.count(KIND_COMMAND),
                "suppressed_models": len(self.suppressed)}


def plan_run(result: dict, *, run_id: int, now: datetime, open_findings: pd.DataFrame,
             last_notices: dict, controls: pd.DataFrame, specs: dict[str, dict], snapshots: dict[str, dict],
             policy: Policy, config: ActionConfig) -> Plan:
    """Reconcile findings with the evaluation and decide the due actions. Writes nothing."""
    plan = Plan(run_id=run_id, now=now, as_of=result.get("as_of"))
    opened_by_key = {(r["model_id"], r["check"], r["feature"]): r for r in open_findings.to_dict("records")}
    ctl = {r["model_id"]: r for r in controls.to_dict("records")}
    seen_keys: set = set()
    for model in result.get("models", []):
        m = model["model_id"]
        spec = specs.get(m, {})
        snap = snapshots.get(m, {}).get("snapshot_id")
        current: list[dict] = []
        for reason in model["reasons"]:
            key = (m, reason["check"], reason["feature"] or "")
            seen_keys.add(key)
            prev = opened_by_key.get(key)
            values = {"status": reason["status"], "value": reason["value"], "threshold": reason["threshold"],
                      "message": reason["message"]}
            if prev is not None and _same_snapshot(prev["snapshot_id"], snap):
                rec = {**prev, **values, "new": False}
                plan.updated.append({"finding_id": prev["finding_id"], **values})
            else:
                if prev is not None:      # a retrain (new reference snapshot) since: a new finding
                    plan.closed.append(prev["finding_id"])
                rec = {"finding_id": finding_id(m, key[1], key[2], snap, run_id), "model_id": m, "check": key[1],
                       "feature": key[2], "snapshot_id": snap, "run_id": run_id, "at": now, **values,
                       "notified_at": None, "triggered_at": None, "acknowledged_at": None, "new": True}
                plan.opened.append(rec)
            rec["reason"] = reason
            current.append(rec)
        if not current or model["status"] not in (YELLOW, RED):
            continue
        cooldown = timedelta(hours=float(effective_setting(policy, model.get("team", ""), spec.get("policy", {}),
                                                           "cooldown_hours")))
        due_actions, marks = _due_for_model(model, spec, current, snap, cooldown, last_notices, plan, config,
                                            snapshots.get(m))
        if not due_actions:
            continue
        c = ctl.get(m)
        snooze = _naive(c.get("snooze_until")) if c else None
        if c is not None and (bool(c.get("muted")) or (snooze is not None and snooze > now)):
            plan.suppressed.append({"model_id": m, "muted": bool(c.get("muted")), "snooze_until": snooze,
                                    "actions": len(due_actions)})
            continue
        plan.actions.extend(due_actions)
        for column, ids in marks.items():
            plan.marks[column].extend(ids)
    plan.closed.extend(fid for key, r in opened_by_key.items() if key not in seen_keys
                       for fid in [r["finding_id"]])
    return plan


def _due_for_model(model: dict, spec: dict, current: list[dict], snap, cooldown: timedelta, last_notices: dict,
                   plan: Plan, config: ActionConfig, snapshot: dict | None) -> tuple[list[dict], dict]:
    m, now = model["model_id"], plan.now
    actions_spec = spec.get("actions", {}) or {}
    marks: dict[str, list[str]] = {"notified_at": [], "triggered_at": []}
    out: list[dict] = []
    red = [f for f in current if f["status"] == RED]
    retrain_targets = []
    if actions_spec.get("retrain_url"):
        retrain_targets.append((KIND_HTTP, config.retrain_url_override or actions_spec["retrain_url"]))
    if actions_spec.get("retrain_command"):
        retrain_targets.append((KIND_COMMAND, actions_spec["retrain_command"]))
    if not retrain_targets and config.default_retrain_url:
        retrain_targets.append((KIND_HTTP, config.retrain_url_override or config.default_retrain_url))

    if model["status"] == RED and retrain_targets:
        fresh = [f for f in red if f.get("triggered_at") is None or pd.isna(f.get("triggered_at"))]
        if fresh:
            ids = sorted(f["finding_id"] for f in fresh)
            for kind, target in retrain_targets:
                key = "a-" + _digest(kind, target if isinstance(target, str) else json.dumps(target), *ids)
                payload = retrain_payload(model, spec, current, ids, key, plan.as_of, snapshot, config)
                out.append(_action(plan, key, m, kind, target, ids, payload))
            marks["triggered_at"] = ids
        return out, marks

    # a notice: yellow findings of a yellow model, or red ones of a red model with no retrain endpoint
    level = RED if model["status"] == RED else YELLOW
    due = []
    for f in current:
        if f["status"] != level or (f.get("acknowledged_at") is not None and not pd.isna(f.get("acknowledged_at"))):
            continue
        told = _naive(f.get("notified_at"))
        last = _naive(last_notices.get((m, f["check"], f["feature"], snap)))
        latest = max([t for t in (told, last) if t is not None], default=None)
        if latest is None or now - latest >= cooldown:
            due.append(f)
    if not due:
        return out, marks
    ids = sorted(f["finding_id"] for f in due)
    title, body = notice_text(model, current, {f["finding_id"] for f in due}, plan.as_of, config,
                              no_retrain=model["status"] == RED)
    targets = list(actions_spec.get("notify") or [f"mailto://{model['owner']}"]) + list(config.extra_notify)
    for target in dict.fromkeys(targets):
        key = "a-" + _digest(KIND_NOTIFY, target, plan.run_id, *ids)
        payload = {"title": title, "body": body, "finding_ids": ids, "idempotency_key": key}
        out.append(_action(plan, key, m, KIND_NOTIFY, target, ids, payload))
    marks["notified_at"] = ids
    return out, marks


def _action(plan: Plan, key: str, model_id: str, kind: str, target, ids: list[str], payload: dict) -> dict:
    target_text = target if isinstance(target, str) else json.dumps(target)
    return {"action_id": key, "run_id": plan.run_id, "model_id": model_id, "kind": kind, "target": target_text,
            "finding_ids": ids, "at": plan.now, "payload_json": json.dumps(payload, allow_nan=False)}


def notice_text(model: dict, current: list[dict], due_ids: set[str], as_of: str | None, config: ActionConfig,
                *, no_retrain: bool = False) -> tuple[str, str]:
    """Plain-text title and body of a notice (Apprise sends it as text: nothing is interpreted)."""
    status = model["status"]
    title = f"[Driftlight] {status}: {model.get('name') or model['model_id']} ({model['model_id']})"
    lines = [f"Model {model['model_id']} ({model.get('name', '')}) is {status.upper()} as of {as_of}.",
             f"Owner: {model.get('owner', '')} · team: {model.get('team', '')}", ""]
    if no_retrain:
        lines += ["It is red, and no retrain action (actions.retrain_url / retrain_command) is configured "
                  "in its spec, so you are told instead.", ""]
    lines.append("Reasons:")
    for f in current:
        r = f["reason"]
        tag = "NEW " if f["finding_id"] in due_ids and f.get("new", True) else (
            "REMINDER " if f["finding_id"] in due_ids else "")
        where = f" · {r['feature']}" if r.get("feature") else ""
        lines.append(f"- {tag}[{r['status']}] {r['check']}{where}: {r['message']} "
                     f"(since {r.get('since')}, {r.get('onset')})")
    lines += ["", f"Open the model: {model_link(config, model['model_id'])}",
              "Acknowledge, snooze or mute it on the Alerts page to stop reminders."]
    return title, "\n".join(lines)


def retrain_payload(model: dict, spec: dict, current: list[dict], ids: list[str], key: str, as_of: str | None,
                    snapshot: dict | None, config: ActionConfig) -> dict:
    return {"event": "driftlight.retrain", "idempotency_key": key, "finding_ids": ids,
            "model": {"model_id": model["model_id"], "name": model.get("name"), "task": model.get("task"),
                      "owner": model.get("owner"), "team": model.get("team")},
            "status": model["status"], "as_of": as_of, "reference_snapshot": snapshot,
            "reasons": [f["reason"] for f in current], "link": model_link(config, model["model_id"])}


# -- the run ----------------------------------------------------------------------------------
@dataclass
class RunReport:
    run_id: int | None
    dry_run: bool
    as_of: str | None
    summary: dict[str, int]
    actions: list[dict]          # planned (dry run) or attempted: action_id, model_id, kind, target, outcome …
    failed_for_good: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed_for_good else 0


Sender = Callable[[dict, ActionConfig], Attempt]


def deliver_once(action: dict, config: ActionConfig) -> Attempt:
    payload = json.loads(action["payload_json"])
    if action["kind"] == KIND_NOTIFY:
        return send_notice(action["target"], payload["title"], payload["body"], config)
    if action["kind"] == KIND_HTTP:
        return post_json(action["target"], payload, action["action_id"], config)
    target = action["target"]
    command = json.loads(target) if target.startswith("[") else target
    return run_command(command, payload, action["action_id"], config)


def _deliver_with_retries(action: dict, config: ActionConfig, sender: Sender) -> list[Attempt]:
    attempts: list[Attempt] = []
    left = max(1, min(config.attempts_per_run, config.max_attempts - int(action["attempts"])))
    for i in range(left):
        if i:
            time.sleep(config.backoff_s * 2 ** (i - 1))
        a = sender(action, config)
        attempts.append(a)
        if a.ok or not a.retryable:
            break
    return attempts


def run_alerts(store: Store, *, dry_run: bool = False, now: datetime | None = None,
               config: ActionConfig | None = None, policy: Policy | None = None,
               sender: Sender = deliver_once, result: dict | None = None) -> RunReport:
    """One `alert` run (see the module docstring). Returns what was planned or done."""
    from lib.judge.evaluate import evaluate

    config = config or load_config()
    policy = policy or load_policy()
    now = now or utcnow()
    if result is None:
        result = evaluate(store, policy=policy)
    if dry_run:
        with store.read() as con:
            state = _state(con)
            run_id = int(sa.runs(con, 1)["run_id"].max()) + 1 if not sa.runs(con, 1).empty else 1
            due_retries = sa.actions(con, statuses=["retry"])
        plan = plan_run(result, run_id=run_id, now=now, policy=policy, config=config, **state)
        retries = due_retries[pd.to_datetime(due_retries["next_attempt_at"]) <= pd.Timestamp(now)]
        rows = [{"action_id": a["action_id"], "model_id": a["model_id"], "kind": a["kind"],
                 "target": redact(a["target"]), "outcome": "would send"} for a in plan.actions]
        rows += [{"action_id": r.action_id, "model_id": r.model_id, "kind": r.kind, "target": redact(r.target),
                  "outcome": "would retry"} for r in retries.itertuples()]
        return RunReport(None, True, result.get("as_of"), {**plan.summary(), "retries_due": len(retries)}, rows)

    as_of = _naive(result.get("as_of"))
    with store.write() as con:
        run_id = sa.new_run(con, now, as_of, store.data_version())
        plan = plan_run(result, run_id=run_id, now=now, policy=policy, config=config, **_state(con))
        for rec in plan.opened:
            sa.open_finding(con, rec)
        for rec in plan.updated:
            sa.update_finding(con, rec["finding_id"], run_id=run_id, status=rec["status"], value=rec["value"],
                              threshold=rec["threshold"], message=rec["message"])
        for fid in plan.closed:
            sa.close_finding(con, fid, now)
        for rec in plan.actions:
            if sa.insert_action(con, rec):
                sa.log(con, now, kind=rec["kind"], event="queued", run_id=run_id, action_id=rec["action_id"],
                       model_id=rec["model_id"], target=redact(rec["target"]),
                       detail=f"findings: {', '.join(rec['finding_ids'])}")
        for column, ids in plan.marks.items():
            sa.mark_findings(con, ids, column, now)
        for s in plan.suppressed:
            sa.log(con, now, kind="control", event="suppressed", run_id=run_id, model_id=s["model_id"],
                   detail="muted" if s["muted"] else f"snoozed until {s['snooze_until']}")
        claimed = sa.claim_due(con, run_id, now, now - timedelta(seconds=config.lease_s))
        queued = [a["action_id"] for a in plan.actions] + claimed
    rows, failed = _deliver_all(store, run_id, list(dict.fromkeys(queued)), config, sender)
    summary = {**plan.summary(), "retries_claimed": len(claimed),
               "delivered": sum(r["outcome"] == "delivered" for r in rows),
               "scheduled_retry": sum(r["outcome"] == "retry" for r in rows), "failed": failed}
    with store.write() as con:
        sa.finish_run(con, run_id, utcnow(), summary)
    return RunReport(run_id, False, result.get("as_of"), summary, rows, failed)


def _state(con) -> dict:
    return {"open_findings": sa.open_findings(con), "last_notices": sa.last_notices(con),
            "controls": sa.controls(con), "specs": sa.model_specs(con), "snapshots": sa.snapshot_info(con)}


def _deliver_all(store: Store, run_id: int, ids: list[str], config: ActionConfig,
                 sender: Sender) -> tuple[list[dict], int]:
    """Deliver the claimed actions, `workers` at a time; store each outcome as soon as it is known."""
    todo = []
    if ids:
        with store.write() as con:      # one transaction marks them all 'sending'
            now = utcnow()
            for action_id in ids:
                if not sa.start_sending(con, action_id, run_id, now):
                    continue
                action = sa.get_action(con, action_id)
                sa.log(con, now, kind=action["kind"], event="sending", run_id=run_id, action_id=action_id,
                       model_id=action["model_id"], target=redact(action["target"]),
                       detail=f"attempt {int(action['attempts']) + 1}")
                todo.append(action)
    rows, failed = [], 0
    if not todo:
        return rows, failed
    pending: list[tuple[dict, list[Attempt]]] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal failed, last_flush
        outcomes = _record(store, run_id, pending, config)
        for (action, attempts), outcome in zip(pending, outcomes):
            failed += outcome == "failed"
            rows.append({"action_id": action["action_id"], "model_id": action["model_id"], "kind": action["kind"],
                         "target": redact(action["target"]), "outcome": outcome, "attempts": len(attempts),
                         "detail": attempts[-1].detail})
        pending.clear()
        last_flush = time.monotonic()

    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        futures = {pool.submit(_deliver_with_retries, a, config, sender): a for a in todo}
        for fut in as_completed(futures):
            try:
                attempts = fut.result()
            except Exception as exc:   # never lose an action to a bug in a sender
                attempts = [Attempt(False, True, f"{type(exc).__name__}: {exc}")]
            pending.append((futures[fut], attempts))
            # outcomes are stored at least every second (a crash loses at most that much knowledge,
            # and what it loses is re-sent with the same idempotency key)
            if time.monotonic() - last_flush >= 1.0:
                flush()
    if pending:
        flush()
    rows.sort(key=lambda r: (r["model_id"], r["kind"], r["target"]))
    return rows, failed


def _record(store: Store, run_id: int, done: list[tuple[dict, list[Attempt]]], config: ActionConfig) -> list[str]:
    """Store the outcomes of finished deliveries (one transaction) and return their statuses."""
    out = []
    with store.write() as con:
        now = utcnow()
        for action, attempts in done:
            total = int(action["attempts"]) + len(attempts)
            last = attempts[-1]
            if last.ok:
                status, next_at = "delivered", None
            elif last.retryable and total < config.max_attempts:
                runs_failed = max(1, total // max(1, config.attempts_per_run))
                delay = min(config.retry_after_s * 2 ** (runs_failed - 1), 6 * 3600)
                status, next_at = "retry", now + timedelta(seconds=delay)
            else:
                status, next_at = "failed", None
            for i, a in enumerate(attempts, start=int(action["attempts"]) + 1):
                sa.log(con, now, kind=action["kind"], event="attempt", run_id=run_id, action_id=action["action_id"],
                       model_id=action["model_id"], target=redact(action["target"]),
                       outcome="ok" if a.ok else "error", detail=f"attempt {i}: {a.detail} ({a.seconds:.2f} s)")
            sa.finish_action(con, action["action_id"], status=status, attempts=total, now=now,
                             next_attempt_at=next_at, last_error=None if last.ok else last.detail)
            sa.log(con, now, kind=action["kind"], event=status, run_id=run_id, action_id=action["action_id"],
                   model_id=action["model_id"], target=redact(action["target"]), outcome=status,
                   detail=(f"next try at or after {next_at:%Y-%m-%d %H:%M:%S} UTC" if next_at else last.detail))
            out.append(status)
    return out


# -- controls (the Alerts page) ---------------------------------------------------------------
def acknowledge(store: Store, model_id: str, *, actor: str | None = None) -> int:
    """Acknowledge a model's open findings: no more reminders for them. Returns how many."""
    with store.write() as con:
        now = utcnow()
        n = sa.acknowledge(con, model_id, now, actor)
        sa.log(con, now, kind="control", event="acknowledged", model_id=model_id, actor=actor,
               detail=f"{n} open finding(s)")
    return n


def snooze(store: Store, model_id: str, until: datetime | None, *, actor: str | None = None) -> None:
    """No actions for the model until `until` (naive UTC); None ends a snooze."""
    with store.write() as con:
        now = utcnow()
        sa.set_control(con, model_id, snooze_until=_naive(until), at=now, actor=actor)
        sa.log(con, now, kind="control", event="snoozed" if until else "unsnoozed", model_id=model_id, actor=actor,
               detail=f"until {_naive(until):%Y-%m-%d %H:%M} UTC" if until else None)


def mute(store: Store, model_id: str, muted: bool = True, *, actor: str | None = None) -> None:
    with store.write() as con:
        now = utcnow()
        sa.set_control(con, model_id, muted=muted, at=now, actor=actor)
        sa.log(con, now, kind="control", event="muted" if muted else "unmuted", model_id=model_id, actor=actor)


def retry_failed(store: Store, action_id: str, *, actor: str | None = None) -> bool:
    """Put an action that failed for good back in the queue (same idempotency key)."""
    with store.write() as con:
        now = utcnow()
        ok = sa.requeue(con, action_id, now)
        if ok:
            sa.log(con, now, kind="control", event="requeued", action_id=action_id, actor=actor)
    return ok


def requeue_all_failed(store: Store, *, actor: str | None = "cli") -> int:
    with store.read() as con:
        ids = list(sa.actions(con, statuses=["failed"], limit=100000)["action_id"])
    return sum(retry_failed(store, i, actor=actor) for i in ids)


def history(store: Store, *, model_id: str | None = None, limit: int = 500) -> dict[str, pd.DataFrame]:
    """What the Alerts page shows: actions, audit log, open findings, controls, runs."""
    if not store.exists():
        empty = pd.DataFrame()
        return {"actions": empty, "log": empty, "findings": empty, "controls": empty, "runs": empty}
    with store.read() as con:
        out = {"actions": sa.actions(con, model_id=model_id, limit=limit),
               "log": sa.audit_log(con, model_id=model_id, limit=limit),
               "findings": sa.findings(con, model_id=model_id, limit=limit),
               "controls": sa.controls(con), "runs": sa.runs(con)}
    if not out["actions"].empty:
        out["actions"]["target"] = out["actions"]["target"].map(redact)
    return out


__all__ = ["run_alerts", "plan_run", "acknowledge", "snooze", "mute", "retry_failed", "history", "RunReport",
           "email_address"]
