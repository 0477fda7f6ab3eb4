"""Drift weighted by importance: each feature's importance on the active reference (stored per
snapshot at reference ingest: the spec's `importance:` weights, else permutation importance of a
surrogate model, lib/metrics/importance.py), and the ranking "drifted AND important" first.

Ranking: `drift_importance = PSI (7 days) × normalized importance` (importances as shares that
sum to 1 over the model's features, negatives as 0). The reasons keep DESIGN.md's order (status,
then check, then value ÷ threshold); importance only breaks ties within a check, before the
feature name. The drift table on the model page sorts by drift_importance. The prediction-drift
reason names the feature with the highest drift_importance ("explained mostly by X") when that
feature's PSI reaches the default feature_drift yellow (0.10); else it says no input explains it.
"""

from __future__ import annotations

from typing import Any

from lib import metrics
from lib.judge.policy import CHECKS_BY_NAME
from lib.store.read import Reader

# A feature "explains" prediction drift only if it drifted itself (PSI at the default yellow).
DRIFTED = CHECKS_BY_NAME["feature_drift"].yellow


def load_importance(reader: Reader, model_ids: list[str]) -> dict[str, dict[str, tuple[float, str]]]:
    """Per model: feature -> (normalized importance, source) on the active snapshot."""
    raw = reader.importances(model_ids)
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for m, group in raw.groupby("model_id", sort=False):
        shares = metrics.normalized_importance(dict(zip(group["feature"], group["importance"])))
        source = dict(zip(group["feature"], group["source"]))
        out[m] = {f: (s, source[f]) for f, s in shares.items()}
    return out


def annotate(features: list[dict[str, Any]], importance: dict[str, tuple[float, str]]) -> str | None:
    """Add importance, importance_source and drift_importance to each feature entry; return the
    feature with the highest drift_importance (None without importances or drift)."""
    best, best_value = None, 0.0
    for entry in features:
        share, source = importance.get(entry["feature"], (None, None))
        entry["importance"] = share
        entry["importance_source"] = source
        psi = entry.get("psi")
        entry["drift_importance"] = None if share is None or psi is None else psi * share
        if entry["drift_importance"] is not None and entry["drift_importance"] > best_value:
            best, best_value = entry["feature"], entry["drift_importance"]
    return best


def explain_prediction_drift(reasons: list[dict[str, Any]], features: list[dict[str, Any]], best: str | None) -> None:
    """Append "explained mostly by X" to the prediction-drift reason (and name X in a field)."""
    entry = next((f for f in features if f["feature"] == best), None)
    drifted = entry is not None and entry["psi"] >= DRIFTED
    for r in reasons:
        if r["check"] != "prediction_drift" or best is None:
            continue
        r["explained_by"] = best if drifted else None
        if drifted:
            r["message"] += (
                f"; prediction drift explained mostly by {best} (PSI {entry['psi']:.2f} × importance "
                f"{entry['importance']:.0%})"
            )
        else:
            r["message"] += "; no input feature drifted enough to explain it (has the model or its scoring changed?)"
