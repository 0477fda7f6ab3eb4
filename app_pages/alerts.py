"""Alerts: what `alert` sent or triggered, to whom, when and with what outcome; acknowledge,
snooze or mute a model; requeue an action that failed for good."""
from datetime import datetime, time, timedelta, timezone

import streamlit as st

from lib import actions, ui, ui_actions

ctx = ui.context()
st.title("Alerts")
st.caption("Yellow models notify their owner, red models trigger a retrain (`python -m lib alert`, e.g. from cron). "
           "Every action carries an idempotency key; a delivered action is never sent again.")
with ui.guarded():
    h = ui_actions.history(ctx.path, ctx.version)
acts, log, findings, controls, runs = h["actions"], h["log"], h["findings"], h["controls"], h["runs"]

c1, c2, c3, c4 = st.columns(4)
c1.metric("Alert runs", len(runs))
c2.metric("Delivered", int((acts["status"] == "delivered").sum()) if len(acts) else 0)
c3.metric("Waiting for retry", int(acts["status"].isin(["retry", "pending", "sending"]).sum()) if len(acts) else 0)
c4.metric("Failed for good", int((acts["status"] == "failed").sum()) if len(acts) else 0)

left, right = st.columns([3, 1], vertical_alignment="bottom")
with right:
    if st.button("Preview the next run (dry run)", key="al_dry", width="stretch"):
        with ui.guarded(), st.spinner("Evaluating the fleet…"):
            st.session_state["al_preview"] = actions.run_alerts(ui.store(), dry_run=True)
preview = st.session_state.get("al_preview")
if preview is not None:
    st.info(f"A run now would queue {preview.summary['notices_queued']} notice(s) and "
            f"{preview.summary['triggers_queued']} retrain trigger(s), and retry {preview.summary['retries_due']}.")
    if preview.actions:
        st.dataframe(preview.actions, hide_index=True)

st.subheader("Actions")
if acts.empty:
    st.write("Nothing sent or triggered yet. Run `python -m lib alert` (or `--dry-run` to preview).")
else:
    view = acts[["created_at", "model_id", "kind", "target", "status", "attempts", "delivered_at", "last_error",
                 "action_id"]].rename(columns={"created_at": "queued (UTC)", "target": "to",
                                               "delivered_at": "delivered (UTC)", "action_id": "idempotency key"})
    st.dataframe(view, hide_index=True, column_config={
        "model_id": st.column_config.TextColumn("model"), "status": st.column_config.TextColumn("outcome")})
    failed = acts[acts["status"] == "failed"]
    if len(failed):
        pick = st.selectbox("Failed for good — requeue with the same idempotency key", list(failed["action_id"]),
                            key="al_requeue_pick")
        if st.button("Requeue", key="al_requeue"):
            with ui.guarded():
                actions.retry_failed(ui.store(), pick)
            st.rerun()

st.subheader("Per model: acknowledge, snooze, mute")
ids = list(ctx.catalog["models"]["model_id"])
wanted = st.query_params.get("model")
model_id = st.selectbox("Model", ids, index=ids.index(wanted) if wanted in ids else 0, key="al_model")
ctl = controls[controls["model_id"] == model_id] if len(controls) else controls
muted = bool(ctl["muted"].iloc[0]) if len(ctl) else False
snooze_until = ctl["snooze_until"].iloc[0] if len(ctl) else None
open_f = findings[(findings["model_id"] == model_id) & findings["closed_at"].isna()] if len(findings) else findings
state = ("muted" if muted else "") + (f" snoozed until {snooze_until:%Y-%m-%d %H:%M} UTC"
                                       if snooze_until is not None and str(snooze_until) != "NaT" else "")
st.write(f"**{model_id}**: {len(open_f)} open finding(s)" + (f" · {state.strip()}" if state.strip() else ""))
if len(open_f):
    st.dataframe(open_f[["check", "feature", "status", "opened_at", "notified_at", "triggered_at",
                         "acknowledged_at", "acknowledged_by", "message"]], hide_index=True)
user = getattr(getattr(st, "user", None), "email", None) if hasattr(st, "user") else None
a, b, c = st.columns(3)
with a:
    if st.button("Acknowledge open findings", key="al_ack", width="stretch", disabled=not len(open_f)):
        with ui.guarded():
            n = actions.acknowledge(ui.store(), model_id, actor=user)
        st.toast(f"Acknowledged {n} finding(s): no more reminders for them.")
        st.rerun()
with b:
    day = st.date_input("Snooze until (UTC)", value=(datetime.now(timezone.utc) + timedelta(days=1)).date(),
                        key="al_snooze_day")
    at = st.time_input("at", value=time(9, 0), key="al_snooze_time", step=3600)
    if st.button("Snooze", key="al_snooze", width="stretch"):
        with ui.guarded():
            actions.snooze(ui.store(), model_id, datetime.combine(day, at), actor=user)
        st.rerun()
    if state and "snoozed" in state and st.button("End snooze", key="al_unsnooze", width="stretch"):
        with ui.guarded():
            actions.snooze(ui.store(), model_id, None, actor=user)
        st.rerun()
with c:
    if st.button("Unmute" if muted else "Mute", key="al_mute", width="stretch"):
        with ui.guarded():
            actions.mute(ui.store(), model_id, not muted, actor=user)
        st.rerun()

st.subheader("Audit log")
if log.empty:
    st.write("Empty.")
else:
    st.dataframe(log[["logged_at", "event", "kind", "model_id", "target", "outcome", "detail", "actor", "run_id",
                      "action_id"]], hide_index=True)
