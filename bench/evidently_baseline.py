"""The peers' way: Evidently 0.7's data-drift report on ONE model's reference and 7-day window.

Runs in the benchmark's own environment (bench/.venv-evidently, see bench/README.md), not the
project's: Evidently is not a project dependency.

    bench/.venv-evidently/bin/python bench/evidently_baseline.py --db bench/cache/fleet.duckdb \
        --model bench-003 --as-of 2026-06-30T00:00:00 [--repeat 5]

Reads the model's active reference rows and the inference rows of the 7-day drift window
(hour in (as_of - 7 days, as_of]) from the store into pandas with DuckDB (read-only; the store's
schema: features(model_id, slot, feature, kind), snapshots, "ref__<id>" and "inf__<id>" with
positional columns f<slot>), then times, per repetition, what a user of Evidently runs:
`Dataset.from_pandas(...)` for both frames plus `Report([DataDriftPreset()]).run(...)`, with
the column kinds declared (numerical / categorical, as in the spec). Reading from the store is
timed apart and NOT included, which favours Evidently. One untimed warm-up run comes first.
Prints one JSON object on stdout: median / min / max seconds and what was measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings


def load(db: str, model_id: str, as_of: str):
    import duckdb
    import pandas as pd

    con = duckdb.connect(db, read_only=True)
    try:
        feats = con.execute(
            "SELECT slot, feature, kind FROM features WHERE model_id = ? AND position IS NOT NULL ORDER BY position",
            [model_id],
        ).fetchall()
        snap = con.execute("SELECT max(snapshot_id) FROM snapshots WHERE model_id = ?", [model_id]).fetchone()[0]
        cols = ", ".join(f'f{s} AS "{f}"' for s, f, _ in feats)
        ref = con.execute(f'SELECT {cols} FROM "ref__{model_id}" WHERE snapshot_id = ?', [snap]).df()
        end = (
            pd.Timestamp(as_of).tz_localize(None)
            if pd.Timestamp(as_of).tzinfo is None
            else pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)
        )
        start = end - pd.Timedelta(days=7)
        cur = con.execute(
            f'SELECT {cols} FROM "inf__{model_id}" WHERE hour > ? AND hour <= ?',
            [start.to_pydatetime(), end.to_pydatetime()],
        ).df()
    finally:
        con.close()
    numeric = [f for _, f, k in feats if k == "numeric"]
    categorical = [f for _, f, k in feats if k == "categorical"]
    return ref, cur, numeric, categorical


def run_report(ref, cur, numeric, categorical):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    reference = Dataset.from_pandas(ref, data_definition=definition)
    current = Dataset.from_pandas(cur, data_definition=definition)
    return Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Evidently DataDriftPreset on one model (benchmark baseline)")
    ap.add_argument("--db", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--as-of", required=True, dest="as_of")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    t0 = time.perf_counter()
    ref, cur, numeric, categorical = load(args.db, args.model, args.as_of)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    import evidently  # noqa: F401  (import time reported apart)
    from evidently import Report  # noqa: F401

    import_s = time.perf_counter() - t0

    snapshot = run_report(ref, cur, numeric, categorical)  # warm-up, not timed
    times, cpu = [], []
    for _ in range(args.repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        snapshot = run_report(ref, cur, numeric, categorical)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    drifted = None
    for m in snapshot.dict().get("metrics", []):
        if str(m.get("metric_name", "")).startswith("DriftedColumnsCount"):
            drifted = m.get("value")
    json.dump(
        {
            "median_s": statistics.median(times),
            "min_s": min(times),
            "max_s": max(times),
            "runs_s": times,
            "cpu_median_s": statistics.median(cpu),
            "cpu_runs_s": cpu,
            "read_from_store_s": read_s,
            "import_s": import_s,
            "model": args.model,
            "as_of": args.as_of,
            "rows_reference": len(ref),
            "rows_current": len(cur),
            "numeric_columns": len(numeric),
            "categorical_columns": len(categorical),
            "evidently_version": evidently.__version__,
            "drifted_columns": drifted,
            "measured": "Dataset.from_pandas (reference and current) + Report([DataDriftPreset()]).run",
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
