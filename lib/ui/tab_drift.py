"""The model page's Drift tab: per-feature drift scores with a PSI sparkline each, and for the
selected feature its reference-vs-current distribution and PSI per day."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib.judge.status import COLOR, GREEN, GREY, RED, YELLOW
from lib.ui import formatting as fmt
from lib.ui import loaders, style
from lib.ui.store_access import guarded
from lib.ui.tab_common import FIG_CFG, daily, layout, thresholds

if TYPE_CHECKING:
    from lib.ui.frame import Context

QUALITY_CHECKS = ("missing", "unseen_categories", "out_of_range", "schema")
_RANK = {RED: 0, YELLOW: 1, GREEN: 2, GREY: 3}


def quality_summary(by_check: dict[str, str]) -> str:
    """The worst of a feature's data-quality checks, named: '▲ out of range', '✔ ok', '' if none."""
    found = [(_RANK[st_], c) for c, st_ in by_check.items() if c in QUALITY_CHECKS and st_ in _RANK]
    if not found:
        return ""
    rank, check = min(found)
    status = list(_RANK)[rank]
    if status in (GREEN, GREY):
        return f"{fmt.GLYPH[status]} ok" if status == GREEN else f"{fmt.GLYPH[GREY]} no data"
    return f"{fmt.GLYPH[status]} {check.replace('_', ' ')}"


# the table's row order by the drift status cell (a second name: quality_summary uses _RANK)
_ROW_RANK = {f"{fmt.GLYPH[RED]} {fmt.WORD[RED]}": 0, f"{fmt.GLYPH[YELLOW]} {fmt.WORD[YELLOW]}": 1}


def render(ctx: Context, model_id: str, m: dict) -> None:
    explanation(m)
    _render(ctx, model_id, m)
    multivariate_section(ctx, model_id)


def explanation(m: dict) -> None:
    """The prediction-drift reason's explanation (lib/judge/importance.py), where the table is."""
    reason = next((r for r in m["reasons"] if r["check"] == "prediction_drift"), None)
    if reason is None or "; " not in reason["message"]:
        return
    text = reason["message"].split("; ", 1)[1]
    text = text[0].upper() + text[1:] if text.startswith("prediction drift") else f"Prediction drift: {text}"
    color = COLOR.get(reason["status"], COLOR[GREY])
    st.html(
        f'<div data-testid="dl-explained" style="border-left:4px solid {color};background:#f8fafc;padding:6px 12px;'
        f'border-radius:4px;font-size:.92rem;color:#111827;margin-bottom:.2rem">'
        f"{html.escape(text)}</div>"
    )


