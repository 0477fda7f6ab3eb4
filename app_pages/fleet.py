"""Fleet: every model's stoplight, worst first, as compact tiles (a page at a time) or as a
sortable table. At the newest data the judgment comes from the background judge (shown at once,
with its age); filters, search, counts and paging run on the server (lib/ui/fleet_view.py)."""

import streamlit as st

from lib.ui import fleet_view as fv
from lib.ui import fleet_widgets as fw
from lib.ui import formatting as fmt
from lib.ui import grid, loaders
from lib.ui.fleet_table import fleet_table
from lib.ui.frame import any_filter, context
from lib.ui.store_access import guarded

ctx = context()
n_catalog = len(ctx.catalog["models"])

if ctx.is_default_as_of:
    with guarded():
        judge = loaders.fleet_judge(ctx.path)
        snap = judge.snapshot()
        budget = fw.first_wait()
        if snap.result is None and snap.restoring:  # just restarted: the last result is read back first
            snap = judge.wait_restored()
        if snap.result is None and not snap.error:  # just started: a moment to read back or judge
            snap = judge.wait(timeout=budget, any_result=True)
        elif not snap.current and snap.result.seconds <= budget:  # a quick fleet: show the new data
            snap = judge.wait(timeout=budget)
    if snap.result is None:
        fw.first_judgment(snap, n_catalog, judge)
        st.stop()
    fleet = snap.result.fleet
else:
    snap = None
    with guarded(), st.spinner("Judging the fleet at the chosen time…"):
        fleet = ctx.fleet()

frame = fv.index_frame(fleet)
chosen = fv.select(frame, ctx.filters)
counts = fv.counts(frame, chosen)
filtered = any_filter(ctx.filters)

head, right = st.columns([3, 2], vertical_alignment="bottom")
with head:
    st.markdown("## Fleet health")
    as_of_note = "newest data" if ctx.is_default_as_of else "chosen time"
    st.caption(
        f"As of **{fmt.when(fleet['as_of'])}** ({as_of_note}) · {len(chosen):,} of {len(frame):,} models"
        + (" (filtered)" if filtered else "")
        + " · drift & performance over 7 days, data quality over 24 h · strip: last 30 days, oldest left"
    )
with right:
    view = st.segmented_control(
        "View",
        ["Tiles", "Table"],
        default="Tiles",
        key="view",
        bind="query-params",
        label_visibility="collapsed",
        required=True,
    )
if snap is not None:
    fw.judged_status(snap, judge)

st.html(grid.counts_html(counts, len(chosen), whole=fv.counts(frame) if filtered else None))
if note := grid.fdr_note(fleet):
    st.caption(note)

models = fleet["models"]
if view == "Table":
    picked = fleet_table([models[i] for i in chosen])
    if picked:
        st.switch_page("app_pages/model.py", query_params={**ctx.link_params(), "model": picked})
else:
    start, stop = fw.pager(len(chosen), ctx.filters)
    page = [models[i] for i in chosen[start:stop]]
    sections = fv.counts(frame, chosen)
    st.html(grid.tile_grid_html(page, ctx.link_params(), totals=sections))
    if len(chosen) > fv.PAGE_SIZE:
        fw.pager_footer(len(chosen))
