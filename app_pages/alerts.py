"""Alerts: what `alert` sent or triggered, to whom, when and with what outcome; acknowledge,
snooze or mute a model; requeue an action that failed for good.

The model picker is bound to the URL (`/alerts?model=ID`, the link a notice's reader follows),
and every control writes the store through lib/actions.py, so what the page shows after a
reload is what the next `alert` run will honour."""

from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from lib.actions import run as actions
from lib.actions.roles import PermissionDenied
from lib.judge.status import RANK
from lib.ui import actions as ui_actions
from lib.ui import formatting as fmt
from lib.ui.auth import current_actor
from lib.ui.frame import context, owns_model
from lib.ui.store_access import guarded, store

ctx = context()
st.title("Alerts")
st.caption(
    "Yellow models notify their owner, red models trigger a retrain (`python -m lib alert`, e.g. from cron). "
    "Every action carries an idempotency key; a delivered action is never sent again."
)
with guarded():
    h = ui_actions.history(ctx.path, ctx.version)
acts, log, findings, controls, runs = h["actions"], h["log"], h["findings"], h["controls"], h["runs"]

c1, c2, c3, c4 = st.columns(4)
c1.metric("Alert runs", len(runs), help="Runs of `python -m lib alert` recorded in this store")
c2.metric("Delivered", int((acts["status"] == "delivered").sum()) if len(acts) else 0)
c3.metric(
    "Waiting for retry",
    int(acts["status"].isin(["retry", "pending", "sending"]).sum()) if len(acts) else 0,
    help="Tried again at the next run, with the same idempotency key",
)
c4.metric(
    "Failed for good",
    int((acts["status"] == "failed").sum()) if len(acts) else 0,
    help="No more tries: requeue them below once the receiver is fixed",
)
if runs is not None and len(runs):
    last = runs.iloc[0]
    st.caption(
        f"Last run: #{int(last['run_id'])}, started {pd.Timestamp(last['started_at']):%Y-%m-%d %H:%M} UTC, "
        f"judging the fleet as of {pd.Timestamp(last['as_of']):%Y-%m-%d %H:%M} UTC."
        if pd.notna(last["as_of"])
        else f"Last run: #{int(last['run_id'])}."
    )

if st.button(
    "Preview the next run (dry run)",
    key="al_dry",
    icon=":material/preview:",
    help="Evaluates the fleet now and lists what a run would send. Sends and stores nothing.",
):
    with guarded(), st.spinner("Evaluating the fleet…"):
        st.session_state["al_preview"] = actions.run_alerts(store(), dry_run=True)
preview = st.session_state.get("al_preview")
if preview is not None:
    st.info(
        f"**Dry run** (nothing sent, nothing stored): a run now would queue "
        f"{preview.summary['notices_queued']} notice(s) and {preview.summary['triggers_queued']} retrain "
        f"trigger(s), and retry {preview.summary['retries_due']} action(s); "
        f"{preview.summary['suppressed_models']} muted or snoozed model(s) would get nothing.",
        icon=":material/preview:",
    )
    if preview.actions:
        st.dataframe(
            pd.DataFrame(preview.actions)[["model_id", "kind", "target", "outcome", "action_id"]],
            hide_index=True,
            key="al_preview_table",
            column_config={
                "model_id": "model",
                "target": "to",
                "outcome": "in a run now",
                "action_id": "idempotency key",
            },
        )

# -- one model: its open findings and its controls ----------------------------------------------
st.subheader("Acknowledge, snooze or mute a model")
st.caption(
    "A *finding* is one failing check of a model (yellow or red), open until the check passes. "
    "**Acknowledge**: its owner knows — no more reminders for the open findings. **Snooze**: nothing is "
    "sent until a time. **Mute**: nothing is sent until unmuted. Untold findings are told when a snooze "
    "or mute ends, if still failing."
)
open_all = findings[findings["closed_at"].isna()] if len(findings) else findings
ids = list(ctx.catalog["models"]["model_id"])
if len(open_all):
    worst = (
        open_all.assign(rank=open_all["status"].map(RANK), unack=open_all["acknowledged_at"].isna())
        .groupby("model_id")
        .agg(rank=("rank", "min"), unack=("unack", "any"))
    )
    order = {m: (not bool(r["unack"]), int(r["rank"])) for m, r in worst.iterrows()}
    ids.sort(key=lambda m: order.get(m, (True, 9)))  # models with untold / unacknowledged findings first
