"""How values are written for people: status glyphs and words, check and task labels, percentages,
numbers, times, a reason in a few words, and how many days a model has held its status."""

from __future__ import annotations

import math

import pandas as pd

from lib.judge.status import GREEN, GREY, RED, YELLOW

# Status glyphs that every font has (emoji need a color-emoji font, often missing on servers).
GLYPH = {RED: "✖", YELLOW: "▲", GREY: "?", GREEN: "✔"}
WORD = {RED: "Red", YELLOW: "Yellow", GREY: "Grey", GREEN: "Green"}
MEANING = {RED: "broken", YELLOW: "needs a look", GREY: "not enough data", GREEN: "healthy"}
CHECK_LABEL = {
    "schema": "Schema",
    "freshness": "Freshness",
    "volume": "Volume",
    "missing": "Missing values",
    "unseen_categories": "Unseen values",
    "out_of_range": "Out of range",
    "feature_drift": "Feature drift",
    "prediction_drift": "Prediction drift",
    "performance_estimate": "Estimated performance",
    "performance": "Performance",
}
TASK_LABEL = {
    "binary_classification": "binary classification",
    "multiclass_classification": "multiclass classification",
    "regression": "regression",
}


def pct(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = 100 * value
    if 0 < abs(v) < 10**-digits:
        return f"{'<' if v > 0 else '>-'}{10**-digits:g}%"
    return f"{v:.{digits}f}%"


def num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def when(iso: str | None) -> str:
    """'2026-11-26 23:00 UTC' from an ISO timestamp."""
    if not iso:
        return "–"
    ts = pd.Timestamp(iso)
    ts = ts.tz_convert("UTC") if ts.tzinfo else ts
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def short_reason(reason: dict | None, model: dict | None = None) -> str:
    """A reason in a few words, for a tile or a table cell."""
    if reason is None:
        if model is not None and model.get("message"):  # "no inference logged yet"
            return model["message"][:1].upper() + model["message"][1:]
        if model is not None and model.get("status") == GREY:
            return "Not enough data to judge"
        return "All checks pass"
    check, feat, value = reason["check"], reason.get("feature"), reason.get("value")
    if check == "unseen_categories":
        return f"Unseen {feat} values: {pct(value)} of rows"
    if check == "feature_drift":
        return f"Drift in {feat}: PSI {num(value)}"
    if check == "prediction_drift":
        return f"Prediction drift: PSI {num(value)}"
    if check == "missing":
        return f"{feat} missing: +{pct(value)}"
    if check == "out_of_range":
        return f"{feat} out of range: {pct(value)}"
    if check == "performance":
        return f"Performance {pct(value)} worse"
    if check == "volume":
        return f"Volume at {pct(value, 0)} of usual"
    if check == "freshness":
        return "No data logged yet" if value is None else f"No data for {value:.0f} h"
    if check == "schema":
        return f"Schema: column {feat} " + ("missing" if reason.get("status") == RED else "unexpected")
    return CHECK_LABEL.get(check, check)


def streak(model: dict) -> int:
    """How many trailing days of the timeline the model has had its current status."""
    days = 0
    for point in reversed(model.get("timeline") or []):
        if point["status"] != model["status"]:
            break
        days += 1
    return days
