"""The model page's Data quality tab: unseen categorical values, missing / out-of-range / unseen
shares and rows per day, and the inference files checked against the spec's features."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from lib.ui import loaders, style, tab_remedy
from lib.ui.store_access import guarded
from lib.ui.tab_common import FIG_CFG, daily, layout, thresholds

if TYPE_CHECKING:
    from lib.ui.frame import Context


def render(ctx: Context, model_id: str, m: dict) -> None:
    d = daily(ctx, model_id)
    q = d["quality"]
    with guarded():
        unseen = loaders.load_unseen(ctx.path, ctx.version, ctx.as_of, model_id)
        schema = loaders.load_schema(ctx.path, ctx.version, ctx.as_of, model_id)
    st.markdown("##### Unseen values")
    if unseen.empty:
        st.caption("No categorical value outside the reference's categories in the last 30 days.")
    else:
        st.caption(
            "Values of categorical features never seen in the reference data. First / last seen: "
            "the end of the hour in which they were logged (UTC)."
        )
        st.dataframe(
            unseen,
            hide_index=True,
            placeholder="–",
            width="stretch",
            key="unseen_table",
            column_config={
                "rows_24h": st.column_config.NumberColumn("Rows 24h", format="localized"),
                "rows_7d": st.column_config.NumberColumn("Rows 7 d", format="localized"),
                "first_seen": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD HH:mm"),
                "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD HH:mm"),
            },
        )
    tab_remedy.render(ctx, model_id, m)
    st.markdown("##### Per day")
    series = []
    for metric, title, check in (
        ("missing_share", "Missing share", None),
        ("out_of_range_share", "Out-of-range share", "out_of_range"),
        ("unseen_share", "Unseen-value share", None),
    ):
        part = q.dropna(subset=[metric])
        active = part.groupby("feature")[metric].max()
        series.append((metric, title, check, part, active[active > 0].index.tolist()))
    shown = [x for x in series if x[4]]
    quiet = [x[1].lower() for x in series if not x[4]]
    if quiet:
        st.caption("No " + ", no ".join(quiet) + " in any feature in the last 30 days.")
    cols = st.columns(2)
    for i, (metric, title, check, part, active) in enumerate(shown):
        with cols[i % 2]:
            fig = go.Figure()
            for f in active:
                g = part[part["feature"] == f].sort_values("date")
                fig.add_scatter(x=g["date"], y=g[metric], mode="lines+markers", name=f, marker=dict(size=4))
            if check:
                thresholds(fig, m, check)
            layout(
                fig,
                title=dict(text=title + " per day", font=dict(size=13)),
                yaxis_tickformat=".0%",
                yaxis_rangemode="tozero",
                showlegend=True,
            )
            st.plotly_chart(fig, config=FIG_CFG, key=f"q_{metric}")
    c4 = cols[len(shown) % 2]
    with c4:
        r = d["rows"]
        fig = go.Figure()
        fig.add_bar(x=r["date"], y=r["rows"], name="rows", marker_color=style.CUR_COLOR)
        layout(fig, title=dict(text="Rows per day", font=dict(size=13)))
        st.plotly_chart(fig, config=FIG_CFG, key="q_rows")
    st.markdown("##### Schema")
    if schema.empty:
        st.caption("No inference file with rows in the last 30 days.")
    else:
        bad = schema[(schema["missing_features"] != "") | (schema["extra_columns"] != "")]
        st.caption(
            "Inference files with rows in the last 30 days, against the spec's features. "
            + (f"{len(bad)} file(s) differ." if len(bad) else "All match the spec.")
        )
        st.dataframe(
            schema,
            hide_index=True,
            placeholder="–",
            width="stretch",
            key="schema_table",
            column_config={
                "file_name": "File",
                "ingested_at": st.column_config.DatetimeColumn("Ingested"),
                "rows": st.column_config.NumberColumn("Rows", format="localized"),
                "missing_features": "Missing feature columns",
                "extra_columns": "Extra columns",
                "first_hour": st.column_config.DatetimeColumn("First hour"),
                "last_row": st.column_config.DatetimeColumn("Last row"),
            },
        )
