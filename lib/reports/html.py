"""The HTML report: one self-contained page, Plotly inline once, printable to A4.

Every user-supplied string goes through `e()` (html.escape) before it reaches the page, and
through `label()` (lib/reports/charts.py) before it becomes a chart label: Plotly renders a subset
of HTML tags in its labels and decodes entities, so an escaped label shows the raw text and
interprets nothing. Charts have a fixed width that fits an A4 page, so the PDF prints them whole.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from lib.judge.policy import CHECKS_BY_NAME, SETTINGS
from lib.judge.status import COLOR
from lib.reports.charts import METRIC_LABEL, distribution_figure, fleet_timeline_figure, performance_figure
from lib.reports.seg_html import segments_html

CHART_WIDTH = 680  # px: an A4 page at 96 dpi minus 2 × 12 mm margins is ~703 px


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, unit: str | None = None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if unit in ("share", "loss"):
            return f"{100 * value:.2f}%"
        return f"{value:.4g}"
    return e(value)


class _Charts:
    """Plotly figures to HTML: the first carries plotly.js inline, the rest reference it."""

    def __init__(self):
        self.count = 0

    def html(self, fig: go.Figure, *, top: int = 40) -> str:
        fig.update_layout(
            width=CHART_WIDTH, margin=dict(l=50, r=20, t=top, b=60), template="plotly_white", font=dict(size=11)
        )
        out = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=self.count == 0,
            include_mathjax=False,
            config={"displayModeBar": False, "responsive": False},
            default_width=f"{CHART_WIDTH}px",
        )
        self.count += 1
        return f'<div class="chart">{out}</div>'


def badge(status: str) -> str:
    return f'<span class="badge {e(status)}">{e(status)}</span>'


CSS = """
*{box-sizing:border-box} body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;
margin:24px auto;max-width:760px;padding:0 12px} h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 6px;
border-bottom:1px solid #e5e7eb;padding-bottom:3px;break-after:avoid} h3{font-size:14px;margin:14px 0 4px;break-after:avoid}
.meta{color:#4b5563;font-size:12px} table{border-collapse:collapse;width:100%;margin:4px 0 10px;font-size:12px}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 6px;text-align:left;vertical-align:top} th{background:#f9fafb}
td.num{text-align:right;font-variant-numeric:tabular-nums} tr{break-inside:avoid}
.badge{display:inline-block;padding:0 7px;border-radius:9px;color:#fff;font-weight:600;font-size:11px}
.badge.red{background:#dc2626}.badge.yellow{background:#d97706}.badge.green{background:#16a34a}.badge.grey{background:#9ca3af}
.strip{display:flex;gap:2px;margin:6px 0 2px}.strip span{flex:1;height:18px;border-radius:2px}
.strip-legend{display:flex;justify-content:space-between;color:#6b7280;font-size:11px}
.chart{break-inside:avoid;margin:6px 0} .model{break-before:page} .model:first-of-type{break-before:auto}
.note{color:#6b7280;font-size:12px} code{font-size:12px}
@page{size:A4;margin:14mm 12mm 16mm 12mm} @media print{body{margin:0;max-width:none;padding:0}}
"""


def to_html(data: dict) -> str:
    charts = _Charts()
    models = data["models"]
    if data["kind"] == "model":
        m = models[0] if models else None
        title = f"Model report: {m['name']} ({m['model_id']})" if m else "Model report"
    else:
        title = "Fleet report"
    parts = [
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">As of <b>{e(data["as_of"])}</b> · store data version <b>{e(data["data_version"])}</b>'
        f" · policy: {e(data['policy_source'])} · generated {e(data['generated_at'])}"
        + (f" · scope: {e(data['filters_text'])}" if data["kind"] == "fleet" else "")
        + "</p>",
    ]
    if not models:
        parts.append("<p>No models match.</p>")
    elif data["kind"] == "fleet":
        parts.append(_fleet_overview(data, charts))
    for m in models:
        if m["model_id"] in data["detailed"]:
            parts.append(_model_section(m, data, charts, full=data["kind"] == "model"))
    if data["kind"] == "fleet":
        rest = len([m for m in models if m["status"] in ("red", "yellow")]) - len(data["detailed"])
        if rest > 0:
            parts.append(
                f'<p class="note">{rest} more red or yellow models are in the table above; export them '
                f"one by one or filter the fleet for their full sections.</p>"
            )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline' "
        "'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:\">"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>" + "\n".join(parts) + "</body></html>"
    )


def _fleet_overview(data: dict, charts: _Charts) -> str:
    models = data["models"]
    counts = {s: sum(m["status"] == s for m in models) for s in ("red", "yellow", "grey", "green")}
    out = [
        "<h2>Overview</h2>",
        "<p>" + " · ".join(f"{badge(s)} {n}" for s, n in counts.items()) + f" · {len(models)} models</p>",
    ]
    if any(m.get("timeline") for m in models):
        out.append(charts.html(fleet_timeline_figure(models)))
    out.append(
        "<h2>Models</h2><table><tr><th>model</th><th>status</th><th>team</th><th>owner</th><th>first reason</th></tr>"
    )
    for m in models:
        r = m["reasons"][0] if m["reasons"] else None
        reason = f"{e(r['check'])}{' · ' + e(r['feature']) if r['feature'] else ''}: {e(r['message'])}" if r else ""
        out.append(
            f"<tr><td><b>{e(m['model_id'])}</b><br><span class=note>{e(m.get('name'))}</span></td>"
            f"<td>{badge(m['status'])}</td><td>{e(m.get('team'))}</td><td>{e(m.get('owner'))}</td>"
            f"<td>{reason}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _performance_section(m: dict, data: dict, charts: _Charts) -> str:
    out = ["<h3>Performance over time</h3>"]
    series = data.get("performance_over_time", {}).get(m["model_id"])
    if m.get("performance") is None or series is None:
        out.append(
            '<p class="note">No labels received yet: this model has never had ground truth, '
            "so there is no performance to chart.</p>"
        )
        return "\n".join(out)
    days = series["days"]
    name = e(METRIC_LABEL.get(series["metric"], series["metric"]))
    if not any(d["n_labeled"] for d in days):
        out.append(f'<p class="note">No labelled rows in the last {len(days)} days: the last labels are older.</p>')
        return "\n".join(out)
    out.append(charts.html(performance_figure(series), top=60))  # the title, then the legend
    labelled = sum(1 for d in days if d["n_labeled"])
    levels = [
        f"{level} at {100 * series[level]:.3g}%"
        for level in ("yellow", "red")
        if series.get(f"{level}_line") is not None
    ]
    thresholds = (
        f"{' and '.join(levels)} {'below' if series['higher_is_better'] else 'above'} the reference "
        f"(from {e(series.get('threshold_source'))})"
        if levels
        else "none, as the reference value is missing or 0"
    )
    out.append(
        f'<p class="note">Each point is the {name} over the labelled rows of that UTC day; the check judges '
        f"the last 7 days together ({fmt(series.get('current_7d'))} vs reference {fmt(series.get('reference'))}). "
        f"{labelled} of {len(days)} days have labels; days without are gaps, not zeros. Lines: {thresholds}.</p>"
    )
    return "\n".join(out)


def _f1_vs_realised(est: dict) -> str:
    """' (realised 0.639, error -0.010)' once labels came (issue 13), else ''."""
    if est.get("realised_f1") is None:
        return ""
    return f" (realised {fmt(est['realised_f1'])}, error {est['error_f1']:+.3f})"


def _model_section(m: dict, data: dict, charts: _Charts, *, full: bool) -> str:
    out = ['<section class="model">']
    if not full:
        out.append(f"<h2>{e(m['name'])} <code>{e(m['model_id'])}</code> {badge(m['status'])}</h2>")
    else:
        out.append(f"<p>{badge(m['status'])} <code>{e(m['model_id'])}</code></p>")
    out.append(
        f'<p class="meta">{e(m.get("task"))} · team {e(m.get("team"))} · owner {e(m.get("owner"))} · '
        f"reference snapshot {e(m.get('reference_snapshot'))} · last inference {e(m.get('last_inference'))} · "
        f"{e(m.get('rows_24h'))} rows in the last 24 h</p>"
    )
    # reasons
    out.append("<h3>Reasons</h3>")
    if m["reasons"]:
        out.append(
            "<table><tr><th>status</th><th>check</th><th>feature</th><th>value</th><th>threshold</th>"
            "<th>since</th><th>onset</th><th>what happened</th></tr>"
        )
        for r in m["reasons"]:
            unit = CHECKS_BY_NAME[r["check"]].unit
            out.append(
                f"<tr><td>{badge(r['status'])}</td><td>{e(r['check'])}</td><td>{e(r['feature'])}</td>"
                f"<td class=num>{fmt(r['value'], unit)}</td><td class=num>{fmt(r['threshold'], unit)}"
                f"<br><span class=note>{e(r.get('threshold_source'))}</span></td>"
                f"<td>{e((r.get('since') or '')[:16].replace('T', ' '))}</td><td>{e(r.get('onset'))}</td>"
                f"<td>{e(r['message'])}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No check is yellow or red.</p>")
    out.append(segments_html(m))  # issue 13: where the problem is concentrated
    # timeline
    if m.get("timeline"):
        cells = "".join(
            f'<span style="background:#e5e7eb" title="{e(t["date"])}: no data"></span>'
            if t.get("no_data")  # before the model's first inference
            else f'<span style="background:{COLOR.get(t["status"], "#9ca3af")}" '
            f'title="{e(t["date"])}: {e(t["status"])}"></span>'
            for t in m["timeline"]
        )
        tl = m["timeline"]
        changes = sum(1 for a, b in zip(tl, tl[1:]) if a["status"] != b["status"] and not a.get("no_data"))
        out.append(
            f"<h3>Status over the last {len(tl)} days</h3><div class=strip>{cells}</div>"
            f"<div class=strip-legend><span>{e(tl[0]['date'])}</span><span>{changes} change(s)</span>"
            f"<span>{e(tl[-1]['date'])}</span></div>"
        )
    # data quality: unseen values
    unseen = [(r, u) for r in m["reasons"] for u in (r.get("unseen_values") or [])]
    if unseen:
        out.append(
            "<h3>New category values (last 24 h)</h3><table><tr><th>feature</th><th>value</th>"
            "<th>rows</th><th>first seen</th><th>map to (suggested)</th></tr>"
        )
        for r, u in unseen[:50]:
            to = (r.get("remedy") or {}).get("mapping", {}).get(u["value"])
            out.append(
                f"<tr><td>{e(r['feature'])}</td><td><code>{e(u['value'])}</code></td>"
                f"<td class=num>{u['count']:,}</td><td>{e(u.get('first_seen'))}</td>"
                f"<td>{'<code>' + e(to) + '</code>' if to is not None else '–'}</td></tr>"
            )
        cmds = [(r.get("remedy") or {}).get("commands", {}) for r in m["reasons"] if r.get("remedy")]
        out.append(
            "</table><p class=note>Ways out: map the new values to a known one until a retrain "
            f"(<code>{e(cmds[0].get('mapping') or '')}</code>), tell the feed's upstream contact "
            f"(<code>{e(cmds[0].get('notify_upstream'))}</code>), or retrain to learn them "
            f"(<code>{e(cmds[0].get('retrain'))}</code>).</p>"
            if cmds
            else "</table>"
        )
    # drift table
    feats = m.get("features", [])
    if feats:
        out.append(
            "<h3>Features</h3><p class=note>Each status beside the numbers of its own check (feature_drift, "
            "missing, unseen_categories or out_of_range).</p><table><tr><th>feature</th><th>kind</th>"
            "<th>PSI (7d)</th><th>JS</th><th>χ² p / KS</th><th>drift</th><th>missing (24h)</th><th></th>"
            "<th>unseen / out of range (24h)</th><th></th></tr>"
        )
        shown = feats if full else [f for f in feats if f.get("status") in ("red", "yellow")]
        for f in shown:
            test = f.get("chi2_p") if f["kind"] == "categorical" else f.get("ks")
            dq = f.get("unseen_share") if f["kind"] == "categorical" else f.get("out_of_range_share")
            by = f.get("check_status") or {}
            dq_check = "unseen_categories" if f["kind"] == "categorical" else "out_of_range"
            out.append(
                f"<tr><td>{e(f['feature'])}</td><td>{e(f['kind'])}</td>"
                f"<td class=num>{fmt(f.get('psi'))}</td><td class=num>{fmt(f.get('js'))}</td>"
                f"<td class=num>{fmt(test)}</td><td>{badge(by.get('feature_drift', 'grey'))}</td>"
                f"<td class=num>{fmt(f.get('missing_share'), 'share')}</td><td>{badge(by.get('missing', 'grey'))}</td>"
                f"<td class=num>{fmt(dq, 'share')}</td><td>{badge(by.get(dq_check, 'grey'))}</td></tr>"
            )
        out.append("</table>")
        if not full and len(shown) < len(feats):
            out.append(f'<p class="note">{len(feats) - len(shown)} green or grey features not shown.</p>')
    # distributions
    dists = data["distributions"].get(m["model_id"], {})
    if dists:
        out.append("<h3>Distributions of the worst features (reference vs last 7 days)</h3>")
        for feature, d in dists.items():
            out.append(charts.html(distribution_figure(feature, d)))
    # prediction drift and performance
    pd_ = m.get("prediction_drift")
    perf = m.get("performance")
    out.append("<h3>Predictions and performance</h3><table>")
    out.append(
        f"<tr><th>prediction drift (PSI of {e(pd_['on']) if pd_ else '–'}, 7d)</th>"
        f"<td class=num>{fmt(pd_['psi']) if pd_ else '–'}</td></tr>"
    )
    if perf:
        out.append(
            f"<tr><th>{e(perf['metric'])}: reference</th><td class=num>{fmt(perf['reference'])}</td></tr>"
            f"<tr><th>{e(perf['metric'])}: last 7 days ({perf['n_labeled']:,} labelled rows)</th>"
            f"<td class=num>{fmt(perf['current'])}</td></tr>"
            f"<tr><th>relative loss</th><td class=num>{fmt(perf.get('loss'), 'loss')}</td></tr>"
        )
    else:
        out.append("<tr><th>performance</th><td>no labels received yet</td></tr>")
    if est := m.get("performance_estimate"):  # CBPE: estimated from the scores, before labels
        err = "" if est["error"] is None else f" (error vs realised {est['error']:+.3f})"
        out.append(
            f"<tr><th>roc_auc: estimated, last 7 days ({est['n_scored']:,} scored rows){err}</th>"
            f"<td class=num>{fmt(est['estimated'])}</td></tr>"
            f"<tr><th>F1: estimated at the model's threshold{_f1_vs_realised(est)}</th>"
            f"<td class=num>{fmt(est['estimated_f1'])}</td></tr>"
        )
    out.append("</table>")
    out.append(_performance_section(m, data, charts))
    if full:  # a model report (issue 13): the domain classifier's result, cached or not computed
        from lib.reports.multivariate import section_html

        out.append(section_html(data.get("multivariate")))
    # policy in force
    if full:
        out.append(
            "<h3>Policy in force</h3><table><tr><th>check</th><th>status</th><th>worst feature</th>"
            "<th>value</th><th>yellow at</th><th>red at</th><th>from</th></tr>"
        )
        for c in m.get("checks", []):
            unit = CHECKS_BY_NAME[c["check"]].unit
            out.append(
                f"<tr><td>{e(c['check'])}</td><td>{badge(c['status'])}</td><td>{e(c['feature'])}</td>"
                f"<td class=num>{fmt(c['value'], unit)}</td><td class=num>{fmt(c['yellow'], unit)}</td>"
                f"<td class=num>{fmt(c['red'], unit)}</td><td>{e(c.get('threshold_source'))}</td></tr>"
            )
        out.append("</table>")
        settings = data["settings"].get(m["model_id"], {})
        out.append(
            '<p class="note">'
            + " · ".join(f"{e(k)} = {e(v)} ({e(SETTINGS[k][1])})" for k, v in settings.items())
            + "</p>"
        )
    out.append("</section>")
    return "\n".join(out)
