"""Segment profiles (issue 13): the hourly profiles again, per value of a segment feature.

A categorical feature marked `segment: true | N` in the spec (lib/spec.py) splits every row into
one segment: the value's rank among the active reference's N most frequent values (0 … N−1,
ties in the reference profile's stored order), SEG_OTHER (-1) for any other non-NULL value (a rare
reference value or one the reference never saw), or SEG_MISSING (-2) for NULL. So a segment
feature keeps at most N + 2 segments, whatever its cardinality (docs/spec.md).

Each segment's rows are profiled by the very functions that profile all rows
(lib/store/profiles.py), and the hourly frames are kept with (seg_slot, seg_code) in front:
the per-segment counts are by construction the unsegmented counts of that subset. Only hours are
kept (no day roll-up): segment tables serve the detail of one flagged model, not the fleet cube.
Before the model has a reference there is no top-N: segment profiles wait for it, as drift bins do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.store import profiles as profile

SEG_OTHER = -1
SEG_MISSING = -2
# unsegmented table -> its segment table (hourly tables only)
SEG_TABLES = {
    "prof_num_h": "prof_seg_num",
    "prof_cat_h": "prof_seg_cat",
    "prof_qual_h": "prof_seg_qual",
    "prof_cls": "prof_seg_cls",
    "prof_auc": "prof_seg_auc",
    "prof_reg": "prof_seg_reg",
}
SEG_PERF_TABLES = ("prof_seg_cls", "prof_seg_auc", "prof_seg_reg")
SEG_PROFILE_TABLES = ("prof_seg_rows", *SEG_TABLES.values())


def segment_slots(spec, slots: dict[str, tuple[int, str]]) -> dict[int, int]:
    """seg_slot -> top N of the spec's segment features that have a stored column."""
    return {slots[f][0]: top for f, top in spec.segments.items() if f in slots}


def top_values(ref: dict | None, seg_slot: int, top: int) -> tuple[str, ...] | None:
    """The reference's `top` most frequent values of a segment feature (None: no reference yet)."""
    rc = ref.get(seg_slot) if ref is not None else None
    if rc is None or rc.categories is None:
        return None
    return tuple(rc.categories[:top])


def segment_codes(values: pd.Series, top: tuple[str, ...]) -> np.ndarray:
    """Each row's segment: its value's rank in `top`, SEG_OTHER, or SEG_MISSING (NULL).
    Values compare as text, as categorical values do everywhere (DESIGN.md, Values)."""
    null = values.isna().to_numpy()
    text = values.astype(object).where(~null, "").astype(str).to_numpy(dtype=object)
    rank = pd.Index(list(top), dtype=object).get_indexer(text) if len(top) else np.full(len(text), -1)
    return np.where(null, SEG_MISSING, np.where(rank >= 0, rank, SEG_OTHER)).astype("int64")


def segment_label(code: int, value: str | None) -> str:
    """How a segment reads: its value, `(other)` or `(missing)`."""
    return "(missing)" if code == SEG_MISSING else "(other)" if code == SEG_OTHER else str(value)


def profile_segments(
    rows: pd.DataFrame,
    *,
    segments: dict[int, int],
    ref: dict | None,
    features: dict[int, str],
    task: str,
    positive_class: str | None,
    has_score: bool,
    only_performance: bool = False,
) -> dict[str, pd.DataFrame]:
    """The segment tables' frames (without model_id) of `rows` (as profile_inference takes them).

    `only_performance`: the performance tables alone (late labels re-profile only those)."""
    out: dict[str, list[pd.DataFrame]] = {}
    for seg_slot, top in segments.items():
        values = top_values(ref, seg_slot, top)
        if values is None or f"f{seg_slot}" not in rows.columns:
            continue
        codes = segment_codes(rows[f"f{seg_slot}"], values)
        for code in np.unique(codes).tolist():
            part = rows[codes == code]
            if only_performance:
                frames = profile.profile_performance(
                    part, task=task, positive_class=positive_class, has_score=has_score
                )
            else:
                frames = profile.profile_inference(
                    part,
                    features=features,
                    task=task,
                    ref=ref,
                    positive_class=positive_class,
                    has_score=has_score,
                    hourly_only=True,
                )
                n = part.groupby("hour", sort=True).size().rename("n").reset_index()
                frames["prof_seg_rows"] = n.assign(seg_value=values[code] if code >= 0 else None)
            for table, frame in frames.items():
                name = table if table == "prof_seg_rows" else SEG_TABLES.get(table)
                if name is None or frame is None or frame.empty:
                    continue
                tagged = frame.copy()
                tagged.insert(1, "seg_code", np.int32(code))
                tagged.insert(1, "seg_slot", np.int32(seg_slot))
                out.setdefault(name, []).append(tagged)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in out.items()}
