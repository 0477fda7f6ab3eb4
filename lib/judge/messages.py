"""The one-sentence message of each reason: what, where, how much, against what threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from lib.judge.windows import iso

if TYPE_CHECKING:
    from lib.judge.assemble import Assembler


def _pct(x: float) -> str:
    if x is None:
        return "n/a"
    p = 100 * x
    return f"{p:.0f}%" if p >= 10 else (f"{p:.1f}%" if p >= 0.1 else f"{p:.2f}%")


def message(rec: dict, value: float | None, threshold: float, asm: Assembler) -> str:
    """One sentence a person understands: what, where, how much, against what threshold."""
    check, feat, status = rec["check"], rec.get("feature"), rec["status"]
    at = f"{status} at"
    if check == "unseen_categories":
        values = asm.unseen.get((rec["model_id"], int(rec["slot"])), [])
        names = ", ".join(v["value"] for v in values[:6]) + (", …" if len(values) > 6 else "")
        return f"{_pct(value)} of rows in the last 24h have {feat} values never seen in the reference data ({names})"
    if check == "feature_drift":
        return f"{feat}'s distribution moved (PSI {value:.2f} over 7 days, {at} {threshold:g})"
    if check == "prediction_drift":
        return f"the model's {rec.get('on', 'prediction')} distribution moved (PSI {value:.2f} over 7 days, {at} {threshold:g})"
    if check == "missing":
        ref_share = (rec.get("share") or 0) - (value or 0)
        return (
            f"{feat} is missing in {_pct(rec.get('share'))} of rows in the last 24h, vs {_pct(ref_share)} in the "
            f"reference ({status} at +{_pct(threshold)})"
        )
    if check == "out_of_range":
        lo, hi = rec.get("vmin"), rec.get("vmax")
        rng = f" [{lo:.4g}, {hi:.4g}]" if lo is not None and not pd.isna(lo) else ""
        return f"{_pct(value)} of {feat} values in the last 24h are outside the reference range{rng} ({at} {_pct(threshold)})"
    if check == "performance":
        return (
            f"{rec['metric']} went from {rec['reference']:.3f} (reference) to {rec['current']:.3f} over the last "
            f"7 days: {_pct(value)} worse ({at} {_pct(threshold)})"
        )
    if check == "performance_estimate":
        return (
            f"estimated {rec['metric']} (from the scores, labels not needed) went from {rec['reference']:.3f} "
            f"(reference) to {rec['estimated']:.3f} over the last 7 days: {_pct(value)} worse ({at} {_pct(threshold)})"
        )
    if check == "volume":
        weeks = int(rec.get("baseline_weeks") or 0)
        usual = (
            f"the same 24 hours of the {weeks} previous week{'s' if weeks > 1 else ''} (mean"
            if weeks
            else "the daily mean of the 7 days before ("
        )
        sep = " " if weeks else ""
        return (
            f"{int(rec['rows24'])} rows in the last 24h, {_pct(value)} of {usual}{sep}{rec['baseline']:.0f}; "
            f"{at} {_pct(threshold)})"
        )
    if check == "freshness":
        if value is None:
            return "no inference logged yet"
        return f"no inference for {value:.0f} hours (last at {iso(rec['last_ts'])}; {at} {threshold:g} h)"
    if check == "schema":
        files = ", ".join(rec.get("files") or [])
        if rec.get("problem") == "missing":
            return f"feature column {feat} is missing from inference file {files} (its rows are stored as NULL)"
        return f"inference file {files} has a column {feat} that the spec does not name"
    return f"{check} {status}"
