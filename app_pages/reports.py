"""Reports: export one model's or the (filtered) fleet's health as HTML, PDF, CSV or JSON."""
import streamlit as st

from lib import ui, ui_actions

ctx = ui.context()
st.title("Reports")
st.caption(f"As of {ctx.as_of} · store data version {ctx.version}. HTML opens offline and stays interactive; "
           "PDF is A4 with page numbers; JSON has the `evaluate` shape; CSV holds the numbers behind it.")

scope = st.segmented_control("Scope", ["Fleet (sidebar filters)", "One model"], default="Fleet (sidebar filters)",
                             key="rep_scope")
catalog = ctx.catalog["models"]
if scope == "One model":
    ids = list(catalog["model_id"])
    wanted = st.query_params.get("model")
    model_id = st.selectbox("Model", ids, index=ids.index(wanted) if wanted in ids else 0, key="rep_model")
    ui_actions.report_downloads(ctx, model_id, key="rep_one")
else:
    with ui.guarded(), st.spinner("Judging the fleet…"):
        fleet = ctx.fleet()
    kept = tuple(m["model_id"] for m in fleet["models"] if ui.matches(m, ctx.filters))
    counts = {s: sum(1 for m in fleet["models"] if m["model_id"] in set(kept) and m["status"] == s)
              for s in ("red", "yellow", "grey", "green")}
    st.write(f"**{len(kept)}** of {len(fleet['models'])} models pass the sidebar filters: "
             + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".")
    if not kept:
        st.info("No model matches the filters in the sidebar.")
        st.stop()
    full = len(kept) == len(fleet["models"])
    ui_actions.report_downloads(ctx, None, None if full else kept, key="rep_fleet")
    st.caption("A fleet report has the overview, every model's status and first reason, and full sections "
               "(reasons, features, distributions) for up to 25 red or yellow models.")
