"""Planning an `alert` run (pure, writes nothing): findings reconciled with the evaluation, and the
due actions (notices, retrain triggers) with their idempotency keys, cool-downs and payloads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from lib.actions.config import ActionConfig
from lib.judge.policy import Policy, effective_setting
from lib.judge.status import RED, YELLOW

KIND_NOTIFY, KIND_HTTP, KIND_COMMAND = "notify", "retrain_http", "retrain_command"


def utcnow() -> datetime:
    """Naive UTC (the store's TIMESTAMP columns are UTC without an offset)."""
    return datetime.now(UTC).replace(tzinfo=None)


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
# Which action for what:
# - model **yellow**: one notice per notify target (spec `actions.notify`, default
#   `mailto://OWNER`) when one of its yellow findings has not been told yet, or was told more
#   than `cooldown_hours` ago and nobody acknowledged it (a reminder). Yellow findings of a red
#   model wait: the retrain covers them, and they notify if the model drops back to yellow.
# - model **red**: one retrain trigger per configured endpoint (`actions.retrain_url`: HTTP POST
#   JSON; `actions.retrain_command`: a command with the JSON on stdin) when one of its red
#   findings has never triggered; a red finding triggers once, ever. With no endpoint configured
#   the owner gets a notice instead (under the same cool-down).
# - a **muted** model, or one **snoozed** until a later time, gets nothing; its untold findings
#   are told when the mute or snooze ends (if still flagged).
@dataclass
class Plan:
    run_id: int
    now: datetime
    as_of: str | None
    opened: list[dict] = field(default_factory=list)  # new findings
    updated: list[dict] = field(default_factory=list)  # still flagged: finding_id + new values
    closed: list[str] = field(default_factory=list)  # no longer flagged (or superseded by a retrain)
    actions: list[dict] = field(default_factory=list)  # to queue
    suppressed: list[dict] = field(default_factory=list)  # muted / snoozed models with something due
    marks: dict[str, list[str]] = field(default_factory=lambda: {"notified_at": [], "triggered_at": []})

    def summary(self) -> dict[str, int]:
        kinds = [a["kind"] for a in self.actions]
        return {
            "findings_new": len(self.opened),
            "findings_open": len(self.opened) + len(self.updated),
            "findings_closed": len(self.closed),
            "notices_queued": kinds.count(KIND_NOTIFY),
            "triggers_queued": kinds.count(KIND_HTTP) + kinds.count(KIND_COMMAND),
            "suppressed_models": len(self.suppressed),
        }


def plan_run(
    result: dict,
    *,
    run_id: int,
    now: datetime,
    open_findings: pd.DataFrame,
    last_notices: dict,
    controls: pd.DataFrame,
    specs: dict[str, dict],
    snapshots: dict[str, dict],
    policy: Policy,
    config: ActionConfig,
) -> Plan:
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
            values = {
                "status": reason["status"],
                "value": reason["value"],
                "threshold": reason["threshold"],
                "message": reason["message"],
            }
            if prev is not None and _same_snapshot(prev["snapshot_id"], snap):
                rec = {**prev, **values, "new": False}
                plan.updated.append({"finding_id": prev["finding_id"], **values})
            else:
                if prev is not None:  # a retrain (new reference snapshot) since: a new finding
                    plan.closed.append(prev["finding_id"])
                rec = {
                    "finding_id": finding_id(m, key[1], key[2], snap, run_id),
                    "model_id": m,
                    "check": key[1],
                    "feature": key[2],
                    "snapshot_id": snap,
                    "run_id": run_id,
                    "at": now,
                    **values,
                    "notified_at": None,
                    "triggered_at": None,
                    "acknowledged_at": None,
                    "new": True,
                }
                plan.opened.append(rec)
            rec["reason"] = reason
            current.append(rec)
        if not current or model["status"] not in (YELLOW, RED):
            continue
        cooldown = timedelta(
            hours=float(effective_setting(policy, model.get("team", ""), spec.get("policy", {}), "cooldown_hours"))
        )
        due_actions, marks = _due_for_model(
            model, spec, current, snap, cooldown, last_notices, plan, config, snapshots.get(m)
        )
        if not due_actions:
            continue
        c = ctl.get(m)
        snooze = _naive(c.get("snooze_until")) if c else None
        if c is not None and (bool(c.get("muted")) or (snooze is not None and snooze > now)):
            plan.suppressed.append(
                {"model_id": m, "muted": bool(c.get("muted")), "snooze_until": snooze, "actions": len(due_actions)}
            )
            continue
        plan.actions.extend(due_actions)
        for column, ids in marks.items():
            plan.marks[column].extend(ids)
    plan.closed.extend(fid for key, r in opened_by_key.items() if key not in seen_keys for fid in [r["finding_id"]])
    return plan


def _due_for_model(
    model: dict,
    spec: dict,
    current: list[dict],
    snap,
    cooldown: timedelta,
    last_notices: dict,
    plan: Plan,
    config: ActionConfig,
    snapshot: dict | None,
) -> tuple[list[dict], dict]:
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
    title, body = notice_text(
        model, current, {f["finding_id"] for f in due}, plan.as_of, config, no_retrain=model["status"] == RED
    )
    targets = list(actions_spec.get("notify") or [f"mailto://{model['owner']}"]) + list(config.extra_notify)
    for target in dict.fromkeys(targets):
        key = "a-" + _digest(KIND_NOTIFY, target, plan.run_id, *ids)
        payload = {"title": title, "body": body, "finding_ids": ids, "idempotency_key": key}
        out.append(_action(plan, key, m, KIND_NOTIFY, target, ids, payload))
    marks["notified_at"] = ids
    return out, marks


def _action(plan: Plan, key: str, model_id: str, kind: str, target, ids: list[str], payload: dict) -> dict:
    target_text = target if isinstance(target, str) else json.dumps(target)
    return {
        "action_id": key,
        "run_id": plan.run_id,
        "model_id": model_id,
        "kind": kind,
        "target": target_text,
        "finding_ids": ids,
        "at": plan.now,
        "payload_json": json.dumps(payload, allow_nan=False),
    }


def notice_text(
    model: dict,
    current: list[dict],
    due_ids: set[str],
    as_of: str | None,
    config: ActionConfig,
    *,
    no_retrain: bool = False,
) -> tuple[str, str]:
    """Plain-text title and body of a notice (Apprise sends it as text: nothing is interpreted)."""
    status = model["status"]
    title = f"[Driftlight] {status}: {model.get('name') or model['model_id']} ({model['model_id']})"
    lines = [
        f"Model {model['model_id']} ({model.get('name', '')}) is {status.upper()} as of {as_of}.",
        f"Owner: {model.get('owner', '')} · team: {model.get('team', '')}",
        "",
    ]
    if no_retrain:
        lines += [
            "It is red, and no retrain action (actions.retrain_url / retrain_command) is configured "
            "in its spec, so you are told instead.",
            "",
        ]
    lines.append("Reasons:")
    for f in current:
        r = f["reason"]
        tag = (
            "NEW "
            if f["finding_id"] in due_ids and f.get("new", True)
            else ("REMINDER " if f["finding_id"] in due_ids else "")
        )
        where = f" · {r['feature']}" if r.get("feature") else ""
        lines.append(
            f"- {tag}[{r['status']}] {r['check']}{where}: {r['message']} (since {r.get('since')}, {r.get('onset')})"
        )
    lines += [
        "",
        f"Open the model: {model_link(config, model['model_id'])}",
        "Acknowledge, snooze or mute it on the Alerts page to stop reminders.",
    ]
    return title, "\n".join(lines)


def retrain_payload(
    model: dict,
    spec: dict,
    current: list[dict],
    ids: list[str],
    key: str,
    as_of: str | None,
    snapshot: dict | None,
    config: ActionConfig,
) -> dict:
    return {
        "event": "driftlight.retrain",
        "idempotency_key": key,
        "finding_ids": ids,
        "model": {
            "model_id": model["model_id"],
            "name": model.get("name"),
            "task": model.get("task"),
            "owner": model.get("owner"),
            "team": model.get("team"),
        },
        "status": model["status"],
        "as_of": as_of,
        "reference_snapshot": snapshot,
        "reasons": [f["reason"] for f in current],
        "link": model_link(config, model["model_id"]),
    }
