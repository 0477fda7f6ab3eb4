"""Model: investigate one model — why it is red, which feature, since when, and what the rows say."""

import html

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib.judge.status import COLOR, GREY, RED, YELLOW
from lib.reports import csvsafe
from lib.ui import actions as ui_actions
from lib.ui import formatting as fmt
from lib.ui import grid, loaders, model_html, style
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

fig_cfg = {"displayModeBar": False}


def _layout(fig: go.Figure, height: int = 280, **kw) -> go.Figure:
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


def _thresholds(fig: go.Figure, check: str, feature: str | None = None) -> None:
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


with st.expander("Export a report of this model (HTML, PDF, CSV, JSON)"):
    ui_actions.report_downloads(ctx, m["model_id"], key="model_report")

tabs = st.tabs(["Drift", "Data quality", "Performance", "Timeline", "Rows"], key="tab", bind="query-params")
drift_tab, quality_tab, perf_tab, timeline_tab, rows_tab = tabs


def daily():
    with guarded(), st.spinner("Reading the daily profiles…"):
        return loaders.load_daily(ctx.path, ctx.version, ctx.as_of, model_id)


# -- Drift -------------------------------------------------------------------------------------
if drift_tab.open:
    with drift_tab:
        d = daily()
        drift = d["drift"]
        feats = pd.DataFrame(m["features"])
        spark = {f: g.sort_values("date")["psi"].dropna().round(4).tolist() for f, g in drift.groupby("feature")}
        rows = []
        for f in m["features"]:
            rows.append(
                {
                    "status": f"{fmt.GLYPH[f['status']]} {fmt.WORD[f['status']]}",
                    "feature": f["feature"],
                    "kind": f["kind"],
                    "PSI": f.get("psi"),
                    "JS": f.get("js"),
                    "KS": f.get("ks"),
                    "Wasserstein": f.get("wasserstein"),
                    "chi² p": f.get("chi2_p"),
                    "PSI per day": spark.get(f["feature"], []),
                }
            )
        pd_ = m.get("prediction_drift")
        if pd_:
            on = pd_.get("on") or "prediction"
            rows.append(
                {
                    "status": "",
                    "feature": on,
                    "kind": "model output",
                    "PSI": pd_.get("psi"),
                    "JS": None,
                    "KS": None,
                    "Wasserstein": None,
                    "chi² p": None,
                    "PSI per day": spark.get(on, []),
                }
            )
        table = pd.DataFrame(rows)
        for col in ("PSI", "JS", "KS", "Wasserstein", "chi² p"):
            table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
        table = table.sort_values("PSI", ascending=False, na_position="last").reset_index(drop=True)
        st.caption(
            "Per feature over the last 7 days against the reference (training-time) data. "
            "PSI and JS on the reference's bins; KS and Wasserstein (÷ reference std) on raw values. "
            "Select a row to see its distributions."
        )
        numbers = {"PSI": "{:.3f}", "JS": "{:.3f}", "KS": "{:.3f}", "Wasserstein": "{:.3f}", "chi² p": "{:.2g}"}
        styled = table.style.format(numbers, na_rep="–")
        event = st.dataframe(
            styled,
            hide_index=True,
            placeholder="–",
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="drift_table",
            column_config={
                "status": st.column_config.TextColumn("Status", width="small"),
                # number formats come from the Styler (so that a missing value reads "–", not "None")
                "PSI per day": st.column_config.LineChartColumn(
                    "PSI per day", y_min=0, width="medium", help="Each day's data vs the reference, last 30 days"
                ),
            },
        )
        names = table["feature"].tolist()
        picked = names[event.selection.rows[0]] if event is not None and event.selection.rows else None
        reason_feature = next((r["feature"] for r in m["reasons"] if r.get("feature") in names), None)
        feature = picked or reason_feature or (names[0] if names else None)
        if feature:
            st.markdown(f"##### {feature} — reference vs last 7 days")
            left, right = st.columns(2)
            with left, guarded():
                dist = loaders.load_distribution(ctx.path, ctx.version, ctx.as_of, model_id, feature)
                if dist.empty:
                    st.info("No reference profile for this feature.")
                else:
                    fig = go.Figure()
                    fig.add_bar(
                        x=dist["bin"],
                        y=dist["reference_share"],
                        name="reference",
                        marker_color=style.REF_COLOR,
                        hovertemplate="%{x}<br>reference %{y:.1%}<extra></extra>",
                    )
                    cur_colors = [COLOR[RED] if u else style.CUR_COLOR for u in dist["unseen"]]
                    fig.add_bar(
                        x=dist["bin"],
                        y=dist["current_share"],
                        name="current (7 d)",
                        marker_color=cur_colors,
                        hovertemplate="%{x}<br>current %{y:.1%}<extra></extra>",
                    )
                    title = "Share of rows per bin"
                    if dist["unseen"].any():
                        st.caption("Red bars: values never seen in the reference data.")
                    _layout(
                        fig,
                        barmode="group",
                        title=dict(text=title, font=dict(size=13)),
                        yaxis_tickformat=".0%",
                        xaxis_type="category",
                        xaxis_tickangle=-35,
                    )
                    st.plotly_chart(fig, config=fig_cfg, key="dist_chart")
            with right:
                series = drift[drift["feature"] == feature].sort_values("date")
                fig = go.Figure()
                fig.add_scatter(
                    x=series["date"],
                    y=series["psi"],
                    mode="lines+markers",
                    name="PSI (that day vs reference)",
                    line=dict(color=style.CUR_COLOR),
                    marker=dict(size=5),
                )
                check = "prediction_drift" if feature in ("prediction", "score") else "feature_drift"
                _thresholds(fig, check)
                _layout(fig, title=dict(text="PSI per day", font=dict(size=13)), yaxis_rangemode="tozero")
                st.plotly_chart(fig, config=fig_cfg, key="psi_chart")

