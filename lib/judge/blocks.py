"""The features and checks blocks of every model's `evaluate` JSON, built column-wise from the as_of
rows of the check frame (a 10,000-model fleet has 200,000 features: no per-row pandas here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib.judge.policy import CHECK_ORDER, CHECKS_BY_NAME
from lib.judge.status import GREEN, GREY, RED, YELLOW

CHECK_RANK = {c: i for i, c in enumerate(CHECK_ORDER)}
FEATURE_STATUS_CHECKS = ("feature_drift", "missing", "unseen_categories", "out_of_range", "schema")
STATUS_ORDER = {RED: 0, YELLOW: 1, GREEN: 2, GREY: 3}


def nums(values) -> list:
    """_num of each value: finite floats as Python floats, anything else (None, NaN, ±inf) None."""
    x = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="float64")
    return np.where(np.isfinite(x), x.astype(object), None).tolist()


def check_blocks(now: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Per model, every check's status (its worst row's: red, yellow, green, grey, then the
    value farthest past the threshold's side), with the effective thresholds in force."""
    check = now["check"].to_numpy(dtype=object)
    value = now["value"].to_numpy(dtype="float64")
    below = np.isin(check, [c for c in CHECK_RANK if CHECKS_BY_NAME[c].direction == "below"])
    badness = np.where(np.isfinite(value), np.where(below, value, -value), 0.0)
    order = np.lexsort(
        (
            badness,
            now["status"].map(STATUS_ORDER).to_numpy(),
            pd.Series(check).map(CHECK_RANK).to_numpy(),
            pd.factorize(now["model_id"])[0],
        )
    )
    part = now.iloc[order]
    first = ~part.duplicated(["model_id", "check"]).to_numpy()
    part = part[first]
    feature = part["feature"].to_numpy(dtype=object)
    rows = zip(
        part["model_id"].tolist(),
        part["check"].tolist(),
        part["status"].tolist(),
        np.where(pd.isna(feature), None, feature).tolist(),
        nums(part["value"]),
        nums(part["yellow"]),
        nums(part["red"]),
        part["threshold_source"].to_numpy(dtype=object).tolist(),
    )
    blocks: dict[str, list[dict[str, Any]]] = {}
    for m, c, st, feat, v, y, r, src in rows:
        blocks.setdefault(m, []).append(
            {"check": c, "status": st, "feature": feat, "value": v, "yellow": y, "red": r, "threshold_source": src}
        )
    return blocks


def feature_blocks(features: pd.DataFrame, now: pd.DataFrame, js: dict, chi2: dict) -> dict[str, list[tuple]]:
    """Per model, in the spec's order: (name, slot, kind, psi, js, chi2_p, missing_share,
    unseen or out-of-range share, status, each check's status) of each feature, from the as_of rows column-wise.

    A feature's status is the worst of its feature_drift, missing, unseen_categories,
    out_of_range and schema statuses (red, yellow, green), grey if it has none of them.
    """
    feats = features.sort_values(["model_id", "position"])[["model_id", "feature", "slot", "kind"]]
    models, names = feats["model_id"].to_numpy(dtype=object), feats["feature"].to_numpy(dtype=object)
    # Each as_of row's place among the features (-1: not a feature, e.g. an extra column): one
    # lookup, then numpy, instead of a merge per column (each copied every string column).
    keys = pd.MultiIndex.from_arrays([models, names])
    now_check = now["check"].to_numpy(dtype=object)
    now_model, now_key = now["model_id"].to_numpy(dtype=object), now["feature_key"].to_numpy(dtype=object)
    is_feature_check = np.isin(now_check, FEATURE_STATUS_CHECKS)
    place = np.full(len(now), -1, dtype="int64")
    if is_feature_check.any():
        place[is_feature_check] = keys.get_indexer(
            pd.MultiIndex.from_arrays([now_model[is_feature_check], now_key[is_feature_check]])
        )

    def last_per_key(mask: np.ndarray) -> np.ndarray:
        """The rows of `mask` that are the last of their (model_id, feature_key) (a merge's
        drop_duplicates(keep="last")), among the features."""
        rows = np.flatnonzero(mask & (place >= 0))
        _, first_of_reversed = np.unique(place[rows][::-1], return_index=True)
        return rows[::-1][first_of_reversed]

    def column(check: str, source: str) -> np.ndarray:
        out = np.full(len(feats), np.nan)
        if source not in now.columns:  # no row of that check anywhere in the fleet
            return out
        values = now[source].to_numpy()
        out = out.astype(values.dtype) if values.dtype == object else out
        rows = last_per_key(now_check == check)
        out[place[rows]] = values[rows]
        return out

    psi, missing_share = column("feature_drift", "psi"), column("missing", "share")
    unseen_share, out_of_range_share = column("unseen_categories", "value"), column("out_of_range", "value")
    # the last row of a (check, feature) wins, as in a dict keyed by it
    part = now[is_feature_check].assign(place=place[is_feature_check])
    part = part.drop_duplicates(["model_id", "check", "feature_key"], keep="last")
    part = part[part["place"].to_numpy() >= 0]
    rank = np.full(len(feats), STATUS_ORDER[GREY], dtype="int64")
    np.minimum.at(rank, part["place"].to_numpy(), part["status"].map(STATUS_ORDER).to_numpy(dtype="int64"))
    # each check's own status of the feature (the UI shows drift's beside PSI, quality's beside shares)
    per_check: dict[tuple[str, str], dict[str, str]] = {}
    for mid, key, chk, st in zip(*(part[c].tolist() for c in ("model_id", "feature_key", "check", "status"))):
        per_check.setdefault((mid, key), {})[chk] = st
    status = np.array(list(STATUS_ORDER), dtype=object)[rank]
    slots, kinds = feats["slot"].astype(int).tolist(), feats["kind"].to_numpy(dtype=object)
    js_values = nums([js.get(k) for k in zip(models.tolist(), slots)])
    chi2_values = nums([chi2.get(k) for k in zip(models.tolist(), slots)])
    share = np.where(kinds == "categorical", unseen_share.astype(object), out_of_range_share.astype(object))
    rows = zip(
        names.tolist(),
        slots,
        kinds.tolist(),
        nums(psi),
        js_values,
        chi2_values,
        nums(missing_share),
        nums(share),
        status.tolist(),
        [
            {c: d[c] for c in FEATURE_STATUS_CHECKS if c in d}
            for d in (per_check.get(k, {}) for k in zip(models.tolist(), names.tolist()))
        ],
    )
    blocks: dict[str, list[tuple]] = {}
    for m, row in zip(models.tolist(), rows):
        blocks.setdefault(m, []).append(row)
    return blocks
