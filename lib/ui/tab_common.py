"""What the model page's tabs share: the Plotly chart config and layout, a check's threshold lines,
and the model's daily profiles read under a spinner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from lib.judge.status import COLOR, RED, YELLOW
from lib.ui import loaders
from lib.ui.store_access import guarded

if TYPE_CHECKING:
    from lib.ui.frame import Context

FIG_CFG = {"displayModeBar": False}


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
