"""What the model page's tabs share: the Plotly chart config and layout, a check's threshold lines,
the features a many-series chart shows (the top N and a picker), and the model's daily profiles
read under a spinner."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib.judge.status import COLOR, RED, YELLOW
from lib.ui import loaders
from lib.ui.store_access import guarded

if TYPE_CHECKING:
    from lib.ui.frame import Context

FIG_CFG = {"displayModeBar": False}
# A chart with one line per feature shows this many at first, the highest first (issue 14: with
# 31 features the legend covered the title and squeezed the plot); a picker adds the others.
TOP_N = 8


def layout(fig: go.Figure, height: int = 280, **kw) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=8, r=8, t=36, b=8),
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        xaxis=dict(automargin=True),
        yaxis=dict(automargin=True),
        font=dict(size=12),
        **kw,
    )
    return fig


def legend_below(fig: go.Figure, n_series: int, *, height: int = 280) -> go.Figure:
    """Legend under the plot area (never over the title or the lines); the figure grows by one
    legend row per three series so that the plot keeps its height."""
    rows = math.ceil(max(n_series, 1) / 3)
    fig.update_layout(
        height=height + 22 * rows,
        legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0, font=dict(size=11)),
        margin=dict(l=8, r=8, t=36, b=8 + 22 * rows),
    )
    return fig


def top_features(values: pd.Series, n: int = TOP_N) -> list[str]:
    """Feature names (the index) by value, highest first (ties by name); the first n."""
    frame = pd.DataFrame({"feature": values.index.astype(str), "value": values.to_numpy(dtype="float64")})
    frame = frame.sort_values(["value", "feature"], ascending=[False, True], kind="stable")
    return frame["feature"].head(n).tolist()


def pick_features(values: pd.Series, *, what: str, key: str, n: int = TOP_N) -> list[str]:
    """The features a many-series chart draws: all when there are at most n, else the top n by
    value and a picker (st.multiselect) for the others."""
    ranked = top_features(values, len(values))
    if len(ranked) <= n:
        return ranked
    return st.multiselect(
        f"Features shown (top {n} of {len(ranked)} by {what})",
        ranked,
        default=ranked[:n],
        key=key,
        help="Listed from the highest to the lowest; add or remove features to compare.",
    )


def thresholds(fig: go.Figure, m: dict, check: str) -> None:
    c = next((c for c in m.get("checks") or [] if c["check"] == check), None)
    if not c:
        return
    for level, color, where in (("yellow", COLOR[YELLOW], "bottom left"), ("red", COLOR[RED], "top left")):
        if c.get(level) is not None:
            fig.add_hline(
                y=c[level],
                line_dash="dot",
                line_color=color,
                line_width=1,
                annotation_text=f"{level} {c[level]:g}",
                annotation_position=where,
                annotation_font_color=color,
                annotation_font_size=10,
            )


def daily(ctx: Context, model_id: str) -> dict:
    with guarded(), st.spinner("Reading the daily profiles…"):
        return loaders.load_daily(ctx.path, ctx.version, ctx.as_of, model_id)
