"""The model page's segment picker (issue 13): "All rows" or one value of a segment feature; for
a segment, the Drift / Data quality / Performance tabs show that segment's tables, recomputed
from the segment profiles (lib/judge/segments.py), judged against the model's thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from lib.judge.status import GREY, judge
from lib.ui import formatting as fmt
from lib.ui import loaders

if TYPE_CHECKING:
    from lib.ui.frame import Context

ALL_ROWS = "All rows"


def _segments(ctx: Context, model_id: str, m: dict) -> list[dict[str, Any]]:
    if "segments" in m:
        return m["segments"]
    return loaders.load_segments(ctx.path, ctx.version, ctx.as_of, model_id, m["task"])


def picker(ctx: Context, model_id: str, m: dict) -> dict[str, Any] | None:
    """The picker (only for a model with segment features); the chosen segment or None (all rows)."""
    blocks = _segments(ctx, model_id, m)
    if not blocks:
        return None
    options, chosen = [ALL_ROWS], {}
    for block in blocks:
        for v in block["values"]:
            label = f"{block['feature']} = {v['value']} ({v['rows_7d']:,} rows, 7 d)"
            options.append(label)
            chosen[label] = {"feature": block["feature"], **v}
    named = [r["segment"] for r in m["reasons"] if r.get("segment")]
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    with left:
        pick = st.selectbox(
            "Segment",
            options,
            key="segment",
            help="Recompute the Drift, Data quality and Performance tables for the rows of one segment: "
            "a value among the reference's most frequent ones, (other) or (missing)",
        )
    with right:
        if named:
            s = named[0]
            st.caption(
                f"The first reason that a segment explains is concentrated in **{s['feature']} = {s['value']}** "
                f"({fmt.pct(s['share_of_problem'], 0)} of the problem)."
            )
    return chosen.get(pick)


def _thresholds(m: dict, check: str) -> tuple[float, float]:
    c = next((c for c in m.get("checks", []) if c["check"] == check), None)
    if c is None:
        return float("nan"), float("nan")
    red = c.get("red")
    return float(c["yellow"]), float("nan") if red is None else float(red)


def _status(m: dict, check: str, values, direction: str = "above") -> list[str]:
    yellow, red = _thresholds(m, check)
    vals = pd.Series(values, dtype="float64")
    out = judge(vals.to_numpy(), yellow, red, direction, grey=vals.isna().to_numpy())
    return [f"{fmt.GLYPH[s]} {fmt.WORD[s]}" if s != GREY else "–" for s in out]


def _caption(seg: dict) -> None:
    st.caption(
        f"Segment **{seg['feature']} = {seg['value']}**: {seg['rows_24h']:,} rows in the last 24 h, "
        f"{seg['rows_7d']:,} in 7 days. Statuses use the model's thresholds of each check."
    )


def drift(m: dict, seg: dict) -> None:
    _caption(seg)
    feats = pd.DataFrame(seg["features"])
    table = pd.DataFrame(
        {
            "status": _status(m, "feature_drift", feats["psi"]),
            "feature": feats["feature"],
            "kind": feats["kind"],
            "psi": feats["psi"],
        }
    )
    pred = seg["prediction_drift"]
    table.loc[len(table)] = [
        _status(m, "prediction_drift", [pred["psi"]])[0],
        f"({pred['on']})",
        "output",
        pred["psi"],
    ]
    st.dataframe(
        table.sort_values("psi", ascending=False, na_position="last"),
        hide_index=True,
        width="stretch",
        placeholder="–",
        key="segment_drift_table",
        column_config={
            "status": st.column_config.TextColumn("Drift"),
            "feature": st.column_config.TextColumn("Feature"),
            "kind": st.column_config.TextColumn("Kind"),
            "psi": st.column_config.NumberColumn("PSI (7 d)", format="%.3f"),
        },
    )


def quality(m: dict, seg: dict) -> None:
    _caption(seg)
    feats = pd.DataFrame(seg["features"])
    for col in ("unseen_share", "out_of_range_share", "missing_increase"):
        if col not in feats:
            feats[col] = float("nan")
    table = pd.DataFrame(
        {
            "feature": feats["feature"],
            "missing": _status(m, "missing", feats["missing_increase"]),
            "missing_share": feats["missing_share"],
            "unseen": _status(m, "unseen_categories", feats["unseen_share"]),
            "unseen_share": feats["unseen_share"],
            "out_of_range": _status(m, "out_of_range", feats["out_of_range_share"]),
            "out_of_range_share": feats["out_of_range_share"],
        }
    )
    pct = lambda label: st.column_config.NumberColumn(label, format="percent")  # noqa: E731
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        placeholder="–",
        key="segment_quality_table",
        column_config={
            "feature": st.column_config.TextColumn("Feature"),
            "missing": st.column_config.TextColumn("Missing"),
            "unseen": st.column_config.TextColumn("Unseen values"),
            "out_of_range": st.column_config.TextColumn("Out of range"),
            "missing_share": pct("Missing 24 h"),
            "unseen_share": pct("Unseen 24 h"),
            "out_of_range_share": pct("Out of range 24 h"),
        },
    )


def performance(m: dict, seg: dict) -> None:
    _caption(seg)
    perf, whole = seg.get("performance"), m.get("performance") or {}
    if not perf:
        st.info("No labelled rows of this segment in the last 7 days.")
        return
    ref = whole.get("reference")
    table = pd.DataFrame(
        {
            "metric": [perf["metric"]],
            "this segment": [perf["current"]],
            "all rows": [whole.get("current")],
            "reference": [ref],
            "labelled rows": [perf["n_labeled"]],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", placeholder="–", key="segment_perf_table")
