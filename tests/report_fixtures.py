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

from lib.ingest.pipeline import ingest_file, register_spec
from lib.store.connection import Store

AS_OF = pd.Timestamp("2026-11-10T00:00:00Z")
HOSTILE_NAME = '<script>alert("name")</script> & Co'
HOSTILE_FEATURE = "<img src=x onerror=alert(1)>"
HOSTILE_VALUES = ['<script>alert("cat")</script>', '=HYPERLINK("http://evil.example/")', "+cmd|calc", "@SUM(1)"]
CATS = ["alpha", "beta", "gamma"]


def spec(model_id: str, name: str, cat: str, **extra) -> dict:
    return {
        "model_id": model_id,
        "name": name,
        "task": "regression",
        "owner": f"{model_id}@example.com",
        "team": "qa",
        "columns": {"timestamp": "ts", "prediction": "prediction"},
        "features": {cat: "categorical", "size": "numeric"},
        **extra,
    }


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
    models = [
        ("hostile-red", HOSTILE_NAME, HOSTILE_FEATURE, 0.30),
        ("quiet-yellow", "Quiet yellow", "colour", 0.005),
        ("calm-green", "Calm green", "colour", 0.0),
    ]
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
            cur.loc[idx, cat] = [
                HOSTILE_VALUES[i % len(HOSTILE_VALUES)] if model_id == "hostile-red" else "delta"
                for i in range(len(idx))
            ]
        cur_path = dirpath / f"{model_id}-inf.csv"
        cur.to_csv(cur_path, index=False)
        assert ingest_file(store, "inference", model_id, cur_path).status == "ingested"
    return store


# -- models with labels: the "Performance over time" section ----------------------------------
LABELLED_AS_OF = AS_OF
NO_LABEL_DAYS = ("2026-11-05", "2026-11-06")  # UTC days whose rows never get a label
LEAD_POLICY = {"performance": {"yellow": 0.03, "red": 0.15}}


def label_day(ts: pd.Series) -> pd.Series:
    """DESIGN.md's day of a row: the hour ending at its timestamp rounded up, then that hour's
    UTC date (a row at exactly 00:00 belongs to the day before)."""
    return (pd.to_datetime(ts, utc=True).dt.ceil("h") - pd.Timedelta(hours=1)).dt.strftime("%Y-%m-%d")


def build_labelled(dirpath: Path) -> tuple[Store, dict[str, pd.DataFrame]]:
    """Two labelled models over 12 days of logs up to AS_OF, through the real ingest API.

    - `scored-lead`: binary with a score (primary metric ROC AUC) whose outcome drifts away from
      the score over the 12 days; late labels (a labels file) for ~60% of the rows, none for the
      rows of NO_LABEL_DAYS; its spec sets the performance thresholds (LEAD_POLICY).
    - `labelled-reg`: regression (RMSE) with the label logged in the inference file for the rows
      of the last 5 days only; default thresholds.
    Returns the store and, per model, the labelled rows as ingested (ts, label, prediction, score).
    """
    store = Store(dirpath / "labelled.duckdb")
    rng = np.random.default_rng(11)
    truth: dict[str, pd.DataFrame] = {}
    ts = pd.date_range(AS_OF - pd.Timedelta(days=12), AS_OF, freq="120s", inclusive="right")
    ts_text = pd.Series(ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
    age = np.asarray((AS_OF - ts) / pd.Timedelta(days=1), dtype="float64")

    # binary, with a score
    s = spec("scored-lead", "Scored lead", "colour", policy=LEAD_POLICY)
    s["task"] = "binary_classification"
    s["columns"] = {
        "timestamp": "ts",
        "id": "request_id",
        "prediction": "prediction",
        "score": "score",
        "label": "label",
    }
    register_spec(store, s)
    ref = _frame(rng, 2000, "colour", CATS).drop(columns="prediction")
    ref["score"] = np.round(rng.uniform(0, 1, len(ref)), 3)
    ref["label"] = np.where(rng.uniform(0, 1, len(ref)) < ref["score"], "1", "0")
    ref["prediction"] = np.where(ref["score"] >= 0.5, "1", "0")
    ref.to_csv(dirpath / "lead-ref.csv", index=False)
    assert ingest_file(store, "reference", "scored-lead", dirpath / "lead-ref.csv").status == "ingested"
    cur = _frame(rng, len(ts), "colour", CATS, ts_text).drop(columns="prediction")
    cur.insert(1, "request_id", [f"q{i}" for i in range(len(cur))])
    cur["score"] = np.round(rng.uniform(0, 1, len(cur)), 3)
    cur["prediction"] = np.where(cur["score"] >= 0.5, "1", "0")
    blur = 0.7 * np.clip(1 - age / 12, 0, 1)  # the outcome forgets the score: decay
    label = np.where(rng.uniform(0, 1, len(cur)) < cur["score"] * (1 - blur) + 0.5 * blur, "1", "0")
    cur.to_csv(dirpath / "lead-inf.csv", index=False)
    assert ingest_file(store, "inference", "scored-lead", dirpath / "lead-inf.csv").status == "ingested"
    keep = (rng.uniform(0, 1, len(cur)) < 0.6) & ~label_day(cur["ts"]).isin(NO_LABEL_DAYS).to_numpy()
    pd.DataFrame({"request_id": cur["request_id"][keep], "label": label[keep]}).to_csv(
        dirpath / "lead-labels.csv", index=False
    )
    assert ingest_file(store, "labels", "scored-lead", dirpath / "lead-labels.csv").status == "ingested"
    truth["scored-lead"] = cur.loc[keep, ["ts", "prediction", "score"]].assign(label=label[keep])

    # regression, labels logged with the inference (last 5 days only)
    s = spec("labelled-reg", "Labelled regression", "colour")
    s["columns"]["label"] = "label"
    register_spec(store, s)
    ref = _frame(rng, 2000, "colour", CATS)
    ref["label"] = ref["prediction"] + rng.normal(0, 1, len(ref))
    ref.to_csv(dirpath / "reg-ref.csv", index=False)
    assert ingest_file(store, "reference", "labelled-reg", dirpath / "reg-ref.csv").status == "ingested"
    cur = _frame(rng, len(ts), "colour", CATS, ts_text)
    noise = rng.normal(0, 1 + 0.1 * (5 - np.minimum(age, 5)), len(cur))  # errors grow towards as_of
    cur["label"] = np.where(age < 5, np.round(cur["prediction"] + noise, 6), np.nan)
    cur.to_csv(dirpath / "reg-inf.csv", index=False)
    assert ingest_file(store, "inference", "labelled-reg", dirpath / "reg-inf.csv").status == "ingested"
    truth["labelled-reg"] = cur.loc[cur["label"].notna(), ["ts", "prediction", "label"]]
    return store, truth
