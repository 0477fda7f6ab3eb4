"""The benchmark fleet: 500 models x 20 features x 30 days x 2,000 rows a day (30 M inference rows).

    .venv/bin/python bench/fleet.py [--rebuild] [--models N] [--workers W]

Built once and cached in bench/cache/ (git-ignored):

    bench/cache/files/<model>/reference.parquet       hold-out set, 10,000 rows (label, prediction, score)
    bench/cache/files/<model>/inference-d01-29.parquet days 1-29: 58,000 rows
    bench/cache/files/<model>/inference-d30.parquet    day 30 (the last 24 h): 2,000 rows
    bench/cache/fleet.duckdb                           the store, ingested through lib.ingest
    bench/cache/fleet.json                             manifest: parameters, build times, sizes

Every model is a binary classifier with a score: 15 numeric features (normal, lognormal,
Poisson counts, uniform; two carry ~1% NULLs) and 5 categorical ones (3 to 30 categories,
Dirichlet mix). The score is a logistic function of the features; the prediction is
score >= 0.5; the reference carries the label drawn from the score. Every 5th model logs labels
with half of its inference rows (a "labels share", so ROC AUC is computed). Some models drift
(see `scenario`): gradual mean drift, a sudden unseen category, score drift, a missing spike,
out-of-range values. `write_extra_day` writes a later day (31, 32, ...) of one model's logs,
not in the store, for timing "ingest one day of logs for one model". The newest inference row is one second before END, so the store's default
as_of is exactly END.

Generation is vectorized numpy, one model per task, in a ProcessPoolExecutor over both cores;
ingestion is one writer (`Store.batch()`), in model order, through `register_spec` and
`ingest_file`, the same path as users' files. The store is built under a temporary name and
renamed when complete, so an interrupted build is never mistaken for a cached one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache"
FILES = CACHE / "files"
DB = CACHE / "fleet.duckdb"
MANIFEST = CACHE / "fleet.json"

MODELS = 500
N_NUMERIC = 15
N_CATEGORICAL = 5
DAYS = 30
ROWS_PER_DAY = 2000
REF_ROWS = 10_000
LABEL_EVERY = 5  # every 5th model (20%) logs labels ...
LABEL_SHARE = 0.5  # ... with half of its inference rows
END = datetime(2026, 6, 30, 0, 0, tzinfo=UTC)
SEED = 20260630
FORMAT_VERSION = 3  # bump when the generator changes: the cache is rebuilt

_DAY_MS = 86_400_000
_END_MS = int(END.timestamp() * 1000)
NUMERIC = [f"n{j:02d}" for j in range(N_NUMERIC)]
CATEGORICAL = [f"c{j}" for j in range(N_CATEGORICAL)]


def model_id(i: int) -> str:
    return f"bench-{i:03d}"


def scenario(i: int) -> str:
    """The model's injected problem (about 78% of models are healthy)."""
    if i % 10 == 3:
        return "gradual-drift"  # n00 mean moves by up to 1 sd over the 30 days
    if i % 25 == 7:
        return "unseen-category"  # c0 gets a never-seen value in 30% of the last day's rows
    if i % 25 == 11:
        return "score-drift"  # the score shifts up for the last 5 days
    if i % 50 == 14:
        return "missing-spike"  # 40% of n01 is NULL on the last day
    if i % 50 == 17:
        return "out-of-range"  # 10% of n02 is 20x larger on the last day
    return "healthy"


def labelled(i: int) -> bool:
    return i % LABEL_EVERY == 0


def spec(i: int) -> dict:
    columns = {"timestamp": "ts", "prediction": "prediction", "score": "score", "label": "label"}
    features = {**dict.fromkeys(NUMERIC, "numeric"), **dict.fromkeys(CATEGORICAL, "categorical")}
    return {
        "model_id": model_id(i),
        "name": f"Benchmark model {i}",
        "task": "binary_classification",
        "owner": f"owner{i % 17}@example.com",
        "team": f"team-{i % 7}",
        "tags": ["bench", f"scenario:{scenario(i)}"],
        "columns": columns,
        "features": features,
        "positive_class": "1",
    }


