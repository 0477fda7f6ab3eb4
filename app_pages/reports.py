"""Reports: export one model's or the (filtered) fleet's health as HTML, PDF, CSV or JSON."""

import streamlit as st

from lib.reports.data import Filters
from lib.ui import actions as ui_actions
from lib.ui import formatting as fmt
from lib.ui import loaders
from lib.ui.frame import context, matches
from lib.ui.store_access import guarded

ctx = context()
st.title("Reports")
st.caption(
    f"As of {fmt.when(ctx.as_of)} (the sidebar's time) · store data version {ctx.version}. "
    "HTML opens offline and stays interactive; PDF is A4 with page numbers; JSON has the `evaluate` "
    "shape; CSV holds the numbers behind it (cells a spreadsheet could run as a formula are quoted). "
    "Build a format, then download it."
)

catalog = ctx.catalog["models"]
ids = list(catalog["model_id"])
wanted = st.query_params.get("model")
# A deep link /reports?model=ID opens that model's report; the scope and the model stay in the URL.
scope = st.segmented_control(
    "Scope",
    ["Fleet", "One model"],
    default="One model" if wanted else "Fleet",
    key="scope",
    bind="query-params",
    required=True,
    help="Fleet: every model that passes the sidebar filters. One model: its full report.",
)
if scope == "One model":
    if wanted and wanted not in ids:
        st.error(f"There is no model **{wanted}** in this store.")
    # No default: a bound widget drops its parameter from the URL when it equals the default,
    # and the URL must name the model (the model page does the same).
    model_id = st.selectbox("Model", ids, key="model", bind="query-params", index=None, placeholder="Choose a model…")
    if model_id is None:
        st.info("Choose the model to export above.")
        st.stop()
    fleet = loaders.fleet_if_judged(ctx.path, ctx.version, ctx.as_of)
    m = next((x for x in fleet["models"] if x["model_id"] == model_id), None) if fleet else None
    if m is None:
        with guarded(), st.spinner(f"Judging {model_id}…"):
            m = loaders.model_view(ctx, model_id)
    if m is not None:
        first = m["reasons"][0] if m["reasons"] else None
        st.markdown(
            f"**{model_id}** · {fmt.GLYPH[m['status']]} **{fmt.WORD[m['status']]}** "
            f"({fmt.MEANING[m['status']]}) · {fmt.short_reason(first, m)}",
            unsafe_allow_html=False,
        )
    ui_actions.report_downloads(ctx, model_id, key="rep_one")
    st.caption(
        "A model report has its reasons with the thresholds in force, every feature's drift and data-quality "
        "numbers, distributions of the worst features, performance, and its status over the last 30 days."
    )
else:
    with guarded(), st.spinner("Judging the fleet…"):
        fleet = ctx.fleet()
    filters = ui_actions.report_filters(ctx)
    kept = [m for m in fleet["models"] if matches(m, ctx.filters)]
    counts = {s: sum(1 for m in kept if m["status"] == s) for s in ("red", "yellow", "grey", "green")}
    scope_text = Filters(**dict(filters)).describe()
    st.write(
        f"**{len(kept)}** of {len(fleet['models'])} models pass the sidebar filters ({scope_text}): "
        + ", ".join(f"{n} {fmt.WORD[s].lower()}" for s, n in counts.items())
        + "."
    )
    if not kept:
        st.info("No model matches the filters in the sidebar: clear some of them to export a report.")
        st.stop()
    ui_actions.report_downloads(ctx, None, filters, key="rep_fleet")
    st.caption(
        "A fleet report has the overview, every model's status and first reason, and full sections "
        "(reasons, features, distributions) for up to 25 red or yellow models. Narrow it with the "
        "sidebar's filters."
    )
