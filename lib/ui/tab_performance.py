"""The model page's Performance tab: the metric against the reference and its thresholds per day,
and residuals (regression) or the confusion matrix (classification) of the last 7 days."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from lib.judge.status import COLOR, GREY, RED, YELLOW
from lib.ui import formatting as fmt
from lib.ui import loaders, style
from lib.ui.store_access import guarded
from lib.ui.tab_common import FIG_CFG, daily, layout

if TYPE_CHECKING:
    from lib.ui.frame import Context


_EST_CSS = """<style>
.dl-est{border-collapse:collapse;font-size:.9rem;margin:.1rem 0 .3rem 0;min-width:min(100%,760px)}
.dl-est th,.dl-est td{padding:6px 16px;border-bottom:1px solid #e5e7eb;text-align:right;font-variant-numeric:tabular-nums;
  white-space:nowrap}
.dl-est th{color:#6b7280;font-weight:500;font-size:.78rem;vertical-align:bottom}
.dl-est th small,.dl-est td small{display:block;color:#9ca3af;font-size:.72rem;font-weight:400}
.dl-est .k{text-align:left;color:#374151}
.dl-est td.e{font-size:1.2rem;font-weight:650;color:#111827}
.dl-est td.none{color:#9ca3af;font-size:.82rem}
</style>"""


def _cell(metric: str, col: str, value: float | None, spec: str, *, cls: str = "", none: str = "–") -> str:
    text = none if value is None else format(value, spec)
    klass = f"{cls} none" if value is None else cls
    return f'<td class="{klass.strip()}" data-testid="dl-est-{metric}-{col}">{html.escape(text)}</td>'


def estimate_table_html(est: dict, n_labeled: int | None = None) -> str:
    """Estimated vs realised, side by side: ROC AUC and F1, reference, last 7 days, the error."""
    n_lab = f"{n_labeled or 0:,} labelled rows" if est.get("realised") is not None else "no labels yet"
    head = (
        '<tr><th class="k"></th><th>reference<small>active snapshot</small></th>'
        f"<th>estimated · 7 d<small>{est.get('n_scored', 0):,} scored rows</small></th>"
        "<th>estimated − reference</th>"
        f"<th>realised · 7 d<small>{n_lab}</small></th><th>estimate error<small>estimated − realised</small></th></tr>"
    )
    rows = []
    for metric, label, e, r, ref, err in (
        ("roc_auc", "ROC AUC", "estimated", "realised", "reference", "error"),
        ("f1", "F1 at the model's threshold", "estimated_f1", "realised_f1", "reference_f1", "error_f1"),
    ):
        est_v, ref_v = est.get(e), est.get(ref)
        rows.append(
            f'<tr><td class="k">{label}</td>'
            + _cell(metric, "reference", ref_v, ".3f")
            + _cell(metric, "estimated", est_v, ".3f", cls="e")
            + _cell(metric, "vs-reference", None if est_v is None or ref_v is None else est_v - ref_v, "+.3f")
            + _cell(metric, "realised", est.get(r), ".3f", cls="e", none="no labels yet")
            + _cell(metric, "error", est.get(err), "+.3f")
            + "</tr>"
        )
    return f'{_EST_CSS}<table class="dl-est" data-testid="dl-estimate">{head}{"".join(rows)}</table>'


def estimate_section(ctx: Context, model_id: str, m: dict) -> None:
    """CBPE: ROC AUC and F1 estimated from the scores (no labels needed), beside the realised value."""
    est = m.get("performance_estimate")
    if est is None and m["task"] == "binary_classification":
        with guarded():
            perf_json = json.dumps(m.get("performance"), allow_nan=False)
            est = loaders.load_estimate(ctx.path, ctx.version, ctx.as_of, model_id, perf_json)
    if est is None:
        return
    st.markdown("##### Estimated performance (before labels)")
    st.html(estimate_table_html(est, (m.get("performance") or {}).get("n_labeled")))
    chk = next((x for x in m["checks"] if x["check"] == "performance_estimate"), None)
    state = (
        f"The `performance_estimate` check is on: {fmt.WORD[chk['status']]}, loss {'–' if chk.get('value') is None else format(chk['value'], '+.1%')}."
        if chk
        else "The `performance_estimate` check is off for this model (policy `estimate_performance: true` turns it on)."
    )
    st.caption(
        "Estimated with CBPE (as in NannyML): the reference's isotonic calibration turns each score into a "
        "probability; the expected confusion matrix and ROC curve follow. Valid while P(label | score) is "
        f"unchanged since the reference. {state}"
    )


def render(ctx: Context, model_id: str, m: dict) -> None:
    estimate_section(ctx, model_id, m)
    perf = m.get("performance")
    if perf is None:
        st.info(
            "This model has never received labels, so there is no performance check. "
            "Ingest late ground truth with `python -m lib ingest labels --model "
            f"{model_id} FILE`."
        )
    else:
        d = daily(ctx, model_id)
        p = d["performance"]
        metric = perf["metric"]
        st.markdown("##### Realised performance (labelled rows)")
        a, b, c, e = st.columns(4)
        a.metric(f"{metric} (reference)", fmt.num(perf.get("reference"), 3))
        b.metric(
            f"{metric} (last 7 d)",
            fmt.num(perf.get("current"), 3),
            delta=None if perf.get("loss") is None else f"{-perf['loss']:+.1%}",
            delta_color="inverse" if metric == "rmse" else "normal",
        )
        c.metric("Labelled rows (7 d)", f"{perf.get('n_labeled', 0):,}")
        chk = next((x for x in m["checks"] if x["check"] == "performance"), {})
        e.metric(
            "Check",
            f"{fmt.GLYPH[chk.get('status', GREY)]} {fmt.WORD[chk.get('status', GREY)]}",
            help=f"yellow at {fmt.pct(chk.get('yellow'))} loss, red at {fmt.pct(chk.get('red'))}",
        )
        left, right = st.columns(2)
        with left:
            fig = go.Figure()
            if len(p):
                fig.add_scatter(
                    x=p["date"],
                    y=p["current"],
                    mode="lines+markers",
                    name=f"{metric} per day",
                    line=dict(color=style.CUR_COLOR),
                    marker=dict(size=5),
                    customdata=p["n_labeled"],
                    hovertemplate="%{x|%Y-%m-%d}: %{y:.3f} (%{customdata} labelled)<extra></extra>",
                )
            if perf.get("reference") is not None:
                fig.add_hline(
                    y=perf["reference"],
                    line_color=style.REF_COLOR,
                    line_width=2,
                    annotation_text="reference",
                    annotation_position="bottom left",
                    annotation_font_color="#475569",
                )
                for level, color in (("yellow", COLOR[YELLOW]), ("red", COLOR[RED])):
                    if chk.get(level) is not None:
                        sign = 1 if metric == "rmse" else -1
                        y = perf["reference"] * (1 + sign * chk[level])
                        fig.add_hline(
                            y=y,
                            line_dash="dot",
                            line_color=color,
                            line_width=1,
                            annotation_text=f"{level}",
                            annotation_font_color=color,
                            annotation_font_size=10,
                            annotation_position="top right",
                        )
            layout(fig, title=dict(text=f"{metric} per day (labelled rows of that day)", font=dict(size=13)))
            st.plotly_chart(fig, config=FIG_CFG, key="perf_chart")
        with right, guarded():
            if m["task"] == "regression":
                res = loaders.load_residuals(ctx.path, ctx.version, ctx.as_of, model_id)
                if res.empty:
                    st.caption("No labelled rows in the last 7 days.")
                else:
                    fig = go.Figure()
                    fig.add_histogram(x=res["residual"], nbinsx=40, marker_color=style.CUR_COLOR, name="residual")
                    fig.add_vline(x=0, line_color=style.REF_COLOR)
                    layout(
                        fig,
                        title=dict(
                            text=f"Residuals (prediction − label), {len(res):,} labelled rows, 7 d",
                            font=dict(size=13),
                        ),
                        showlegend=False,
                    )
                    st.plotly_chart(fig, config=FIG_CFG, key="resid_chart")
            else:
                conf = loaders.load_confusion(ctx.path, ctx.version, ctx.as_of, model_id)
                if conf.empty:
                    st.caption("No labelled rows in the last 7 days.")
                else:
                    mat = conf.pivot_table(index="label", columns="prediction", values="n", aggfunc="sum", fill_value=0)
                    labels = sorted(set(mat.index) | set(mat.columns))
                    mat = mat.reindex(index=labels, columns=labels, fill_value=0)
                    share = mat.div(mat.sum(axis=1).replace(0, 1), axis=0)
                    fig = go.Figure(
                        go.Heatmap(
                            z=share.values,
                            x=[str(x) for x in labels],
                            y=[str(x) for x in labels],
                            text=mat.values,
                            texttemplate="%{text:,}",
                            colorscale="Blues",
                            zmin=0,
                            zmax=1,
                            showscale=False,
                            hovertemplate="label %{y} → predicted %{x}: %{text:,} (%{z:.0%} of row)<extra></extra>",
                        )
                    )
                    layout(
                        fig,
                        title=dict(text="Confusion matrix, labelled rows of the last 7 days", font=dict(size=13)),
                        xaxis_title="predicted",
                        yaxis_title="label",
                        yaxis_autorange="reversed",
                        xaxis_type="category",
                        yaxis_type="category",
                    )
                    st.plotly_chart(fig, config=FIG_CFG, key="conf_chart")
