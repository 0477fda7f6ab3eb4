"""The performance check's input: each model's primary metric per window over its labelled rows,
with the reference's value, vectorized over windows and models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from lib import metrics
from lib.store.read import Reader


def performance_info(models: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """Each model's primary metric's name and its value on the active reference (model_id,
    metric, reference): known whether or not a window holds labelled rows."""
    snap_ids = snapshots["model_id"].tolist()
    info = pd.DataFrame({"model_id": models["model_id"].to_numpy()})
    info["metric"] = [
        metrics.primary_metric_name(t, "score" in s.get("columns", {})) for t, s in zip(models["task"], models["spec"])
    ]
    ref_perf = dict(zip(snap_ids, map(json.loads, snapshots["performance_json"].tolist())))
    info["reference"] = [ref_perf.get(m, {}).get(metric) for m, metric in zip(info["model_id"], info["metric"])]
    return info


def performance_by_window(reader: Reader, windows, models: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """Primary metric per (wid, model) over the labelled rows of each window, with the reference's.

    Only the (wid, model) pairs with labelled rows; performance_info has every model's metric.
    Vectorized over windows and models (a loop per group is too slow for a fleet timeline).
    """
    snap_ids = snapshots["model_id"].tolist()
    info = performance_info(models, snapshots)
    positive = dict(zip(snap_ids, snapshots["positive_class"].tolist()))
    parts = []
    kind = dict(zip(info["model_id"], info["metric"]))
    wanted = set(kind.values())
    reg = reader.regression_sums(windows) if "rmse" in wanted else pd.DataFrame()
    if len(reg):
        reg = reg[reg["model_id"].map(kind) == "rmse"]
        current = [
            metrics.regression_metrics_from_sums(*v)["rmse"] for v in reg[["n", "sse", "sae", "sy", "syy"]].to_numpy()
        ]
        parts.append(
            pd.DataFrame({"wid": reg["wid"], "model_id": reg["model_id"], "current": current, "n_labeled": reg["n"]})
        )
    auc_models = [m for m, k in kind.items() if k == "roc_auc"]
    if auc_models:
        parts.append(roc_auc_by_window(reader, windows, set(auc_models)))
    cls = reader.confusion(windows) if wanted & {"f1", "macro_f1"} else pd.DataFrame()
    if len(cls):
        for metric, binary in (("f1", True), ("macro_f1", False)):
            part = cls[cls["model_id"].map(kind) == metric]
            if part.empty:
                continue
            pos = part["model_id"].map(positive) if binary else None
            f1 = metrics.f1_grouped(part, ["wid", "model_id"], positive=pos).rename("current")
            n = part.groupby(["wid", "model_id"])["n"].sum().rename("n_labeled")
            parts.append(pd.concat([f1, n], axis=1).reset_index())
    if not parts:
        return pd.DataFrame(columns=["wid", "model_id", "metric", "reference", "current", "n_labeled"])
    out = pd.concat(parts, ignore_index=True).merge(info, on="model_id", how="left")
    return out[["wid", "model_id", "metric", "reference", "current", "n_labeled"]]


def roc_auc_by_window(reader: Reader, windows, wanted: set[str]) -> pd.DataFrame:
    """Exact ROC AUC per (wid, model): one read of the scored labels, one sort per model.

    The windows' bounds cut time into segments (metrics.roc_auc_windows), so a timeline of
    ~40 overlapping windows costs about as much as one long window.
    """
    lo = min(w[1] for w in windows)
    hi = max(w[2] for w in windows)
    ids = sorted(wanted)
    rows = reader.scored_labels(lo, hi, ids)
    wids = np.array([w[0] for w in windows])
    los = np.array([w[1] for w in windows], dtype="datetime64[us]")
    his = np.array([w[2] for w in windows], dtype="datetime64[us]")
    model = np.asarray(rows["model"])
    order = np.argsort(model, kind="stable")  # rows come model by model in chunks: cheap
    bounds = np.searchsorted(model[order], np.arange(len(ids) + 1))
    hour = np.asarray(rows["hour"], dtype="datetime64[us]")
    out_model, out_auc, out_n = [], [], []
    for k in np.flatnonzero(np.diff(bounds)):
        idx = order[bounds[k] : bounds[k + 1]]
        auc, n = metrics.roc_auc_windows(
            rows["score"][idx], rows["n_pos"][idx], rows["n_neg"][idx], hour[idx], los, his
        )
        out_model.append(k)
        out_auc.append(auc)
        out_n.append(n)
    if not out_model:
        return pd.DataFrame(columns=["wid", "model_id", "current", "n_labeled"])
    frame = pd.DataFrame(
        {
            "wid": np.tile(wids, len(out_model)),
            "model_id": np.repeat(np.array(ids, dtype=object)[out_model], len(wids)),
            "current": np.concatenate(out_auc),
            "n_labeled": np.concatenate(out_n),
        }
    )
    return frame[frame["n_labeled"] > 0]
