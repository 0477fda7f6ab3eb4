"""The model page's Data quality tab: unseen categorical values, missing / out-of-range / unseen
shares and rows per day, and the inference files checked against the spec's features."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib.ui import formatting as fmt
from lib.ui import loaders, style, tab_remedy
from lib.ui.store_access import guarded
from lib.ui.tab_common import FIG_CFG, daily, layout, legend_below, pick_features, thresholds

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
    feature_checks(m)
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
        series.append((metric, title, check, part, active[active > 0]))
    shown = [x for x in series if len(x[4])]
    quiet = [x[1].lower() for x in series if not len(x[4])]
    if quiet:
        st.caption("No " + ", no ".join(quiet) + " in any feature in the last 30 days.")
    cols = st.columns(2)
    for i, (metric, title, check, part, active) in enumerate(shown):
        with cols[i % 2]:
            picked = pick_features(active, what="highest daily share", key=f"q_pick_{metric}")
            fig = go.Figure()
            for f in picked:
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
            legend_below(fig, len(picked))
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


_RANK = {"red": 0, "yellow": 1, "green": 2, "grey": 3}


def _cell(status: str | None) -> str | None:
    return None if status is None else f"{fmt.GLYPH[status]} {fmt.WORD[status]}"


def feature_checks(m: dict) -> None:
    """Each feature's data-quality checks, each with its own status (the Drift tab shows drift's)."""
    feats = m.get("features") or []
    if not feats:
        return
    rows = []
    for f in feats:
        by_check = f.get("check_status") or {}
        categorical = f["kind"] == "categorical"
        rows.append(
            {
                "feature": f["feature"],
                "kind": f["kind"],
                "missing_share": f.get("missing_share"),
                "missing": _cell(by_check.get("missing")),
                "values_share": f.get("unseen_share" if categorical else "out_of_range_share"),
                "values_check": "unseen values" if categorical else "out of range",
                "values": _cell(by_check.get("unseen_categories" if categorical else "out_of_range")),
                "schema": _cell(by_check.get("schema")),
                "_rank": min((_RANK.get(v, 3) for k, v in by_check.items() if k != "feature_drift"), default=3),
            }
        )
    table = pd.DataFrame(rows).sort_values("_rank", kind="stable")  # red, then yellow, then the rest
    flagged = table["_rank"] <= 1
    table = table.drop(columns="_rank")
    st.markdown("##### Per feature")
    st.caption(
        f"Each data-quality check's own status per feature, last 24 h ({int(flagged.sum())} of {len(table)} "
        "features flagged, listed first). Drift has its own column on the Drift tab."
    )
    for col in ("missing_share", "values_share"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    st.dataframe(
        table.style.format({"missing_share": "{:.2%}", "values_share": "{:.2%}"}, na_rep="–"),
        hide_index=True,
        placeholder="–",
        width="stretch",
        height=min(36 + 35 * len(table), 400),
        key="quality_features",
        column_config={
            "feature": "Feature",
            "kind": "Kind",
            "missing_share": "Missing share",
            "missing": st.column_config.TextColumn("Missing", help="the missing check's status"),
            "values_share": "Share",
            "values_check": "Check",
            "values": st.column_config.TextColumn(
                "Status", help="out_of_range (numeric) or unseen_categories (categorical): its status"
            ),
            "schema": st.column_config.TextColumn(
                "Schema", help="the schema check: the feature's column in every file"
            ),
        },
    )