def _render(ctx: Context, model_id: str, m: dict) -> None:
    d = daily(ctx, model_id)
    drift = d["drift"]
    spark = {f: g.sort_values("date")["psi"].dropna().round(4).tolist() for f, g in drift.groupby("feature")}
    rows = []
    fdr_on = any("fdr" in f for f in m["features"])
    for f in m["features"]:
        by_check = f.get("check_status") or {}
        drift_status = by_check.get("feature_drift", GREY)
        rows.append(
            {
                # the drift check's own status beside its numbers (issue 14); the other checks
                # of the feature in one column, told in full on the Data quality tab
                "status": f"{fmt.GLYPH[drift_status]} {fmt.WORD[drift_status]}",
                "feature": f["feature"],
                "kind": f["kind"],
                "PSI": f.get("psi"),
                "importance": f.get("importance"),
                "PSI × importance": f.get("drift_importance"),
                "JS": f.get("js"),
                "KS": f.get("ks"),
                "Wasserstein": f.get("wasserstein"),
                "chi² p": f.get("chi2_p"),
                **({"FDR q": (f.get("fdr") or {}).get("q")} if fdr_on else {}),
                "PSI per day": spark.get(f["feature"], []),
                "quality": quality_summary(by_check),
            }
        )
    pd_ = m.get("prediction_drift")
    if pd_:
        on = pd_.get("on") or "prediction"
        pchk = next((c for c in m.get("checks") or [] if c["check"] == "prediction_drift"), {})
        p_status = pchk.get("status", GREY)
        rows.append(
            {
                "status": f"{fmt.GLYPH[p_status]} {fmt.WORD[p_status]}",
                "feature": on,
                "kind": "model output",
                "PSI": pd_.get("psi"),
                "JS": None,
                "KS": None,
                "Wasserstein": None,
                "chi² p": None,
                **({"FDR q": None} if fdr_on else {}),
                "PSI per day": spark.get(on, []),
                "quality": "",
            }
        )
    table = pd.DataFrame(rows)
    for col in ("PSI", "importance", "PSI × importance", "JS", "KS", "Wasserstein", "chi² p") + (
        ("FDR q",) if fdr_on else ()
    ):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    # "drifted AND important" first (lib/judge/importance.py); the model output after its features' ties
    # red, then yellow features first; within a status, PSI × importance (drifted AND important)
    table["_rank"] = [_ROW_RANK.get(s, 2 if f != "model output" else 3) for s, f in zip(table["status"], table["kind"])]
    table = table.sort_values(
        ["_rank", "PSI × importance", "PSI"], ascending=[True, False, False], na_position="last"
    ).drop(columns="_rank")
    table = table.reset_index(drop=True)
    st.caption(
        "Per feature over the last 7 days against the reference (training-time) data. "
        "PSI and JS on the reference's bins; KS and Wasserstein (÷ reference std) on raw values. "
        "Importance: the feature's share of the model's importance on the reference (permutation importance "
        "of a surrogate, or the spec's weights); rows are ranked red, then yellow, then by PSI × importance: drifted and important first. "
        "Select a row to see its distributions."
    )
    numbers = {
        "PSI": "{:.3f}",
        "importance": "{:.0%}",
        "PSI × importance": "{:.4f}",
        "JS": "{:.3f}",
        "KS": "{:.3f}",
        "Wasserstein": "{:.3f}",
        "chi² p": "{:.2g}",
    }
    if fdr_on:
        numbers["FDR q"] = "{:.2g}"
        gone = [f["feature"] for f in m["features"] if (f.get("fdr") or {}).get("removed")]
        st.caption(
            "FDR q: the feature's χ² p-value adjusted (Benjamini–Hochberg) over the fleet's drift tests; a PSI flag "
            "stands only when q ≤ α (policy `fdr`). "
            + (f"Removed as not significant: **{', '.join(gone)}**." if gone else "No finding of this model removed.")
        )
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
            "status": st.column_config.TextColumn(
                "Drift", width="small", help="The feature_drift check's status (PSI against its thresholds)"
            ),
            "quality": st.column_config.TextColumn(
                "Other checks",
                width="medium",
                help="The feature's worst data-quality check (missing, unseen values, out of range, schema): "
                "details on the Data quality tab",
            ),
            # number formats come from the Styler (so that a missing value reads "–", not "None")
            "importance": st.column_config.Column(
                "importance",
                width="small",
                help="The feature's share of the model's importance on the reference (sums to 100%)",
            ),
            "PSI × importance": st.column_config.Column(
                "PSI × importance", help="Drifted AND important: the rows' order within a status"
            ),
            **{c: st.column_config.Column(c, width="small") for c in ("PSI", "JS", "KS", "Wasserstein", "chi² p")},
            "PSI per day": st.column_config.LineChartColumn(
                "PSI per day", y_min=0, width="small", help="Each day's data vs the reference, last 30 days"
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
                layout(
                    fig,
                    barmode="group",
                    title=dict(text=title, font=dict(size=13)),
                    yaxis_tickformat=".0%",
                    xaxis_type="category",
                    xaxis_tickangle=-35,
                )
                st.plotly_chart(fig, config=FIG_CFG, key="dist_chart")
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
            thresholds(fig, m, check)
            layout(fig, title=dict(text="PSI per day", font=dict(size=13)), yaxis_rangemode="tozero")
            st.plotly_chart(fig, config=FIG_CFG, key="psi_chart")


def multivariate_section(ctx: Context, model_id: str) -> None:
    """Multivariate drift on demand: a domain classifier's cross-validated AUC, reference vs 7 days."""
    st.markdown("##### Multivariate drift")
    key = f"mv_run_{model_id}"
    if st.button(
        "Run the domain classifier", key=f"mv_button_{model_id}", help="A few seconds; cached per data version"
    ):
        st.session_state[key] = True
    if not st.session_state.get(key):
        st.caption(
            "Can a classifier tell the last 7 days' rows from the reference's? It catches joint shifts that no "
            "single feature's PSI shows (two features whose correlation flipped). `python -m lib multivariate "
            f"--model {model_id}` gives the same JSON."
        )
        return
    with guarded(), st.spinner("Training the domain classifier…"):
        out = loaders.load_multivariate(ctx.path, ctx.version, ctx.as_of, model_id)
    if out.get("auc") is None:
        st.info("Not enough rows in the reference or the last 7 days to train a domain classifier.")
        return
    a, b = st.columns([1, 2])
    status = out.get("status") or "grey"
    a.metric(
        "Domain classifier ROC AUC",
        f"{out['auc']:.3f}",
        help="5-fold cross-validated; 0.5: the two samples look alike; 1: fully separable",
    )
    a.markdown(f"{fmt.GLYPH[status]} **{fmt.WORD[status]}** (hint: yellow ≥ 0.60, red ≥ 0.75)")
    folds = out.get("fold_aucs") or []
    if folds:
        a.caption(f"Folds: {min(folds):.3f} – {max(folds):.3f} ({len(folds)}-fold cross-validation)")
    a.caption(f"{out['n_reference']:,} reference rows vs {out['n_current']:,} rows of the last 7 days (sampled)")
    a.caption(
        f"Computed {fmt.when(out.get('computed_at'))} for as of {fmt.when(out.get('as_of'))}, data version "
        f"{out.get('data_version')}{' (cached)' if out.get('cached') else ''}; the model report shows it too."
    )
    feats = pd.DataFrame(out["features"]).rename(
        columns={"importance": "AUC drop when permuted", "std": "± std (5 repeats)"}
    )
    b.dataframe(
        feats.style.format({"AUC drop when permuted": "{:.3f}", "± std (5 repeats)": "{:.3f}"}),
        hide_index=True,
        width="stretch",
        key=f"mv_features_{model_id}",
    )
    b.caption("The features that separate the two samples most (permutation importance on held-out rows).")
