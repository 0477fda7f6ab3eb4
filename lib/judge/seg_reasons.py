"""Segments in the evaluate JSON (issue 13): a flagged reason's `segment` block and message
phrase, and one model's `segments` detail block. Only models with a segment feature that are
yellow or red (or detailed) read their segment profiles; the others cost nothing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lib.judge.messages import _pct
from lib.judge.segments import COUNT_CHECKS, SegmentJudge
from lib.judge.status import RED, YELLOW
from lib.store.seg_read import segment_profiles, stored_spec

EXPLAINED = (*COUNT_CHECKS, "feature_drift", "prediction_drift", "performance")
_WHAT = {
    "missing": "extra missing values (above the reference's share)",
    "unseen_categories": "unseen values",
    "out_of_range": "out-of-range values",
}


def spec_segments(spec: dict) -> dict[str, int]:
    """feature -> top N of a stored spec's segment features."""
    return {
        f: int(v["segment"]) if v["segment"] is not True else 10
        for f, v in (spec.get("features") or {}).items()
        if isinstance(v, dict) and v.get("segment")
    }


def phrase(check: str, seg: dict[str, Any], metric: str | None = None) -> str:
    """The message's clause naming the segment: '; mostly in country = FR: …'."""
    where = f"mostly in {seg['feature']} = {seg['value']}"
    inside, elsewhere = seg["value_in_segment"], seg["value_elsewhere"]
    if check in COUNT_CHECKS:
        rest = "none" if not elsewhere else _pct(elsewhere)
        return (
            f"; {where}: {_pct(seg['share_of_problem'])} of the {_WHAT[check]} "
            f"({_pct(inside)} of its rows vs {rest} elsewhere)"
        )
    if check in ("feature_drift", "prediction_drift"):
        rest = "n/a" if elsewhere is None else f"{elsewhere:.2f}"
        return f"; {where}: PSI {inside:.2f} there, {rest} without it"
    rest = "n/a" if elsewhere is None else f"{elsewhere:.3g}"
    return f"; {where}: {metric} {inside:.3g} there vs {rest} elsewhere"


def attach_segments(con, models: pd.DataFrame, out_models: list[dict], as_of, detail: bool) -> None:
    """Add `segment` to the flagged reasons of models with segment features (and, with `detail`,
    the model's `segments` block). `models`: the fleet's models (model_id, spec)."""
    specs = dict(zip(models["model_id"], models["spec"]))
    for m in out_models:
        segs = spec_segments(specs.get(m["model_id"]) or {})
        if not segs or not (detail or m["status"] in (RED, YELLOW)):
            continue
        profiles = segment_profiles(con, m["model_id"], segs, as_of)
        if profiles is None:
            continue
        has_score = "score" in (specs[m["model_id"]].get("columns") or {})
        judge = SegmentJudge(profiles, task=m["task"], has_score=has_score)
        for reason in m["reasons"]:
            if reason["check"] not in EXPLAINED:
                continue
            on_slot = (-2 if has_score else -1) if reason["check"] == "prediction_drift" else None
            seg = judge.explain(reason["check"], reason["feature"], on_slot)
            if seg is not None:
                reason["segment"] = seg
                reason["message"] += phrase(reason["check"], seg, judge.metric)
        if detail:
            m["segments"] = judge.detail()


def model_segments(store, model_id: str, as_of, task: str) -> list[dict[str, Any]]:
    """One model's `segments` block on its own (the model page, when its evaluation came from the
    fleet's, which leaves the detail out). [] for a model without segment features."""
    with store.read() as con:
        spec = stored_spec(con, model_id)
        segs = spec_segments(spec)
        profiles = segment_profiles(con, model_id, segs, as_of) if segs else None
    if profiles is None:
        return []
    has_score = "score" in (spec.get("columns") or {})
    return SegmentJudge(profiles, task=task, has_score=has_score).detail()
