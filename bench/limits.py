"""Limits (issue 12): the largest file ingested here, its size and the command's peak memory, and
what happens when the memory runs out. Uses the 20-feature model of bench/ingest_throughput.py.

For each --rows value: write one Parquet (and optionally CSV) inference file, run
`python -m lib ingest` on a fresh store holding the reference, and report seconds, file MB and the
child's peak RSS. With --cap-mb, the same ingest under RLIMIT_AS of that size: it must fail with
one line, exit 1, and leave the store's row counts as they were.

    .venv/bin/python bench/limits.py [--rows 1000000,2000000] [--csv] [--cap-mb 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]
from fixtures import table_counts  # noqa: E402
from ingest_throughput import CATEGORICAL, NUMERIC, frame  # noqa: E402

from lib.ingest.pipeline import ingest_file, register_spec  # noqa: E402
from lib.store.connection import Store  # noqa: E402

SPEC = {
    "model_id": "limits",
    "task": "binary_classification",
    "owner": "b@example.com",
    "team": "bench",
    "columns": {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "score": "score"},
    "features": {
        **{f"n{i}": "numeric" for i in range(NUMERIC)},
        **{f"c{i}": "categorical" for i in range(CATEGORICAL)},
    },
}


def fresh_store(tmp: Path, name: str, ref: Path) -> Path:
    db = tmp / f"{name}.duckdb"
    store = Store(db)
    register_spec(store, SPEC)
    assert ingest_file(store, "reference", "limits", ref).status == "ingested"
    return db


def ingest(db: Path, path: Path, cap_mb: int | None = None) -> dict:
    def limit():
        if cap_mb:
            resource.setrlimit(resource.RLIMIT_AS, (cap_mb << 20, cap_mb << 20))

    before = table_counts(db)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", "ingest", "--db", str(db), "inference", "--model", "limits", str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )
    out, err = proc.communicate()
    seconds = time.monotonic() - t0
    return {
        "file": path.name,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "exit": proc.returncode,
        "seconds": round(seconds, 1),
        "stderr_lines": len(err.strip().splitlines()),
        "message": (err.strip() or out.strip())[:300],
        "store_unchanged": table_counts(db) == before,
    }


def peak_rss_mb(db: Path, path: Path) -> tuple[dict, float]:
    """The ingest and its peak resident memory: ru_maxrss of the waited children, which is the
    largest child's peak (the files grow, so it is this one's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = ingest(db, path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return result, round(after / 1024) if after > before else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000000")
    ap.add_argument("--csv", action="store_true", help="also the same rows as CSV")
    ap.add_argument("--cap-mb", type=int, help="run the largest file again under this address-space cap")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    results = []
    with tempfile.TemporaryDirectory(prefix="driftlight-limits-") as tmp:
        tmp = Path(tmp)
        ref = tmp / "ref.parquet"
        frame(10_000, rng, inference=False).to_parquet(ref)
        largest = None
        for n in sorted(int(x) for x in args.rows.split(",")):
            df = frame(n, rng, inference=True)
            paths = [tmp / f"inf-{n}.parquet"]
            df.to_parquet(paths[0])
            if args.csv:
                paths.append(tmp / f"inf-{n}.csv")
                df.to_csv(paths[1], index=False)
            del df
            for path in paths:
                result, rss = peak_rss_mb(fresh_store(tmp, path.stem + path.suffix[1:], ref), path)
                result.update(rows=n, peak_rss_mb=rss)
                results.append(result)
                print(json.dumps(result), flush=True)
                largest = path
        if args.cap_mb and largest is not None:
            capped = ingest(fresh_store(tmp, "capped", ref), largest, cap_mb=args.cap_mb)
            capped.update(cap_mb=args.cap_mb)
            results.append(capped)
            print(json.dumps(capped), flush=True)


if __name__ == "__main__":
    main()
