"""A tiny fleet built from code for the reports and actions tests (issue 5).

Three models over 9 days of hourly logs, as_of 2026-11-10T00:00Z:
- `hostile-red`: its name, a feature name and category values are HTML / CSV attacks; on the
  last day 30% of rows carry never-seen categories (`unseen_categories` red);
- `quiet-yellow`: 0.5% unseen values in the last 24 h (yellow at 0.001, red at 0.05);
- `calm-green`: nothing wrong.
Deterministic (seeded); takes a second or two.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lib.ingest import ingest_file, register_spec
from lib.store import Store

AS_OF = pd.Timestamp("2026-11-10T00:00:00Z")
HOSTILE_NAME = '<script>alert("name")</script> & Co'
HOSTILE_FEATURE = '<img src=x onerror=alert(1)>'
HOSTILE_VALUES = ['<script>alert("cat")</script>', '=HYPERLINK("http://evil.example/")', '+cmd|calc', '@SUM(1)']
CATS = ["alpha", "beta", "gamma"]


def spec(model_id: str, name: str, cat: str, **extra) -> dict:
    return {"model_id": model_id, "name": name, "task": "regression", "owner": f"{model_id}@example.com",
            "team": "qa", "columns": {"timestamp": "ts", "prediction": "prediction"},
            "features": {cat: "categorical", "size": "numeric"}, **extra}


def _frame(rng, n: int, cat: str, values: list[str], ts=None) -> pd.DataFrame:
    df = pd.DataFrame({cat: rng.choice(values, n), "size": rng.normal(10, 2, n)})
    df["prediction"] = df["size"] * 2 + rng.normal(0, 1, n)
    if ts is not None:
        df.insert(0, "ts", ts)
    return df


def build(dirpath: Path, *, actions: dict[str, dict] | None = None) -> Store:
    """Build the fleet into dirpath/fleet.duckdb; `actions` overrides each model's spec actions."""
    actions = actions or {}
    store = Store(dirpath / "fleet.duckdb")
    rng = np.random.default_rng(7)
    models = [("hostile-red", HOSTILE_NAME, HOSTILE_FEATURE, 0.30),
              ("quiet-yellow", "Quiet yellow", "colour", 0.005),
              ("calm-green", "Calm green", "colour", 0.0)]
    for model_id, name, cat, unseen in models:
        s = spec(model_id, name, cat)
        if model_id in actions:
            s["actions"] = actions[model_id]
        register_spec(store, s)
        ref = _frame(rng, 2000, cat, CATS)
        ref["label"] = ref["prediction"] + rng.normal(0, 1, len(ref))
        ref_path = dirpath / f"{model_id}-ref.csv"
        ref.to_csv(ref_path, index=False)
        assert ingest_file(store, "reference", model_id, ref_path).status == "ingested"
        ts = pd.date_range(AS_OF - pd.Timedelta(days=9), AS_OF, freq="36s", inclusive="right")
        cur = _frame(rng, len(ts), cat, CATS, ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
        last_day = np.asarray(ts > AS_OF - pd.Timedelta(days=1))
        k = int(round(unseen * last_day.sum()))
        if k:
            idx = np.flatnonzero(last_day)[:: max(1, last_day.sum() // k)][:k]
            cur.loc[idx, cat] = [HOSTILE_VALUES[i % len(HOSTILE_VALUES)] if model_id == "hostile-red" else "delta"
                                 for i in range(len(idx))]
        cur_path = dirpath / f"{model_id}-inf.csv"
        cur.to_csv(cur_path, index=False)
        assert ingest_file(store, "inference", model_id, cur_path).status == "ingested"
    return store
