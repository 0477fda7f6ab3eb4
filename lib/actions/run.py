"""Actions: yellow models notify their owner, red models trigger a retrain (DESIGN.md, Actions).

One `alert` run:
1. evaluates the fleet (lib/judge/evaluate.py) under a read lock;
2. in one write transaction, reconciles *findings* — a (model, check, feature) at yellow or red;
   new when the previous run did not flag it or the model has a new reference snapshot since —
   and queues the due actions with a deterministic id, the idempotency key. Planning happens on
   the state read inside that transaction, so two overlapping runs cannot queue the same action;
3. delivers each queued (or due-for-retry) action with no lock held: up to `attempts_per_run`
   tries with exponential back-off, then 'retry' at the next run, then 'failed' for good after
   `max_attempts`; every attempt and outcome goes to the audit log. An action is marked
   'sending' before its first try and its outcome is stored right after, so a crash leaves it
   to be retried with the same key (the receiver deduplicates) and a 2xx is never sent again.

The Alerts page's controls (acknowledge, snooze, mute, requeue) and history are here too.
lib/actions/plan.py decides; lib/store/actions.py stores; lib/actions/deliver.py delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from lib.actions.config import ActionConfig, email_address, load_config, redact
from lib.actions.deliver import Sender, _deliver_all, deliver_once
from lib.actions.plan import _naive, plan_run, utcnow
from lib.actions.roles import Actor, require_owner
from lib.judge.policy import Policy, load_policy
from lib.store import actions as sa
from lib.store.connection import Store


# -- the run ----------------------------------------------------------------------------------
@dataclass
class RunReport:
    run_id: int | None
    dry_run: bool
    as_of: str | None
    summary: dict[str, int]
    actions: list[dict]  # planned (dry run) or attempted: action_id, model_id, kind, target, outcome …
    failed_for_good: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed_for_good else 0


def run_alerts(
    store: Store,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    config: ActionConfig | None = None,
    policy: Policy | None = None,
    sender: Sender = deliver_once,
    result: dict | None = None,
) -> RunReport:
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
        rows = [
            {
                "action_id": a["action_id"],
                "model_id": a["model_id"],
                "kind": a["kind"],
                "target": redact(a["target"]),
                "outcome": "would send",
            }
            for a in plan.actions
        ]
        rows += [
            {
                "action_id": r.action_id,
                "model_id": r.model_id,
                "kind": r.kind,
                "target": redact(r.target),
                "outcome": "would retry",
            }
            for r in retries.itertuples()
        ]
        return RunReport(None, True, result.get("as_of"), {**plan.summary(), "retries_due": len(retries)}, rows)

    as_of = _naive(result.get("as_of"))
    with store.write() as con:
        run_id = sa.new_run(con, now, as_of, store.data_version())
        plan = plan_run(result, run_id=run_id, now=now, policy=policy, config=config, **_state(con))
        for rec in plan.opened:
            sa.open_finding(con, rec)
        for rec in plan.updated:
            sa.update_finding(
                con,
                rec["finding_id"],
                run_id=run_id,
                status=rec["status"],
                value=rec["value"],
                threshold=rec["threshold"],
                message=rec["message"],
            )
        for fid in plan.closed:
            sa.close_finding(con, fid, now)
        for rec in plan.actions:
            if sa.insert_action(con, rec):
                sa.log(
                    con,
                    now,
                    kind=rec["kind"],
                    event="queued",
                    run_id=run_id,
                    action_id=rec["action_id"],
                    model_id=rec["model_id"],
                    target=redact(rec["target"]),
                    detail=f"findings: {', '.join(rec['finding_ids'])}",
                )
        for column, ids in plan.marks.items():
            sa.mark_findings(con, ids, column, now)
        for s in plan.suppressed:
            sa.log(
                con,
                now,
                kind="control",
                event="suppressed",
                run_id=run_id,
                model_id=s["model_id"],
                detail="muted" if s["muted"] else f"snoozed until {s['snooze_until']}",
            )
        claimed = sa.claim_due(con, run_id, now, now - timedelta(seconds=config.lease_s))
        queued = [a["action_id"] for a in plan.actions] + claimed
    rows, failed = _deliver_all(store, run_id, list(dict.fromkeys(queued)), config, sender)
    summary = {
        **plan.summary(),
        "retries_claimed": len(claimed),
        "delivered": sum(r["outcome"] == "delivered" for r in rows),
        "scheduled_retry": sum(r["outcome"] == "retry" for r in rows),
        "failed": failed,
    }
    with store.write() as con:
        sa.finish_run(con, run_id, utcnow(), summary)
    return RunReport(run_id, False, result.get("as_of"), summary, rows, failed)


def _state(con) -> dict:
    return {
        "open_findings": sa.open_findings(con),
        "last_notices": sa.last_notices(con),
        "controls": sa.controls(con),
        "specs": sa.model_specs(con),
        "snapshots": sa.snapshot_info(con),
    }


# -- controls (the Alerts page) ---------------------------------------------------------------
# Each control takes the acting user and checks, inside its write transaction, that the actor
# owns the model (lib/actions/roles.py): PermissionDenied, one line, and nothing is written.
def _check_owner(con, actor: Actor, model_id: str, what: str) -> None:
    found = sa.model_owner(con, model_id)
    owner, team = found if found else (None, None)
    require_owner(actor, model_id, owner, team, what)


def acknowledge(store: Store, model_id: str, *, actor: Actor) -> int:
    """Acknowledge a model's open findings: no more reminders for them. Returns how many."""
    with store.write() as con:
        _check_owner(con, actor, model_id, "acknowledge")
        now = utcnow()
        n = sa.acknowledge(con, model_id, now, actor.id)
        sa.log(
            con,
            now,
            kind="control",
            event="acknowledged",
            model_id=model_id,
            actor=actor.id,
            detail=f"{n} open finding(s)",
        )
    return n