# -- generation (worker processes) ---------------------------------------------------------------
class _Params:
    """One model's distributions and score weights, drawn from its own seeded generator."""

    def __init__(self, rng: np.random.Generator):
        self.kind = rng.choice(["normal", "lognormal", "poisson", "uniform"], size=N_NUMERIC, p=[0.5, 0.2, 0.2, 0.1])
        self.loc = rng.normal(0, 10, N_NUMERIC)
        self.scale = rng.uniform(0.5, 5, N_NUMERIC)
        self.lam = rng.uniform(1, 20, N_NUMERIC)
        self.card = rng.integers(3, 31, N_CATEGORICAL)
        self.probs = [rng.dirichlet(np.full(k, 2.0)) for k in self.card]
        self.w_num = rng.normal(0, 0.6, N_NUMERIC) / np.sqrt(N_NUMERIC)
        self.w_cat = [rng.normal(0, 0.5, k) for k in self.card]
        self.bias = rng.normal(0, 0.3)

    def mean(self, j: int) -> float:
        k = self.kind[j]
        if k == "normal":
            return float(self.loc[j])
        if k == "lognormal":
            return float(np.exp(1.0 + 0.5 * 0.5 / 2))
        if k == "poisson":
            return float(self.lam[j])
        return float(self.loc[j] + 2 * self.scale[j])

    def sd(self, j: int) -> float:
        k = self.kind[j]
        if k == "normal":
            return float(self.scale[j])
        if k == "lognormal":
            s = 0.5
            return float(np.sqrt((np.exp(s * s) - 1) * np.exp(2 * 1.0 + s * s)))
        if k == "poisson":
            return float(np.sqrt(self.lam[j]))
        return float(self.scale[j] * 4 / np.sqrt(12))


def _numeric(p: _Params, j: int, n: int, rng: np.random.Generator, shift: np.ndarray | float = 0.0) -> np.ndarray:
    k = p.kind[j]
    if k == "normal":
        x = rng.normal(p.loc[j], p.scale[j], n)
    elif k == "lognormal":
        x = rng.lognormal(1.0, 0.5, n)
    elif k == "poisson":
        x = rng.poisson(p.lam[j], n).astype("float64")
    else:
        x = rng.uniform(p.loc[j], p.loc[j] + 4 * p.scale[j], n)
    return x + shift * p.sd(j)