# -- Data quality ---------------------------------------------------------------------------------
if quality_tab.open:
    with quality_tab:
        d = daily()
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
        st.markdown("##### Per day")
        series = []
        for metric, title, check in (
            ("missing_share", "Missing share", None),
            ("out_of_range_share", "Out-of-range share", "out_of_range"),
            ("unseen_share", "Unseen-value share", None),
        ):
            part = q.dropna(subset=[metric])
            active = part.groupby("feature")[metric].max()
            series.append((metric, title, check, part, active[active > 0].index.tolist()))
        shown = [x for x in series if x[4]]
        quiet = [x[1].lower() for x in series if not x[4]]
        if quiet:
            st.caption("No " + ", no ".join(quiet) + " in any feature in the last 30 days.")
        cols = st.columns(2)
        for i, (metric, title, check, part, active) in enumerate(shown):
            with cols[i % 2]:
                fig = go.Figure()
                for f in active:
                    g = part[part["feature"] == f].sort_values("date")
                    fig.add_scatter(x=g["date"], y=g[metric], mode="lines+markers", name=f, marker=dict(size=4))
                if check:
                    _thresholds(fig, check)
                _layout(
                    fig,
                    title=dict(text=title + " per day", font=dict(size=13)),
                    yaxis_tickformat=".0%",
                    yaxis_rangemode="tozero",
                    showlegend=True,
                )
                st.plotly_chart(fig, config=fig_cfg, key=f"q_{metric}")
        c4 = cols[len(shown) % 2]
        with c4:
            r = d["rows"]
            fig = go.Figure()
            fig.add_bar(x=r["date"], y=r["rows"], name="rows", marker_color=style.CUR_COLOR)
            _layout(fig, title=dict(text="Rows per day", font=dict(size=13)))
            st.plotly_chart(fig, config=fig_cfg, key="q_rows")
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

