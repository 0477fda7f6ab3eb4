"""The fleet page's table view: one row per model (the models that pass the filters, worst first),
sortable by any column in the browser; selecting a row opens the model. One st.dataframe (Arrow,
drawn on a canvas by the browser), so 10,000 rows stay one element."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.ui import formatting as fmt


def fleet_table(models: list[dict]) -> str | None:
    """Draw the table; returns the model id of the selected row (None when none is)."""
    rows = []
    for m in models:
        top = m["reasons"][0] if m["reasons"] else None
        # A result read back after a restart has no per-feature detail yet, only its worst PSI.
        psis = [f["psi"] for f in m["features"] if f.get("psi") is not None]
        worst = m["worst_psi"] if "worst_psi" in m else (max(psis) if psis else None)
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
                "worst PSI": worst,
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
    return str(frame.iloc[selected[0]]["model"]) if selected else None
