"""The performance estimate (CBPE, lib/metrics/cbpe.py) per window, and the `performance_estimate`
check's input: a binary classifier's ROC AUC and F1 estimated from its scores alone, with the
reference's isotonic calibration map, before the labels arrive.

Reads the per-hour score profile (prof_score_h: rows per hour, score and predicted class) and the
active snapshot's calibration knots (ref_calibration); no raw rows. The estimate is computed for
the models whose policy turns the check on (`estimate_performance: 1`) and, for one model's
detail, always (the model page shows it beside the realised metric).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.store.read import Reader

COLUMNS = ["wid", "model_id", "metric", "reference", "estimated", "estimated_f1", "reference_f1", "n_scored"]
REALISED = ["realised_f1", "n_labeled"]


def estimable(models: pd.DataFrame) -> list[str]:
    """Models the estimate applies to: binary classifiers that log a score."""
    return [
        m
        for m, task, spec in zip(models["model_id"], models["task"], models["spec"])
        if task == "binary_classification" and "score" in spec.get("columns", {})
    ]


def estimate_by_window(reader: Reader, windows, model_ids: list[str], snapshots: pd.DataFrame) -> pd.DataFrame:
    """Estimated ROC AUC and F1 per (wid, model) over each window's scored rows, with the reference's."""
    if not model_ids or not windows:
        return pd.DataFrame(columns=COLUMNS + REALISED)
    calib = reader.calibrations(model_ids)
    ids = [m for m in model_ids if m in calib]
    if not ids:
        return pd.DataFrame(columns=COLUMNS + REALISED)
    lo = min(w[1] for w in windows)
    hi = max(w[2] for w in windows)
    scores = reader.scores(lo, hi, ids)
    ref_perf = dict(zip(snapshots["model_id"], map(json.loads, snapshots["performance_json"])))
    hour = scores["hour"].to_numpy(dtype="datetime64[us]")
    score = scores["score"].to_numpy(dtype="float64")
    pred_pos = scores["pred_pos"].to_numpy(dtype=bool)
    weight = scores["n"].to_numpy(dtype="float64")
    rows_of = _rows_by_model(scores["model_id"].to_numpy(dtype=object))
    none = np.array([], dtype="int64")
    out = []
    for m in ids:
        sel = rows_of.get(m, none)
        s, pred, n, h = score[sel], pred_pos[sel], weight[sel], hour[sel]
        p = metrics.calibrate(*calib[m], s)
        ref = ref_perf.get(m, {})
        for wid, start, end in windows:
            w = (h > np.datetime64(pd.Timestamp(start), "us")) & (h <= np.datetime64(pd.Timestamp(end), "us"))
            count = float(n[w].sum())
            auc = metrics.estimated_roc_auc(s[w], p[w], n[w]) if count else np.nan
            f1 = metrics.estimated_f1(p[w], pred[w], n[w]) if count else np.nan
            out.append((wid, m, "roc_auc", ref.get("roc_auc"), auc, f1, ref.get("f1"), count))
    est = pd.DataFrame(out, columns=COLUMNS)
    return est.merge(realised_f1(reader, windows, ids, snapshots), on=["wid", "model_id"], how="left")


def _rows_by_model(model_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Each model's row positions, in row order: one stable sort, not a scan of every row per
    model (a score row per inference row made that models × rows: minutes at 500 models)."""
    codes, uniques = pd.factorize(model_ids)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {m: order[bounds[i] : bounds[i + 1]] for i, m in enumerate(uniques)}


def realised_f1(reader: Reader, windows, ids: list[str], snapshots: pd.DataFrame) -> pd.DataFrame:
    """F1 of the positive class at the model's own predictions over each window's labelled rows
    (the counterpart of the estimated F1 once labels come), with the labelled row count."""
    cls = reader.confusion(windows)
    cls = cls[cls["model_id"].isin(ids)].reset_index(drop=True)
    if cls.empty:
        return pd.DataFrame(columns=["wid", "model_id"] + REALISED)
    positive = dict(zip(snapshots["model_id"], snapshots["positive_class"].astype(str)))
    f1 = metrics.f1_grouped(cls, ["wid", "model_id"], positive=cls["model_id"].map(positive)).rename("realised_f1")
    n = cls.groupby(["wid", "model_id"])["n"].sum().rename("n_labeled")
    return pd.concat([f1, n], axis=1).reset_index()


def estimate_block(est: dict | None, perf: dict[str, Any] | None) -> dict[str, Any] | None:
    """The JSON `performance_estimate` block: estimate, reference, and (once labels came) the
    realised value and the estimate's error (estimated - realised)."""
    if est is None:
        return None

    def num(v) -> float | None:
        return None if v is None or not np.isfinite(float(v)) else float(v)

    realised = perf.get("current") if perf and perf.get("metric") == est["metric"] else None
    estimated = num(est["estimated"])
    estimated_f1 = num(est["estimated_f1"])
    labelled = est.get("n_labeled")
    realised_f1 = num(est.get("realised_f1")) if labelled is not None and pd.notna(labelled) and labelled else None
    return {
        "metric": est["metric"],
        "estimated": estimated,
        "estimated_f1": estimated_f1,
        "reference": num(est["reference"]),
        "reference_f1": num(est["reference_f1"]),
        "loss": num(est.get("value")) if pd.notna(est.get("value")) else None,
        "n_scored": int(est["n_scored"] or 0),
        "realised": num(realised),
        "error": None if estimated is None or num(realised) is None else estimated - float(realised),
        "realised_f1": realised_f1,
        "error_f1": None if estimated_f1 is None or realised_f1 is None else estimated_f1 - realised_f1,
        "method": "CBPE (isotonic calibration on the reference)",
    }


def estimates_at(est: pd.DataFrame, now: pd.DataFrame, wid: int) -> dict[str, dict]:
    """The estimate of each model at one instant, with the check's loss where the check is on."""
    if est.empty:
        return {}
    est = est[est["wid"] == wid]
    loss = now[now["check"] == "performance_estimate"][["model_id", "value"]]
    est = est.merge(loss, on="model_id", how="left")
    return {r["model_id"]: r for r in est.to_dict("records")}


def performance_block(rec: dict | None, num) -> dict[str, Any] | None:
    """The JSON `performance` block (realised metric over the labelled rows); None without labels."""
    if rec is None:
        return None
    return {
        "metric": rec["metric"] if isinstance(rec["metric"], str) else None,
        "reference": num(rec["reference"]),
        "current": num(rec["current"]),
        "n_labeled": int(rec["n_labeled"]) if pd.notna(rec["n_labeled"]) else 0,
        "loss": num(rec["value"]),
    }


def model_estimate(store, model_id: str, as_of: pd.Timestamp, perf: dict | None = None) -> dict[str, Any] | None:
    """One model's estimate over the 7-day window ending at as_of (the model page, whatever the
    policy says), as the JSON block; None for a model it does not apply to."""
    from lib.judge.windows import WEEK

    with store.read() as con:
        reader = Reader(con, [model_id])
        models = reader.models()
        models = models[models["model_id"] == model_id]
        models = models.assign(spec=models["spec_json"].map(json.loads))
        if not estimable(models):
            return None
        snaps = reader.snapshots()
        est = estimate_by_window(reader, [(0, as_of - WEEK, as_of)], [model_id], snaps[snaps["model_id"] == model_id])
    if est.empty:
        return None
    return estimate_block(est.iloc[0].to_dict(), perf)