def snooze(store: Store, model_id: str, until: datetime | None, *, actor: Actor) -> None:
    """No actions for the model until `until` (naive UTC); None ends a snooze."""
    with store.write() as con:
        _check_owner(con, actor, model_id, "snooze")
        now = utcnow()
        sa.set_control(con, model_id, snooze_until=_naive(until), at=now, actor=actor.id)
        sa.log(
            con,
            now,
            kind="control",
            event="snoozed" if until else "unsnoozed",
            model_id=model_id,
            actor=actor.id,
            detail=f"until {_naive(until):%Y-%m-%d %H:%M} UTC" if until else None,
        )


def mute(store: Store, model_id: str, muted: bool = True, *, actor: Actor) -> None:
    with store.write() as con:
        _check_owner(con, actor, model_id, "mute" if muted else "unmute")
        now = utcnow()
        sa.set_control(con, model_id, muted=muted, at=now, actor=actor.id)
        sa.log(con, now, kind="control", event="muted" if muted else "unmuted", model_id=model_id, actor=actor.id)


def retry_failed(store: Store, action_id: str, *, actor: Actor) -> bool:
    """Put an action that failed for good back in the queue (same idempotency key)."""
    with store.write() as con:
        model_id = sa.action_model(con, action_id)
        if model_id is None:
            return False
        _check_owner(con, actor, model_id, "requeue the actions of")
        now = utcnow()
        ok = sa.requeue(con, action_id, now)
        if ok:
            sa.log(con, now, kind="control", event="requeued", action_id=action_id, model_id=model_id, actor=actor.id)
    return ok


def requeue_all_failed(store: Store, *, actor: Actor) -> int:
    with store.read() as con:
        ids = list(sa.actions(con, statuses=["failed"], limit=100000)["action_id"])
    return sum(retry_failed(store, i, actor=actor) for i in ids)


def history(store: Store, *, model_id: str | None = None, limit: int = 500) -> dict[str, pd.DataFrame]:
    """What the Alerts page shows: actions, audit log, open findings, controls, runs."""
    if not store.exists():
        empty = pd.DataFrame()
        return {"actions": empty, "log": empty, "findings": empty, "controls": empty, "runs": empty}
    with store.read() as con:
        out = {
            "actions": sa.actions(con, model_id=model_id, limit=limit),
            "log": sa.audit_log(con, model_id=model_id, limit=limit),
            "findings": sa.findings(con, model_id=model_id, limit=limit),
            "controls": sa.controls(con),
            "runs": sa.runs(con),
        }
    if not out["actions"].empty:
        out["actions"]["target"] = out["actions"]["target"].map(redact)
    return out


__all__ = [
    "run_alerts",
    "plan_run",
    "acknowledge",
    "snooze",
    "mute",
    "retry_failed",
    "history",
    "RunReport",
    "email_address",
]
