"""Reads of one model's segment profiles (issue 13; tables in lib/store/seg_profiles.py).

Every read sums the hourly segment rows of a window (start, end] per segment (seg_slot,
seg_code) and cell. Only flagged models with segment features, or one model's detail, call
these: the fleet-wide cube never reads segment tables (lib/judge/segments.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from lib.store.reprofile import active_reference


@dataclass
class SegmentProfiles:
    """One model's segment sums over the 24-hour and 7-day windows, and what judging them needs."""

    seg_features: dict[int, str]  # seg_slot -> feature name
    features: pd.DataFrame  # slot, feature, kind (the spec's features, in order)
    ref: dict  # slot -> RefColumn (active reference)
    positive: str | None
    reference_performance: dict
    rows24: pd.DataFrame  # seg_slot, seg_code, seg_value, n
    rows7: pd.DataFrame
    qual24: pd.DataFrame  # seg_slot, seg_code, slot, n_null, n_below, n_above, n_inf
    cat24: pd.DataFrame  # seg_slot, seg_code, slot, value, n
    cat7: pd.DataFrame
    num7: pd.DataFrame  # seg_slot, seg_code, slot, bin, n
    cls7: pd.DataFrame  # seg_slot, seg_code, label, prediction, n
    auc7: pd.DataFrame  # seg_slot, seg_code, score, n_pos, n_neg
    reg7: pd.DataFrame  # seg_slot, seg_code, n, sse, sae, sy, syy


_SEG = "seg_slot, seg_code"


def _sum(con, table: str, model_id: str, start, end, keys: str, values: str) -> pd.DataFrame:
    group = f"{_SEG}, {keys}" if keys else _SEG
    return con.execute(
        f"SELECT {group}, {values} FROM {table} WHERE model_id = ? AND hour > ? AND hour <= ? "
        f"GROUP BY {group} ORDER BY {group}",
        [model_id, start, end],
    ).df()


def _rows(con, model_id: str, start, end) -> pd.DataFrame:
    return con.execute(
        f"SELECT {_SEG}, any_value(seg_value) AS seg_value, sum(n) AS n FROM prof_seg_rows "
        f"WHERE model_id = ? AND hour > ? AND hour <= ? GROUP BY {_SEG} ORDER BY {_SEG}",
        [model_id, start, end],
    ).df()


def stored_spec(con: duckdb.DuckDBPyConnection, model_id: str) -> dict:
    """A model's stored spec as a mapping ({} for an unknown model)."""
    rows = con.execute("SELECT spec_json FROM models WHERE model_id = ?", [model_id]).fetchall()
    return json.loads(rows[0][0]) if rows else {}


def segment_profiles(
    con: duckdb.DuckDBPyConnection, model_id: str, segments: dict[str, int], as_of: pd.Timestamp
) -> SegmentProfiles | None:
    """The model's segment sums as of `as_of` (None: no segment feature, or no reference yet)."""
    feats = con.execute(
        "SELECT slot, feature, kind FROM features WHERE model_id = ? AND position IS NOT NULL ORDER BY position",
        [model_id],
    ).df()
    seg_features = {int(s): f for s, f in zip(feats["slot"], feats["feature"]) if f in segments}
    snap, positive, ref = active_reference(con, model_id)
    if not seg_features or snap is None:
        return None
    perf = con.execute(
        "SELECT performance_json FROM snapshots WHERE model_id = ? AND snapshot_id = ?", [model_id, snap]
    ).fetchall()
    end = pd.Timestamp(as_of).to_pydatetime()
    d1 = (pd.Timestamp(as_of) - pd.Timedelta(hours=24)).to_pydatetime()
    d7 = (pd.Timestamp(as_of) - pd.Timedelta(days=7)).to_pydatetime()
    q = "sum(n_null) AS n_null, sum(n_below) AS n_below, sum(n_above) AS n_above, sum(n_inf) AS n_inf"
    return SegmentProfiles(
        seg_features=seg_features,
        features=feats,
        ref=ref,
        positive=positive,
        reference_performance=json.loads(perf[0][0]) if perf else {},
        rows24=_rows(con, model_id, d1, end),
        rows7=_rows(con, model_id, d7, end),
        qual24=_sum(con, "prof_seg_qual", model_id, d1, end, "slot", q),
        cat24=_sum(con, "prof_seg_cat", model_id, d1, end, "slot, value", "sum(n) AS n"),
        cat7=_sum(con, "prof_seg_cat", model_id, d7, end, "slot, value", "sum(n) AS n"),
        num7=_sum(con, "prof_seg_num", model_id, d7, end, "slot, bin", "sum(n) AS n"),
        cls7=_sum(con, "prof_seg_cls", model_id, d7, end, "label, prediction", "sum(n) AS n"),
        auc7=_sum(con, "prof_seg_auc", model_id, d7, end, "score", "sum(n_pos) AS n_pos, sum(n_neg) AS n_neg"),
        reg7=_sum(
            con,
            "prof_seg_reg",
            model_id,
            d7,
            end,
            "",
            "sum(n) AS n, sum(sse) AS sse, sum(sae) AS sae, sum(sy) AS sy, sum(syy) AS syy",
        ),
    )
