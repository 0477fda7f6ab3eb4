"""A small lake (issue 11) built by code, and the same files ingested into a store the classic way.

Two models: `icecream` (binary, score, id; Parquet and CSV logs, NULLs, ±inf, unseen categories,
timestamps exactly on the hour and with offsets, late labels) and `demand` (regression; one log
file lacks a feature column). `build_lake` also returns the order in which `ingest` must take the
files for its file ids to equal the sync's (models by name; reference, inference, labels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from fixtures import FEATURES, T0, inference_frame, reference_frame, spec_dict, write_csv, write_parquet

# every profile table the store keeps: each engine must write each of them alike
from lib.store.reprofile import PROFILE_TABLES  # noqa: F401 (the lake tests import it from here)

BINARY, REGRESSION = "icecream", "demand"
SEGMENT = {"kind": "categorical", "segment": True}


def _spec(folder: Path, spec: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _edgy(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """NULLs, ±inf, unseen categories and timestamps exactly on the hour or with an offset."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    n = len(frame)
    temp = frame["temperature"].astype(object)
    temp.iloc[rng.choice(n, 6, replace=False)] = None
    temp.iloc[3], temp.iloc[4] = np.inf, -np.inf
    frame["temperature"] = temp
    flavor = frame["flavor"].astype(object)
    flavor.iloc[rng.choice(n, 9, replace=False)] = "rum raisin"
    flavor.iloc[rng.choice(n, 4, replace=False)] = None
    frame["flavor"] = flavor
    ts = frame["ts"].astype(object)
    ts.iloc[0] = pd.Timestamp(ts.iloc[0]).floor("h").strftime("%Y-%m-%dT%H:%M:%S")  # exactly on the hour
    ts.iloc[1] = (pd.Timestamp(ts.iloc[1]) + pd.Timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    ts.iloc[2] = (pd.Timestamp(ts.iloc[2]) - pd.Timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S-05:00")
    frame["ts"] = ts
    return frame


def _csv(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_csv(path, frame)


def _parquet(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = [pa.field(c, pa.float64() if c in ("temperature", "score") else pa.string()) for c in frame.columns]
    data = {c: [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in frame[c]] for c in frame}
    data = {
        c: [str(v) if f.type == pa.string() and v is not None else v for v in data[c]] for f, c in zip(fields, data)
    }
    return write_parquet(path, data, schema=pa.schema(fields))


def build_lake(root: Path, *, bad_file: bool = True) -> tuple[Path, list[tuple[str, str, Path]]]:
    """Write the lake under root/lake; return it and the (model, kind, path) order for `ingest`."""
    lake = root / "lake"
    order: list[tuple[str, str, Path]] = []

    # demand: regression; the second day lacks the region column (schema red, region NULL).
    m = lake / REGRESSION
    # region a segment (issue 13): its day-2 file lacks it, so those rows are the (missing) segment
    _spec(m, spec_dict(REGRESSION, task="regression", features={**FEATURES, "region": SEGMENT}))
    order.append(
        (REGRESSION, "reference", _csv(m / "reference" / "2026-11-01.csv", reference_frame(300, task="regression")))
    )
    for day, seed in ((0, 11), (1, 12)):
        frame = inference_frame(240, start=T0 + pd.Timedelta(days=day), seed=seed, id_prefix=f"d{day}-", hours=24)
        frame = frame.drop(columns="score")
        frame["prediction"] = (frame["temperature"] * 0.5).round(3)
        frame["label"] = (frame["temperature"] * 0.5 + 0.25).round(3)
        date = (T0 + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
        path = m / "inference" / f"date={date}" / "part-0.parquet"
        if day == 1:
            # As pandas writes it: a nanosecond timestamp column and a (non-range) index column.
            frame = frame.drop(columns="region").assign(ts=pd.to_datetime(frame["ts"]).astype("datetime64[ns]"))
            frame.index = pd.Index(np.arange(len(frame)) ** 2)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path)
        else:
            _parquet(path, frame)
        order.append((REGRESSION, "inference", path))

    # icecream: binary with score; day 1 Parquet, day 2 CSV (logged labels on part of it), day 3 CSV.
    m = lake / BINARY
    # segments (issue 13): flavor's top 2 (+ other, with the unseen 'rum raisin', + missing), region's
    _spec(
        m, spec_dict(BINARY, features={**FEATURES, "flavor": {"kind": "categorical", "segment": 2}, "region": SEGMENT})
    )
    order.append((BINARY, "reference", _csv(m / "reference" / "2026-11-01.csv", reference_frame(400))))
    for day, seed in ((0, 21), (1, 22), (2, 23)):
        frame = inference_frame(300, start=T0 + pd.Timedelta(days=day), seed=seed, id_prefix=f"i{day}-", hours=24)
        frame = _edgy(frame, seed)
        date = (T0 + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
        part = m / "inference" / f"date={date}"
        if day == 0:
            path = _parquet(part / "part-0.parquet", frame)
        else:
            if day == 1:
                frame["label"] = [("1" if s > 0.5 else "0") if i % 3 == 0 else "" for i, s in enumerate(frame["score"])]
            frame["region"] = frame["region"].replace({"EU": "NA"})  # Namibia: a real category in CSV
            path = _csv(part / "part-0.csv", frame)
        order.append((BINARY, "inference", path))
    if bad_file:
        bad = inference_frame(20, start=T0 + pd.Timedelta(days=2), seed=5, id_prefix="x", hours=24)
        bad = bad.astype({"temperature": object})
        bad.loc[4, "temperature"] = "warm"  # row 5: text in a numeric feature
        _csv(m / "inference" / f"date={(T0 + pd.Timedelta(days=2)).strftime('%Y-%m-%d')}" / "part-9-bad.csv", bad)
    labels = pd.DataFrame({"request_id": [f"i0-{i}" for i in range(0, 300, 2)] + ["i2-7", "later-1"]})
    labels["label"] = ["1" if i % 4 == 0 else "0" for i in range(len(labels))]
    order.append((BINARY, "labels", _csv(m / "labels" / "2026-11-25.csv", labels)))
    return lake, order
