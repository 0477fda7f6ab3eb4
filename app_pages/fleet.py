"""Fleet: every model's stoplight, worst first, as compact tiles or as a sortable table."""

import pandas as pd
import streamlit as st

from lib.ui import formatting as fmt
from lib.ui import grid
from lib.ui.frame import any_filter, context, matches
from lib.ui.store_access import guarded

ctx = context()
with guarded(), st.spinner("Judging the fleet…"):
    fleet = ctx.fleet()

models = [m for m in fleet["models"] if matches(m, ctx.filters)]
counts = grid.status_counts(models)

head, right = st.columns([3, 2], vertical_alignment="bottom")
with head:
    st.markdown("## Fleet health")
    as_of_note = "newest data" if ctx.is_default_as_of else "chosen time"
    st.caption(
        f"As of **{fmt.when(fleet['as_of'])}** ({as_of_note}) · {len(models)} of {len(fleet['models'])} models"
        + (" (filtered)" if any_filter(ctx.filters) else "")
        + " · drift & performance over 7 days, data quality over 24 h · strip: last 30 days, oldest left"
    )
with right:
    view = st.segmented_control(
        "View",
        ["Tiles", "Table"],
        default="Tiles",
        key="view",
        bind="query-params",
        label_visibility="collapsed",
        required=True,
    )

st.html(grid.counts_html(counts, len(models)))
if note := grid.fdr_note(fleet):
    st.caption(note)

if view == "Table":
    rows = []
    for m in models:
        top = m["reasons"][0] if m["reasons"] else None
        psis = [f["psi"] for f in m["features"] if f.get("psi") is not None]
        perf = m.get("performance") or {}
        loss = perf.get("loss")
        rows.append(
            {
                "status": f"{fmt.GLYPH[m['status']]} {fmt.WORD[m['status']]}",
                "model": m["model_id"],
                "team": m["team"],
                "top reason": fmt.short_reason(top, m),
                "reasons": len(m["reasons"]),
                "days in status": fmt.streak(m),
                "worst PSI": max(psis) if psis else None,
                "performance change": -loss if loss is not None else None,
                "rows 24h": m["rows_24h"],
                "last inference": pd.Timestamp(m["last_inference"]).tz_convert("UTC").tz_localize(None)
                if m.get("last_inference")
                else None,
                "owner": m["owner"],
                "task": fmt.TASK_LABEL.get(m["task"], m["task"]),
            }
        )
    frame = pd.DataFrame(rows)
    # Numbers as floats: a missing value must be an empty cell, not the text "None".
    for col in ("worst PSI", "performance change"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    st.caption("Select a row to open the model. Click a column header to sort.")
    event = st.dataframe(
        frame,
        hide_index=True,
        placeholder="–",
        width="stretch",
        height=min(38 + 35 * max(len(frame), 1), 720),
        on_select="rerun",
        selection_mode="single-row",
        key="fleet_table",
        column_config={
            "status": st.column_config.TextColumn("Status", width="small"),
            "model": st.column_config.TextColumn("Model", width="medium"),
            "team": st.column_config.TextColumn("Team", width="small"),
            "top reason": st.column_config.TextColumn("Top reason", width="medium"),
            "reasons": st.column_config.NumberColumn("Reasons", format="%d", width="small"),
            "days in status": st.column_config.NumberColumn(
                "Days", format="%d", width="small", help="Days in the current status (last 30 days)"
            ),
            "worst PSI": st.column_config.NumberColumn(
                "Worst PSI", format="%.3f", width="small", help="Largest feature PSI over the last 7 days"
            ),
            "performance change": st.column_config.NumberColumn(
                "Perf. change",
                format="percent",
                width="small",
                help="Change of the primary metric vs the reference (negative: worse)",
            ),
            "rows 24h": st.column_config.NumberColumn("Rows 24h", format="localized", width="small"),
            "last inference": st.column_config.DatetimeColumn("Last inference (UTC)", format="YYYY-MM-DD HH:mm"),
            "owner": st.column_config.TextColumn("Owner"),
            "task": st.column_config.TextColumn("Task"),
        },
    )
    selected = event.selection.rows if event is not None else []
    if selected:
        model_id = frame.iloc[selected[0]]["model"]
        st.switch_page("app_pages/model.py", query_params={**ctx.link_params(), "model": model_id})
else:
    st.html(grid.tile_grid_html(models, ctx.link_params()))
