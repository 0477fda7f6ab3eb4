"""Model: investigate one model — why it is red, which feature, since when, and what the rows say."""

import html

import streamlit as st

from lib.ui import actions as ui_actions
from lib.ui import formatting as fmt
from lib.ui import (
    grid,
    loaders,
    model_html,
    style,
    tab_drift,
    tab_performance,
    tab_quality,
    tab_rows,
    tab_segments,
    tab_timeline,
)
from lib.ui.frame import context, matches
from lib.ui.store_access import guarded

ctx = context()
catalog = ctx.catalog["models"]
wanted = st.query_params.get("model")

# The picker: models that pass the sidebar filters (status from the cached fleet, if judged),
# plus the one in the URL so that a deep link always opens.
fleet_cached = None
if ctx.filters.get("status"):
    with guarded(), st.spinner("Judging the fleet…"):
        fleet_cached = ctx.fleet()
status_of = {m["model_id"]: m["status"] for m in fleet_cached["models"]} if fleet_cached else {}
options = [
    r["model_id"]
    for r in catalog.to_dict("records")
    if matches({**r, "status": status_of.get(r["model_id"])}, ctx.filters, use_status=bool(status_of))
]
if wanted and wanted in set(catalog["model_id"]) and wanted not in options:
    options.insert(0, wanted)
if wanted and wanted not in set(catalog["model_id"]):
    st.error(f"There is no model **{wanted}** in this store.")

if not options:
    st.info("No model matches the filters in the sidebar.")
    st.stop()

top_l, top_r = st.columns([2, 3], vertical_alignment="bottom")
with top_l:
    # No default model: a bound widget drops its parameter from the URL when it equals the
    # default, and the URL must always name the model (shareable deep links).
    model_id = st.selectbox(
        "Model",
        options,
        key="model",
        bind="query-params",
        index=None,
        placeholder="Choose a model…",
        help="Models that pass the sidebar filters",
    )

if model_id is None:
    st.caption("Choose a model above, or click one below (worst first).")
    fleet = loaders.fleet_if_judged(ctx.path, ctx.version, ctx.as_of)
    if fleet is None:
        with guarded(), st.spinner("Judging the fleet…"):
            fleet = ctx.fleet()
    shown = [x for x in fleet["models"] if x["model_id"] in set(options)]
    st.html(grid.tile_grid_html(shown, ctx.link_params()))
    st.stop()

with guarded(), st.spinner(f"Judging {model_id}…"):
    m = loaders.model_view(ctx, model_id)
if m is None:
    st.error(f"There is no model **{model_id}** in this store.")
    st.stop()

status = m["status"]
with top_r:
    st.html(
        style.CSS + f'<div style="display:flex;gap:.6rem;align-items:center;flex-wrap:wrap;padding-bottom:.35rem">'
        f'{model_html.status_pill(status)}<span style="font-size:1.35rem;font-weight:700">{html.escape(m["model_id"])}'
        f'</span><span style="color:#6b7280">{html.escape(m["name"])}</span></div>'
    )

snap = m.get("reference_snapshot")
meta = [
    ("Owner", m["owner"]),
    ("Team", m["team"]),
    ("Task", fmt.TASK_LABEL.get(m["task"], m["task"])),
    ("Reference snapshot", f"#{snap}" if snap is not None else "none yet"),
    ("Rows 24h", f"{m['rows_24h']:,}"),
    ("Last inference", fmt.when(m.get("last_inference"))),
    ("As of", fmt.when(ctx.as_of)),
]
if m.get("tags"):
    meta.append(("Tags", ", ".join(t for t in m["tags"] if ":" not in t) or "–"))
st.html(model_html.meta_html(meta))
st.html(model_html.reasons_html(m))
st.html(model_html.checks_html(m))

with st.expander("Export a report of this model (HTML, PDF, CSV, JSON)"):
    ui_actions.report_downloads(ctx, m["model_id"], key="model_report")

with guarded():
    segment = tab_segments.picker(ctx, model_id, m)  # None: all rows

tabs = st.tabs(["Drift", "Data quality", "Performance", "Timeline", "Rows"], key="tab", bind="query-params")
drift_tab, quality_tab, perf_tab, timeline_tab, rows_tab = tabs

# A tab's content is drawn only while it is open (lib/ui/tab_*.py).
# With a segment picked, those three tabs show the segment's tables (lib/ui/tab_segments.py).
if drift_tab.open:
    with drift_tab:
        if segment:
            tab_segments.drift(m, segment)
        else:
            tab_drift.render(ctx, model_id, m)
if quality_tab.open:
    with quality_tab:
        if segment:
            tab_segments.quality(m, segment)
        else:
            tab_quality.render(ctx, model_id, m)
if perf_tab.open:
    with perf_tab:
        if segment:
            tab_segments.performance(m, segment)
        else:
            tab_performance.render(ctx, model_id, m)
if timeline_tab.open:
    with timeline_tab:
        tab_timeline.render(ctx, model_id, m)
if rows_tab.open:
    with rows_tab:
        tab_rows.render(ctx, model_id, m)
