"""The kill harness's `sync` part (issue 12): a lake, the transactions a complete sync commits, and
the per-file checks after a kill. bench/faults.py drives it (`--commands sync`).

A sync is one write transaction per registered spec and one per new file (lib/ingest/lake.py).
A run killed at any moment must leave the store in the state after some prefix of those
transactions — never between — and, per lake file, all of its traces or none: its lake_files
entry, its ingest-log entry, its rows in every table keyed by file_id (prof_rows, snapshots,
labels) and, for inference, prof_rows summing to the logged row count. The profiles must equal a
recomputation from the lake files (lib re-reads them as a re-profile does); the next sync must
finish the job (the complete run's counts and profiles) and a second one must change nothing.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
LAKE_MODELS = ("lake-bin", "lake-reg")  # sync order: by folder name
T0 = pd.Timestamp("2026-11-01T00:00:00Z")


def _lake_spec(model_id: str, task: str) -> dict:
    columns = {"timestamp": "ts", "id": "rid", "prediction": "prediction", "label": "label"}
    if task == "binary_classification":
        columns["score"] = "score"
    return {
        "model_id": model_id,
        "name": f"Lake model {model_id}",
        "task": task,
        "owner": f"{model_id}@example.com",
        "team": "faults",
        "columns": columns,
        "features": {"colour": "categorical", "size": "numeric"},
    }


def _frame(rng: np.random.Generator, n: int, task: str, *, start: pd.Timestamp | None, prefix: str) -> pd.DataFrame:
    df = pd.DataFrame({"colour": rng.choice(["a", "b", "c", "d"], n), "size": rng.normal(10, 2, n)})
    if start is not None:
        ts = pd.date_range(start, start + pd.Timedelta(days=1), periods=n + 1, inclusive="left")[:n]
        df.insert(0, "ts", ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
    df.insert(0, "rid", [f"{prefix}{i}" for i in range(n)])
    if task == "binary_classification":
        df["score"] = 1 / (1 + np.exp(-(df["size"] - 10) + rng.normal(0, 1, n)))
        df["prediction"] = np.where(df["score"] > 0.5, "1", "0")
        df["label"] = np.where(rng.random(n) < df["score"], "1", "0")
    else:
        df["prediction"] = df["size"] * 2 + rng.normal(0, 1, n)
        df["label"] = df["prediction"] + rng.normal(0, 1, n)
    return df


def build_lake(workdir: Path, rows: int) -> Path:
    """Two models, each: two reference snapshots (CSV), three days of inference (Parquet, the middle
    day in two parts, one CSV; labels logged on the first day only), one late-labels file (a
    re-profile of performance that reads the lake files back)."""
    lake = workdir / "lake"
    rng = np.random.default_rng(11)
    for model_id in LAKE_MODELS:
        task = "binary_classification" if model_id == "lake-bin" else "regression"
        folder = lake / model_id
        for sub in ("reference", "labels"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "spec.yaml").write_text(yaml.safe_dump(_lake_spec(model_id, task), sort_keys=False))
        for name in ("2026-10-30.csv", "2026-10-31.csv"):
            _frame(rng, 2000, task, start=None, prefix="r").to_csv(folder / "reference" / name, index=False)
        per_day = max(10, rows // 3)
        for day in range(3):
            part = folder / "inference" / f"date={(T0 + pd.Timedelta(days=day)).strftime('%Y-%m-%d')}"
            part.mkdir(parents=True, exist_ok=True)
            frame = _frame(rng, per_day, task, start=T0 + pd.Timedelta(days=day), prefix=f"d{day}-")
            if day:
                frame["label"] = None  # labels come late (the labels file) or not at all
            if day == 1:
                half = per_day // 2
                frame.iloc[:half].to_parquet(part / "part-0.parquet", index=False)
                frame.iloc[half:].to_csv(part / "part-1.csv", index=False)
            else:
                frame.to_parquet(part / "part-0.parquet", index=False)
        labels = _frame(rng, per_day, task, start=T0 + pd.Timedelta(days=1), prefix="d1-")[["rid", "label"]]
        labels.iloc[::3].to_csv(folder / "labels" / "late.csv", index=False)
    return lake


def lake_files(lake: Path) -> list[str]:
    """Every data file of the lake, as the store keys it (its path in the lake), in sync order."""
    from lib.ingest.lake import discover

    return [p.relative_to(lake.resolve()).as_posix() for m in discover(lake.resolve()) for _, p in m.files]


def argv(base: dict, db: Path) -> list[str]:
    return ["sync", "--db", str(db), "--lake", str(base["lake"])]


def reference_states(base: dict, db: Path, counts) -> list[tuple]:
    """The counts after each write transaction of a complete sync (in-process, writes observed),
    starting with the state before it."""
    from lib.ingest.lake import sync_lake
    from lib.store.connection import Store

    states = [counts(db)]

    class Observed(Store):
        def write(self):
            return _Observe(super().write(), lambda: states.append(counts(db)))

        def batch(self):
            # The local engine writes a run of files through one connection (Store.batch), a
            # transaction per file; observed here from another connection, each write opens its
            # own: the same transactions, in the same order.
            return contextlib.nullcontext()

    report = sync_lake(Observed(db), base["lake"])
    if report.rejected or not report.synced:
        raise SystemExit(f"sync of the harness's lake failed: {report.lines}")
    return states


class _Observe:
    def __init__(self, cm, after):
        self.cm, self.after = cm, after

    def __enter__(self):
        return self.cm.__enter__()

    def __exit__(self, *exc):
        out = self.cm.__exit__(*exc)
        self.after()
        return out


def file_traces(db: Path, base: dict) -> dict[str, str]:
    """Per lake file: 'none' (no trace), 'whole' (every trace, consistent) or what is torn."""
    import duckdb

    lake = str(base["lake"].resolve())
    con = duckdb.connect(str(db), read_only=True)
    try:
        log = {
            name: (fid, kind, n)
            for name, fid, kind, n in con.execute(
                "SELECT file_name, file_id, kind, rows FROM ingest_log WHERE outcome = 'ingested'"
            ).fetchall()
        }
        known = dict(con.execute("SELECT path, file_id FROM lake_files").fetchall())
        prof = dict(con.execute("SELECT file_id, sum(n) FROM prof_rows GROUP BY ALL").fetchall())
        snaps = {r[0] for r in con.execute("SELECT file_id FROM snapshots").fetchall()}
        label_files = dict(con.execute("SELECT file_id, count(*) FROM labels GROUP BY ALL").fetchall())
        out = {}
        for rel in base["files"]:
            entry, listed = log.get(f"{lake}/{rel}"), known.get(rel)
            if entry is None and listed is None:
                out[rel] = "none"
                continue
            if entry is None or listed != entry[0]:
                out[rel] = f"torn: ingest_log {entry}, lake_files {listed}"
                continue
            fid, kind, n = entry
            have = {"inference": prof.get(fid) == n, "reference": fid in snaps, "labels": label_files.get(fid) == n}
            out[rel] = "whole" if have[kind] else f"torn: {kind} file {fid} logged with {n} rows, its rows are not"
        # no profile, snapshot or label rows of a file the log does not hold
        logged = {v[0] for v in log.values()}
        strays = (set(prof) | snaps | set(label_files)) - logged
        if strays:
            out["__strays"] = f"rows of unlogged file ids {sorted(strays)}"
        return out
    finally:
        con.close()


def check_after_kill(db: Path, base: dict, env: dict, rec: dict, *, counts, profiles) -> None:
    """Per-file all-or-nothing, the kill's prefix, then the next sync and the one after it."""
    traces = file_traces(db, base)
    torn = {k: v for k, v in traces.items() if v not in ("none", "whole")}
    synced = [f for f in base["files"] if traces.get(f) == "whole"]
    rec["files_synced"] = len(synced)
    # files are synced in order: those done are a prefix of the lake's files
    rec["files_ok"] = not torn and synced == base["files"][: len(synced)]
    if torn:
        rec["torn"] = torn
    proc = subprocess.run(
        [sys.executable, "-m", "lib", *argv(base, db)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    final = counts(db)
    rec["recovery_exit"] = proc.returncode
    rec["recovered"] = proc.returncode == 0 and final == base["final_counts"] and profiles(db) == base["final_profiles"]
    if not rec["recovered"]:
        rec["recovery_output"] = (proc.stdout + proc.stderr)[-600:]
    again = subprocess.run(
        [sys.executable, "-m", "lib", *argv(base, db)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    rec["second_sync_noop"] = again.returncode == 0 and counts(db) == final and "nothing new" in again.stdout
