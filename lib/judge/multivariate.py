"""Multivariate drift on demand for one model: a domain classifier (lib/metrics/multivariate.py)
on the reference's rows against the 7-day window's, cached per (model, as_of, data_version).

The cache is a JSON file beside the store (`<store>.cache/multivariate/`), not a table: a write
to the store bumps its data_version, which is the cache's own key. Any ingest changes the data
version, so a cached result is never stale; old files are left for the operator to clear.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lib import metrics
from lib.errors import UnknownModel
from lib.judge.windows import WEEK, iso
from lib.store.connection import Store
from lib.store.profiles import round_up_hour
from lib.store.read import Reader
from lib.store.samples import feature_samples

YELLOW_AUC, RED_AUC = 0.6, 0.75  # shown as a hint beside the AUC; not a check of the policy


def _cache_path(store: Store, model_id: str, as_of: pd.Timestamp, version: int) -> Path:
    key = hashlib.sha256(f"{model_id}|{iso(as_of)}|{version}".encode()).hexdigest()[:24]
    return Path(store.path + ".cache") / "multivariate" / f"{model_id}-{key}.json"


def multivariate_drift(
    store: Store, model_id: str, as_of: pd.Timestamp | None = None, *, refresh: bool = False
) -> dict[str, Any]:
    """The domain classifier's result for one model as of a time (default: the store's as_of)."""
    with store.read() as con:
        reader = Reader(con, [model_id])
        if model_id not in set(reader.models()["model_id"]):
            raise UnknownModel(f"--model: unknown model {model_id!r}")
        if as_of is None:
            newest = reader.newest_inference()
            as_of = round_up_hour(newest) if newest is not None else None
    if as_of is None:
        return {"model_id": model_id, "as_of": None, "auc": None, "features": [], "cached": False}
    version = store.data_version()
    path = _cache_path(store, model_id, as_of, version)
    if not refresh and (hit := _read_cache(path)) is not None:
        return hit
    samples = feature_samples(store, model_id, as_of - WEEK, as_of)
    result = {"auc": None, "fold_aucs": [], "n_reference": 0, "n_current": 0, "features": []}
    if samples is not None:
        ref, cur, kinds = samples
        result = metrics.domain_classifier(ref, cur, kinds)
    auc = result["auc"]
    out = {
        "model_id": model_id,
        "as_of": iso(as_of),
        "data_version": version,
        "window": "7d",
        **result,
        "status": None if auc is None else ("red" if auc >= RED_AUC else "yellow" if auc >= YELLOW_AUC else "green"),
        "method": "HistGradientBoostingClassifier, 5-fold cross-validated ROC AUC, reference vs window",
        "computed_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)
    return {**out, "cached": False}


def cached_multivariate(store: Store, model_id: str, as_of: pd.Timestamp) -> dict[str, Any] | None:
    """The cached result for (model, as_of, the store's data_version), or None: never computes
    (a report must not train a classifier unasked; `report --multivariate` asks)."""
    return _read_cache(_cache_path(store, model_id, as_of, store.data_version()))


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
        mtime = path.stat().st_mtime
    except (FileNotFoundError, json.JSONDecodeError):
        return None  # absent, or a torn file from a crashed writer (os.replace makes that rare)
    # a file written before computed_at existed: its modification time is when it was computed
    out.setdefault("computed_at", datetime.fromtimestamp(int(mtime), UTC).isoformat())
    return {**out, "cached": True}