# No default model: a bound widget drops its parameter from the URL when it equals the default,
# and a shared link must name the model.
model_id = st.selectbox(
    "Model",
    ids,
    key="model",
    bind="query-params",
    index=None,
    placeholder="Choose a model… (those with open findings first)",
)

STATUS_TEXT = {s: f"{fmt.GLYPH[s]} {s}" for s in fmt.GLYPH}
OUTCOME_TEXT = {
    "delivered": "✔ delivered",
    "failed": "✖ failed for good",
    "retry": "↻ retry at next run",
    "pending": "… pending",
    "sending": "… sending",
}
WHEN = "YYYY-MM-DD HH:mm"


def findings_table(frame: pd.DataFrame, *, with_model: bool, key: str) -> None:
    view = frame.assign(
        status=frame["status"].map(lambda s: STATUS_TEXT.get(s, s)), feature=frame["feature"].replace("", None)
    )
    cols = (["model_id"] if with_model else []) + [
        "status",
        "check",
        "feature",
        "message",
        "opened_at",
        "notified_at",
        "triggered_at",
        "acknowledged_at",
        "acknowledged_by",
    ]
    st.dataframe(
        view[cols],
        hide_index=True,
        key=key,
        column_config={
            "model_id": "model",
            "message": st.column_config.TextColumn("what is wrong", width="large"),
            "opened_at": st.column_config.DatetimeColumn("opened (UTC)", format=WHEN),
            "notified_at": st.column_config.DatetimeColumn("owner told (UTC)", format=WHEN),
            "triggered_at": st.column_config.DatetimeColumn("retrain triggered (UTC)", format=WHEN),
            "acknowledged_at": st.column_config.DatetimeColumn("acknowledged (UTC)", format=WHEN),
            "acknowledged_by": "by",
        },
    )


actor = current_actor()


def refused(exc: PermissionDenied) -> None:
    st.error(f"Not allowed: {exc}", icon=":material/block:")
    st.stop()


if model_id is None:
    if len(open_all):
        n_models = open_all["model_id"].nunique()
        st.write(
            f"**{len(open_all)}** open finding(s) on **{n_models}** model(s). Choose a model above to "
            "acknowledge, snooze or mute it."
        )
        findings_table(open_all.sort_values(["model_id", "check"]), with_model=True, key="al_open_all")
    else:
        st.write(
            "No open findings: either no `alert` run yet, or every model passed its checks at the last run. "
            "Choose a model above to snooze or mute it ahead of time."
        )