def _rows(p: _Params, n: int, rng: np.random.Generator, shift: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """n rows of features (numeric float64 with NaN as NULL; categorical as int codes)."""
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(NUMERIC):
        x = _numeric(p, j, n, rng, shift if j == 0 else 0.0)
        if j in (4, 9):  # ~1% NULLs, same in reference and logs
            x[rng.random(n) < 0.01] = np.nan
        out[name] = x
    for j, name in enumerate(CATEGORICAL):
        out[name] = rng.choice(p.card[j], size=n, p=p.probs[j])
    return out


def _score(p: _Params, X: dict[str, np.ndarray], extra: np.ndarray | float = 0.0) -> np.ndarray:
    z = np.full(len(X[NUMERIC[0]]), p.bias) + extra
    for j, name in enumerate(NUMERIC):
        z += p.w_num[j] * np.nan_to_num((X[name] - p.mean(j)) / p.sd(j), nan=0.0)
    for j, name in enumerate(CATEGORICAL):
        z += p.w_cat[j][X[name]]
    return 1.0 / (1.0 + np.exp(-z))


def _table(
    X: dict[str, np.ndarray],
    score: np.ndarray,
    label: np.ndarray | None,
    ts: np.ndarray | None,
    unseen: np.ndarray | None = None,
):
    import pyarrow as pa

    cols = {}
    if ts is not None:
        cols["ts"] = pa.array(ts.astype("datetime64[ms]"), type=pa.timestamp("ms", tz="UTC"))
    for name in NUMERIC:
        cols[name] = pa.array(X[name], from_pandas=True)  # NaN -> NULL
    for j, name in enumerate(CATEGORICAL):
        codes = X[name]
        card = int(codes.max()) + 1 if codes.size else 1
        dictionary = np.array([f"v{c:02d}" for c in range(card)] + ["NEW-upstream-code"], dtype=object)
        if unseen is not None and j == 0:
            codes = np.where(unseen, card, codes)
        cols[name] = pa.DictionaryArray.from_arrays(
            pa.array(codes.astype("int32")), pa.array(dictionary, type=pa.string())
        ).cast(pa.string())
    cols["score"] = pa.array(score)
    cols["prediction"] = pa.array(np.where(score >= 0.5, "1", "0").astype(object), type=pa.string())
    if label is not None:
        cols["label"] = pa.array(label, type=pa.string(), from_pandas=True)
    return pa.table(cols)


def _inference(p: _Params, i: int, day: np.ndarray, rng: np.random.Generator):
    """Inference rows for the given day numbers (1 = oldest, DAYS = the last 24 h before END)."""
    sc = scenario(i)
    n = day.size
    day_start = _END_MS - (DAYS + 1 - day) * _DAY_MS
    ts = np.sort(day_start + rng.integers(1, _DAY_MS + 1, n))  # day is non-decreasing: stays grouped
    if i == 0 and (day == DAYS).any():
        ts[np.flatnonzero(day == DAYS)[-1]] = _END_MS - 1000  # newest row: END - 1 s -> as_of = END
    shift = (day - 1) / (DAYS - 1) * 1.0 if sc == "gradual-drift" else 0.0
    X = _rows(p, n, rng, shift)
    extra = np.where(day > DAYS - 5, 1.5, 0.0) if sc == "score-drift" else 0.0
    s = _score(p, X, extra)
    last_day = day >= DAYS
    if sc == "missing-spike":
        X["n01"][last_day & (rng.random(n) < 0.4)] = np.nan
    if sc == "out-of-range":
        hit = last_day & (rng.random(n) < 0.1)
        X["n02"][hit] = X["n02"][hit] * 20 + 20 * p.sd(2) + abs(p.loc[2]) * 20
    unseen = (last_day & (rng.random(n) < 0.3)) if sc == "unseen-category" else None
    label = None
    if labelled(i):
        label = np.where(rng.random(n) < s, "1", "0").astype(object)
        label[rng.random(n) >= LABEL_SHARE] = None
    return _table(X, s, label, ts, unseen)


def generate_model(i: int, out_dir: str) -> dict:
    """Write one model's Parquet files (reference, days 1-29, day 30); returns their row counts."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng((SEED, i))
    p = _Params(rng)
    out = Path(out_dir) / model_id(i)
    out.mkdir(parents=True, exist_ok=True)

    # Reference: the hold-out set, label drawn from the model's own score.
    X = _rows(p, REF_ROWS, rng)
    s = _score(p, X)
    y = np.where(rng.random(REF_ROWS) < s, "1", "0").astype(object)
    pq.write_table(_table(X, s, y, None), out / "reference.parquet", compression="zstd")

    day = np.repeat(np.arange(1, DAYS + 1), ROWS_PER_DAY)
    table = _inference(p, i, day, rng)
    cut = (DAYS - 1) * ROWS_PER_DAY
    pq.write_table(table.slice(0, cut), out / "inference-d01-29.parquet", compression="zstd")
    pq.write_table(table.slice(cut), out / "inference-d30.parquet", compression="zstd")
    return {
        "index": i,
        "model_id": model_id(i),
        "reference_rows": REF_ROWS,
        "files": [("inference-d01-29.parquet", cut), ("inference-d30.parquet", table.num_rows - cut)],
    }


def write_extra_day(i: int, day: int, path: str | Path) -> int:
    """One more day of logs for model i (day > DAYS: after END, so not in the cached store).

    Same model parameters as its cached files, its own seeded rows: 2,000 rows in
    (END + (day - DAYS - 1) days, END + (day - DAYS) days]. Returns the row count.
    """
    import pyarrow.parquet as pq

    p = _Params(np.random.default_rng((SEED, i)))
    rng = np.random.default_rng((SEED, i, day))
    table = _inference(p, i, np.full(ROWS_PER_DAY, day), rng)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def write_files(models: int, out_dir: Path, workers: int) -> list[dict]:
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        return list(pool.map(generate_model, range(models), [str(out_dir)] * models, chunksize=4))


# -- ingestion (one writer) ----------------------------------------------------------------------
def ingest_all(db: Path, files_dir: Path, models: int, progress: bool = True) -> dict:
    sys.path.insert(0, str(ROOT))
    from lib.ingest.pipeline import ingest_file, register_spec
    from lib.store.connection import Store

    for path in (db, Path(str(db) + ".version"), Path(str(db) + ".wal")):
        path.unlink(missing_ok=True)
    store = Store(str(db))
    rows = {"reference": 0, "inference": 0}
    started = time.perf_counter()
    with store.batch():
        for i in range(models):
            mid = model_id(i)
            register_spec(store, spec(i), source="bench")
            for kind, name in (
                ("reference", "reference.parquet"),
                ("inference", "inference-d01-29.parquet"),
                ("inference", "inference-d30.parquet"),
            ):
                outcome = ingest_file(store, kind, mid, files_dir / mid / name)
                if outcome.status != "ingested":
                    raise RuntimeError(f"bench fleet: {mid}/{name}: {outcome.status}: {outcome.message}")
                rows[kind] += outcome.rows
            if progress and (i + 1) % 25 == 0:
                el = time.perf_counter() - started
                print(
                    f"  ingested {i + 1}/{models} models in {el:.0f} s "
                    f"(~{el / (i + 1) * (models - i - 1):.0f} s to go)",
                    flush=True,
                )
    return rows


def _schema_current(db: Path) -> bool:
    """Is the store at the schema version that lib/ expects? (Read-only readers cannot migrate.)"""
    sys.path.insert(0, str(ROOT))
    import duckdb

    from lib.store.schema import SCHEMA_VERSION

    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return False
    return row is not None and int(row[0]) == SCHEMA_VERSION


def _params() -> dict:
    """What the cached fleet depends on; a change rebuilds it (so does a new store schema version)."""
    return {
        "format_version": FORMAT_VERSION,
        "models": MODELS,
        "numeric": N_NUMERIC,
        "categorical": N_CATEGORICAL,
        "days": DAYS,
        "rows_per_day": ROWS_PER_DAY,
        "reference_rows": REF_ROWS,
        "seed": SEED,
        "end": END.isoformat(),
        "label_every": LABEL_EVERY,
        "label_share": LABEL_SHARE,
    }


def cached(models: int = MODELS) -> dict | None:
    """The manifest of a complete cached build with these parameters, else None."""
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if manifest.get("params") != {**_params(), "models": models} or not DB.is_file() or not _schema_current(DB):
        return None
    return manifest


def build(models: int = MODELS, workers: int | None = None, rebuild: bool = False) -> dict:
    """Build (or reuse) the cached fleet; returns the manifest."""
    if not rebuild:
        manifest = cached(models)
        if manifest is not None:
            return manifest
    workers = workers or os.cpu_count() or 2
    CACHE.mkdir(exist_ok=True)
    MANIFEST.unlink(missing_ok=True)
    print(
        f"bench fleet: generating {models} models x {N_NUMERIC + N_CATEGORICAL} features x {DAYS} days x "
        f"{ROWS_PER_DAY} rows/day with {workers} processes ...",
        flush=True,
    )
    t0 = time.perf_counter()
    write_files(models, FILES, workers)
    t_gen = time.perf_counter() - t0
    files_bytes = sum(f.stat().st_size for f in FILES.rglob("*.parquet"))
    print(
        f"bench fleet: files written in {t_gen:.1f} s ({files_bytes / 1e6:.0f} MB of Parquet); ingesting ...",
        flush=True,
    )
    tmp = CACHE / "fleet.building.duckdb"
    t1 = time.perf_counter()
    rows = ingest_all(tmp, FILES, models)
    t_ing = time.perf_counter() - t1
    DB.unlink(missing_ok=True)
    tmp.rename(DB)
    version = Path(str(tmp) + ".version")
    if version.exists():
        version.rename(str(DB) + ".version")
    for leftover in CACHE.glob("fleet.building.duckdb*"):
        leftover.unlink()
    manifest = {
        "params": {**_params(), "models": models},
        "db": str(DB.relative_to(ROOT)),
        "inference_rows": rows["inference"],
        "reference_rows": rows["reference"],
        "labelled_models": sum(labelled(i) for i in range(models)),
        "scenarios": {
            s: sum(scenario(i) == s for i in range(models)) for s in sorted({scenario(i) for i in range(models)})
        },
        "generate_seconds": round(t_gen, 1),
        "ingest_seconds": round(t_ing, 1),
        "build_seconds": round(t_gen + t_ing, 1),
        "workers": workers,
        "parquet_bytes": files_bytes,
        "store_bytes": DB.stat().st_size,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rebuild", action="store_true", help="rebuild even if a cached fleet exists")
    ap.add_argument("--models", type=int, default=MODELS, help="models (default 500; smaller only for a smoke test)")
    ap.add_argument("--workers", type=int, default=None, help="generator processes (default: all cores)")
    args = ap.parse_args(argv)
    was_cached = not args.rebuild and cached(args.models) is not None
    manifest = build(args.models, args.workers, args.rebuild)
    state = "cached" if was_cached else "built"
    print(
        f"bench fleet {state}: {manifest['params']['models']} models, {manifest['inference_rows']:,} inference rows, "
        f"store {manifest['store_bytes'] / 1e9:.2f} GB; generate {manifest['generate_seconds']} s + "
        f"ingest {manifest['ingest_seconds']} s = {manifest['build_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
