"""Policy: the thresholds in force for any model and feature and where each comes from; admins
change a threshold or min_rows for a team, a model or a feature (stored in the store, above the
policy YAML at the same level — docs/policy.md), with a preview of the models whose status would
change and a required comment. Everything goes through lib/actions/policy_edit.py, which checks
the acting user again and writes the audit log."""

import pandas as pd
import streamlit as st

from lib.actions import policy_edit as pe
from lib.actions.roles import PermissionDenied
from lib.errors import InputError
from lib.judge.policy import CHECKS_BY_NAME, SETTINGS
from lib.ui import actions as ui_actions
from lib.ui import formatting as fmt
from lib.ui.auth import current_actor
from lib.ui.frame import context
from lib.ui.store_access import guarded, store

ctx = context()
actor = current_actor()
st.title("Policy")
st.caption(
    "A check is yellow or red when its value reaches a threshold. Precedence, most specific first: "
    "**feature** > **model** > **team** > **default**. At each level a value stored here (*store*) "
    "overrides the policy file or the spec (*YAML*). Changes apply at once to the grid, `evaluate` and `alert`."
)
if actor.admin:
    st.success(f"You are an **admin** ({actor.id}): you may change thresholds below.", icon=":material/tune:")
else:
    st.info(
        f"**Read-only.** Only an admin may change the policy (you are signed in as {actor.id}, {actor.role}).",
        icon=":material/lock:",
    )

models = ctx.catalog["models"]
ids = list(models["model_id"])

# -- the thresholds in force for one model ----------------------------------------------------------
st.subheader("Thresholds in force")
model_id = st.selectbox("Model", ids, key="model", bind="query-params", index=None, placeholder="Choose a model…")
if model_id is not None:
    with guarded():
        table = pe.explain(store(), model_id)
    row = models[models["model_id"] == model_id].iloc[0]
    st.caption(f"**{model_id}** · team **{row['team']}** · owner {row['owner']}")
    st.dataframe(
        table.assign(
            unit=[CHECKS_BY_NAME[c].unit if c in CHECKS_BY_NAME else "rows" for c in table["check"]],
            origin=table["origin"].map(lambda o: "★ store" if o == "store" else o),
        ),
        hide_index=True,
        key="po_table",
        column_config={
            "check": "check",
            "feature": st.column_config.TextColumn("feature", help="Empty: the model's value, for every feature"),
            "yellow": st.column_config.NumberColumn("yellow at", format="%g"),
            "red": st.column_config.NumberColumn("red at", format="%g"),
            "level": st.column_config.TextColumn("level", help="default, team, model or feature"),
            "origin": st.column_config.TextColumn(
                "set in", help="built-in defaults, the policy file, the spec, or ★ stored from this page"
            ),
        },
    )

# -- stored overrides -----------------------------------------------------------------------------
st.subheader("Stored overrides")
with guarded():
    stored = pe.overrides(store())
if stored.empty:
    st.caption("None yet: every threshold comes from the policy file, the specs or the built-in defaults.")
else:
    st.dataframe(
        stored.assign(feature=stored["feature"].replace("", None)),
        hide_index=True,
        key="po_stored",
        column_config={
            "setting": "check / setting",
            "value": st.column_config.NumberColumn("min_rows", format="%g"),
            "updated_at": st.column_config.DatetimeColumn("changed (UTC)", format="YYYY-MM-DD HH:mm"),
            "updated_by": "by",
            "comment": st.column_config.TextColumn("why", width="large"),
        },
    )