else:
    ctl = controls[controls["model_id"] == model_id] if len(controls) else controls
    muted = bool(ctl["muted"].iloc[0]) if len(ctl) else False
    snooze_until = ctl["snooze_until"].iloc[0] if len(ctl) else None
    snooze_until = None if snooze_until is None or pd.isna(snooze_until) else pd.Timestamp(snooze_until)
    now = datetime.now(UTC).replace(tzinfo=None)
    snoozed = snooze_until is not None and snooze_until > pd.Timestamp(now)
    open_f = open_all[open_all["model_id"] == model_id] if len(open_all) else open_all
    unack = open_f[open_f["acknowledged_at"].isna()] if len(open_f) else open_f
    state = []
    if muted:
        state.append("**muted** — nothing is sent until it is unmuted")
    if snoozed:
        state.append(f"**snoozed until {snooze_until:%Y-%m-%d %H:%M} UTC**")
    if not state:
        state.append("notices and retrain triggers are **on**")
    st.markdown(
        f"**{model_id}** · {len(open_f)} open finding(s), {len(open_f) - len(unack)} acknowledged · "
        + " · ".join(state)
    )
    if len(open_f):
        findings_table(open_f, with_model=False, key="al_open_model")
    mine = owns_model(actor, ctx, model_id)
    if not mine:
        st.info(
            f"You read this model's alerts; acknowledging, snoozing and muting it is up to its owner "
            f"or an admin (you are signed in as {actor.id}, {actor.role}).",
            icon=":material/visibility:",
        )
    a, b, c = st.columns(3)
    with a.container(border=True, height="stretch"):
        st.markdown("**Acknowledge**")
        st.caption("Stops the reminders for the open findings (a new finding still notifies).")
        label = (
            f"Acknowledge {len(unack)} finding(s)"
            if len(unack)
            else ("All open findings acknowledged" if len(open_f) else "No open findings")
        )
        if st.button(label, key="al_ack", width="stretch", disabled=not len(unack) or not mine, type="primary"):
            try:
                with guarded():
                    n = actions.acknowledge(store(), model_id, actor=actor)
            except PermissionDenied as exc:
                refused(exc)
            st.toast(f"Acknowledged {n} finding(s): no more reminders for them.")
            st.rerun()
    with b.container(border=True, height="stretch"):
        st.markdown("**Snooze**")
        d1, d2 = st.columns([3, 2])
        day = d1.date_input(
            "Snooze until (UTC)", value=(now + timedelta(days=1)).date(), key="al_snooze_day", min_value=now.date()
        )
        at = d2.time_input("at (UTC)", value=time(9, 0), key="al_snooze_time", step=3600)
        until = datetime.combine(day, at)
        if st.button(
            "Snooze",
            key="al_snooze",
            width="stretch",
            disabled=until <= now or not mine,
            help=None if until > now else "Pick a time in the future",
        ):
            try:
                with guarded():
                    actions.snooze(store(), model_id, until, actor=actor)
            except PermissionDenied as exc:
                refused(exc)
            st.rerun()
        if snoozed and st.button("End snooze", key="al_unsnooze", width="stretch", disabled=not mine):
            try:
                with guarded():
                    actions.snooze(store(), model_id, None, actor=actor)
            except PermissionDenied as exc:
                refused(exc)
            st.rerun()
    with c.container(border=True, height="stretch"):
        st.markdown("**Mute**")
        st.caption("Nothing is sent for this model until it is unmuted.")
        if st.button("Unmute" if muted else "Mute", key="al_mute", width="stretch", disabled=not mine):
            try:
                with guarded():
                    actions.mute(store(), model_id, not muted, actor=actor)
            except PermissionDenied as exc:
                refused(exc)
            st.rerun()

# -- the fleet's actions and the audit log ----------------------------------------------------------
st.subheader("Actions")
if acts.empty:
    st.info(
        "Nothing sent or triggered yet. Run `python -m lib alert` (from cron, say), or preview a run with the "
        "button above or `python -m lib alert --dry-run`.",
        icon=":material/notifications_off:",
    )
else:
    view = acts.assign(status=acts["status"].map(lambda s: OUTCOME_TEXT.get(s, s)))
    st.dataframe(
        view[
            [
                "created_at",
                "model_id",
                "kind",
                "target",
                "status",
                "attempts",
                "delivered_at",
                "last_error",
                "action_id",
            ]
        ],
        hide_index=True,
        key="al_actions",
        column_config={
            "created_at": st.column_config.DatetimeColumn("queued (UTC)", format=WHEN),
            "model_id": "model",
            "target": "to",
            "status": "outcome",
            "delivered_at": st.column_config.DatetimeColumn("delivered (UTC)", format=WHEN),
            "last_error": "last error",
            "action_id": "idempotency key",
        },
    )
    failed = acts[acts["status"] == "failed"]
    failed = failed[[owns_model(actor, ctx, m) for m in failed["model_id"]]] if len(failed) else failed
    if len(failed):
        labels = {
            r.action_id: f"{r.model_id} · {r.kind} · {r.target} · {r.last_error or 'no detail'}"
            for r in failed.itertuples()
        }
        pick = st.selectbox(
            "Failed for good — requeue with the same idempotency key (the next run retries it)",
            list(labels),
            format_func=labels.get,
            key="al_requeue_pick",
        )
        if st.button("Requeue", key="al_requeue"):
            try:
                with guarded():
                    actions.retry_failed(store(), pick, actor=actor)
            except PermissionDenied as exc:
                refused(exc)
            st.rerun()

st.subheader("Audit log")
if log.empty:
    st.caption("Empty: every send, retry, acknowledgement, snooze and mute will be recorded here.")
else:
    st.dataframe(
        log[["logged_at", "event", "kind", "model_id", "target", "outcome", "detail", "actor", "run_id", "action_id"]],
        hide_index=True,
        key="al_log",
        column_config={
            "logged_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "model_id": "model",
            "run_id": "run",
            "action_id": "idempotency key",
        },
    )
