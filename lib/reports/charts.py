"""The report's Plotly figures: a feature's distribution, the primary metric per day, the fleet's statuses
per day. A user-supplied string becomes a chart label only through `label()` (shortened, then escaped).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lib.judge.status import COLOR

REF_COLOR = "#94a3b8"  # the reference (training-time) value, as on the model page (lib/ui.py)
CUR_COLOR = "#2563eb"  # the current data
GAP_COLOR = "#f1f5f9"  # days without data
# Legends go under the plot area, never over the title or the data (issue 14).
LEGEND_BELOW = dict(orientation="h", y=-0.18, x=0, xanchor="left", yanchor="top")
METRIC_LABEL = {"roc_auc": "ROC AUC", "f1": "F1", "macro_f1": "macro F1", "rmse": "RMSE"}


def label(value: Any, width: int = 22) -> str:
    """A chart label: shortened, then escaped (Plotly decodes &lt; &gt; &amp; but not &quot;)."""
    text = "" if value is None else str(value)
    text = text if len(text) <= width else text[: width - 1] + "…"
    return html.escape(text, quote=False)


def distribution_figure(feature: str, d: dict) -> go.Figure:
    labels = [label(b) + (" (new)" if u else "") for b, u in zip(d["bins"], d["unseen"])]
    fig = go.Figure()
    fig.add_bar(name=f"reference (n={d['n_reference']:,})", x=labels, y=d["reference"], marker_color=REF_COLOR)
    fig.add_bar(name=f"last 7 days (n={d['n_current']:,})", x=labels, y=d["current"], marker_color=CUR_COLOR)
    fig.update_layout(
        barmode="group",
        height=340,
        title=dict(text=f"{label(feature, 60)}: share of rows per bin", x=0),
        yaxis=dict(tickformat=".0%"),
        legend=LEGEND_BELOW,
    )
    return fig


def performance_figure(series: dict) -> go.Figure:
    """The primary metric per day (a gap where a day had no labels), the reference and the
    yellow / red threshold lines on top; the labelled rows per day underneath."""
    days = series["days"]
    x = [d["date"] for d in days]
    name = METRIC_LABEL.get(series["metric"], label(series["metric"]))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26], vertical_spacing=0.07)
    # Runs of days without a labelled row, shaded so that a gap reads as "no labels", not as a dip.
    run_start = None
    for i, d in enumerate(days + [{"n_labeled": 1}]):
        if d["n_labeled"] == 0 and run_start is None:
            run_start = i
        elif d["n_labeled"] and run_start is not None:
            x0, x1 = _shift(x[run_start], -12), _shift(x[i - 1], 12)
            fig.add_vrect(
                x0=x0,
                x1=x1,
                fillcolor=GAP_COLOR,
                line_width=0,
                layer="below",
                row=1,
                col=1,
                exclude_empty_subplots=False,
            )
            if i - run_start >= 2:  # wide enough for the words
                fig.add_annotation(
                    x=x0,
                    y=0.5,
                    xref="x",
                    yref="y domain",
                    xanchor="left",
                    text="no labels",
                    showarrow=False,
                    bgcolor=GAP_COLOR,
                    font=dict(size=10, color="#64748b"),
                )
            run_start = None
    ends = [_shift(x[0], -12), _shift(x[-1], 12)]
    for level, dash in (("red", "dot"), ("yellow", "dot")):
        y = series.get(f"{level}_line")
        if y is not None:
            fig.add_scatter(
                x=ends,
                y=[y, y],
                mode="lines",
                line=dict(color=COLOR[level], width=1.5, dash=dash),
                name=f"{level} at {y:.3g} ({100 * series[level]:.3g}% worse)",
                hoverinfo="skip",
                row=1,
                col=1,
            )
    if series.get("reference") is not None:
        fig.add_scatter(
            x=ends,
            y=[series["reference"]] * 2,
            mode="lines",
            line=dict(color=REF_COLOR, width=2),
            name=f"reference {series['reference']:.3g}",
            hoverinfo="skip",
            row=1,
            col=1,
        )
    fig.add_scatter(
        x=x,
        y=[d["value"] for d in days],
        mode="lines+markers",
        connectgaps=False,
        line=dict(color=CUR_COLOR, width=2),
        marker=dict(size=5, color=CUR_COLOR),
        name=f"{name} per day",
        customdata=[d["n_labeled"] for d in days],
        hovertemplate="%{x}: %{y:.4g} over %{customdata:,} labelled rows<extra></extra>",
        row=1,
        col=1,
    )
    fig.add_bar(
        x=x,
        y=[d["n_labeled"] for d in days],
        marker_color=CUR_COLOR,
        opacity=0.35,
        name="labelled rows",
        showlegend=False,
        hovertemplate="%{x}: %{y:,} labelled rows<extra></extra>",
        row=2,
        col=1,
    )
    fig.update_layout(
        height=420,
        title=dict(text=f"{name} per day, last {len(days)} days (UTC)", x=0, y=0.98, yanchor="top"),
        legend={**LEGEND_BELOW, "traceorder": "reversed", "font": dict(size=10)},
        bargap=0.25,
    )
    fig.update_xaxes(type="date", range=ends, tickformat="%b %d", row=2, col=1)
    fig.update_xaxes(type="date", range=ends, row=1, col=1)
    fig.update_yaxes(title_text=name, row=1, col=1)
    top = max([d["n_labeled"] for d in days] + [1])
    tick = max(t for t in (k * 10**p for p in range(len(str(top))) for k in (1, 2, 5)) if t <= top)
    # one tick: a "0" would collide with the date labels just below it
    fig.update_yaxes(title_text="labelled", range=[0, top * 1.12], tickvals=[tick], tickformat="~s", row=2, col=1)
    return fig


def _shift(day: str, hours: int) -> str:
    """A date plus some hours, as Plotly's date-axis text."""
    t = dt.datetime.fromisoformat(day) + dt.timedelta(hours=hours)
    return t.strftime("%Y-%m-%d %H:%M")


def fleet_timeline_figure(models: list[dict]) -> go.Figure:
    days = sorted({t["date"] for m in models for t in m.get("timeline", [])})
    fig = go.Figure()
    for status in ("red", "yellow", "grey", "green"):
        counts = [
            sum(1 for m in models for t in m.get("timeline", []) if t["date"] == d and t["status"] == status)
            for d in days
        ]
        fig.add_bar(name=status, x=days, y=counts, marker_color=COLOR[status])
    fig.update_layout(
        barmode="stack",
        height=320,
        title=dict(text="Models per status, end of each day (UTC)", x=0),
        legend=LEGEND_BELOW,
    )
    return fig