# -- Performance ---------------------------------------------------------------------------------
if perf_tab.open:
    with perf_tab:
        perf = m.get("performance")
        if perf is None:
            st.info(
                "This model has never received labels, so there is no performance check. "
                "Ingest late ground truth with `python -m lib ingest labels --model "
                f"{model_id} FILE`."
            )
        else:
            d = daily()
            p = d["performance"]
            metric = perf["metric"]
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
                _layout(fig, title=dict(text=f"{metric} per day (labelled rows of that day)", font=dict(size=13)))
                st.plotly_chart(fig, config=fig_cfg, key="perf_chart")
            with right, guarded():
                if m["task"] == "regression":
                    res = loaders.load_residuals(ctx.path, ctx.version, ctx.as_of, model_id)
                    if res.empty:
                        st.caption("No labelled rows in the last 7 days.")
                    else:
                        fig = go.Figure()
                        fig.add_histogram(x=res["residual"], nbinsx=40, marker_color=style.CUR_COLOR, name="residual")
                        fig.add_vline(x=0, line_color=style.REF_COLOR)
                        _layout(
                            fig,
                            title=dict(
                                text=f"Residuals (prediction − label), {len(res):,} labelled rows, 7 d",
                                font=dict(size=13),
                            ),
                            showlegend=False,
                        )
                        st.plotly_chart(fig, config=fig_cfg, key="resid_chart")
                else:
                    conf = loaders.load_confusion(ctx.path, ctx.version, ctx.as_of, model_id)
                    if conf.empty:
                        st.caption("No labelled rows in the last 7 days.")
                    else:
                        mat = conf.pivot_table(
                            index="label", columns="prediction", values="n", aggfunc="sum", fill_value=0
                        )
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
                        _layout(
                            fig,
                            title=dict(text="Confusion matrix, labelled rows of the last 7 days", font=dict(size=13)),
                            xaxis_title="predicted",
                            yaxis_title="label",
                            yaxis_autorange="reversed",
                            xaxis_type="category",
                            yaxis_type="category",
                        )
                        st.plotly_chart(fig, config=fig_cfg, key="conf_chart")

# -- Timeline ------------------------------------------------------------------------------------
if timeline_tab.open:
    with timeline_tab:
        tl = m.get("timeline") or []
        st.caption(
            "The model's status at the end of each UTC day, oldest first (the last cell is as of the chosen time)."
        )
        st.html(model_html.timeline_html(tl))
        changes = []
        for prev, cur in zip(tl, tl[1:]):
            if prev["status"] != cur["status"]:
                changes.append(
                    {
                        "date": cur["date"],
                        "from": f"{fmt.GLYPH[prev['status']]} {fmt.WORD[prev['status']]}",
                        "to": f"{fmt.GLYPH[cur['status']]} {fmt.WORD[cur['status']]}",
                    }
                )
        if changes:
            st.markdown("**Status changes**")
            st.dataframe(
                pd.DataFrame(changes[::-1]), hide_index=True, placeholder="–", width="content", key="tl_changes"
            )
        else:
            st.caption(f"No status change in {len(tl)} days.")
        if m["reasons"]:
            st.markdown("**When each finding started**")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "check": fmt.CHECK_LABEL[r["check"]],
                            "feature": r.get("feature") or "",
                            "status": f"{fmt.GLYPH[r['status']]} {fmt.WORD[r['status']]}",
                            "since": fmt.when(r.get("since")),
                            "onset": r.get("onset"),
                        }
                        for r in m["reasons"]
                    ]
                ),
                hide_index=True,
                width="content",
                key="tl_reasons",
            )

# -- Rows ----------------------------------------------------------------------------------------
if rows_tab.open:
    with rows_tab:
        problems = tuple(
            (r["check"], r["feature"])
            for r in m["reasons"]
            if r["check"] in ("unseen_categories", "out_of_range", "missing") and r.get("feature")
        )
        with guarded(), st.spinner("Reading rows…"):
            rows, what = loaders.load_rows(ctx.path, ctx.version, ctx.as_of, model_id, problems)
        st.caption(f"Showing {what}." + ("" if problems else " No row-level data problem is flagged for this model."))
        st.dataframe(
            rows,
            hide_index=True,
            placeholder="–",
            width="stretch",
            key="rows_table",
            column_config={"ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss")},
        )
        data = csvsafe.to_csv(
            [str(c) for c in rows.columns],
            (
                [None if pd.isna(v) else (v.isoformat() if hasattr(v, "isoformat") else v) for v in rec]
                for rec in rows.itertuples(index=False)
            ),
        )
        st.download_button(
            "Download CSV",
            data=data,
            file_name=f"{model_id}-rows.csv",
            mime="text/csv",
            icon=":material/download:",
            key="rows_csv",
        )
