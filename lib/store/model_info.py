"""One model's static facts, read first by every drill-down read: task, spec, features (by slot),
the active reference snapshot and its reference profiles."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ModelInfo:
    model_id: str
    task: str
    spec: dict
    features: pd.DataFrame  # slot, feature, kind, position
    snapshot: dict | None  # active snapshot row
    ref: dict[int, dict] = field(default_factory=dict)  # slot -> ref_profile row

    def slot_of(self, feature: str) -> int | None:
        hit = self.features[self.features["feature"] == feature]
        return int(hit["slot"].iloc[0]) if len(hit) else None

    def feature_names(self) -> dict[int, str]:
        return dict(zip(self.features["slot"].astype(int), self.features["feature"]))


def _model_info(con, model_id: str) -> ModelInfo:
    row = con.execute("SELECT task, spec_json FROM models WHERE model_id = ?", [model_id]).fetchall()
    if not row:
        raise KeyError(model_id)
    task, spec_json = row[0]
    feats = con.execute(
        "SELECT slot, feature, kind, position FROM features WHERE model_id = ? AND position IS NOT NULL "
        "ORDER BY position",
        [model_id],
    ).df()
    snap = con.execute("SELECT * FROM snapshots WHERE model_id = ? ORDER BY snapshot_id DESC LIMIT 1", [model_id]).df()
    snapshot = snap.iloc[0].to_dict() if len(snap) else None
    ref: dict[int, dict] = {}
    if snapshot is not None:
        prof = con.execute(
            "SELECT * FROM ref_profile WHERE model_id = ? AND snapshot_id = ?", [model_id, int(snapshot["snapshot_id"])]
        ).df()
        for rec in prof.to_dict("records"):
            ref[int(rec["slot"])] = rec
    return ModelInfo(model_id, task, json.loads(spec_json), feats, snapshot, ref)
