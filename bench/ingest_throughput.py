"""Ingest throughput: seconds (median of N) to ingest one 1,000,000-row Parquet file of a
20-feature model (15 numeric, 5 categorical, binary with score and id), each into a fresh
store that already holds the model's reference. Validation, rows and profiles included.

    .venv/bin/python bench/ingest_throughput.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.ingest.pipeline import ingest_file, register_spec  # noqa: E402
from lib.store.connection import Store  # noqa: E402

NUMERIC, CATEGORICAL = 15, 5


def frame(rows: int, rng: np.random.Generator, *, inference: bool) -> pd.DataFrame:
    data: dict[str, object] = {}
    for i in range(NUMERIC):
        data[f"n{i}"] = rng.normal(i, 1 + i / 10, rows)
    for i in range(CATEGORICAL):
        data[f"c{i}"] = rng.choice([f"v{k}" for k in range(8)], rows)
    score = rng.random(rows)
    data["score"] = score
    data["prediction"] = (score > 0.5).astype(int)
    if inference:
        data["ts"] = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 30 * 86400, rows), unit="s")
        data["request_id"] = np.char.add("r", np.arange(rows).astype(str))
    else:
        data["label"] = rng.integers(0, 2, rows)
    return pd.DataFrame(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    spec = {
        "model_id": "throughput",
        "task": "binary_classification",
        "owner": "b@example.com",
        "team": "bench",
        "columns": {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "score": "score"},
        "features": {
            **{f"n{i}": "numeric" for i in range(NUMERIC)},
            **{f"c{i}": "categorical" for i in range(CATEGORICAL)},
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, inf_path = Path(tmp, "ref.parquet"), Path(tmp, "inf.parquet")
        frame(10_000, rng, inference=False).to_parquet(ref_path)
        frame(args.rows, rng, inference=True).to_parquet(inf_path)
        times = []
        for k in range(args.repeat):
            store = Store(Path(tmp, f"s{k}.duckdb"))
            register_spec(store, spec)
            ingest_file(store, "reference", "throughput", ref_path)
            start = time.perf_counter()
            outcome = ingest_file(store, "inference", "throughput", inf_path)
            times.append(time.perf_counter() - start)
            assert outcome.status == "ingested", outcome
        median = statistics.median(times)
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "runs_s": [round(t, 3) for t in times],
                    "median_s": round(median, 3),
                    "rows_per_s": round(args.rows / median),
                }
            )
        )


if __name__ == "__main__":
    main()