# -- change a threshold (admins) --------------------------------------------------------------------
if actor.admin:
    st.subheader("Change a threshold")
    c1, c2, c3, c4 = st.columns(4)
    level = c1.segmented_control("Level", ["team", "model", "feature"], default="model", key="po_level")
    level = level or "model"
    if level == "team":
        target = c2.selectbox("Team", sorted(models["team"].unique()), key="po_team")
    else:
        target = c2.selectbox("Model", ids, key="po_model", index=ids.index(model_id) if model_id in ids else 0)
    feature = ""
    checks = list(pe.TUNABLE)
    if level == "feature":
        with guarded():
            spec_features = pe.feature_names(store(), target)
        feature = c3.selectbox("Feature", spec_features, key="po_feature") or ""
        checks = [c for c in checks if CHECKS_BY_NAME[c].per_feature]
    else:
        checks = checks + ["min_rows"]
    setting = c4.selectbox("Check or setting", checks, key="po_setting", help="min_rows: " + SETTINGS["min_rows"][1])
    scope = "team" if level == "team" else "model"
    with guarded():
        cur_y, cur_r = pe.current(store(), scope, target, setting, feature)
    n1, n2 = st.columns(2)
    slot = f"{scope}|{target}|{feature}|{setting}"  # one widget state per place: no stale values
    if setting == "min_rows":
        value = n1.number_input("min_rows", min_value=1, value=int(cur_y), step=10, key=f"po_value|{slot}")
        change = pe.Change(scope, target, "min_rows", feature, value=float(value))
        st.caption(f"In force now: min_rows {cur_y:g}.")
    else:
        unit = CHECKS_BY_NAME[setting].unit
        yellow = n1.number_input(
            f"yellow at ({unit})", min_value=0.0, value=float(cur_y), format="%g", key=f"po_y|{slot}"
        )
        red = n2.number_input(f"red at ({unit})", min_value=0.0, value=float(cur_r), format="%g", key=f"po_r|{slot}")
        change = pe.Change(scope, target, setting, feature, yellow=float(yellow), red=float(red))
        st.caption(f"In force now: yellow at {cur_y:g}, red at {cur_r:g} ({CHECKS_BY_NAME[setting].help})")
    comment = st.text_input("Why (required: goes to the audit log)", key="po_comment", max_chars=500)
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button("Preview", key="po_preview", icon=":material/preview:"):
        try:
            with guarded(), st.spinner("Judging the affected models under both policies…"):
                st.session_state["po_diff"] = (change, pe.preview(store(), change))
        except InputError as exc:
            st.error(str(exc))
    diff = st.session_state.get("po_diff")
    if diff is not None and diff[0] == change:
        if diff[1]:
            st.warning(f"**{len(diff[1])} model(s) would change status:**", icon=":material/swap_vert:")
            st.dataframe(
                pd.DataFrame(diff[1]).assign(
                    before=lambda d: d["before"].map(lambda s: f"{fmt.GLYPH.get(s, '')} {s}"),
                    after=lambda d: d["after"].map(lambda s: f"{fmt.GLYPH.get(s, '')} {s}"),
                ),
                hide_index=True,
                key="po_diff_table",
            )
        else:
            st.info("No model would change status with this change.", icon=":material/check:")
    if b2.button("Save", key="po_save", type="primary", icon=":material/save:", disabled=not comment.strip()):
        try:
            with guarded():
                old, new = pe.apply_change(store(), change, actor=actor, comment=comment)
        except (InputError, PermissionDenied) as exc:
            st.error(str(exc))
        else:
            st.session_state.pop("po_diff", None)
            st.session_state.pop("po_comment", None)  # a new change needs its own reason
            st.toast(f"Saved: {change.where}: {old} → {new}")
            st.rerun()

    if not stored.empty:
        with st.expander("Remove a stored override (the policy file's or the spec's value applies again)"):
            labels = {
                i: f"{r.scope} {r.target}" + (f" · {r.feature}" if r.feature else "") + f" · {r.setting}"
                for i, r in enumerate(stored.itertuples())
            }
            pick = st.selectbox("Override", list(labels), format_func=labels.get, key="po_clear_pick")
            why = st.text_input("Why (required)", key="po_clear_why", max_chars=500)
            if st.button("Remove", key="po_clear", disabled=not why.strip(), icon=":material/delete:"):
                r = stored.iloc[pick]
                try:
                    with guarded():
                        pe.clear_override(
                            store(), r["scope"], r["target"], r["setting"], r["feature"], actor=actor, comment=why
                        )
                except (InputError, PermissionDenied) as exc:
                    st.error(str(exc))
                else:
                    st.session_state.pop("po_clear_why", None)
                    st.toast(f"Removed: {labels[pick]}")
                    st.rerun()

# -- the policy's audit trail -------------------------------------------------------------------------
st.subheader("Changes")
with guarded():
    log = ui_actions.history(ctx.path, ctx.version)["log"]
log = log[log["kind"] == "policy"] if len(log) else log
if log.empty:
    st.caption("No policy change recorded yet.")
else:
    st.dataframe(
        log[["logged_at", "event", "target", "detail", "actor"]],
        hide_index=True,
        key="po_log",
        column_config={
            "logged_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "detail": st.column_config.TextColumn("old → new · why", width="large"),
            "actor": "by",
        },
    )
